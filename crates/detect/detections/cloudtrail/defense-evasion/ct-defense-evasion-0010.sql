-- id: ct-defense-evasion-0010
-- title: CloudTrail log group or stream deleted
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.defense-evasion, attack.t1562.008
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1562/008/
-- falsepositives: log group clean-up after a trail migration
-- description: DeleteLogGroup/DeleteLogStream of a CloudWatch Logs group whose name says it holds CloudTrail logs.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' ', json_extract_scalar(requestparameters, '$.logGroupName')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'logs.amazonaws.com' AND eventname IN ('DeleteLogGroup', 'DeleteLogStream') AND errorcode IS NULL AND lower(json_extract_scalar(requestparameters, '$.logGroupName')) LIKE '%cloudtrail%'
