-- id: ct-impact-0006
-- title: Burst of Bedrock model invocations
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.impact, attack.t1496
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1496/
-- falsepositives: applications built on Bedrock (check the key and source IP)
-- description: Five or more InvokeModel/Converse (and streaming variants) by one key with no gap over ten minutes.
WITH hits AS (
    SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
           awsregion AS region,
           coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
           useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
           useridentity.accesskeyid AS grp
    FROM events
    WHERE eventsource = 'bedrock.amazonaws.com' AND eventname IN ('InvokeModel', 'InvokeModelWithResponseStream', 'Converse', 'ConverseStream')
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
       concat(CAST(n AS VARCHAR), ' Bedrock model invocations in ', CAST(date_diff('minute', event_ts, last_ts) AS VARCHAR),
              ' minute(s)') AS summary,
       n AS count, last_ts
FROM ranked
WHERE rn = 1 AND n >= 5
