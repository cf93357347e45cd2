//! Small helpers for running SQL and reading the answer as JSON rows, for the modules that
//! need a handful of values out of a query rather than Arrow arrays. Timestamps come back as
//! RFC 3339 UTC strings (`2024-07-31T00:10:00Z`).

use arrow::array::RecordBatch;
use serde_json::{Map, Value};
use trailsift_query::Engine;

use crate::DetectError;

/// One row of a query result: column name → JSON value (NULL → `Value::Null`).
pub type Row = Map<String, Value>;

/// chrono format for timestamps: RFC 3339, UTC, fractional seconds only when present.
pub const TS_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.fZ";

/// A `FROM` item (with the alias `ev`) for the events matching `predicate`: one row per
/// event when the session has the de-duplicating `cloudtrail_unique` view (the filter applied
/// before de-duplication, see [`trailsift_query::unique_where`]), `cloudtrail` otherwise.
pub fn events_where(engine: &Engine, predicate: &str) -> String {
    match engine.context().table_exist(trailsift_query::duplicates::UNIQUE_VIEW) {
        Ok(true) => format!("{} AS ev", trailsift_query::unique_where(predicate)),
        _ => format!("(SELECT * FROM cloudtrail WHERE {predicate}) AS ev"),
    }
}

/// Runs `sql` and returns every row of the answer.
pub async fn rows(engine: &Engine, sql: &str) -> Result<Vec<Row>, DetectError> {
    let batches = engine.sql(sql).await?.collect().await?;
    batches_to_rows(&batches)
}

/// Turns record batches into JSON rows.
pub fn batches_to_rows(batches: &[RecordBatch]) -> Result<Vec<Row>, DetectError> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .with_timestamp_format(TS_FORMAT.into())
            .with_timestamp_tz_format(TS_FORMAT.into())
            .build::<_, arrow::json::writer::LineDelimited>(&mut buf);
        for b in batches {
            w.write(b)?;
        }
        w.finish()?;
    }
    let mut out = Vec::new();
    for line in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        if let Value::Object(m) = serde_json::from_slice(line)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// A SQL string literal holding `s` (single quotes doubled).
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A parenthesised SQL list of string literals, `('a', 'b')`; `(NULL)` when empty, so that
/// `x IN (NULL)` matches nothing.
pub fn lit_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| lit(s.as_ref())).collect();
    if v.is_empty() { "(NULL)".to_string() } else { format!("({})", v.join(", ")) }
}

/// The string in column `name` of `row`, if it is a non-empty string.
pub fn str_of(row: &Row, name: &str) -> Option<String> {
    match row.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// The integer in column `name` of `row` (0 when NULL or not a number).
pub fn int_of(row: &Row, name: &str) -> i64 {
    match row.get(name) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted() {
        assert_eq!(lit("a'b"), "'a''b'");
        assert_eq!(lit_list(["x", "y'"]), "('x', 'y''')");
        assert_eq!(lit_list(Vec::<String>::new()), "(NULL)");
    }
}
