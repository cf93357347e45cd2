-- id: ct-impact-0001
-- title: GPU or accelerated instance launched or attempted
-- source: cloudtrail
-- level: medium
-- status: stable
-- tags: attack.impact, attack.t1496.001
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://attack.mitre.org/techniques/T1496/001/
-- falsepositives: ML and rendering teams
-- description: RunInstances of an accelerated type (p*, g*, inf*, trn*, dl*, f*, vt*), successful or not: cryptomining and model hosting on stolen keys.
SELECT event_ts, evidence_path, evidence_index, eventid, recipientaccountid AS account_id,
       awsregion AS region,
       coalesce(useridentity.arn, useridentity.username, useridentity.invokedby) AS principal,
       useridentity.accesskeyid AS access_key_id, sourceipaddress AS source_ip,
       concat('RunInstances ', json_extract_scalar(requestparameters, '$.instanceType'), ' in ', awsregion, CASE WHEN errorcode IS NULL THEN '' ELSE concat(' (failed: ', errorcode, ')') END) AS summary, 1 AS count
FROM events
WHERE eventsource = 'ec2.amazonaws.com' AND eventname = 'RunInstances' AND regexp_like(lower(coalesce(json_extract_scalar(requestparameters, '$.instanceType'), '')), '^(p[0-9]|g[0-9]|gr[0-9]|inf[0-9]|trn[0-9]|dl[0-9]|vt[0-9]|f[0-9])')
