//! trailsift-report: renders an [`Investigation`] (the model `trailsift key` builds) as
//! Markdown for tickets and chat, JSON for machines (the serde form of the model, documented in
//! `trailsift_detect::investigate`), and one self-contained HTML file — inline CSS and an SVG
//! activity timeline, no script and no network fetch — for people.
//!
//! Rendering is pure: the same investigation always gives the same bytes.

mod html;
mod markdown;
pub mod svg;

pub use trailsift_detect::investigate::Investigation;

/// Output formats of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Markdown.
    Markdown,
    /// Pretty-printed JSON.
    Json,
    /// One self-contained HTML file.
    Html,
}

/// Renders `inv` in `format`.
pub fn render(inv: &Investigation, format: ReportFormat) -> String {
    match format {
        ReportFormat::Markdown => markdown::render(inv),
        ReportFormat::Json => json(inv),
        ReportFormat::Html => html::render(inv),
    }
}

/// The JSON form: the investigation model, pretty-printed, with a trailing newline.
pub fn json(inv: &Investigation) -> String {
    let mut s = serde_json::to_string_pretty(inv).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// A short human description of a lineage entry: how the key came to be.
pub(crate) fn origin(d: &trailsift_detect::DerivedKey) -> String {
    match (&d.minted_by, &d.parent_access_key_id) {
        (Some(m), Some(p)) => {
            let grants = d.grants.as_deref().map(|g| format!(" → {g}")).unwrap_or_default();
            format!("{m} by {p}{grants}")
        }
        _ => "starting key".to_string(),
    }
}

/// `s` or a dash when absent.
pub(crate) fn or_dash(s: Option<&str>) -> &str {
    s.filter(|s| !s.is_empty()).unwrap_or("–")
}
