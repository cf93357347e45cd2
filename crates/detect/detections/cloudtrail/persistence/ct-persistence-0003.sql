-- id: ct-persistence-0003
-- title: Console password created or changed for a user
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.persistence, attack.t1098
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1098/
-- falsepositives: administrators onboarding users
-- description: CreateLoginProfile/UpdateLoginProfile: console access given to, or taken over from, a user.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' for user ', coalesce(json_extract_scalar(requestparameters, '$.userName'), useridentity.username, '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname IN ('CreateLoginProfile', 'UpdateLoginProfile') AND errorcode IS NULL
