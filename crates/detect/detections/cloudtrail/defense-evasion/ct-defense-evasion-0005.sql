-- id: ct-defense-evasion-0005
-- title: Security Hub disabled or standards turned off
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.defense-evasion, attack.t1562.001
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1562/001/
-- falsepositives: Security Hub reconfiguration
-- description: DisableSecurityHub, BatchDisableStandards or DisableImportFindingsForProduct.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' in ', awsregion) AS summary, 1 AS count
FROM events
WHERE eventsource = 'securityhub.amazonaws.com' AND eventname IN ('DisableSecurityHub', 'BatchDisableStandards', 'DisableImportFindingsForProduct', 'DisassociateFromMasterAccount', 'DisassociateFromAdministratorAccount') AND errorcode IS NULL
