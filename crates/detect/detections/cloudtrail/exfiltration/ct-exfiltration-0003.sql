-- id: ct-exfiltration-0003
-- title: AMI shared with another account or made public
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.exfiltration, attack.t1537
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1537/
-- falsepositives: AMIs published on purpose
-- description: ModifyImageAttribute adding launchPermission for another account or for group all.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('image ', coalesce(json_extract_scalar(requestparameters, '$.imageId'), '?'), ' shared: ', json_extract(requestparameters, '$.launchPermission.add')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'ec2.amazonaws.com' AND eventname = 'ModifyImageAttribute' AND errorcode IS NULL AND regexp_like(regexp_replace(coalesce(json_extract(requestparameters, '$.launchPermission.add'), ''), recipientaccountid, '', 'g'), '"userId"\s*:\s*"[0-9]+"|"group"\s*:\s*"all"')
