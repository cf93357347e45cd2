-- id: ct-impact-0003
-- title: Service quota probing
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.impact, attack.discovery, attack.t1496
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1496/
-- falsepositives: capacity planning
-- description: GetServiceQuota/ListServiceQuotas/GetAWSDefaultServiceQuota/ListRequestedServiceQuotaChangeHistory: what can this account run?
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.serviceCode'), ''), ' ', coalesce(json_extract_scalar(requestparameters, '$.quotaCode'), '')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'servicequotas.amazonaws.com' AND eventname IN ('GetServiceQuota', 'ListServiceQuotas', 'GetAWSDefaultServiceQuota', 'ListAWSDefaultServiceQuotas', 'ListRequestedServiceQuotaChangeHistory')
