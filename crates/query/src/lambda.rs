//! Trino's lambda expressions (`x -> …`) in the array functions Athena queries call:
//! `any_match`, `all_match`, `none_match`, `transform` and `filter`.
//!
//! DataFusion 55 plans lambdas (`array_any_match`, `array_transform`, `array_filter`), but its
//! generic SQL dialect, the one that reads Trino's other spellings as Trino does, parses
//! `x -> body` as the JSON arrow operator, and a dialect that takes lambdas reads other parts
//! of a Trino query differently (a double-quoted name is a string in Spark's). So the query
//! is parsed with the generic dialect and each arrow whose left side is a parameter list is
//! turned into a lambda in the syntax tree, which DataFusion then plans as it is, without
//! printing and parsing it again:
//!
//! - The arrow binds tighter than any other operator, so `x -> x.a = 1 AND x.b` is parsed
//!   as `((x -> x.a) = 1) AND x.b`: the arrow is found on the left edge of the argument and
//!   replaced by its right side, which gives the body as written (`x.a = 1 AND x.b`).
//! - A field of a row parameter (`r.arn`) becomes `r['arn']`, since DataFusion reads `r.arn`
//!   as column `arn` of a table `r`.
//! - `transform` and `filter` are `array_transform` and `array_filter`; `all_match(a, x -> p)`
//!   is `NOT any_match(a, x -> NOT (p))` and `none_match(a, f)` is `NOT any_match(a, f)`.
//!   DataFusion's `any_match` follows Trino's three values (NULL when no element matches but
//!   some predicate is NULL), and the negations keep them: `all_match` is FALSE when one
//!   element fails, NULL when none fails but one is NULL, TRUE otherwise (or when empty).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CastKind, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, LambdaFunction,
    LambdaFunctionParameter, LambdaSyntax, ObjectName, OneOrManyWithParens, Statement, UnaryOperator, Value, VisitMut,
    VisitorMut, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::trino::same_ident;

/// The one statement of `sql` with its Trino lambdas made DataFusion lambdas (see the module
/// documentation), or `None` when it has none (or is not one statement that parses), in which
/// case `sql` plans as text.
pub(crate) fn with_lambdas(sql: &str) -> Option<Statement> {
    if !sql.contains("->") {
        return None;
    }
    let mut statements = Parser::parse_sql(&GenericDialect {}, sql).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let mut statement = statements.pop()?;
    let mut lambdas = Lambdas { changed: false };
    let _ = statement.visit(&mut lambdas);
    lambdas.changed.then_some(statement)
}

struct Lambdas {
    changed: bool,
}

impl VisitorMut for Lambdas {
    type Break = ();

    /// Children are visited first, so a lambda inside a lambda's body is already made when
    /// the outer call is.
    fn post_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
        if let Some(new) = call_with_lambdas(expr) {
            *expr = new;
            self.changed = true;
        }
        ControlFlow::Continue(())
    }
}

/// `expr`, a function call, with its arrow arguments made lambdas and Trino's name mapped
/// to DataFusion's; `None` when it is not a call or has no arrow argument.
fn call_with_lambdas(expr: &SqlExpr) -> Option<SqlExpr> {
    let SqlExpr::Function(f) = expr else { return None };
    let mut f = f.clone();
    let mut made = false;
    if let FunctionArguments::List(args) = &mut f.args {
        for arg in &mut args.args {
            if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg
                && let Some(lambda) = lambda_of(e)
            {
                *e = lambda;
                made = true;
            }
        }
    }
    if !made {
        return None;
    }
    let name = f.name.to_string().to_ascii_lowercase();
    let rename = |f: &mut datafusion::sql::sqlparser::ast::Function, to: &str| {
        f.name = ObjectName::from(vec![Ident::new(to)]);
    };
    let not = |e: SqlExpr| SqlExpr::UnaryOp { op: UnaryOperator::Not, expr: Box::new(SqlExpr::Nested(Box::new(e))) };
    match name.as_str() {
        "transform" => rename(&mut f, "array_transform"),
        "filter" => rename(&mut f, "array_filter"),
        "none_match" => {
            rename(&mut f, "any_match");
            return Some(not(SqlExpr::Function(f)));
        }
        "all_match" => {
            rename(&mut f, "any_match");
            if let FunctionArguments::List(args) = &mut f.args
                && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Lambda(l)))) = args.args.get_mut(1)
            {
                let body = std::mem::replace(&mut *l.body, null());
                *l.body = not(body);
            }
            return Some(not(SqlExpr::Function(f)));
        }
        _ => {}
    }
    Some(SqlExpr::Function(f))
}

fn null() -> SqlExpr {
    SqlExpr::Value(Value::Null.into())
}

