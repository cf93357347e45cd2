-- id: ct-privilege-escalation-0001
-- title: AdministratorAccess policy attached
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.privilege-escalation, attack.t1098.003
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1098/003/
-- falsepositives: break-glass administrators set up on purpose
-- description: The AWS-managed AdministratorAccess policy attached to a user, role or group.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('AdministratorAccess attached to ', coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.roleName'), json_extract_scalar(requestparameters, '$.groupName'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy') AND errorcode IS NULL AND json_extract_scalar(requestparameters, '$.policyArn') LIKE '%:policy/AdministratorAccess'
