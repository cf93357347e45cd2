-- id: ct-discovery-0002
-- title: Permission probing: burst of access-denied errors
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.discovery, attack.t1580, attack.t1526
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1580/, https://attack.mitre.org/techniques/T1526/
-- falsepositives: a misconfigured application retrying a forbidden call
-- description: One key received ten or more AccessDenied/UnauthorizedOperation errors with no gap over ten minutes: a tool enumerating what a found key may do (enumerate-iam, pacu).
WITH hits AS (
    SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
           awsregion AS region,
           coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
           useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
           useridentity.accesskeyid AS grp
    FROM events
    WHERE errorcode IN ('AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Client.UnauthorizedOperation', 'UnauthorizedAccess', 'AuthorizationError')
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
       concat(CAST(n AS VARCHAR), ' access-denied errors in ', CAST(date_diff('minute', event_ts, last_ts) AS VARCHAR),
              ' minute(s)') AS summary,
       n AS count, last_ts
FROM ranked
WHERE rn = 1 AND n >= 10
