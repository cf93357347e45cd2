//! Trino (Athena) compatibility for SQL text and for result column names.
//!
//! Athena queries are written for Trino. Most of them plan unchanged in DataFusion once the
//! functions of [`crate::udf`] are registered; this module covers the rest:
//!
//! - [`trino_compat`] rewrites the spellings DataFusion's parser or planner does not take:
//!   field access after a subscript or a call (`resources[1].arn`,
//!   `element_at(resources, 1).arn`), and `CROSS JOIN UNNEST(array) AS t(x)` (or the comma
//!   form, or `WITH ORDINALITY AS t(x, n)`, or `LEFT JOIN UNNEST(…) … ON TRUE`), which becomes
//!   a derived table that calls DataFusion's `unnest` in its projection;
//!   `if(…)`, `try(…)` and `mod(…)` become `CASE`, `TRY_CAST` (or the bare expression) and `%`;
//!   `CAST(x AS ARRAY(T))` and `CAST(x AS MAP(K, V))` become calls that read text as a JSON
//!   array or object (module `array_cast`). Lambdas are made in the syntax tree by module `lambda`.
//! - [`output_names`] names the result columns as Trino does: an alias as written, a column
//!   by its name, a struct field by the field's name (`useridentity.arn` is `arn`), and any
//!   other expression `_colN` (N counting from 0), so that `--format jsonl` keys are the ones
//!   an Athena user expects.

use std::collections::HashSet;
use std::ops::ControlFlow;

use arrow::datatypes::Schema;
use datafusion::sql::sqlparser::ast::{
    ArrayElemTypeDef, CastKind, DataType, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    Join, JoinConstraint, JoinOperator, ObjectNamePart, Query, SelectItem, SetExpr, Statement, TableFactor,
    TableWithJoins, VisitMut, VisitorMut, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::array_cast::{CAST_ARRAY, CAST_MAP};
use crate::trino_fns::FIELD_AT;

/// Name of the hidden column that holds one element of a multi-column `UNNEST`.
const ELEMENT: &str = "__trailsift_element";

/// Rewrites Trino syntax that DataFusion's parser or planner rejects into its DataFusion
/// equivalent (see the module documentation). String literals and quoted identifiers are
/// left alone, and SQL that needs no rewrite comes back as it was.
pub fn trino_compat(sql: &str) -> String {
    let text = array_types(&field_access(sql));
    rewrite_ast(&text).unwrap_or(text)
}

/// `x[1].arn` and `f(…).arn` become `x[1]['arn']` and `f(…)['arn']`.
fn field_access(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                // Skip the quoted text; a doubled quote is an escaped one.
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b']' | b')'
                if b.get(i + 1) == Some(&b'.')
                    && b.get(i + 2).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') =>
            {
                let start = i + 2;
                let mut end = start;
                while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                    end += 1;
                }
                out.push_str(&sql[last..=i]);
                out.push_str("['");
                out.push_str(&sql[start..end].to_ascii_lowercase());
                out.push_str("']");
                last = end;
                i = end;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[last.min(sql.len())..]);
    out
}

