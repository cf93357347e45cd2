-- id: ct-persistence-0001
-- title: IAM user created
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.persistence, attack.t1136.003
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1136/003/
-- falsepositives: onboarding by administrators
-- description: A new IAM user: attackers create users to keep access after the leaked key is revoked.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('created user ', coalesce(json_extract_scalar(requestparameters, '$.userName'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname = 'CreateUser' AND errorcode IS NULL
