-- id: vpc-0001
-- title: SSH or RDP accepted from a public address
-- source: vpcflow
-- level: medium
-- status: experimental
-- tags: attack.initial-access, attack.t1133, attack.lateral-movement, attack.t1021.004, attack.t1021.001
-- author: trailsift maintainers
-- created: 2026-12-02
-- references: https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-records-examples.html
-- falsepositives: bastion hosts and administrators connecting from home; known office ranges
-- description: TCP connections to port 22 (SSH) or 3389 (RDP) of a private address were accepted from an address outside the private ranges (RFC 1918, CGNAT, loopback, link-local, IPv6 ULA). One finding per account, region and source address; count is the number of flow records.
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
       'SSH/RDP accepted from ' || srcaddr || ' to ' || CAST(count(DISTINCT dstaddr) AS VARCHAR)
           || ' private address(es), ' || CAST(coalesce(sum(bytes), 0) AS VARCHAR) || ' bytes' AS summary,
       count(*) AS count
FROM flows
WHERE action = 'ACCEPT' AND protocol = 6 AND dstport IN (22, 3389) AND NOT src_private AND dst_private
GROUP BY acct, reg, srcaddr