/// `AS ARRAY(T)` becomes `AS ARRAY<T>`, the spelling DataFusion's parser takes (and the
/// rewrite of [`rewrite_ast`] turns into a call of [`CAST_ARRAY`]); an `ARRAY(` right after
/// the `<` of one made so is a type too (`ARRAY(ARRAY(VARCHAR))`).
fn array_types(sql: &str) -> String {
    let b = sql.as_bytes();
    let lower = sql.to_ascii_lowercase();
    let lb = lower.as_bytes();
    let mut swaps: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() && !(b[i] == q && b.get(i + 1) != Some(&q)) {
                    i += if b[i] == q { 2 } else { 1 };
                }
                i += 1;
            }
            b'a' | b'A' if lb[i..].starts_with(b"array") && (i == 0 || !is_word(b[i - 1])) => {
                let mut open = i + 5;
                while open < b.len() && b[open].is_ascii_whitespace() {
                    open += 1;
                }
                let before = lower[..i].trim_end();
                // (Swaps are made at the end: the `<` made so far is still a `(` here.)
                let typed = before.ends_with('(') && swaps.contains(&(before.len() - 1))
                    || before.ends_with(" as") && !before.ends_with("_as")
                    || before == "as";
                if b.get(open) == Some(&b'(') && typed && (i + 5 == b.len() || !is_word(b[i + 5])) {
                    let mut depth = 0usize;
                    let close = (open..b.len()).find(|&k| {
                        match b[k] {
                            b'(' => depth += 1,
                            b')' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    });
                    if let Some(close) = close {
                        swaps.push(open);
                        swaps.push(close);
                    }
                }
                i += 5;
            }
            _ => i += 1,
        }
    }
    if swaps.is_empty() {
        return sql.to_string();
    }
    let mut out = b.to_vec();
    for k in swaps {
        out[k] = if b[k] == b'(' { b'<' } else { b'>' };
    }
    String::from_utf8(out).expect("only ASCII bytes were swapped")
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The statements of `sql` rewritten where they use Trino forms DataFusion does not plan, or
/// `None` when there is none or `sql` does not parse:
///
/// - `FROM base AS b CROSS JOIN UNNEST(e1, e2) AS t(x, y)` (or `FROM base AS b, UNNEST(…)`)
///   becomes `FROM (SELECT b.*, unnest(e1) AS x, unnest(e2) AS y FROM base AS b) AS b`, and
///   `t.x` becomes `b.x`. Like Trino, a row whose array is empty or NULL gives no row, and
///   arrays of different lengths are padded with NULLs. With one array of rows and several
///   names (`UNNEST(resources) AS t(arn, accountid, type)`), each name is the row's field at
///   that position, as Trino expands rows; with one name it is the whole row.
/// - `if(c, a[, b])` becomes `CASE WHEN c THEN a ELSE b END`, and `mod(a, b)` `a % b`;
/// - `try(CAST(x AS t))` becomes `TRY_CAST(x AS t)`, and `try(x)` otherwise is `x` (an error
///   in `x` is still an error).
/// - `CAST(x AS ARRAY<T>)` (`TRY_CAST`) becomes [`CAST_ARRAY`]`(x, 'T', false)` (`true`), which
///   reads text as a JSON array, and `CAST(x AS MAP(K, V))` [`CAST_MAP`]`(x, 'K', 'V', false)`,
///   which reads it as a JSON object (see [`crate::array_cast`]).
fn rewrite_ast(sql: &str) -> Option<String> {
    let lower = sql.to_ascii_lowercase();
    if !["unnest", "if", "try", "mod", "array", "map"].iter().any(|w| lower.contains(w)) {
        return None;
    }
    let mut statements = Parser::parse_sql(&GenericDialect {}, sql).ok()?;
    let mut rewriter = TrinoRewriter { changed: false };
    for s in &mut statements {
        let _ = s.visit(&mut rewriter);
    }
    rewriter.changed.then(|| statements.iter().map(Statement::to_string).collect::<Vec<_>>().join(";\n"))
}

struct TrinoRewriter {
    changed: bool,
}

impl VisitorMut for TrinoRewriter {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
        if let Some(new) = trino_call(expr) {
            *expr = new;
            self.changed = true;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let mut renames = Vec::new();
        if !rewrite_set_expr(&mut query.body, &mut renames) {
            return ControlFlow::Continue(());
        }
        self.changed = true;
        // References to the UNNEST's alias (`t.x`) now go to the derived table (`b.x`).
        let _ = visit_expressions_mut(query, |e| {
            if let SqlExpr::CompoundIdentifier(parts) = e
                && parts.len() >= 2
                && let Some((_, to)) = renames.iter().find(|(from, _)| same_ident(from, &parts[0]))
            {
                parts[0] = to.clone();
            }
            ControlFlow::<()>::Continue(())
        });
        ControlFlow::Continue(())
    }
}

