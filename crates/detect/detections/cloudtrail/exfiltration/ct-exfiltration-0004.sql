-- id: ct-exfiltration-0004
-- title: RDS snapshot shared with another account or made public
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.exfiltration, attack.t1537
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1537/
-- falsepositives: snapshot copies to your own backup account
-- description: ModifyDBSnapshotAttribute/ModifyDBClusterSnapshotAttribute adding restore permission for an account or all.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('DB snapshot ', coalesce(json_extract_scalar(requestparameters, '$.dBSnapshotIdentifier'), json_extract_scalar(requestparameters, '$.dBClusterSnapshotIdentifier'), '?'), ' shared with ', json_extract(requestparameters, '$.valuesToAdd')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'rds.amazonaws.com' AND eventname IN ('ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute') AND errorcode IS NULL AND lower(json_extract_scalar(requestparameters, '$.attributeName')) = 'restore' AND json_array_length(json_extract(requestparameters, '$.valuesToAdd')) > 0
