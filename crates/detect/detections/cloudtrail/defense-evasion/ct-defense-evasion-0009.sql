-- id: ct-defense-evasion-0009
-- title: Account left its organization
-- source: cloudtrail
-- level: critical
-- status: stable
-- tags: attack.defense-evasion, attack.t1666
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1666/
-- falsepositives: planned account migrations between organizations
-- description: LeaveOrganization: the account escaped its organization's SCPs and central logging.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' in ', awsregion) AS summary, 1 AS count
FROM events
WHERE eventsource = 'organizations.amazonaws.com' AND eventname IN ('LeaveOrganization') AND errorcode IS NULL
