//! The Markdown report: the playbook's sections in order (validation, lineage, scope, impact,
//! findings, containment, timeline), tables where a responder compares values, lists
//! elsewhere. Long lists are cut with a note; the JSON form always has everything.

use std::fmt::Write as _;

use trailsift_detect::investigate::{Count, Investigation, KeyScope};

use crate::{or_dash, origin};

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn counts(list: &[Count], max: usize) -> String {
    let mut parts: Vec<String> = list.iter().take(max).map(|c| format!("{} ({})", c.value, c.count)).collect();
    if list.len() > max {
        parts.push(format!("… {} more", list.len() - max));
    }
    if parts.is_empty() { "–".into() } else { parts.join(", ") }
}

/// The first `max` items joined, with a count of the rest.
fn capped(items: &[String], max: usize) -> String {
    let mut s = items.iter().take(max).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > max {
        s.push_str(&format!(", … {} more", items.len() - max));
    }
    s
}

/// Renders the report.
pub fn render(inv: &Investigation) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "# Exposed-key investigation: `{}`\n", inv.key);
    let _ = writeln!(
        w,
        "Made by {} from {} (table `{}`).",
        inv.tool,
        if inv.evidence.paths.is_empty() { "the evidence".to_string() } else { inv.evidence.paths.join(", ") },
        inv.evidence.table
    );
    if let Some(v) = &inv.evidence.verification {
        let _ = writeln!(w, "Evidence verification: {v}.");
    }
    if let Some(d) = inv.evidence.duplicates_collapsed {
        let _ = writeln!(w, "Duplicate records collapsed (overlapping exports): {d}.");
        if let Some(c) = inv.evidence.duplicate_conflicts.filter(|c| *c > 0) {
            let _ = writeln!(
                w,
                "**{c} duplicated event(s) differ between copies (possible tampering): run `trailsift query` on `cloudtrail` by eventid to compare.**"
            );
        }
    }
    if let (Some(f), Some(p)) = (inv.evidence.files, inv.evidence.files_with_problems) {
        let _ = writeln!(w, "Evidence files: {f}, of which {p} could not be read completely.");
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "**Summary:** {} key(s) in the lineage, {} events ({} failed), {} source IP(s), {} mutating call(s), {} detection(s) fired.\n",
        inv.lineage.len(),
        inv.total_events,
        inv.total_errors,
        inv.source_ips.len(),
        inv.impact.mutating_events,
        inv.findings.len()
    );

    let _ = writeln!(w, "## 1. Validation\n");
    let _ = writeln!(w, "| | |\n|---|---|");
    let _ = writeln!(w, "| Key | `{}` |", inv.key);
    let _ = writeln!(w, "| Type | {} |", inv.key_type);
    let _ = writeln!(w, "| Account (decoded from the key ID) | {} |", or_dash(inv.account_id.as_deref()));
    let _ = writeln!(w, "| Seen in the evidence | {} |", if inv.seen_in_evidence { "yes" } else { "**no**" });
    if let Some(p) = &inv.owner {
        let _ = writeln!(w, "| Principal | {} |", cell(or_dash(p.arn.as_deref())));
        let _ = writeln!(w, "| Principal type | {} |", or_dash(p.principal_type.as_deref()));
        let _ = writeln!(w, "| Principal account | {} |", or_dash(p.account_id.as_deref()));
    }
    let _ = writeln!(w);
    if !inv.seen_in_evidence {
        let _ = writeln!(
            w,
            "> The key does not appear in this evidence: check the key ID, the accounts and regions covered, and the time range of the export.\n"
        );
    }

    let _ = writeln!(w, "## 2. Lineage\n");
    let _ = writeln!(w, "Every credential derived from the key, to a fixpoint (failed calls mint nothing).\n");
    if let Some(root) = inv.lineage.first() {
        tree(w, inv, &root.access_key_id, 0, &mut Vec::new());
    }
    let _ = writeln!(w);
    if !inv.created_users.is_empty() {
        let _ = writeln!(w, "IAM users created by the lineage:\n");
        for u in &inv.created_users {
            let _ = writeln!(
                w,
                "- `{}` in {} by `{}` at {} (event {})",
                u.user_name,
                or_dash(u.account_id.as_deref()),
                u.created_by,
                or_dash(u.event_time.as_deref()),
                or_dash(u.event_id.as_deref())
            );
        }
        let _ = writeln!(w);
    }
    if !inv.failed_mints.is_empty() {
        let _ = writeln!(w, "Failed attempts to mint credentials:\n");
        for f in &inv.failed_mints {
            let _ = writeln!(
                w,
                "- {} `{}` by `{}` failed with {}{} (event {})",
                or_dash(f.event_time.as_deref()),
                f.event_name,
                f.access_key_id,
                f.error_code,
                f.target.as_deref().map(|t| format!(" for {t}")).unwrap_or_default(),
                or_dash(f.event_id.as_deref())
            );
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "## 3. Scope\n");
    let _ = writeln!(w, "| Key | Type | Principal | Events | Errors | First seen | Last seen | Source IPs | Regions |");
    let _ = writeln!(w, "|---|---|---|---:|---:|---|---|---|---|");
    for k in &inv.keys {
        let _ = writeln!(
            w,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            k.access_key_id,
            k.key_type,
            cell(or_dash(k.principal.as_ref().and_then(|p| p.arn.as_deref()))),
            k.events,
            k.errors,
            or_dash(k.first_seen.as_deref()),
            or_dash(k.last_seen.as_deref()),
            cell(&capped(&k.source_ips, 8)),
            cell(&k.regions.iter().map(|c| c.value.as_str()).collect::<Vec<_>>().join(", "))
        );
    }
    let _ = writeln!(w, "| **all** | | | **{}** | **{}** | | | | |\n", inv.total_events, inv.total_errors);
    for k in inv.keys.iter().filter(|k| k.events > 0) {
        key_detail(w, k);
    }

    let _ = writeln!(w, "## 4. Impact\n");
    if inv.impact.mutating_events == 0 {
        let _ = writeln!(w, "No mutating calls: the lineage only read.\n");
    } else {
        let _ = writeln!(
            w,
            "{} mutating call(s), {} of them failed. By call: {}.\n",
            inv.impact.mutating_events,
            inv.impact.failed,
            inv.impact.by_event_name.iter().map(|(n, c)| format!("{n} ({c})")).collect::<Vec<_>>().join(", ")
        );
        let _ = writeln!(w, "| Time | Key | Call | Region | Result | Resources | Evidence |");
        let _ = writeln!(w, "|---|---|---|---|---|---|---|");
        let max = 300;
        for e in inv.impact.events.iter().take(max) {
            let _ = writeln!(
                w,
                "| {} | `{}` | {} | {} | {} | {} | {}#{} |",
                e.event_time,
                e.access_key_id,
                cell(&e.event_name),
                or_dash(e.region.as_deref()),
                cell(e.error_code.as_deref().unwrap_or("ok")),
                cell(&e.resources.join(", ")),
                cell(&e.evidence_path),
                e.evidence_index
            );
        }
        if inv.impact.events.len() > max || inv.impact.truncated {
            let _ = writeln!(w, "\n(only the first {max} are listed here; the JSON report has the rest)");
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "### Network activity of the source addresses (VPC flow logs)\n");
    if inv.network.is_empty() {
        let _ = writeln!(w, "No flow-log records involve these addresses (or the evidence has no flow logs).\n");
    } else {
        let _ = writeln!(
            w,
            "| Address | Flows | Bytes | Packets | Accepted | Rejected | Bytes from it | Bytes to it | First seen | Last seen | Ports |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|");
        for n in &inv.network {
            let ports: Vec<String> = n.ports.iter().take(12).map(|p| p.to_string()).collect();
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                n.ip,
                n.flows,
                n.bytes,
                n.packets,
                n.accepted,
                n.rejected,
                n.inbound_bytes,
                n.outbound_bytes,
                or_dash(n.first_seen.as_deref()),
                or_dash(n.last_seen.as_deref()),
                ports.join(", ")
            );
        }
        let _ = writeln!(w);
    }

    let _ = writeln!(w, "## 5. Findings\n");
    if inv.findings.is_empty() {
        let _ = writeln!(w, "No detection fired on the lineage's activity.\n");
    } else {
        let _ = writeln!(w, "| Level | Detection | Title | Events | First seen | Last seen | Keys |");
        let _ = writeln!(w, "|---|---|---|---:|---|---|---|");
        for f in &inv.findings {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} |",
                level_word(f.level),
                f.id,
                cell(&f.title),
                f.count,
                f.first_seen,
                f.last_seen,
                cell(&f.access_key_ids.join(", "))
            );
        }
        let _ = writeln!(w);
        for f in &inv.findings {
            let _ = writeln!(w, "### {} — {} ({})\n", f.id, f.title, level_word(f.level));
            if !f.tags.is_empty() {
                let _ = writeln!(w, "Tags: {}\n", f.tags.join(", "));
            }
            for e in f.evidence.iter().take(5) {
                let _ = writeln!(
                    w,
                    "- {} {} — `{}`#{} (event {})",
                    e.event_time,
                    e.summary,
                    e.evidence_path,
                    e.evidence_index,
                    or_dash(e.event_id.as_deref())
                );
            }
            if f.hits > 5 {
                let _ = writeln!(w, "- … {} hit(s) in all", f.hits);
            }
            let _ = writeln!(w);
        }
    }

    let _ = writeln!(w, "## 6. Containment checklist\n");
    for c in &inv.containment {
        let _ = writeln!(w, "- [ ] **P{}** {}: `{}` — {}", c.priority, c.action, c.target, c.reason);
        if let Some(cmd) = &c.command {
            let _ = writeln!(w, "  `{cmd}`");
        }
    }
    let _ = writeln!(w);

    let _ = writeln!(w, "## 7. Timeline\n");
    let _ = writeln!(w, "| Time | What | Key | Details |");
    let _ = writeln!(w, "|---|---|---|---|");
    let max = 500;
    for t in inv.timeline.iter().take(max) {
        let what = match t.level {
            Some(l) => format!("{} ({})", t.kind, level_word(l)),
            None => t.kind.clone(),
        };
        let _ = writeln!(w, "| {} | {} | {} | {} |", t.time, what, or_dash(t.access_key_id.as_deref()), cell(&t.text));
    }
    if inv.timeline.len() > max {
        let _ = writeln!(w, "\n(first {max} of {} entries; the JSON report has all)", inv.timeline.len());
    }
    o
}

