-- id: ct-impact-0007
-- title: SES sending enabled or production access requested
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.impact, attack.t1496
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1496/
-- falsepositives: teams setting up transactional mail
-- description: UpdateAccountSendingEnabled(enabled=true), PutAccountDetails (production access request), VerifyEmailIdentity/VerifyDomainIdentity/CreateEmailIdentity: an account being readied for spam.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.emailAddress'), json_extract_scalar(requestparameters, '$.emailIdentity'), json_extract_scalar(requestparameters, '$.domain'), '')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'ses.amazonaws.com' AND errorcode IS NULL AND (eventname IN ('PutAccountDetails', 'VerifyEmailIdentity', 'VerifyDomainIdentity', 'CreateEmailIdentity', 'VerifyEmailAddress') OR (eventname = 'UpdateAccountSendingEnabled' AND lower(coalesce(json_extract_scalar(requestparameters, '$.enabled'), 'true')) = 'true'))
