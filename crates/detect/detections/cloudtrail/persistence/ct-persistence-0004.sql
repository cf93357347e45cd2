-- id: ct-persistence-0004
-- title: MFA device registered
-- source: cloudtrail
-- level: low
-- status: stable
-- tags: attack.persistence, attack.t1098.005
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1098/005/
-- falsepositives: users enrolling MFA
-- description: CreateVirtualMFADevice/EnableMFADevice: an attacker registering their own MFA locks the owner out.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(eventname, ' ', coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.virtualMFADeviceName'), '')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname IN ('CreateVirtualMFADevice', 'EnableMFADevice') AND errorcode IS NULL