fn tree(w: &mut String, inv: &Investigation, id: &str, depth: usize, seen: &mut Vec<String>) {
    if seen.iter().any(|s| s == id) {
        return;
    }
    seen.push(id.to_string());
    let Some(d) = inv.lineage.iter().find(|k| k.access_key_id == id) else { return };
    let events = inv.keys.iter().find(|k| k.access_key_id == id).map(|k| k.events).unwrap_or(0);
    let when = d.event_time.as_deref().map(|t| format!(" at {t}")).unwrap_or_default();
    let ev = d.event_id.as_deref().map(|e| format!(", event {e}")).unwrap_or_default();
    let copies = if d.copies.is_empty() {
        String::new()
    } else {
        format!(
            ", also logged in {}",
            d.copies.iter().map(|c| or_dash(c.account_id.as_deref()).to_string()).collect::<Vec<_>>().join(", ")
        )
    };
    let _ = writeln!(
        w,
        "{}- `{}` — {}{}{}{}; {} events",
        "  ".repeat(depth),
        d.access_key_id,
        origin(d),
        when,
        ev,
        copies,
        events
    );
    for c in inv.lineage.iter().filter(|k| k.parent_access_key_id.as_deref() == Some(id)) {
        tree(w, inv, &c.access_key_id, depth + 1, seen);
    }
}

