-- id: ct-impact-0008
-- title: Destructive delete of data stores
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.impact, attack.t1485
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1485/
-- falsepositives: decommissioning
-- description: DeleteBucket, DeleteDBInstance, DeleteDBCluster, DeleteSecret, DeleteTable (DynamoDB), DeleteFileSystem, DeleteBackupVault or DeleteSnapshot.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.bucketName'), json_extract_scalar(requestparameters, '$.dBInstanceIdentifier'), json_extract_scalar(requestparameters, '$.dBClusterIdentifier'), json_extract_scalar(requestparameters, '$.secretId'), json_extract_scalar(requestparameters, '$.tableName'), '')) AS summary, 1 AS count
FROM events
WHERE errorcode IS NULL AND eventname IN ('DeleteBucket', 'DeleteDBInstance', 'DeleteDBCluster', 'DeleteSecret', 'DeleteFileSystem', 'DeleteBackupVault', 'DeleteRecoveryPoint', 'DeleteGlobalCluster') OR (errorcode IS NULL AND eventsource = 'dynamodb.amazonaws.com' AND eventname = 'DeleteTable')
