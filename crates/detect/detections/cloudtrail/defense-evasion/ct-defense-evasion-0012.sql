-- id: ct-defense-evasion-0012
-- title: Calls from an offensive security distribution or attack tool
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.defense-evasion, attack.execution, attack.t1059.009
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1059/009/
-- falsepositives: authorised penetration tests
-- description: User agents of Pacu, Stratus Red Team, or the AWS CLI on Kali or Parrot Linux: attack tooling (GuardDuty's PenTest findings look for the same).
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' from attack tooling: ', substr(useragent, 1, 120)) AS summary, 1 AS count
FROM events
WHERE regexp_like(lower(useragent), 'pacu|stratus-red-team|kali|parrot|pentoo|blackarch')
