-- id: ct-lateral-movement-0001
-- title: Role assumed in another account
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.lateral-movement, attack.t1550.001
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1550/001/
-- falsepositives: organizations with cross-account roles (most of them)
-- description: AssumeRole of a role whose ARN names an account other than the caller's: movement across accounts.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('assumed ', json_extract_scalar(requestparameters, '$.roleArn')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'sts.amazonaws.com' AND eventname = 'AssumeRole' AND errorcode IS NULL AND json_extract_scalar(requestparameters, '$.roleArn') LIKE 'arn:aws:iam::%' AND split_part(json_extract_scalar(requestparameters, '$.roleArn'), ':', 5) <> coalesce(useridentity.accountid, recipientaccountid)
