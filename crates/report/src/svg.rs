//! The SVG activity timeline: one lane per key of the lineage, a bar per hour whose height
//! shows how many events the key made (the failed part in red), and a marker per finding,
//! coloured by level. Every bar and marker carries a `<title>`, so hovering names it.

use std::fmt::Write as _;

use trailsift_detect::Level;
use trailsift_detect::investigate::Investigation;

/// Seconds since the Unix epoch of an RFC 3339 UTC time (`2024-07-31T00:10:00Z`, fractional
/// seconds and a `+00:00` suffix accepted). `None` when it is not of that form.
pub fn epoch_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') || b[13] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days from civil (proleptic Gregorian), after Howard Hinnant's algorithm.
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

/// `MM-DD HH:00` of an epoch second (UTC).
fn label(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil from days (inverse of the above).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{m:02}-{d:02} {:02}:00", secs / 3600)
}

/// Escapes text for XML/HTML content and attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Colour of a level.
pub fn level_color(l: Level) -> &'static str {
    match l {
        Level::Informational => "#6b7280",
        Level::Low => "#2563eb",
        Level::Medium => "#d97706",
        Level::High => "#dc2626",
        Level::Critical => "#7f1d1d",
    }
}

/// The chart, as an `<svg>` element.
pub fn activity_chart(inv: &Investigation) -> String {
    const LEFT: f64 = 190.0;
    const WIDTH: f64 = 1100.0;
    const LANE: f64 = 40.0;
    const TOP: f64 = 28.0;
    let lanes: Vec<&str> = inv.lineage.iter().map(|k| k.access_key_id.as_str()).collect();
    let mut times: Vec<i64> = inv.activity.iter().filter_map(|b| epoch_seconds(&b.hour)).collect();
    for f in &inv.findings {
        times.extend(f.evidence.iter().filter_map(|e| epoch_seconds(&e.event_time)));
    }
    let height = TOP + LANE * lanes.len().max(1) as f64 + 24.0;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" aria-label="Events per hour per key, with findings" viewBox="0 0 {WIDTH} {height}" width="100%">"#
    );
    let (Some(&lo), Some(&hi)) = (times.iter().min(), times.iter().max()) else {
        let _ =
            write!(o, r#"<text x="10" y="30" class="empty">No activity of these keys in the evidence.</text></svg>"#);
        return o;
    };
    let start = lo.div_euclid(3600) * 3600;
    let end = (hi.div_euclid(3600) + 1) * 3600;
    let span = (end - start).max(3600) as f64;
    let plot = WIDTH - LEFT - 10.0;
    let x = |t: i64| LEFT + (t - start) as f64 / span * plot;
    let hour_w = (3600.0 / span * plot).max(1.5);
    // Axis ticks: a step that gives at most ten labels.
    let hours = (span / 3600.0).ceil() as i64;
    let step = [1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720, 2160, 8760]
        .into_iter()
        .find(|s| hours / s <= 10)
        .unwrap_or(8760 * 5);
    let mut t = start;
    while t <= end {
        let xt = x(t);
        let _ = write!(
            o,
            r#"<line x1="{xt:.1}" y1="{TOP}" x2="{xt:.1}" y2="{:.1}" class="grid"/><text x="{xt:.1}" y="18" class="tick">{}</text>"#,
            height - 20.0,
            label(t)
        );
        t += step * 3600;
    }
    let max_events = inv.activity.iter().map(|b| b.events).max().unwrap_or(1).max(1) as f64;
    for (i, k) in lanes.iter().enumerate() {
        let y0 = TOP + LANE * i as f64;
        let _ = write!(
            o,
            r#"<rect x="0" y="{y0:.1}" width="{WIDTH}" height="{LANE}" class="lane{}"/><text x="6" y="{:.1}" class="key">{}</text>"#,
            i % 2,
            y0 + LANE / 2.0 + 4.0,
            esc(k)
        );
        for b in inv.activity.iter().filter(|b| b.access_key_id == *k) {
            let Some(t) = epoch_seconds(&b.hour) else { continue };
            // Square-root scale: one event stays visible beside a thousand.
            let h = ((b.events as f64 / max_events).sqrt() * (LANE - 12.0)).max(2.0);
            let he = if b.events > 0 { h * b.errors as f64 / b.events as f64 } else { 0.0 };
            let base = y0 + LANE - 4.0;
            let _ = write!(
                o,
                r#"<g><title>{} {}: {} event(s), {} failed</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" class="bar"/>"#,
                esc(k),
                esc(&b.hour),
                b.events,
                b.errors,
                x(t),
                base - h,
                (hour_w - 0.5).max(1.0),
                h - he
            );
            if he > 0.0 {
                let _ = write!(
                    o,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{he:.1}" class="err"/>"#,
                    x(t),
                    base - he,
                    (hour_w - 0.5).max(1.0)
                );
            }
            o.push_str("</g>");
        }
    }
    for f in &inv.findings {
        for e in &f.evidence {
            let Some(t) = epoch_seconds(&e.event_time) else { continue };
            let lane = f.access_key_ids.first().and_then(|k| lanes.iter().position(|l| l == k)).unwrap_or(0);
            let (cx, cy) = (x(t), TOP + LANE * lane as f64 + 7.0);
            let _ = write!(
                o,
                r#"<g><title>{} {} ({}): {}</title><path d="M{:.1} {:.1} l5 -8 h-10 z" fill="{}" class="finding"/></g>"#,
                esc(&e.event_time),
                esc(&f.id),
                esc(&f.title),
                esc(&e.summary),
                cx,
                cy + 4.0,
                level_color(f.level)
            );
        }
    }
    o.push_str("</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_matches_known_values() {
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_seconds("2024-07-31T00:10:00Z"), Some(1_722_384_600));
        assert_eq!(epoch_seconds("2000-03-01T00:00:00.123Z"), Some(951_868_800));
        assert_eq!(epoch_seconds("garbage"), None);
        assert_eq!(epoch_seconds("2024-13-01T00:00:00Z"), None);
        assert_eq!(label(1_722_384_600), "07-31 00:00");
    }

    #[test]
    fn escaping() {
        assert_eq!(esc("<a href='x'>&\""), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
    }
}
