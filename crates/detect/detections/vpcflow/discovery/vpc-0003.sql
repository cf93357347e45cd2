-- id: vpc-0003
-- title: Port scan from an external address (many rejected ports)
-- source: vpcflow
-- level: low
-- status: experimental
-- tags: attack.discovery, attack.t1046, attack.reconnaissance, attack.t1595.001
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-records-examples.html
-- falsepositives: internet-wide research scanners (common and usually harmless); vulnerability scans you ordered
-- description: Flows from one public address were rejected on 10 or more distinct destination ports. One finding per account, region and source address; count is the number of rejected flow records.
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
       srcaddr AS source_ip,
       CAST(NULL AS VARCHAR) AS eventid,
       CAST(count(DISTINCT dstport) AS VARCHAR) || ' ports on ' || CAST(count(DISTINCT dstaddr) AS VARCHAR)
           || ' address(es) rejected for ' || srcaddr AS summary,
       count(*) AS count
FROM flows
WHERE action = 'REJECT' AND NOT src_private
GROUP BY acct, reg, srcaddr
HAVING count(DISTINCT dstport) >= 10
