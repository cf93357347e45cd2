-- id: ct-persistence-0008
-- title: Federation token minted
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.persistence, attack.t1550.001
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1550/001/
-- falsepositives: legacy federation brokers
-- description: GetFederationToken by an IAM user: temporary credentials that survive the deletion of the user's access key.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('federation token ', coalesce(json_extract_scalar(responseelements, '$.credentials.accessKeyId'), '?'), ' for ', coalesce(json_extract_scalar(requestparameters, '$.name'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'sts.amazonaws.com' AND eventname = 'GetFederationToken' AND errorcode IS NULL
