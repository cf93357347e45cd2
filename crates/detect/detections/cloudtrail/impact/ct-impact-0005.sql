-- id: ct-impact-0005
-- title: Bedrock model access enabled
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.impact, attack.t1496
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1496/
-- falsepositives: teams onboarding Bedrock (confirm with them)
-- description: PutFoundationModelEntitlement, PutUseCaseForModelAccess or CreateFoundationModelAgreement: foundation models switched on (LLMjacking).
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.modelId'), ''), ' in ', awsregion) AS summary, 1 AS count
FROM events
WHERE eventsource = 'bedrock.amazonaws.com' AND eventname IN ('PutFoundationModelEntitlement', 'PutUseCaseForModelAccess', 'CreateFoundationModelAgreement')
