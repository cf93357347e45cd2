-- id: ct-impact-0011
-- title: Bucket default encryption set to another account's KMS key
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.impact, attack.t1486
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1486/
-- falsepositives: central KMS accounts in an organization (check the account)
-- description: PutBucketEncryption naming a KMS key ARN in an account other than the bucket's: the attacker holds the key.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('bucket ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?'), ' encrypted with a foreign KMS key') AS summary, 1 AS count
FROM events
WHERE eventsource = 's3.amazonaws.com' AND eventname = 'PutBucketEncryption' AND errorcode IS NULL AND regexp_like(coalesce(requestparameters, ''), 'arn:aws:kms:[a-z0-9-]+:[0-9]{12}:') AND NOT regexp_like(coalesce(requestparameters, ''), concat('arn:aws:kms:[a-z0-9-]+:', recipientaccountid, ':'))