/// The DataFusion form of a call to Trino's `if` or `try`, or of a cast to an array.
fn trino_call(expr: &SqlExpr) -> Option<SqlExpr> {
    if let SqlExpr::Cast {
        kind,
        expr,
        data_type: DataType::Array(ArrayElemTypeDef::AngleBracket(item)),
        array: false,
        format: None,
    } = expr
    {
        // Every element type but an array goes to the function, which reads text as JSON or
        // says the type is not supported (DataFusion's own cast would make the text a
        // one-element array).
        if matches!(**item, DataType::Array(_)) {
            return None;
        }
        let item = item.to_string();
        let lenient = matches!(kind, CastKind::TryCast | CastKind::SafeCast);
        return parse_expr(&format!("{CAST_ARRAY}({expr}, '{item}', {lenient})"));
    }
    if let SqlExpr::Cast { kind, expr, data_type: DataType::Map(key, value), array: false, format: None } = expr {
        let lenient = matches!(kind, CastKind::TryCast | CastKind::SafeCast);
        return parse_expr(&format!("{CAST_MAP}({expr}, '{key}', '{value}', {lenient})"));
    }
    let SqlExpr::Function(f) = expr else { return None };
    let name = f.name.to_string().to_ascii_lowercase();
    let FunctionArguments::List(list) = &f.args else { return None };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() || f.over.is_some() || f.filter.is_some() {
        return None;
    }
    let args: Vec<&SqlExpr> = list
        .args
        .iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match (name.as_str(), args.as_slice()) {
        ("if", [c, a]) => parse_expr(&format!("CASE WHEN ({c}) THEN ({a}) END")),
        ("if", [c, a, b]) => parse_expr(&format!("CASE WHEN ({c}) THEN ({a}) ELSE ({b}) END")),
        ("try", [SqlExpr::Cast { kind: CastKind::Cast, expr, data_type, .. }]) => {
            parse_expr(&format!("TRY_CAST({expr} AS {data_type})"))
        }
        ("try", [SqlExpr::Function(g)]) if [CAST_ARRAY, CAST_MAP].contains(&g.name.to_string().as_str()) => {
            parse_expr(&format!("{}, true)", g.to_string().strip_suffix(", false)")?))
        }
        ("try", [e]) => Some((*e).clone()),
        ("mod", [a, b]) => parse_expr(&format!("(({a}) % ({b}))")),
        _ => None,
    }
}

fn parse_expr(text: &str) -> Option<SqlExpr> {
    Parser::new(&GenericDialect {}).try_with_sql(text).ok()?.parse_expr().ok()
}

/// Whether two names are the same: as written when either is quoted, else in any case.
pub(crate) fn same_ident(a: &Ident, b: &Ident) -> bool {
    if a.quote_style.is_some() || b.quote_style.is_some() {
        a.value == b.value
    } else {
        a.value.eq_ignore_ascii_case(&b.value)
    }
}

/// Rewrites the UNNEST joins of `body`; returns whether there was any. The renames of
/// UNNEST aliases to the derived tables' names go to `renames`.
fn rewrite_set_expr(body: &mut SetExpr, renames: &mut Vec<(Ident, Ident)>) -> bool {
    let mut rewrote = false;
    match body {
        SetExpr::Select(select) => {
            // `FROM base, UNNEST(…)` is `FROM base CROSS JOIN UNNEST(…)`.
            let mut from: Vec<TableWithJoins> = Vec::new();
            for item in std::mem::take(&mut select.from) {
                match from.last_mut() {
                    Some(previous) if item.joins.is_empty() && is_unnest(&item.relation) => {
                        previous.joins.push(Join {
                            relation: item.relation,
                            global: false,
                            join_operator: JoinOperator::CrossJoin(JoinConstraint::None),
                        });
                    }
                    _ => from.push(item),
                }
            }
            for item in &mut from {
                while let Some(outer) = item.joins.first().and_then(unnest_join) {
                    let join = item.joins.remove(0);
                    match wrap(&item.relation, &join.relation, outer) {
                        Some((derived, rename)) => {
                            item.relation = derived;
                            renames.extend(rename);
                            rewrote = true;
                        }
                        None => {
                            item.joins.insert(0, join);
                            break;
                        }
                    }
                }
            }
            select.from = from;
        }
        SetExpr::SetOperation { left, right, .. } => {
            let l = rewrite_set_expr(left, renames);
            rewrote = rewrite_set_expr(right, renames) || l;
        }
        _ => {}
    }
    rewrote
}

fn is_unnest(t: &TableFactor) -> bool {
    matches!(t, TableFactor::UNNEST { with_offset: false, .. })
}

