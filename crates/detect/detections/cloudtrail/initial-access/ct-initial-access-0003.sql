-- id: ct-initial-access-0003
-- title: Console login without MFA
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.initial-access, attack.t1078.004
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1078/004/
-- falsepositives: users without MFA enforced (fix the policy)
-- description: A successful ConsoleLogin of an IAM user or root without MFA.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('console login without MFA as ', coalesce(useridentity.username, useridentity.arn, '?')) AS summary, 1 AS count
FROM events
WHERE eventname = 'ConsoleLogin' AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success' AND json_extract_scalar(additionaleventdata, '$.MFAUsed') = 'No' AND useridentity.type IN ('IAMUser', 'Root')
