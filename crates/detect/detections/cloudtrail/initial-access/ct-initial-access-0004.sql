-- id: ct-initial-access-0004
-- title: Activity in a region the account never used before
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.initial-access, attack.defense-evasion, attack.t1535
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1535/
-- falsepositives: a team starting to use a new region
-- description: The first event of an account in a region, more than an hour after the account's first event anywhere in the evidence (the baseline is the whole cloudtrail table): attackers favour unused regions.
WITH acct AS (
    SELECT recipientaccountid AS a, min(event_ts) AS t0 FROM cloudtrail GROUP BY recipientaccountid
), reg AS (
    SELECT recipientaccountid AS a, awsregion AS r, min(event_ts) AS t1, count(*) AS n
    FROM cloudtrail GROUP BY recipientaccountid, awsregion
), firsts AS (
    SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id, awsregion AS region,
           coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
           useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip, eventname,
           row_number() OVER (PARTITION BY recipientaccountid, awsregion ORDER BY event_ts, evidence_path, evidence_index) AS rn
    FROM events
    WHERE awsregion IS NOT NULL AND recipientaccountid IS NOT NULL
)
SELECT f.event_ts, f.evidence_path, f.evidence_index, f.eventid, f.account_id, f.region, f.principal,
       f.access_key_id, f.source_ip,
       concat('first activity of account ', f.account_id, ' in ', f.region, ' (', f.eventname, '); ',
              CAST(reg.n AS VARCHAR), ' event(s) there in all') AS summary,
       1 AS count
FROM firsts f
JOIN reg ON reg.a = f.account_id AND reg.r = f.region AND reg.t1 = f.event_ts
JOIN acct ON acct.a = f.account_id
WHERE f.rn = 1 AND f.event_ts > acct.t0 + INTERVAL '1 hour'