/// Whether `j` joins an UNNEST the way the rewrite handles: `Some(false)` for a cross or
/// inner join (`ON TRUE` or no condition), `Some(true)` for `LEFT JOIN UNNEST(…) ON TRUE`,
/// which keeps the rows whose arrays are empty or NULL.
fn unnest_join(j: &Join) -> Option<bool> {
    let on_true = |c: &JoinConstraint| match c {
        JoinConstraint::None => true,
        JoinConstraint::On(e) => e.to_string().eq_ignore_ascii_case("true"),
        _ => false,
    };
    if !is_unnest(&j.relation) {
        return None;
    }
    match &j.join_operator {
        JoinOperator::CrossJoin(c) | JoinOperator::Join(c) | JoinOperator::Inner(c) => on_true(c).then_some(false),
        JoinOperator::Left(c @ JoinConstraint::On(_)) | JoinOperator::LeftOuter(c @ JoinConstraint::On(_)) => {
            on_true(c).then_some(true)
        }
        _ => None,
    }
}

/// The derived table that stands for `base CROSS JOIN unnest` (`outer`: `base LEFT JOIN
/// unnest ON TRUE`), and the rename of the UNNEST's alias to the base's name; `None` when
/// the shapes are not the ones handled.
fn wrap(base: &TableFactor, unnest: &TableFactor, outer: bool) -> Option<(TableFactor, Option<(Ident, Ident)>)> {
    let name = match base {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => a.name.clone(),
        TableFactor::Table { name, alias: None, .. } => match name.0.last()? {
            ObjectNamePart::Identifier(i) => i.clone(),
            _ => return None,
        },
        _ => return None,
    };
    let TableFactor::UNNEST { alias, array_exprs, with_ordinality, .. } = unnest else { return None };
    let mut columns: Vec<String> =
        alias.as_ref().map(|a| a.columns.iter().map(|c| c.name.to_string()).collect()).unwrap_or_default();
    // WITH ORDINALITY: the last name is the element's position, from 1. DataFusion unnests
    // the lists of one projection side by side (the shorter padded with NULLs), so the
    // positions are one more list, as long as the longest array; a NULL array counts as
    // empty, as in Trino.
    let ordinal = match with_ordinality {
        true => {
            let n = columns.pop()?;
            let len = match array_exprs.as_slice() {
                [e] => format!("cardinality({e})"),
                many => {
                    let each: Vec<String> = many.iter().map(|e| format!("coalesce(cardinality({e}), 0)")).collect();
                    format!("greatest({})", each.join(", "))
                }
            };
            Some((format!("unnest(generate_series(1, CAST({len} AS BIGINT))) AS {n}"), n))
        }
        false => None,
    };
    // A LEFT JOIN keeps a row whose array is empty or NULL, with NULL elements: such an
    // array is unnested as one NULL.
    let list = |e: &SqlExpr| match outer {
        true => format!("CASE WHEN cardinality({e}) > 0 THEN {e} ELSE make_array(NULL) END"),
        false => e.to_string(),
    };
    let base_sql = base.to_string();
    let inner = match (array_exprs.len(), columns.len()) {
        (1, k) if k > 1 => {
            // One array of rows, one name per field.
            let fields: Vec<String> =
                columns.iter().enumerate().map(|(i, c)| format!("{FIELD_AT}({ELEMENT}, {}) AS {c}", i + 1)).collect();
            let (ord_item, excluded, ord_after) = match &ordinal {
                Some((item, n)) => (format!(", {item}"), format!("{ELEMENT}, {n}"), format!(", {n}")),
                None => (String::new(), ELEMENT.to_string(), String::new()),
            };
            format!(
                "SELECT {name}.* EXCLUDE ({excluded}), {}{ord_after} FROM (SELECT {name}.*, unnest({}) AS {ELEMENT}{ord_item} FROM {base_sql}) AS {name}",
                fields.join(", "),
                list(&array_exprs[0])
            )
        }
        (n, k) if k == n || (k == 0 && ordinal.is_none()) => {
            let mut items: Vec<String> = array_exprs
                .iter()
                .enumerate()
                .map(|(i, e)| match columns.get(i) {
                    Some(c) => format!("unnest({}) AS {c}", list(e)),
                    None => format!("unnest({})", list(e)),
                })
                .collect();
            items.extend(ordinal.map(|(item, _)| item));
            format!("SELECT {name}.*, {} FROM {base_sql}", items.join(", "))
        }
        _ => return None,
    };
    let wrapped = format!("SELECT * FROM ({inner}) AS {name}");
    let mut parsed = Parser::parse_sql(&GenericDialect {}, &wrapped).ok()?;
    let Some(Statement::Query(query)) = parsed.pop() else { return None };
    let SetExpr::Select(select) = *query.body else { return None };
    let relation = select.from.into_iter().next()?.relation;
    let rename = alias.as_ref().map(|a| (a.name.clone(), name));
    Some((relation, rename))
}

