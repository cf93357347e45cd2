-- id: vpc-0002
-- title: Large outbound transfer to one external address
-- source: vpcflow
-- level: medium
-- status: experimental
-- tags: attack.exfiltration, attack.t1048
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html
-- falsepositives: backups, software updates and uploads to external services; CDN origins
-- description: Accepted flows from private addresses to a single public address moved more than 1 GB (10^9 bytes) in total. One finding per account, region and external address (in source_ip); count is the number of flow records.
WITH flows AS (
    SELECT *,
           coalesce(account_id, path_account) AS acct,
           coalesce(region, path_region) AS reg,
           (cidr_contains('10.0.0.0/8', srcaddr) OR cidr_contains('172.16.0.0/12', srcaddr) OR cidr_contains('192.168.0.0/16', srcaddr)
           OR cidr_contains('100.64.0.0/10', srcaddr) OR cidr_contains('127.0.0.0/8', srcaddr) OR cidr_contains('169.254.0.0/16', srcaddr)
           OR cidr_contains('fc00::/7', srcaddr) OR cidr_contains('fe80::/10', srcaddr) OR cidr_contains('::1/128', srcaddr)) AS src_private,
           (cidr_contains('10.0.0.0/8', dstaddr) OR cidr_contains('172.16.0.0/12', dstaddr) OR cidr_contains('192.168.0.0/16', dstaddr)
           OR cidr_contains('100.64.0.0/10', dstaddr) OR cidr_contains('127.0.0.0/8', dstaddr) OR cidr_contains('169.254.0.0/16', dstaddr)
           OR cidr_contains('fc00::/7', dstaddr) OR cidr_contains('fe80::/10', dstaddr) OR cidr_contains('::1/128', dstaddr)) AS dst_private
    FROM vpc_flow
    WHERE srcaddr IS NOT NULL AND dstaddr IS NOT NULL
)
SELECT min(start_ts) AS event_ts,
       first_value(evidence_path ORDER BY start_ts, evidence_path, evidence_index) AS evidence_path,
       first_value(evidence_index ORDER BY start_ts, evidence_path, evidence_index) AS evidence_index,
       acct AS account_id,
       reg AS region,
       CAST(NULL AS VARCHAR) AS principal,
       CAST(NULL AS VARCHAR) AS access_key_id,
       dstaddr AS source_ip,
       CAST(NULL AS VARCHAR) AS eventid,
       CAST(sum(bytes) AS VARCHAR) || ' bytes sent to ' || dstaddr || ' from '
           || CAST(count(DISTINCT srcaddr) AS VARCHAR) || ' private address(es)' AS summary,
       count(*) AS count
FROM flows
WHERE action = 'ACCEPT' AND src_private AND NOT dst_private
GROUP BY acct, reg, dstaddr
HAVING sum(bytes) > 1000000000
