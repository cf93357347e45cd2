-- id: ct-defense-evasion-0004
-- title: AWS Config recording stopped or deleted
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.defense-evasion, attack.t1562.001
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1562/001/
-- falsepositives: Config re-deployment
-- description: StopConfigurationRecorder, DeleteConfigurationRecorder, DeleteDeliveryChannel or DeleteConfigRule.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' in ', awsregion) AS summary, 1 AS count
FROM events
WHERE eventsource = 'config.amazonaws.com' AND eventname IN ('StopConfigurationRecorder', 'DeleteConfigurationRecorder', 'DeleteDeliveryChannel', 'DeleteConfigRule', 'DeleteConformancePack') AND errorcode IS NULL
