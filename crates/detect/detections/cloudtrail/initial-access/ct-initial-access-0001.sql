-- id: ct-initial-access-0001
-- title: Root user activity
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.initial-access, attack.privilege-escalation, attack.t1078.004
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1078/004/
-- falsepositives: documented root-only tasks
-- description: API calls made as the account's root user (console sign-in events and calls made by AWS services for root excluded).
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('root called ', eventname) AS summary, 1 AS count
FROM events
WHERE useridentity.type = 'Root' AND useridentity.invokedby IS NULL AND coalesce(eventtype, '') <> 'AwsConsoleSignIn' AND coalesce(sourceipaddress, '') NOT LIKE '%.amazonaws.com'
