-- id: ct-exfiltration-0002
-- title: EBS snapshot shared with another account
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.exfiltration, attack.t1537
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1537/
-- falsepositives: backup copies to your own accounts (check the account ID)
-- description: ModifySnapshotAttribute adding createVolumePermission for an account other than the snapshot's own.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('snapshot ', coalesce(json_extract_scalar(requestparameters, '$.snapshotId'), '?'), ' shared: ', json_extract(requestparameters, '$.createVolumePermission.add')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'ec2.amazonaws.com' AND eventname = 'ModifySnapshotAttribute' AND errorcode IS NULL AND regexp_like(regexp_replace(coalesce(json_extract(requestparameters, '$.createVolumePermission.add'), ''), recipientaccountid, '', 'g'), '"userId"\s*:\s*"[0-9]+"')
