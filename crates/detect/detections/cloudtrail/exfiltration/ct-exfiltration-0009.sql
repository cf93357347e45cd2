-- id: ct-exfiltration-0009
-- title: Data export task started
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.exfiltration, attack.t1537
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1537/
-- falsepositives: scheduled analytics exports
-- description: CreateExportTask (CloudWatch Logs), StartExportTask (RDS snapshot to S3), CreateInstanceExportTask, ExportSnapshot (Lightsail) or ExportImage: bulk data moved to S3.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' to ', coalesce(json_extract_scalar(requestparameters, '$.destination'), json_extract_scalar(requestparameters, '$.s3BucketName'), json_extract_scalar(requestparameters, '$.s3Bucket'), '?')) AS summary, 1 AS count
FROM events
WHERE errorcode IS NULL AND eventname IN ('CreateExportTask', 'StartExportTask', 'CreateInstanceExportTask', 'ExportSnapshot', 'ExportImage', 'ExportTableToPointInTime')
