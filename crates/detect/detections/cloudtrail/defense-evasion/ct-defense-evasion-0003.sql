-- id: ct-defense-evasion-0003
-- title: GuardDuty disabled, suspended or findings suppressed
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.defense-evasion, attack.t1562.001
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1562/001/
-- falsepositives: GuardDuty reconfiguration by the security team
-- description: DeleteDetector, UpdateDetector with enable=false, an auto-archive filter (CreateFilter/UpdateFilter with action ARCHIVE), a trusted IP list, or leaving the administrator account.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('GuardDuty ', eventname, ' in ', awsregion) AS summary, 1 AS count
FROM events
WHERE eventsource = 'guardduty.amazonaws.com' AND errorcode IS NULL AND (eventname IN ('DeleteDetector', 'DisassociateFromMasterAccount', 'DisassociateFromAdministratorAccount', 'DeleteMembers', 'StopMonitoringMembers', 'CreateIPSet', 'DeletePublishingDestination') OR (eventname = 'UpdateDetector' AND lower(json_extract_scalar(requestparameters, '$.enable')) = 'false') OR (eventname IN ('CreateFilter', 'UpdateFilter') AND upper(json_extract_scalar(requestparameters, '$.action')) = 'ARCHIVE'))
