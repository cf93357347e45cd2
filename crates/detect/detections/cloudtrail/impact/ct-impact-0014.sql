-- id: ct-impact-0014
-- title: KMS key scheduled for deletion or disabled
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.impact, attack.t1485
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1485/
-- falsepositives: key rotation clean-up
-- description: ScheduleKeyDeletion or DisableKey: data encrypted with the key becomes unreadable.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.keyId'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'kms.amazonaws.com' AND eventname IN ('ScheduleKeyDeletion', 'DisableKey') AND errorcode IS NULL AND useridentity.invokedby IS NULL
