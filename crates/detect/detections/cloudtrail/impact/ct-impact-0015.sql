-- id: ct-impact-0015
-- title: EC2 instance user data changed
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.impact, attack.execution, attack.t1496
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1496/
-- falsepositives: configuration changes by administrators
-- description: ModifyInstanceAttribute setting userData: code that runs at the next boot (miners, backdoors).
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('user data changed on ', coalesce(json_extract_scalar(requestparameters, '$.instanceId'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'ec2.amazonaws.com' AND eventname = 'ModifyInstanceAttribute' AND errorcode IS NULL AND json_extract(requestparameters, '$.userData') IS NOT NULL
