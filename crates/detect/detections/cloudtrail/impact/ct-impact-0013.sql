-- id: ct-impact-0013
-- title: Bucket lifecycle rule with a very short expiration
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.impact, attack.t1485
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1485/
-- falsepositives: scratch buckets
-- description: PutBucketLifecycleConfiguration (PutBucketLifecycle) expiring objects after one day or less: data deleted by S3 itself.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('short expiration lifecycle on ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 's3.amazonaws.com' AND eventname IN ('PutBucketLifecycle', 'PutBucketLifecycleConfiguration') AND errorcode IS NULL AND regexp_like(regexp_replace(coalesce(requestparameters, ''), '\s', '', 'g'), '"Expiration":\{[^}]*"Days":"?[01]"?[,}]')
