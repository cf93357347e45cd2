-- id: ct-discovery-0005
-- title: Offensive cloud recon tool user agent
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.discovery, attack.t1526, attack.t1580
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1526/, https://attack.mitre.org/techniques/T1580/
-- falsepositives: an authorised security assessment
-- description: Calls whose user agent names a cloud reconnaissance tool (ScoutSuite, CloudFox, PMapper, enumerate-iam, CloudMapper, Cloudsplaining).
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' by recon tool: ', substr(useragent, 1, 120)) AS summary, 1 AS count
FROM events
WHERE regexp_like(lower(useragent), 'scout ?suite|cloudfox|pmapper|principalmapper|enumerate-iam|cloudmapper|cloudsplaining')
