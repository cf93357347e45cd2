-- id: ct-defense-evasion-0001
-- title: CloudTrail logging stopped or trail deleted
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.defense-evasion, attack.t1562.008
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1562/008/
-- falsepositives: trail migrations by administrators
-- description: StopLogging or DeleteTrail: the account's audit log switched off.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.name'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'cloudtrail.amazonaws.com' AND eventname IN ('StopLogging', 'DeleteTrail') AND errorcode IS NULL