/// The result column names Trino would give the answer of `sql` (as written, before
/// [`trino_compat`]), whose columns DataFusion named as in `schema` (see the module
/// documentation). A name that would repeat an earlier one is `_colN` instead, so that every
/// key of a JSON row is distinct. Columns a `*` gives, and every column when the select list
/// cannot be matched with the schema, keep their names.
pub fn output_names(sql: &str, schema: &Schema) -> Vec<String> {
    let items = select_items(&trino_compat(sql));
    let fields = schema.fields();
    // Which select item gave each column: `Some(true)` an aliased one, `Some(false)` an
    // unaliased expression, `None` a wildcard (or unknown).
    let mut kinds: Vec<Option<bool>> = vec![None; fields.len()];
    if let Some(items) = items {
        let wildcards = items.iter().filter(|i| i.is_none()).count();
        let expanded = fields.len().checked_sub(items.len() - wildcards);
        match (wildcards, expanded) {
            (0, Some(0)) => kinds = items,
            (1, Some(width)) => {
                kinds = items
                    .iter()
                    .flat_map(|i| match i {
                        None => vec![None; width],
                        Some(k) => vec![Some(*k)],
                    })
                    .collect();
            }
            _ => {}
        }
    }
    let mut seen = HashSet::new();
    fields
        .iter()
        .zip(kinds)
        .enumerate()
        .map(|(i, (field, kind))| {
            let given = match kind {
                Some(false) => trino_name(field.name()),
                // A wildcard over a subquery carries its struct fields' DataFusion names.
                _ => trino_name(field.name()).or_else(|| Some(field.name().clone())),
            };
            match given {
                Some(n) if seen.insert(n.clone()) => n,
                _ => format!("_col{i}"),
            }
        })
        .collect()
}

/// The items of the select list that makes the answer of `sql`: `Some(aliased)` for an
/// expression, `None` for a wildcard; `None` when `sql` is not one query.
fn select_items(sql: &str) -> Option<Vec<Option<bool>>> {
    let statement = Parser::parse_sql(&GenericDialect {}, sql).ok()?.pop()?;
    let Statement::Query(query) = statement else { return None };
    let mut body = &*query.body;
    loop {
        match body {
            SetExpr::Select(select) => {
                return Some(
                    select
                        .projection
                        .iter()
                        .map(|item| match item {
                            SelectItem::ExprWithAlias { .. } => Some(true),
                            SelectItem::UnnamedExpr(_) => Some(false),
                            _ => None,
                        })
                        .collect(),
                );
            }
            SetExpr::SetOperation { left, .. } => body = left,
            SetExpr::Query(q) => body = &q.body,
            _ => return None,
        }
    }
}

