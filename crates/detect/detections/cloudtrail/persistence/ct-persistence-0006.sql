-- id: ct-persistence-0006
-- title: Role trust policy changed
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.persistence, attack.t1098
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1098/
-- falsepositives: infrastructure-as-code deployments
-- description: UpdateAssumeRolePolicy: who may assume a role changed.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('trust policy of role ', coalesce(json_extract_scalar(requestparameters, '$.roleName'), '?'), ' changed') AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname = 'UpdateAssumeRolePolicy' AND errorcode IS NULL
