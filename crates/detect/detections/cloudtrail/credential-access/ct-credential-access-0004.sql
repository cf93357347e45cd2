-- id: ct-credential-access-0004
-- title: Burst of failed console logins
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.credential-access, attack.t1110
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1110/
-- falsepositives: a user who forgot a password
-- description: Five or more failed ConsoleLogin attempts from one source IP with no gap over ten minutes.
WITH hits AS (
    SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
           awsregion AS region,
           coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
           useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
           sourceipaddress AS grp
    FROM events
    WHERE eventname = 'ConsoleLogin' AND (errorcode IS NOT NULL OR json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure')
), marked AS (
    SELECT *, CASE WHEN lag(event_ts) OVER (PARTITION BY grp ORDER BY event_ts, evidence_path, evidence_index)
                        >= event_ts - INTERVAL '10 minutes' THEN 0 ELSE 1 END AS brk
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
       concat(CAST(n AS VARCHAR), ' failed console logins in ', CAST(date_diff('minute', event_ts, last_ts) AS VARCHAR),
              ' minute(s)') AS summary,
       n AS count, last_ts
FROM ranked
WHERE rn = 1 AND n >= 5
