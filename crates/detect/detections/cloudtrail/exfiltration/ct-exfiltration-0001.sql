-- id: ct-exfiltration-0001
-- title: EBS snapshot made public
-- source: cloudtrail
-- level: critical
-- status: stable
-- tags: attack.exfiltration, attack.t1537
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1537/
-- falsepositives: none expected for data volumes
-- description: ModifySnapshotAttribute adding createVolumePermission for group all: anyone can copy the disk.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('snapshot ', coalesce(json_extract_scalar(requestparameters, '$.snapshotId'), '?'), ' made public') AS summary, 1 AS count
FROM events
WHERE eventsource = 'ec2.amazonaws.com' AND eventname = 'ModifySnapshotAttribute' AND errorcode IS NULL AND regexp_like(coalesce(json_extract(requestparameters, '$.createVolumePermission.add'), ''), '"group"\s*:\s*"all"')
