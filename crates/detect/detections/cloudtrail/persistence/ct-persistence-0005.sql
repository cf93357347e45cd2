-- id: ct-persistence-0005
-- title: SAML or OIDC identity provider created or changed
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.persistence, attack.t1484.002
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1484/002/
-- falsepositives: new SSO integration set up by administrators
-- description: A new or changed federation trust (SAML or OpenID Connect provider) lets outside identities in.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.name'), json_extract_scalar(requestparameters, '$.url'), json_extract_scalar(requestparameters, '$.sAMLProviderArn'), '')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname IN ('CreateSAMLProvider', 'UpdateSAMLProvider', 'CreateOpenIDConnectProvider', 'AddClientIDToOpenIDConnectProvider', 'UpdateOpenIDConnectProviderThumbprint') AND errorcode IS NULL
