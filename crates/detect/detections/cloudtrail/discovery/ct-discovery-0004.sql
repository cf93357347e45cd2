-- id: ct-discovery-0004
-- title: Secrets Manager listing
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.discovery, attack.t1526
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1526/
-- falsepositives: secret rotation tooling; console browsing
-- description: A principal listed Secrets Manager secrets (the step before reading them).
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('ListSecrets in ', awsregion) AS summary, 1 AS count
FROM events
WHERE eventsource = 'secretsmanager.amazonaws.com' AND eventname = 'ListSecrets' AND errorcode IS NULL
