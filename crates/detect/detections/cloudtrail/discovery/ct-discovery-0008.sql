-- id: ct-discovery-0008
-- title: SES sending capacity and identity enumeration
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.discovery, attack.t1526
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1526/
-- falsepositives: mail-sending applications checking their quota
-- description: Calls that check what an account can send by e-mail (GetSendQuota, ListIdentities, GetAccount, ListEmailIdentities): spammers test found keys this way.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' in ', awsregion) AS summary, 1 AS count
FROM events
WHERE eventsource = 'ses.amazonaws.com' AND eventname IN ('GetSendQuota', 'ListIdentities', 'GetAccountSendingEnabled', 'ListEmailIdentities', 'GetAccount', 'GetSendStatistics', 'ListVerifiedEmailAddresses')
