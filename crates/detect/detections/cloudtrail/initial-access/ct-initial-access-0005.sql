-- id: ct-initial-access-0005
-- title: AWS quarantine policy attached: AWS reports the key as exposed
-- source: cloudtrail
-- level: high
-- status: stable
-- tags: attack.initial-access, attack.t1078.004
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1078/004/, https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCompromisedKeyQuarantineV3.html
-- falsepositives: none: AWS only attaches it when it found the key exposed
-- description: AWS attached AWSCompromisedKeyQuarantine (V1/V2/V3) to a user: AWS found the user's access key in public (e.g. on GitHub). Treat the key as leaked.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat(json_extract_scalar(requestparameters, '$.policyArn'), ' attached to ', coalesce(json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.roleName'), '?')) AS summary, 1 AS count
FROM events
WHERE eventsource = 'iam.amazonaws.com' AND eventname IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy') AND json_extract_scalar(requestparameters, '$.policyArn') LIKE 'arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine%'