/// The lambda an argument spells with an arrow (see the module documentation), or `None`.
fn lambda_of(arg: &SqlExpr) -> Option<SqlExpr> {
    let mut body = arg.clone();
    let params = take_arrow(&mut body)?;
    // `r.arn` (and `r.a.b`) of a parameter `r` is a field of the row it stands for.
    let _ = visit_expressions_mut(&mut body, |e| {
        if let SqlExpr::CompoundIdentifier(parts) = e
            && parts.len() >= 2
            && params.iter().any(|p| same_ident(&p.name, &parts[0]))
        {
            let mut text = parts[0].to_string();
            for field in &parts[1..] {
                let name =
                    if field.quote_style.is_some() { field.value.clone() } else { field.value.to_ascii_lowercase() };
                text.push_str(&format!("['{}']", name.replace('\'', "''")));
            }
            if let Ok(access) = Parser::new(&GenericDialect {}).try_with_sql(&text).and_then(|mut p| p.parse_expr()) {
                *e = access;
            }
        }
        ControlFlow::<()>::Continue(())
    });
    Some(SqlExpr::Lambda(LambdaFunction { params, body: Box::new(body), syntax: LambdaSyntax::Arrow }))
}

/// Finds the arrow on the left edge of `e` whose left side is a parameter list, replaces it
/// by its right side and returns the parameters.
fn take_arrow(e: &mut SqlExpr) -> Option<OneOrManyWithParens<LambdaFunctionParameter>> {
    if let SqlExpr::BinaryOp { left, op: BinaryOperator::Arrow, right } = e {
        let params = params_of(left)?;
        *e = std::mem::replace(&mut **right, null());
        return Some(params);
    }
    let leftmost: &mut SqlExpr = match e {
        SqlExpr::BinaryOp { left, .. } | SqlExpr::AnyOp { left, .. } | SqlExpr::AllOp { left, .. } => left,
        SqlExpr::IsNull(x)
        | SqlExpr::IsNotNull(x)
        | SqlExpr::IsTrue(x)
        | SqlExpr::IsNotTrue(x)
        | SqlExpr::IsFalse(x)
        | SqlExpr::IsNotFalse(x)
        | SqlExpr::IsUnknown(x)
        | SqlExpr::IsNotUnknown(x)
        | SqlExpr::IsDistinctFrom(x, _)
        | SqlExpr::IsNotDistinctFrom(x, _) => x,
        SqlExpr::InList { expr, .. }
        | SqlExpr::InSubquery { expr, .. }
        | SqlExpr::InUnnest { expr, .. }
        | SqlExpr::Between { expr, .. }
        | SqlExpr::Like { expr, .. }
        | SqlExpr::ILike { expr, .. }
        | SqlExpr::SimilarTo { expr, .. }
        | SqlExpr::RLike { expr, .. }
        | SqlExpr::Collate { expr, .. }
        | SqlExpr::Cast { kind: CastKind::DoubleColon, expr, .. } => expr,
        SqlExpr::AtTimeZone { timestamp, .. } => timestamp,
        _ => return None,
    };
    take_arrow(leftmost)
}

/// `x`, `(x)` or `(x, y)` as lambda parameters.
fn params_of(e: &SqlExpr) -> Option<OneOrManyWithParens<LambdaFunctionParameter>> {
    let param = |e: &SqlExpr| match e {
        SqlExpr::Identifier(name) => Some(LambdaFunctionParameter { name: name.clone(), data_type: None }),
        _ => None,
    };
    match e {
        SqlExpr::Identifier(_) => Some(OneOrManyWithParens::One(param(e)?)),
        SqlExpr::Nested(inner) => Some(OneOrManyWithParens::Many(vec![param(inner)?])),
        SqlExpr::Tuple(items) => Some(OneOrManyWithParens::Many(items.iter().map(param).collect::<Option<_>>()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::with_lambdas;

    fn rewritten(sql: &str) -> String {
        with_lambdas(sql).map(|s| s.to_string()).unwrap_or_else(|| "<none>".into())
    }

    #[test]
    fn arrows_become_lambdas_with_the_whole_body() {
        assert_eq!(
            rewritten("SELECT any_match(resources, r -> r.type = 'AWS::S3::Bucket' AND r.arn LIKE '%x%') FROM t"),
            "SELECT any_match(resources, r -> r['type'] = 'AWS::S3::Bucket' AND r['arn'] LIKE '%x%') FROM t"
        );
        assert_eq!(
            rewritten("SELECT transform(a, (x) -> upper(x)), filter(a, x -> x IS NOT NULL) FROM t"),
            "SELECT array_transform(a, (x) -> upper(x)), array_filter(a, x -> x IS NOT NULL) FROM t"
        );
        assert_eq!(
            rewritten("SELECT all_match(a, x -> x > 1), none_match(a, x -> x.B.c = 2) FROM t"),
            "SELECT NOT (any_match(a, x -> NOT (x > 1))), NOT (any_match(a, x -> x['b']['c'] = 2)) FROM t"
        );
        // A lambda in a lambda's body; the inner parameter shadows nothing here.
        assert_eq!(
            rewritten("SELECT any_match(a, x -> any_match(x.items, y -> y.k = x.k)) FROM t"),
            "SELECT any_match(a, x -> any_match(x['items'], y -> y['k'] = x['k'])) FROM t"
        );
        // No arrow, or an arrow whose left side is not a parameter list: nothing to do.
        assert_eq!(rewritten("SELECT a.b FROM t"), "<none>");
        assert_eq!(rewritten("SELECT f(1 -> 2) FROM t"), "<none>");
        assert_eq!(rewritten("SELECT '->' FROM t"), "<none>");
    }
}
