-- id: ct-privilege-escalation-0003
-- title: New default policy version
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.privilege-escalation, attack.t1098
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1098/
-- falsepositives: policy updates by infrastructure-as-code
-- description: CreatePolicyVersion with setAsDefault=true or SetDefaultPolicyVersion: a managed policy's rights changed in place (a classic escalation when the caller may edit a policy attached to itself).
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' on ', coalesce(json_extract_scalar(requestparameters, '$.policyArn'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND errorcode IS NULL AND (eventname = 'SetDefaultPolicyVersion' OR (eventname = 'CreatePolicyVersion' AND lower(json_extract_scalar(requestparameters, '$.setAsDefault')) = 'true'))
