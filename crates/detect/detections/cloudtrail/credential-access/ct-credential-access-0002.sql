-- id: ct-credential-access-0002
-- title: SSM parameters read with decryption
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.credential-access, attack.t1552
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1552/
-- falsepositives: applications reading their own configuration at start
-- description: GetParameter(s)/GetParametersByPath with withDecryption=true: SecureString values read in clear.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' with decryption: ', coalesce(json_extract_scalar(requestparameters, '$.name'), json_extract_scalar(requestparameters, '$.path'), json_extract(requestparameters, '$.names'), '')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'ssm.amazonaws.com' AND eventname IN ('GetParameter', 'GetParameters', 'GetParametersByPath') AND lower(json_extract_scalar(requestparameters, '$.withDecryption')) = 'true' AND errorcode IS NULL