/// The Trino name of an unaliased expression DataFusion named `name`: a plain identifier
/// stays, a struct field access (`t.s[a][b]`) is its last field, anything else has none.
fn trino_name(name: &str) -> Option<String> {
    let ident = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if ident(name) {
        return Some(name.to_string());
    }
    let field = name.strip_suffix(']')?.rsplit_once('[')?.1;
    ident(field).then(|| field.to_string())
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field, Schema};

    use super::{output_names, trino_compat, trino_name};

    #[test]
    fn field_access_is_rewritten() {
        assert_eq!(trino_compat("SELECT resources[1].arn FROM t"), "SELECT resources[1]['arn'] FROM t");
        assert_eq!(trino_compat("SELECT r[1].ARN, r[2].type_x.y"), "SELECT r[1]['arn'], r[2]['type_x'].y");
        assert_eq!(trino_compat("SELECT element_at(r, 1).arn"), "SELECT element_at(r, 1)['arn']");
        assert_eq!(trino_compat("SELECT 'a[1].b' AS \"x[1].y\""), "SELECT 'a[1].b' AS \"x[1].y\"");
        assert_eq!(trino_compat("SELECT 'it''s' || a[1].b"), "SELECT 'it''s' || a[1]['b']");
        assert_eq!(trino_compat("SELECT a[1].5, a.b, (1).5"), "SELECT a[1].5, a.b, (1).5");
        assert_eq!(trino_compat("SELECT 'unterminated"), "SELECT 'unterminated");
    }

    #[test]
    fn unnest_becomes_a_derived_table() {
        let sql = "SELECT t.r.arn, eventname FROM cloudtrail CROSS JOIN UNNEST(resources) AS t(r) WHERE t.r.type = 'x'";
        assert_eq!(
            trino_compat(sql),
            "SELECT cloudtrail.r.arn, eventname FROM (SELECT cloudtrail.*, unnest(resources) AS r FROM cloudtrail) AS cloudtrail WHERE cloudtrail.r.type = 'x'"
        );
        let comma = "SELECT x FROM cloudtrail AS c, UNNEST(c.resources) u(x)";
        assert_eq!(
            trino_compat(comma),
            "SELECT x FROM (SELECT c.*, unnest(c.resources) AS x FROM cloudtrail AS c) AS c"
        );
        let fields = "SELECT arn FROM cloudtrail CROSS JOIN UNNEST(resources) AS t(arn, accountid, type)";
        assert!(trino_compat(fields).contains(
            "__trailsift_field_at(__trailsift_element, 1) AS arn, __trailsift_field_at(__trailsift_element, 2) AS accountid"
        ));
        // Without an alias the column is named after DataFusion's unnest.
        assert_eq!(
            trino_compat("SELECT count(*) FROM cloudtrail CROSS JOIN UNNEST(resources)"),
            "SELECT count(*) FROM (SELECT cloudtrail.*, unnest(resources) FROM cloudtrail) AS cloudtrail"
        );
        // WITH ORDINALITY: one more list, of positions, unnested beside the array.
        let ordinality = "SELECT * FROM cloudtrail CROSS JOIN UNNEST(resources) WITH ORDINALITY AS t(r, n)";
        assert_eq!(
            trino_compat(ordinality),
            "SELECT * FROM (SELECT cloudtrail.*, unnest(resources) AS r, unnest(generate_series(1, CAST(cardinality(resources) AS BIGINT))) AS n FROM cloudtrail) AS cloudtrail"
        );
        let fields =
            "SELECT n, arn FROM cloudtrail CROSS JOIN UNNEST(resources) WITH ORDINALITY AS t(arn, accountid, type, n)";
        let rewritten = trino_compat(fields);
        assert!(rewritten.contains("EXCLUDE (__trailsift_element, n)"), "{rewritten}");
        assert!(rewritten.contains("AS type, n FROM"), "{rewritten}");
        let two = "SELECT * FROM t CROSS JOIN UNNEST(a, b) WITH ORDINALITY AS u(x, y, n)";
        assert!(
            trino_compat(two).contains(
                "unnest(generate_series(1, CAST(greatest(coalesce(cardinality(a), 0), coalesce(cardinality(b), 0)) AS BIGINT))) AS n"
            ),
            "{}",
            trino_compat(two)
        );
        // LEFT JOIN … ON TRUE keeps the rows whose arrays are empty or NULL.
        assert_eq!(
            trino_compat("SELECT r.arn FROM cloudtrail LEFT JOIN UNNEST(resources) AS t(r) ON TRUE"),
            "SELECT r.arn FROM (SELECT cloudtrail.*, unnest(CASE WHEN cardinality(resources) > 0 THEN resources ELSE make_array(NULL) END) AS r FROM cloudtrail) AS cloudtrail"
        );
        let on_other = "SELECT * FROM cloudtrail LEFT JOIN UNNEST(resources) AS t(r) ON r.arn = 'x'";
        assert_eq!(trino_compat(on_other), on_other);
        // Shapes not handled are left for DataFusion to report: positions without a name.
        let unnamed = "SELECT * FROM cloudtrail CROSS JOIN UNNEST(resources) WITH ORDINALITY";
        assert_eq!(trino_compat(unnamed), unnamed);
        assert_eq!(
            trino_compat("SELECT unnest(resources) FROM cloudtrail"),
            "SELECT unnest(resources) FROM cloudtrail"
        );
    }

    #[test]
    fn if_and_try_become_case_and_try_cast() {
        assert_eq!(
            trino_compat("SELECT if(a > 1, 'x', b) FROM t"),
            "SELECT CASE WHEN (a > 1) THEN ('x') ELSE (b) END FROM t"
        );
        assert_eq!(trino_compat("SELECT IF(a, 1)"), "SELECT CASE WHEN (a) THEN (1) END");
        assert_eq!(trino_compat("SELECT try(CAST(x AS INTEGER))"), "SELECT TRY_CAST(x AS INTEGER)");
        assert_eq!(trino_compat("SELECT try(x + 1) FROM t"), "SELECT x + 1 FROM t");
        assert_eq!(trino_compat("SELECT mod(a, 7)"), "SELECT ((a) % (7))");
        let diff = "SELECT verify_diff FROM t WHERE tryout = 1";
        assert_eq!(trino_compat(diff), diff);
    }

    #[test]
    fn array_casts_become_calls() {
        assert_eq!(
            trino_compat("SELECT CAST(j AS ARRAY(VARCHAR)), TRY_CAST(j AS array (bigint)) FROM t"),
            "SELECT __trailsift_cast_array(j, 'VARCHAR', false), __trailsift_cast_array(j, 'BIGINT', true) FROM t"
        );
        assert_eq!(
            trino_compat("SELECT try(CAST(j AS ARRAY(JSON)))"),
            "SELECT __trailsift_cast_array(j, 'JSON', true)"
        );
        assert_eq!(
            trino_compat("SELECT CAST(j AS MAP(VARCHAR, JSON)), try(CAST(j AS map(varchar, bigint)))"),
            "SELECT __trailsift_cast_map(j, 'VARCHAR', 'JSON', false), __trailsift_cast_map(j, 'VARCHAR', 'BIGINT', true)"
        );
        // A nested array type is spelled for DataFusion and left to its cast.
        assert_eq!(trino_compat("SELECT CAST(j AS ARRAY(ARRAY(INTEGER)))"), "SELECT CAST(j AS ARRAY<ARRAY<INTEGER>>)");
        // Not types: a call of `array(…)`, text, a name ending in `as`.
        for same in ["SELECT array(1, 2)", "SELECT 'AS ARRAY(x)' AS a", "SELECT alias array(1)"] {
            assert_eq!(trino_compat(same), same);
        }
    }

    #[test]
    fn names_follow_trino() {
        assert_eq!(trino_name("eventname").as_deref(), Some("eventname"));
        assert_eq!(
            trino_name("cloudtrail.useridentity[sessioncontext][attributes][mfaauthenticated]").as_deref(),
            Some("mfaauthenticated")
        );
        assert_eq!(trino_name("count(*)"), None);
        assert_eq!(trino_name("cloudtrail.resources[Int64(1)]"), None);
    }

    fn schema(names: &[&str]) -> Schema {
        Schema::new(names.iter().map(|n| Field::new(*n, DataType::Utf8, true)).collect::<Vec<_>>())
    }

    #[test]
    fn output_names_are_trinos() {
        let s = schema(&["eventname", "count(*)", "n", "cloudtrail.useridentity[arn]"]);
        let sql = "SELECT eventname, count(*), count(*) AS n, useridentity.arn FROM t GROUP BY 1, 4";
        assert_eq!(output_names(sql, &s), ["eventname", "_col1", "n", "arn"]);
        // A wildcard keeps the table's names; an alias is kept even when it is not an identifier.
        let s = schema(&["a", "b", "lower(t.c)", "count(*)"]);
        assert_eq!(
            output_names("SELECT *, lower(c), count(*) AS \"count(*)\" FROM t", &s),
            ["a", "b", "_col2", "count(*)"]
        );
        // A repeated name becomes positional.
        let s =
            schema(&["cloudtrail.useridentity[arn]", "cloudtrail.useridentity[sessioncontext][sessionissuer][arn]"]);
        assert_eq!(
            output_names("SELECT useridentity.arn, useridentity.sessioncontext.sessionissuer.arn FROM t", &s),
            ["arn", "_col1"]
        );
        // A union is named by its first branch; SQL that does not parse keeps the names.
        let s = schema(&["max(t.a)"]);
        assert_eq!(output_names("SELECT max(a) FROM t UNION ALL SELECT 1", &s), ["_col0"]);
        // A wildcard over a subquery names its struct fields as Trino does.
        let s = schema(&["cloudtrail.useridentity[arn]", "n"]);
        let sql = "WITH x AS (SELECT useridentity.arn, count(*) AS n FROM cloudtrail GROUP BY 1) SELECT * FROM x";
        assert_eq!(output_names(sql, &s), ["arn", "n"]);
        assert_eq!(output_names("SELEC nonsense", &schema(&["max(t.a)"])), ["max(t.a)"]);
    }
}
