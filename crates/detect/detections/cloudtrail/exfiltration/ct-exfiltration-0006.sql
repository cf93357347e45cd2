-- id: ct-exfiltration-0006
-- title: Bucket ACL grants public access
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.exfiltration, attack.t1530
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1530/
-- falsepositives: public download buckets
-- description: PutBucketAcl/PutObjectAcl granting AllUsers or AuthenticatedUsers, or a public canned ACL.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' made ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?'), ' public') AS summary, 1 AS count
FROM events
WHERE eventsource = 's3.amazonaws.com' AND eventname IN ('PutBucketAcl', 'PutObjectAcl') AND errorcode IS NULL AND regexp_like(coalesce(requestparameters, ''), 'acs.amazonaws.com/groups/global/(AllUsers|AuthenticatedUsers)|"x-amz-acl"\s*:\s*\[?\s*"(public-read|public-read-write|authenticated-read)"')
