//! The HTML report: one file, inline CSS, the SVG activity timeline, no script and nothing
//! fetched, so it opens on an air-gapped workstation and can be attached to a case as is.

use std::fmt::Write as _;

use trailsift_detect::investigate::{Count, Investigation};

use crate::markdown::level_word;
use crate::svg::{activity_chart, esc, level_color};
use crate::{or_dash, origin};

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#111827;background:#f9fafb}
header{background:#111827;color:#f9fafb;padding:18px 28px}
header h1{margin:0 0 4px;font-size:20px}header p{margin:0;color:#d1d5db}
main{padding:8px 28px 40px;max-width:1280px}
h2{margin-top:28px;border-bottom:2px solid #e5e7eb;padding-bottom:4px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6}td.n{text-align:right}td.mono{word-break:break-all}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 16px;min-width:130px}
.card b{display:block;font-size:22px}.card span{color:#6b7280}
.lvl{color:#fff;border-radius:4px;padding:1px 6px;font-size:12px;font-weight:600}
.warn{background:#fef3c7;border:1px solid #f59e0b;padding:8px 12px;border-radius:6px}
ul.tree,ul.tree ul{list-style:none;padding-left:18px;margin:4px 0}
ul.tree li{margin:3px 0}ul.tree li::before{content:"└ ";color:#9ca3af}
details{background:#fff;border:1px solid #e5e7eb;border-radius:6px;margin:6px 0;padding:6px 10px}
summary{cursor:pointer;font-weight:600}
.timeline .grid{stroke:#e5e7eb}.timeline .tick{font-size:10px;fill:#6b7280;text-anchor:middle}
.timeline .key{font:11px ui-monospace,monospace;fill:#111827}.timeline .lane0{fill:#ffffff}.timeline .lane1{fill:#f3f4f6}
.timeline .bar{fill:#3b82f6}.timeline .err{fill:#ef4444}.timeline .finding{stroke:#fff;stroke-width:.5}
.timeline .empty{font-size:14px;fill:#6b7280}
.legend span{margin-right:14px}
"#;

fn level_badge(l: trailsift_detect::Level) -> String {
    format!(r#"<span class="lvl" style="background:{}">{}</span>"#, level_color(l), level_word(l))
}

fn counts(list: &[Count], max: usize) -> String {
    let mut parts: Vec<String> = list.iter().take(max).map(|c| format!("{} ({})", esc(&c.value), c.count)).collect();
    if list.len() > max {
        parts.push(format!("… {} more", list.len() - max));
    }
    if parts.is_empty() { "–".into() } else { parts.join(", ") }
}

/// Renders the report.
pub fn render(inv: &Investigation) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = write!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>trailsift: key {}</title><style>{STYLE}</style></head><body>",
        esc(&inv.key)
    );
    let _ = write!(
        w,
        "<header><h1>Exposed-key investigation: <code>{}</code></h1><p>{} · evidence: {} · table <code>{}</code>{}{}</p></header><main>",
        esc(&inv.key),
        esc(&inv.tool),
        esc(&inv.evidence.paths.join(", ")),
        esc(&inv.evidence.table),
        inv.evidence.verification.as_deref().map(|v| format!(" · verification: {}", esc(v))).unwrap_or_default(),
        inv.evidence.duplicates_collapsed.map(|d| format!(" · {d} duplicate record(s) collapsed")).unwrap_or_default(),
    );
    let worst = inv.findings.iter().map(|f| f.level).max();
    let _ = write!(
        w,
        "<div class=\"cards\"><div class=\"card\"><b>{}</b><span>keys in lineage</span></div>\
         <div class=\"card\"><b>{}</b><span>events ({} failed)</span></div>\
         <div class=\"card\"><b>{}</b><span>source IPs</span></div>\
         <div class=\"card\"><b>{}</b><span>mutating calls</span></div>\
         <div class=\"card\"><b>{}</b><span>detections fired{}</span></div></div>",
        inv.lineage.len(),
        inv.total_events,
        inv.total_errors,
        inv.source_ips.len(),
        inv.impact.mutating_events,
        inv.findings.len(),
        worst.map(|l| format!(", worst {}", level_word(l))).unwrap_or_default()
    );
    if !inv.seen_in_evidence {
        let _ = write!(
            w,
            "<p class=\"warn\">The key does not appear in this evidence: check the key ID, the accounts and regions covered, and the time range of the export.</p>"
        );
    }

    let _ = write!(w, "<h2>Activity</h2>{}", activity_chart(inv));
    let _ = write!(
        w,
        "<p class=\"legend\"><span>▮ events per hour (height: square root of the count)</span><span style=\"color:#ef4444\">▮ failed</span>{}</p>",
        [
            trailsift_detect::Level::Low,
            trailsift_detect::Level::Medium,
            trailsift_detect::Level::High,
            trailsift_detect::Level::Critical
        ]
        .iter()
        .map(|l| format!("<span style=\"color:{}\">▼ {}</span>", level_color(*l), level_word(*l)))
        .collect::<String>()
    );

    let _ = write!(w, "<h2>1. Validation</h2><table>");
    let _ = write!(w, "<tr><th>Key</th><td><code>{}</code></td></tr>", esc(&inv.key));
    let _ = write!(w, "<tr><th>Type</th><td>{}</td></tr>", esc(&inv.key_type));
    let _ = write!(
        w,
        "<tr><th>Account (decoded from the key ID)</th><td>{}</td></tr>",
        esc(or_dash(inv.account_id.as_deref()))
    );
    let _ = write!(
        w,
        "<tr><th>Seen in the evidence</th><td>{}</td></tr>",
        if inv.seen_in_evidence { "yes" } else { "<b>no</b>" }
    );
    if let Some(p) = &inv.owner {
        let _ = write!(
            w,
            "<tr><th>Principal</th><td><code>{}</code> ({}, account {})</td></tr>",
            esc(or_dash(p.arn.as_deref())),
            esc(or_dash(p.principal_type.as_deref())),
            esc(or_dash(p.account_id.as_deref()))
        );
    }
    let _ = write!(w, "</table>");

    let _ = write!(w, "<h2>2. Lineage</h2><ul class=\"tree\">");
    if let Some(root) = inv.lineage.first() {
        tree(w, inv, &root.access_key_id, &mut Vec::new());
    }
    let _ = write!(w, "</ul>");
    if !inv.created_users.is_empty() {
        let _ = write!(w, "<p>IAM users created by the lineage:</p><ul>");
        for u in &inv.created_users {
            let _ = write!(
                w,
                "<li><code>{}</code> in {} by <code>{}</code> at {}</li>",
                esc(&u.user_name),
                esc(or_dash(u.account_id.as_deref())),
                esc(&u.created_by),
                esc(or_dash(u.event_time.as_deref()))
            );
        }
        let _ = write!(w, "</ul>");
    }
    if !inv.failed_mints.is_empty() {
        let _ = write!(w, "<p>Failed attempts to mint credentials:</p><ul>");
        for f in &inv.failed_mints {
            let _ = write!(
                w,
                "<li>{} <b>{}</b> by <code>{}</code>: {}{}</li>",
                esc(or_dash(f.event_time.as_deref())),
                esc(&f.event_name),
                esc(&f.access_key_id),
                esc(&f.error_code),
                f.target.as_deref().map(|t| format!(" for {}", esc(t))).unwrap_or_default()
            );
        }
        let _ = write!(w, "</ul>");
    }

    let _ = write!(
        w,
        "<h2>3. Scope</h2><table><tr><th>Key</th><th>Type</th><th>Principal</th><th>Events</th><th>Errors</th><th>First seen</th><th>Last seen</th><th>Source IPs</th></tr>"
    );
    for k in &inv.keys {
        let _ = write!(
            w,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&k.access_key_id),
            esc(&k.key_type),
            esc(or_dash(k.principal.as_ref().and_then(|p| p.arn.as_deref()))),
            k.events,
            k.errors,
            esc(or_dash(k.first_seen.as_deref())),
            esc(or_dash(k.last_seen.as_deref())),
            esc(&{
                let mut s = k.source_ips.iter().take(12).cloned().collect::<Vec<_>>().join(", ");
                if k.source_ips.len() > 12 {
                    s.push_str(&format!(", … {} more", k.source_ips.len() - 12));
                }
                s
            })
        );
    }
    let _ = write!(
        w,
        "<tr><th colspan=\"3\">all</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th colspan=\"3\"></th></tr></table>",
        inv.total_events, inv.total_errors
    );
    for k in inv.keys.iter().filter(|k| k.events > 0) {
        let mut names: Vec<(&String, &u64)> = k.event_names.iter().collect();
        names.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let _ = write!(
            w,
            "<details><summary><code>{}</code> — {} events</summary><table><tr><th>Event name</th><th>Events</th><th>Failed</th></tr>",
            esc(&k.access_key_id),
            k.events
        );
        for (n, c) in names {
            let _ = write!(
                w,
                "<tr><td>{}</td><td class=\"n\">{c}</td><td class=\"n\">{}</td></tr>",
                esc(n),
                k.event_errors.get(n).copied().unwrap_or(0)
            );
        }
        let _ = write!(
            w,
            "</table><p>Source IPs: {}<br>Services: {}<br>Regions: {}<br>User agents: {}<br>Accounts: {}</p></details>",
            counts(&k.source_ip_counts, 30),
            counts(&k.services, 30),
            counts(&k.regions, 30),
            counts(&k.user_agents, 15),
            esc(&k.accounts.join(", "))
        );
    }

    let _ = write!(w, "<h2>4. Impact</h2>");
    if inv.impact.mutating_events == 0 {
        let _ = write!(w, "<p>No mutating calls: the lineage only read.</p>");
    } else {
        let _ = write!(
            w,
            "<p>{} mutating call(s), {} of them failed.</p><table><tr><th>Time</th><th>Key</th><th>Call</th><th>Region</th><th>Result</th><th>Resources</th><th>Evidence</th></tr>",
            inv.impact.mutating_events, inv.impact.failed
        );
        let max = 1000;
        for e in inv.impact.events.iter().take(max) {
            let _ = write!(
                w,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\" title=\"event {}\">{}#{}</td></tr>",
                esc(&e.event_time),
                esc(&e.access_key_id),
                esc(&e.event_name),
                esc(or_dash(e.region.as_deref())),
                esc(e.error_code.as_deref().unwrap_or("ok")),
                esc(&e.resources.join(", ")),
                esc(or_dash(e.event_id.as_deref())),
                esc(&e.evidence_path),
                e.evidence_index
            );
        }
        let _ = write!(w, "</table>");
        if inv.impact.events.len() > max || inv.impact.truncated {
            let _ = write!(w, "<p>Only the first {max} are listed; the JSON report has more.</p>");
        }
    }

    let _ = write!(w, "<h3>Network activity of the source addresses (VPC flow logs)</h3>");
    if inv.network.is_empty() {
        let _ = write!(w, "<p>No flow-log records involve these addresses (or the evidence has no flow logs).</p>");
    } else {
        let _ = write!(
            w,
            "<table><tr><th>Address</th><th>Flows</th><th>Bytes</th><th>Packets</th><th>Accepted</th><th>Rejected</th><th>Bytes from it</th><th>Bytes to it</th><th>First seen</th><th>Last seen</th></tr>"
        );
        for n in &inv.network {
            let _ = write!(
                w,
                "<tr><td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&n.ip),
                n.flows,
                n.bytes,
                n.packets,
                n.accepted,
                n.rejected,
                n.inbound_bytes,
                n.outbound_bytes,
                esc(or_dash(n.first_seen.as_deref())),
                esc(or_dash(n.last_seen.as_deref()))
            );
        }
        let _ = write!(w, "</table>");
    }

    let _ = write!(w, "<h2>5. Findings</h2>");
    if inv.findings.is_empty() {
        let _ = write!(w, "<p>No detection fired on the lineage's activity.</p>");
    } else {
        let _ = write!(
            w,
            "<table><tr><th>Level</th><th>Detection</th><th>Title</th><th>Events</th><th>First seen</th><th>Last seen</th><th>Keys</th></tr>"
        );
        for f in &inv.findings {
            let _ = write!(
                w,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                level_badge(f.level),
                esc(&f.id),
                esc(&f.title),
                f.count,
                esc(&f.first_seen),
                esc(&f.last_seen),
                esc(&f.access_key_ids.join(", "))
            );
        }
        let _ = write!(w, "</table>");
        for f in &inv.findings {
            let _ = write!(
                w,
                "<details><summary>{} {} — {}</summary><p>{}</p><ul>",
                level_badge(f.level),
                esc(&f.id),
                esc(&f.title),
                esc(&f.tags.join(", "))
            );
            for e in &f.evidence {
                let _ = write!(
                    w,
                    "<li>{} {} — <span class=\"mono\">{}#{}</span> (event {})</li>",
                    esc(&e.event_time),
                    esc(&e.summary),
                    esc(&e.evidence_path),
                    e.evidence_index,
                    esc(or_dash(e.event_id.as_deref()))
                );
            }
            let _ = write!(w, "</ul></details>");
        }
    }

    let _ = write!(
        w,
        "<h2>6. Containment checklist</h2><table><tr><th>P</th><th>Action</th><th>Target</th><th>Why</th></tr>"
    );
    for c in &inv.containment {
        let _ = write!(
            w,
            "<tr><td>{}</td><td>☐ {}{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
            c.priority,
            esc(&c.action),
            c.command.as_deref().map(|c| format!("<br><code>{}</code>", esc(c))).unwrap_or_default(),
            esc(&c.target),
            esc(&c.reason)
        );
    }
    let _ = write!(w, "</table>");

    let _ = write!(w, "<h2>7. Timeline</h2><table><tr><th>Time</th><th>What</th><th>Key</th><th>Details</th></tr>");
    let max = 2000;
    for t in inv.timeline.iter().take(max) {
        let what = match t.level {
            Some(l) => format!("{} {}", esc(&t.kind), level_badge(l)),
            None => esc(&t.kind),
        };
        let _ = write!(
            w,
            "<tr><td>{}</td><td>{what}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
            esc(&t.time),
            esc(or_dash(t.access_key_id.as_deref())),
            esc(&t.text)
        );
    }
    let _ = write!(w, "</table>");
    if inv.timeline.len() > max {
        let _ = write!(w, "<p>First {max} of {} entries; the JSON report has all.</p>", inv.timeline.len());
    }
    let _ = writeln!(w, "</main></body></html>");
    o
}

fn tree(w: &mut String, inv: &Investigation, id: &str, seen: &mut Vec<String>) {
    if seen.iter().any(|s| s == id) {
        return;
    }
    seen.push(id.to_string());
    let Some(d) = inv.lineage.iter().find(|k| k.access_key_id == id) else { return };
    let events = inv.keys.iter().find(|k| k.access_key_id == id).map(|k| k.events).unwrap_or(0);
    let _ = write!(
        w,
        "<li><code>{}</code> — {}{} · {} events",
        esc(&d.access_key_id),
        esc(&origin(d)),
        d.event_time.as_deref().map(|t| format!(" at {}", esc(t))).unwrap_or_default(),
        events
    );
    let children: Vec<&str> = inv
        .lineage
        .iter()
        .filter(|k| k.parent_access_key_id.as_deref() == Some(id))
        .map(|k| k.access_key_id.as_str())
        .collect();
    if !children.is_empty() {
        w.push_str("<ul>");
        for c in children {
            tree(w, inv, c, seen);
        }
        w.push_str("</ul>");
    }
    w.push_str("</li>");
}
