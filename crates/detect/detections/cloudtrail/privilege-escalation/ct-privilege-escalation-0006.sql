-- id: ct-privilege-escalation-0006
-- title: User added to an administrators group
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.privilege-escalation, attack.t1098
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1098/
-- falsepositives: onboarding of administrators
-- description: AddUserToGroup into a group whose name suggests administrative rights.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('user ', coalesce(json_extract_scalar(requestparameters, '$.userName'), '?'), ' added to ', json_extract_scalar(requestparameters, '$.groupName')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname = 'AddUserToGroup' AND errorcode IS NULL AND regexp_like(lower(json_extract_scalar(requestparameters, '$.groupName')), 'admin')
