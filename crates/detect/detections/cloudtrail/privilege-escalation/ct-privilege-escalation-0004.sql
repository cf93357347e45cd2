-- id: ct-privilege-escalation-0004
-- title: Role chaining: AssumeRole with temporary credentials
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.privilege-escalation, attack.t1548
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1548/
-- falsepositives: hub-and-spoke role designs; CI pipelines
-- description: AssumeRole called with an ASIA (temporary) key: a session used to reach another role.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('role chaining to ', coalesce(json_extract_scalar(requestparameters, '$.roleArn'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'sts.amazonaws.com' AND eventname = 'AssumeRole' AND errorcode IS NULL AND useridentity.accesskeyid LIKE 'ASIA%' AND useridentity.invokedby IS NULL
