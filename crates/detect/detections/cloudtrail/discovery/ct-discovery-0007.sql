-- id: ct-discovery-0007
-- title: Bedrock model availability reconnaissance
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.discovery, attack.t1526
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1526/, https://permiso.io/blog/exploiting-hosted-models
-- falsepositives: developers exploring Bedrock
-- description: Calls that check which Bedrock foundation models exist, are enabled or are logged (ListFoundationModels, GetFoundationModelAvailability, GetModelInvocationLoggingConfiguration): the first step of LLMjacking.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' in ', awsregion) AS summary, 1 AS count
FROM events
WHERE eventsource = 'bedrock.amazonaws.com' AND eventname IN ('ListFoundationModels', 'GetFoundationModelAvailability', 'GetModelInvocationLoggingConfiguration', 'ListFoundationModelAgreementOffers', 'GetUseCaseForModelAccess')
