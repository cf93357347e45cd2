-- id: ct-discovery-0006
-- title: Prowler security assessment user agent
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.discovery, attack.t1526
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1526/
-- falsepositives: scheduled Prowler scans
-- description: Calls made by Prowler (user agent): usually an authorised assessment, but attackers run it too.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' by Prowler') AS summary, 1 AS count
FROM events
WHERE lower(useragent) LIKE '%prowler%'
