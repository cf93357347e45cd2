-- id: ct-initial-access-0002
-- title: Root access key used
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.initial-access, attack.t1078.004
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1078/004/
-- falsepositives: none expected
-- description: A root user's long-term access key (AKIA) made an API call: root keys should not exist.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('root access key ', useridentity.accesskeyid, ' called ', eventname) AS summary, 1 AS count
FROM events
WHERE useridentity.type = 'Root' AND useridentity.accesskeyid LIKE 'AKIA%' AND coalesce(sessioncredentialfromconsole, 'false') <> 'true' AND useridentity.invokedby IS NULL
