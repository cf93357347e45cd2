-- id: ct-persistence-0007
-- title: Role trust policy opened to another account or to everyone
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.persistence, attack.t1098.003
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1098/003/
-- falsepositives: cross-account access set up on purpose (check the account is yours)
-- description: UpdateAssumeRolePolicy whose new trust policy names an account other than the role's own, or any AWS principal ("*"): a backdoor role an outsider can assume.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('trust policy of role ', coalesce(json_extract_scalar(requestparameters, '$.roleName'), '?'), ' now trusts an outside principal') AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname = 'UpdateAssumeRolePolicy' AND errorcode IS NULL AND regexp_like(regexp_replace(json_extract_scalar(requestparameters, '$.policyDocument'), recipientaccountid, '', 'g'), '[0-9]{12}|"AWS"\s*:\s*"\*"|"AWS"\s*:\s*\[[^]]*"\*"')
