-- id: ct-impact-0010
-- title: S3 object written with a customer-provided key (SSE-C)
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.impact, attack.t1486
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1486/
-- falsepositives: applications that use SSE-C by design
-- description: CopyObject/PutObject with x-amz-server-side-encryption-customer-algorithm: objects re-encrypted with a key AWS does not keep (S3 ransomware).
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' with SSE-C on ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), '?'), '/', coalesce(json_extract_scalar(requestparameters, '$.key'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 's3.amazonaws.com' AND eventname IN ('CopyObject', 'PutObject', 'CompleteMultipartUpload', 'UploadPart') AND errorcode IS NULL AND (lower(coalesce(requestparameters, '')) LIKE '%x-amz-server-side-encryption-customer-algorithm%' OR lower(coalesce(additionaleventdata, '')) LIKE '%"ssecustomeralgorithm"%' OR lower(coalesce(additionaleventdata, '')) LIKE '%sse-c%')
