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
    -- Only the events at their region's first instant are numbered (a window over every
    -- event would sort the whole archive in memory): the small table of regions is joined
    -- first, and the earliest copy by evidence position wins ties.
    SELECT e.event_ts, e.evidence_path, e.evidence_index, e.eventid, e.recipientaccountid AS account_id,
           e.awsregion AS region, coalesce(e.useridentity.arn, e.useridentity.username, e.useridentity.invokedby) AS principal,
           e.useridentity.accesskeyid AS access_key_id, e.sourceipaddress AS source_ip, e.eventname, reg.n,
           row_number() OVER (PARTITION BY e.recipientaccountid, e.awsregion
                              ORDER BY e.event_ts, e.evidence_path, e.evidence_index) AS rn
    FROM reg JOIN events e ON reg.a = e.recipientaccountid AND reg.r = e.awsregion AND reg.t1 = e.event_ts
    WHERE e.awsregion IS NOT NULL AND e.recipientaccountid IS NOT NULL
)
SELECT f.event_ts, f.evidence_path, f.evidence_index, f.eventid, f.account_id, f.region, f.principal,
       f.access_key_id, f.source_ip,
       concat('first activity of account ', f.account_id, ' in ', f.region, ' (', f.eventname, '); ',
              CAST(f.n AS VARCHAR), ' event(s) there in all') AS summary,
       1 AS count
FROM firsts f
JOIN acct ON acct.a = f.account_id
WHERE f.rn = 1 AND f.event_ts > acct.t0 + INTERVAL '1 hour'
