-- id: ct-impact-0004
-- title: Service quota increase requested
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.impact, attack.t1496
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1496/
-- falsepositives: capacity planning
-- description: RequestServiceQuotaIncrease: more capacity asked for (GPU vCPUs, SES sending, Bedrock tokens).
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('quota increase ', coalesce(json_extract_scalar(requestparameters, '$.serviceCode'), ''), ' ', coalesce(json_extract_scalar(requestparameters, '$.quotaCode'), ''), ' to ', coalesce(json_extract_scalar(requestparameters, '$.desiredValue'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'servicequotas.amazonaws.com' AND eventname = 'RequestServiceQuotaIncrease'
