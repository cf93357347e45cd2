-- id: ct-defense-evasion-0006
-- title: VPC flow logs deleted
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.defense-evasion, attack.t1562.008
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1562/008/
-- falsepositives: network re-architecture
-- description: DeleteFlowLogs: network logging removed.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' in ', awsregion) AS summary, 1 AS count
FROM events
WHERE eventsource = 'ec2.amazonaws.com' AND eventname IN ('DeleteFlowLogs') AND errorcode IS NULL
