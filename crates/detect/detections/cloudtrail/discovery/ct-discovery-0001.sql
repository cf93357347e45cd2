-- id: ct-discovery-0001
-- title: First use of a long-term key is GetCallerIdentity
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.discovery, attack.t1087.004
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1087/004/, https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
-- falsepositives: a new CI key whose first step checks its identity
-- description: The first call ever recorded for a long-term (AKIA) access key is sts:GetCallerIdentity: the classic validation of a found or stolen key (whoami) before using it.
WITH firsts AS (
    SELECT useridentity.accesskeyid AS k, min(event_ts) AS t0
    FROM cloudtrail
    WHERE useridentity.accesskeyid IS NOT NULL
    GROUP BY useridentity.accesskeyid
), cand AS (
    SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
           awsregion AS region,
           coalesce(useridentity.arn, useridentity.username) AS principal,
           useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip
    FROM events
    WHERE eventsource = 'sts.amazonaws.com' AND eventname = 'GetCallerIdentity'
      AND useridentity.accesskeyid LIKE 'AKIA%'
)
SELECT c.event_ts, c.evidence_path, c.evidence_index, c.eventid, c.account_id, c.region, c.principal,
       c.access_key_id, c.source_ip,
       concat('first call of key ', c.access_key_id, ' is GetCallerIdentity from ', c.source_ip) AS summary,
       1 AS count
FROM cand c JOIN firsts f ON c.access_key_id = f.k AND c.event_ts = f.t0