fn key_detail(w: &mut String, k: &KeyScope) {
    let _ = writeln!(w, "### `{}`\n", k.access_key_id);
    let mut names: Vec<(&String, &u64)> = k.event_names.iter().collect();
    names.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let listed: Vec<String> = names
        .iter()
        .take(30)
        .map(|(n, c)| match k.event_errors.get(*n) {
            Some(e) => format!("{n} ({c}, {e} failed)"),
            None => format!("{n} ({c})"),
        })
        .collect();
    let more = if names.len() > 30 { format!(", … {} more", names.len() - 30) } else { String::new() };
    let _ = writeln!(w, "- Event names: {}{more}", listed.join(", "));
    let _ = writeln!(w, "- Source IPs: {}", counts(&k.source_ip_counts, 20));
    let _ = writeln!(w, "- Services: {}", counts(&k.services, 20));
    let _ = writeln!(w, "- Regions: {}", counts(&k.regions, 20));
    let _ = writeln!(w, "- User agents: {}", counts(&k.user_agents, 10));
    let _ = writeln!(w, "- Accounts: {}\n", if k.accounts.is_empty() { "–".into() } else { k.accounts.join(", ") });
}

/// The level as a word, upper-case for the severe ones so they stand out.
pub(crate) fn level_word(l: trailsift_detect::Level) -> &'static str {
    use trailsift_detect::Level::*;
    match l {
        Informational => "informational",
        Low => "low",
        Medium => "medium",
        High => "HIGH",
        Critical => "CRITICAL",
    }
}
