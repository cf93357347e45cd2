-- id: ct-persistence-0002
-- title: Access key created for another user
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.persistence, attack.t1098.001
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1098/001/
-- falsepositives: administrators issuing keys for service users
-- description: CreateAccessKey where the target user is not the caller: a new long-term key for someone else.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('access key ', coalesce(json_extract_scalar(responseelements, '$.accessKey.accessKeyId'), '?'), ' created for user ', json_extract_scalar(requestparameters, '$.userName')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname = 'CreateAccessKey' AND errorcode IS NULL AND json_extract_scalar(requestparameters, '$.userName') IS NOT NULL AND json_extract_scalar(requestparameters, '$.userName') <> coalesce(useridentity.username, '')
