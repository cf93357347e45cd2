-- id: ct-persistence-0009
-- title: New role created that trusts another account
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.persistence, attack.t1098.003
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1098/003/
-- falsepositives: vendor integrations that need a cross-account role
-- description: CreateRole whose trust policy names an account other than the caller's own, or any AWS principal.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('role ', coalesce(json_extract_scalar(requestparameters, '$.roleName'), '?'), ' created trusting an outside principal') AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname = 'CreateRole' AND errorcode IS NULL AND regexp_like(regexp_replace(json_extract_scalar(requestparameters, '$.assumeRolePolicyDocument'), recipientaccountid, '', 'g'), '[0-9]{12}|"AWS"\s*:\s*"\*"|"AWS"\s*:\s*\[[^]]*"\*"')
