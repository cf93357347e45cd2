-- id: ct-privilege-escalation-0002
-- title: Policy granting * on * written
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.privilege-escalation, attack.t1098.003
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1098/003/
-- falsepositives: administrator roles written by infrastructure-as-code
-- description: An inline or managed policy (PutUserPolicy/PutRolePolicy/PutGroupPolicy/CreatePolicy/CreatePolicyVersion) allowing every action on every resource.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' allowing *:* ', coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.roleName'), json_extract_scalar(requestparameters, '$.groupName'), json_extract_scalar(requestparameters, '$.policyName'), json_extract_scalar(requestparameters, '$.policyArn'), '')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname IN ('PutUserPolicy', 'PutRolePolicy', 'PutGroupPolicy', 'CreatePolicy', 'CreatePolicyVersion') AND errorcode IS NULL AND regexp_like(regexp_replace(coalesce(json_extract_scalar(requestparameters, '$.policyDocument'), ''), '\s', '', 'g'), '"Action":(\[)?"\*"') AND regexp_like(regexp_replace(coalesce(json_extract_scalar(requestparameters, '$.policyDocument'), ''), '\s', '', 'g'), '"Resource":(\[)?"\*"') AND regexp_like(regexp_replace(coalesce(json_extract_scalar(requestparameters, '$.policyDocument'), ''), '\s', '', 'g'), '"Effect":"Allow"')
