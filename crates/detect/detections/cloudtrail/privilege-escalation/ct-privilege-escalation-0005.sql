-- id: ct-privilege-escalation-0005
-- title: Role passed to new compute by a long-term key
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.privilege-escalation, attack.t1548
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1548/
-- falsepositives: deployments run with user keys
-- description: RunInstances with an instance profile, or Lambda CreateFunction with a role, by a long-term (AKIA) key: iam:PassRole used to run code with the role's rights.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' passing ', coalesce(json_extract_scalar(requestparameters, '$.role'), json_extract_scalar(requestparameters, '$.iamInstanceProfile.arn'), json_extract_scalar(requestparameters, '$.iamInstanceProfile.name'), '?')) AS summary, 1 AS count
FROM events
WHERE errorcode IS NULL AND useridentity.accesskeyid LIKE 'AKIA%' AND ((eventsource = 'ec2.amazonaws.com' AND eventname = 'RunInstances' AND json_extract(requestparameters, '$.iamInstanceProfile') IS NOT NULL) OR (eventsource = 'lambda.amazonaws.com' AND eventname LIKE 'CreateFunction%' AND json_extract_scalar(requestparameters, '$.role') IS NOT NULL))
