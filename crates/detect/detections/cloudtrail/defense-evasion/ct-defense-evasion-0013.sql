-- id: ct-defense-evasion-0013
-- title: Session token minted from a long-term key
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.defense-evasion, attack.lateral-movement, attack.t1550.001
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1550/001/
-- falsepositives: users who need MFA-backed sessions from the CLI
-- description: GetSessionToken with an AKIA key: temporary credentials that keep working for up to 36 hours after the long-term key is deactivated.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('session token ', coalesce(json_extract_scalar(responseelements, '$.credentials.accessKeyId'), '?'), ' minted') AS summary, 1 AS count
FROM events
WHERE eventsource = 'sts.amazonaws.com' AND eventname = 'GetSessionToken' AND errorcode IS NULL AND useridentity.accesskeyid LIKE 'AKIA%'
