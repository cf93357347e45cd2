-- id: ct-exfiltration-0005
-- title: Bucket policy opened to everyone
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.exfiltration, attack.t1530
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1530/
-- falsepositives: static websites served from a bucket
-- description: PutBucketPolicy with a statement whose principal is "*" (or {"AWS":"*"}).
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('bucket ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?'), ' policy allows Principal *') AS summary, 1 AS count
FROM events
WHERE eventsource = 's3.amazonaws.com' AND eventname = 'PutBucketPolicy' AND errorcode IS NULL AND regexp_like(regexp_replace(coalesce(json_extract(requestparameters, '$.bucketPolicy'), json_extract_scalar(requestparameters, '$.policy'), ''), '\s', '', 'g'), '"Principal":("\*"|\{"AWS":(\[)?"\*")')
