-- id: ct-defense-evasion-0002
-- title: CloudTrail trail or event selectors changed
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.defense-evasion, attack.t1562.008
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1562/008/
-- falsepositives: logging configuration changes by administrators
-- description: UpdateTrail/PutEventSelectors/PutInsightSelectors: what is logged, or where, changed.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' on ', coalesce(json_extract_scalar(requestparameters, '$.trailName'), json_extract_scalar(requestparameters, '$.name'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'cloudtrail.amazonaws.com' AND eventname IN ('UpdateTrail', 'PutEventSelectors', 'PutAdvancedEventSelectors', 'PutInsightSelectors') AND errorcode IS NULL
