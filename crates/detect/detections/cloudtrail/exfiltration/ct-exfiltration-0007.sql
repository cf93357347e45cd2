-- id: ct-exfiltration-0007
-- title: S3 Block Public Access removed or relaxed
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.exfiltration, attack.defense-evasion, attack.t1530
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1530/
-- falsepositives: buckets made public on purpose
-- description: DeleteBucketPublicAccessBlock/DeletePublicAccessBlock, or a Put…PublicAccessBlock with a setting false.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' on ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), 'the account')) AS summary, 1 AS count
FROM events
WHERE eventsource IN ('s3.amazonaws.com', 's3-control.amazonaws.com') AND errorcode IS NULL AND (eventname IN ('DeleteBucketPublicAccessBlock', 'DeletePublicAccessBlock', 'DeleteAccountPublicAccessBlock') OR (eventname IN ('PutBucketPublicAccessBlock', 'PutPublicAccessBlock', 'PutAccountPublicAccessBlock') AND regexp_like(coalesce(requestparameters, ''), '"(BlockPublicAcls|IgnorePublicAcls|BlockPublicPolicy|RestrictPublicBuckets)"\s*:\s*"?false')))
