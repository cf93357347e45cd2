-- id: ct-credential-access-0003
-- title: EC2 user data read
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.credential-access, attack.t1552.005
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1552/005/
-- falsepositives: configuration management tools
-- description: DescribeInstanceAttribute for userData: user data often holds bootstrap secrets.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('user data read of ', coalesce(json_extract_scalar(requestparameters, '$.instanceId'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'ec2.amazonaws.com' AND eventname = 'DescribeInstanceAttribute' AND json_extract_scalar(requestparameters, '$.attribute') = 'userData'
