-- id: ct-impact-0002
-- title: Burst of GPU instance launch attempts
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.impact, attack.t1496.001
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1496/001/
-- falsepositives: ML teams scaling a training cluster
-- description: Two or more accelerated-instance RunInstances attempts by one key with no gap over thirty minutes, or across regions: a miner looking for capacity and quota.
WITH hits AS (
    SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
           awsregion AS region,
           coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
           useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
           useridentity.accesskeyid AS grp
    FROM events
    WHERE eventsource = 'ec2.amazonaws.com' AND eventname = 'RunInstances' AND regexp_like(lower(coalesce(json_extract_scalar(requestparameters, '$.instanceType'), '')), '^(p[0-9]|g[0-9]|gr[0-9]|inf[0-9]|trn[0-9]|dl[0-9]|vt[0-9]|f[0-9])')
), marked AS (
    SELECT *, CASE WHEN lag(event_ts) OVER (PARTITION BY grp ORDER BY event_ts, evidence_path, evidence_index)
                        >= event_ts - INTERVAL '30 minutes' THEN 0 ELSE 1 END AS brk
    FROM hits
), bursts AS (
    SELECT *, sum(brk) OVER (PARTITION BY grp ORDER BY event_ts, evidence_path, evidence_index
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS burst
    FROM marked
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY grp, burst ORDER BY event_ts, evidence_path, evidence_index) AS rn,
           count(*) OVER (PARTITION BY grp, burst) AS n,
           max(event_ts) OVER (PARTITION BY grp, burst) AS last_ts
    FROM bursts
)
SELECT event_ts, evidence_path, evidence_index, eventid, account_id, region, principal, access_key_id, source_ip,
       concat(CAST(n AS VARCHAR), ' GPU/accelerated launch attempts in ', CAST(date_diff('minute', event_ts, last_ts) AS VARCHAR),
              ' minute(s)') AS summary,
       n AS count, last_ts
FROM ranked
WHERE rn = 1 AND n >= 2
