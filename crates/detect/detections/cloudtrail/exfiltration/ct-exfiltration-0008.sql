-- id: ct-exfiltration-0008
-- title: S3 bucket replication configured
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.exfiltration, attack.t1537
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1537/
-- falsepositives: disaster-recovery replication
-- description: PutBucketReplication: objects copied automatically to another bucket, possibly another account's.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('replication configured on ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 's3.amazonaws.com' AND eventname IN ('PutBucketReplication') AND errorcode IS NULL
