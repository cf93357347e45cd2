-- id: ct-defense-evasion-0011
-- title: MFA device deactivated or deleted
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.defense-evasion, attack.t1556.006
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1556/006/
-- falsepositives: lost devices replaced by the help desk
-- description: DeactivateMFADevice/DeleteVirtualMFADevice: a user's second factor removed.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.serialNumber'), '')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname IN ('DeactivateMFADevice', 'DeleteVirtualMFADevice') AND errorcode IS NULL
