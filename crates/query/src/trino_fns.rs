//! More Trino functions that Athena queries use, with Trino's semantics where DataFusion's
//! function of the same name differs:
//!
//! - `regexp_replace(s, pattern[, replacement])` replaces *every* match (DataFusion's only the
//!   first), and its replacement refers to groups as `$1` or `${name}`, `\$` being a dollar.
//!   DataFusion's form with flags, `regexp_replace(s, pattern, replacement, 'gi')`, still
//!   works: `g` replaces every match, no `g` the first, the other letters are the regex
//!   flags (`i`, `m`, `s`, `x`, …);
//! - `regexp_extract(s, pattern[, group])` and `regexp_extract_all(s, pattern[, group])`;
//! - `concat(…)` is NULL when any argument is NULL (DataFusion's skips NULLs), and joins
//!   arrays as arrays (DataFusion's prints them into a string);
//! - `split(s, delimiter[, limit])`, `date(x)`, `from_iso8601_date(s)`, `json_parse(s)` and
//!   `json_format(json)` (JSON values are text here, so these two check or pass it on);
//! - the aggregates `max_by(x, y)` and `min_by(x, y)`, and the other names Trino gives
//!   DataFusion's aggregates: `arbitrary` (`any_value`), `every` (`bool_and`) and
//!   `approx_percentile` (`approx_percentile_cont`);
//! - `__trailsift_field_at(row, n)`, the n-th field of a row (from 1), which the `UNNEST`
//!   rewrite of [`crate::trino`] uses to expand an array of rows into columns.
//!
//! Trino's patterns are Java regular expressions; they run here on the `regex` crate, which
//! has the same syntax except look-around and back-references (a query using those gets an
//! error naming the pattern).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder, StructArray, new_null_array};
use arrow::compute::kernels::cast::cast;
use arrow::compute::{SortOptions, sort_to_indices};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::functions_aggregate::any_value::any_value_udaf;
use datafusion::functions_aggregate::approx_percentile_cont::approx_percentile_cont_udaf;
use datafusion::functions_aggregate::bool_and_or::bool_and_udaf;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use regex::Regex;

use crate::udf::{StrArg, finish, shape};

/// Registers the functions of this module in `ctx`.
pub(crate) fn register(ctx: &SessionContext) {
    for kind in [
        Kind::RegexpReplace,
        Kind::RegexpExtract,
        Kind::RegexpExtractAll,
        Kind::Split,
        Kind::Date,
        Kind::FromIso8601Date,
        Kind::JsonParse,
        Kind::JsonFormat,
        Kind::FieldAt,
        Kind::Concat,
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(Udf {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }));
    }
    for max in [true, false] {
        ctx.register_udaf(AggregateUDF::new_from_impl(ByAggregate {
            max,
            signature: Signature::any(2, Volatility::Immutable),
        }));
    }
    ctx.register_udaf(any_value_udaf().as_ref().clone().with_aliases(["arbitrary"]));
    ctx.register_udaf(bool_and_udaf().as_ref().clone().with_aliases(["every"]));
    ctx.register_udaf(approx_percentile_cont_udaf().as_ref().clone().with_aliases(["approx_percentile"]));
}

/// The name of the function that gives a row's n-th field.
pub(crate) const FIELD_AT: &str = "__trailsift_field_at";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    RegexpReplace,
    RegexpExtract,
    RegexpExtractAll,
    Split,
    Date,
    FromIso8601Date,
    JsonParse,
    JsonFormat,
    FieldAt,
    Concat,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::RegexpReplace => "regexp_replace",
            Kind::RegexpExtract => "regexp_extract",
            Kind::RegexpExtractAll => "regexp_extract_all",
            Kind::Split => "split",
            Kind::Date => "date",
            Kind::FromIso8601Date => "from_iso8601_date",
            Kind::JsonParse => "json_parse",
            Kind::JsonFormat => "json_format",
            Kind::FieldAt => FIELD_AT,
            Kind::Concat => "concat",
        }
    }

    /// How many arguments the function takes, at least and at most.
    fn arity(self) -> (usize, usize) {
        match self {
            Kind::RegexpReplace => (2, 4),
            Kind::RegexpExtract | Kind::RegexpExtractAll | Kind::Split => (2, 3),
            Kind::Date | Kind::FromIso8601Date | Kind::JsonParse | Kind::JsonFormat => (1, 1),
            Kind::FieldAt => (2, 2),
            Kind::Concat => (1, usize::MAX),
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Udf {
    kind: Kind,
    signature: Signature,
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null)
        || matches!(t, DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
}

impl ScalarUDFImpl for Udf {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let (least, most) = self.kind.arity();
        if arg_types.len() < least || arg_types.len() > most {
            return plan_err!("{name} takes {least} to {most} arguments, got {}", arg_types.len());
        }
        if self.kind == Kind::Concat {
            return concat_types(arg_types);
        }
        arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let integer = matches!(
                    (self.kind, i),
                    (Kind::RegexpExtract | Kind::RegexpExtractAll | Kind::Split, 2) | (Kind::FieldAt, 1)
                );
                match (self.kind, i) {
                    (Kind::Date, 0) => match t {
                        t if is_string(t) => Ok(DataType::Utf8),
                        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => Ok(t.clone()),
                        other => plan_err!("date expects a string, a timestamp or a date, not {other}"),
                    },
                    (Kind::FieldAt, 0) => Ok(t.clone()),
                    _ if integer && (t.is_integer() || t.is_null()) => Ok(DataType::Int64),
                    _ if integer => plan_err!("{name}: argument {} must be an integer, not {t}", i + 1),
                    _ if is_string(t) => Ok(DataType::Utf8),
                    _ => plan_err!("{name}: argument {} must be a string, not {t}", i + 1),
                }
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("{} is typed from its arguments", self.name())
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let name = self.name();
        let t = match self.kind {
            Kind::RegexpReplace | Kind::RegexpExtract | Kind::JsonParse | Kind::JsonFormat => DataType::Utf8,
            Kind::RegexpExtractAll | Kind::Split => {
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
            }
            Kind::Date | Kind::FromIso8601Date => DataType::Date32,
            Kind::Concat => match args.arg_fields.iter().find(|f| is_list(f.data_type())) {
                Some(list) => list.data_type().clone(),
                None => DataType::Utf8,
            },
            Kind::FieldAt => {
                let Some(DataType::Struct(fields)) = args.arg_fields.first().map(|f| f.data_type()) else {
                    return plan_err!("{name} expects a row");
                };
                let n = match args.scalar_arguments.get(1).copied().flatten() {
                    Some(ScalarValue::Int64(Some(n))) => *n,
                    _ => return plan_err!("{name}: the field number must be a constant"),
                };
                match usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| fields.get(i)) {
                    Some(f) => f.data_type().clone(),
                    None => return plan_err!("the row has {} fields, so it has no field {n}", fields.len()),
                }
            }
        };
        Ok(Arc::new(Field::new(name, t, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match self.kind {
            Kind::RegexpReplace => regexp_replace(&args),
            Kind::RegexpExtract | Kind::RegexpExtractAll => regexp_extract(&args, self.kind == Kind::RegexpExtractAll),
            Kind::Split => split(&args),
            Kind::Date | Kind::FromIso8601Date => {
                let (n, scalar) = shape(&args);
                let input = args.args[0].to_array(n)?;
                finish(cast(&input, &DataType::Date32)?, scalar)
            }
            Kind::JsonParse => json_parse(&args),
            Kind::JsonFormat => Ok(args.args[0].clone()),
            Kind::FieldAt => field_at(&args),
            Kind::Concat => concat(args),
        }
    }
}

fn is_list(t: &DataType) -> bool {
    matches!(t, DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..))
}

/// `concat` joins strings, or arrays when every argument is one (or NULL).
fn concat_types(arg_types: &[DataType]) -> Result<Vec<DataType>> {
    if arg_types.iter().any(is_list) {
        let item = arg_types.iter().find_map(|t| match t {
            DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => Some(item.clone()),
            _ => None,
        });
        let Some(item) = item else { return plan_err!("concat: no array among the arguments") };
        let list = DataType::List(item);
        return arg_types
            .iter()
            .map(|t| match t {
                DataType::Null => Ok(list.clone()),
                t if is_list(t) => Ok(list.clone()),
                other => plan_err!("concat joins arrays or strings, not an array and {other}"),
            })
            .collect();
    }
    arg_types
        .iter()
        .map(|t| match t {
            t if t.is_nested() => plan_err!("concat joins strings or arrays, not {t}"),
            // Numbers, dates, times: as text (Trino wants strings; DataFusion casts them).
            _ => Ok(DataType::Utf8),
        })
        .collect()
}

/// Trino's `concat`: NULL when any argument is NULL.
fn concat(args: ScalarFunctionArgs) -> Result<ColumnarValue> {
    if is_list(args.return_field.data_type()) {
        let (n, scalar) = shape(&args);
        let inputs = args.args.iter().map(|a| a.to_array(n)).collect::<Result<Vec<_>>>()?;
        let joined = datafusion::functions_nested::concat::array_concat_udf().invoke_with_args(args)?;
        // DataFusion's array_concat skips NULL arrays; Trino's concat is NULL then.
        let mut out = joined.to_array(n)?;
        for input in &inputs {
            if input.null_count() > 0 {
                out = arrow::compute::nullif(&out, &arrow::compute::is_null(input)?)?;
            }
        }
        return finish(out, scalar);
    }
    let (n, scalar) = shape(&args);
    let parts = args.args.iter().map(|a| StrArg::new(a, "concat")).collect::<Result<Vec<_>>>()?;
    let mut out = StringBuilder::with_capacity(n, n * 16);
    let mut buf = String::new();
    'rows: for i in 0..n {
        buf.clear();
        for p in &parts {
            match p.get(i) {
                Some(s) => buf.push_str(s),
                None => {
                    out.append_null();
                    continue 'rows;
                }
            }
        }
        out.append_value(&buf);
    }
    finish(Arc::new(out.finish()), scalar)
}

/// Compiles the patterns of a pattern argument, once for a constant and again only when a
/// row's pattern differs from the previous row's.
struct Patterns<'a> {
    arg: StrArg,
    name: &'a str,
    last: Option<(String, Regex)>,
}

impl<'a> Patterns<'a> {
    fn new(value: &ColumnarValue, name: &'a str) -> Result<Self> {
        Ok(Self { arg: StrArg::new(value, name)?, name, last: None })
    }

    fn get(&mut self, i: usize) -> Result<Option<&Regex>> {
        self.get_with_flags(i, "")
    }

    /// The pattern of row `i` with the regex flags `flags` (`i`, `m`, `s`, `x`, …).
    fn get_with_flags(&mut self, i: usize, flags: &str) -> Result<Option<&Regex>> {
        let Some(p) = self.arg.get(i) else { return Ok(None) };
        let text = if flags.is_empty() { p.to_owned() } else { format!("(?{flags}){p}") };
        if self.last.as_ref().is_none_or(|(q, _)| *q != text) {
            match Regex::new(&text) {
                Ok(r) => self.last = Some((text, r)),
                Err(e) => return exec_err!("{}: invalid pattern {p:?} (flags {flags:?}): {e}", self.name),
            }
        }
        Ok(self.last.as_ref().map(|(_, r)| r))
    }
}

/// A Trino replacement (`$1`, `${name}`, `\$`) in the `regex` crate's syntax.
fn replacement(trino: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(trino.len() + 4);
    let mut chars = trino.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => return Err("the replacement ends with a backslash".into()),
            },
            '$' => {
                if chars.peek() == Some(&'{') {
                    chars.next();
                    let mut group = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(ch) => group.push(ch),
                            None => return Err("unclosed ${ in the replacement".into()),
                        }
                    }
                    out.push_str(&format!("${{{group}}}"));
                } else {
                    let mut digits = String::new();
                    while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        digits.push(*d);
                        chars.next();
                    }
                    if digits.is_empty() {
                        return Err("a $ in the replacement must name a group ($1, ${name}) or be escaped (\\$)".into());
                    }
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

fn regexp_replace(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let name = "regexp_replace";
    let (n, scalar) = shape(args);
    let input = StrArg::new(&args.args[0], name)?;
    let mut patterns = Patterns::new(&args.args[1], name)?;
    let replacements = args.args.get(2).map(|r| StrArg::new(r, name)).transpose()?;
    let flags = args.args.get(3).map(|f| StrArg::new(f, name)).transpose()?;
    let mut last_replacement: Option<(String, String)> = None;
    let mut out = StringBuilder::with_capacity(n, n * 16);
    for i in 0..n {
        let with = match &replacements {
            None => Some(""),
            Some(r) => r.get(i),
        };
        // Trino's forms replace every match; DataFusion's (with flags) only with `g`.
        let (every, flags) = match &flags {
            None => (true, String::new()),
            Some(f) => match f.get(i) {
                Some(f) => (f.contains('g'), f.replace('g', "")),
                None => {
                    out.append_null();
                    continue;
                }
            },
        };
        let (Some(s), Some(re), Some(with)) = (input.get(i), patterns.get_with_flags(i, &flags)?, with) else {
            out.append_null();
            continue;
        };
        if last_replacement.as_ref().is_none_or(|(t, _)| t != with) {
            match replacement(with) {
                Ok(r) => last_replacement = Some((with.to_owned(), r)),
                Err(e) => return exec_err!("{name}: {e}: {with:?}"),
            }
        }
        let rust = last_replacement.as_ref().map_or("", |(_, r)| r.as_str());
        out.append_value(if every { re.replace_all(s, rust) } else { re.replace(s, rust) });
    }
    finish(Arc::new(out.finish()), scalar)
}

/// The group number of row `i` (0 when the argument is absent), checked against `re`.
fn group_of(groups: Option<&ColumnarValue>, i: usize, re: &Regex, name: &str) -> Result<Option<usize>> {
    let g = match groups {
        None => return Ok(Some(0)),
        Some(ColumnarValue::Scalar(ScalarValue::Int64(g))) => *g,
        Some(ColumnarValue::Array(a)) => {
            let a = a.as_primitive::<arrow::datatypes::Int64Type>();
            a.is_valid(i).then(|| a.value(i))
        }
        Some(_) => return exec_err!("{name}: the group must be an integer"),
    };
    let Some(g) = g else { return Ok(None) };
    match usize::try_from(g) {
        Ok(g) if g < re.captures_len() => Ok(Some(g)),
        _ => exec_err!("{name}: pattern {:?} has no group {g}", re.as_str()),
    }
}

fn regexp_extract(args: &ScalarFunctionArgs, all: bool) -> Result<ColumnarValue> {
    let name = if all { "regexp_extract_all" } else { "regexp_extract" };
    let (n, scalar) = shape(args);
    let input = StrArg::new(&args.args[0], name)?;
    let mut patterns = Patterns::new(&args.args[1], name)?;
    let groups = args.args.get(2);
    let mut one = StringBuilder::with_capacity(n, n * 16);
    let mut many = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        let (Some(s), Some(re)) = (input.get(i), patterns.get(i)?) else {
            if all {
                many.append_null();
            } else {
                one.append_null();
            }
            continue;
        };
        let Some(g) = group_of(groups, i, re, name)? else {
            if all {
                many.append_null();
            } else {
                one.append_null();
            }
            continue;
        };
        if all {
            for caps in re.captures_iter(s) {
                many.values().append_option(caps.get(g).map(|m| m.as_str()));
            }
            many.append(true);
        } else {
            one.append_option(re.captures(s).and_then(|c| c.get(g)).map(|m| m.as_str()));
        }
    }
    let array: ArrayRef = if all { Arc::new(many.finish()) } else { Arc::new(one.finish()) };
    finish(array, scalar)
}

fn split(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let name = "split";
    let (n, scalar) = shape(args);
    let input = StrArg::new(&args.args[0], name)?;
    let delimiter = StrArg::new(&args.args[1], name)?;
    let limit = |i: usize| -> Result<Option<usize>> {
        let v = match args.args.get(2) {
            None => return Ok(Some(usize::MAX)),
            Some(ColumnarValue::Scalar(ScalarValue::Int64(v))) => *v,
            Some(ColumnarValue::Array(a)) => {
                let a = a.as_primitive::<arrow::datatypes::Int64Type>();
                a.is_valid(i).then(|| a.value(i))
            }
            Some(_) => return exec_err!("{name}: the limit must be an integer"),
        };
        match v {
            None => Ok(None),
            Some(v) if v > 0 => Ok(Some(usize::try_from(v).unwrap_or(usize::MAX))),
            Some(v) => exec_err!("{name}: the limit must be positive, not {v}"),
        }
    };
    let mut out = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        let (Some(s), Some(d), Some(limit)) = (input.get(i), delimiter.get(i), limit(i)?) else {
            out.append_null();
            continue;
        };
        if d.is_empty() {
            return exec_err!("{name}: the delimiter is empty");
        }
        for part in s.splitn(limit, d) {
            out.values().append_value(part);
        }
        out.append(true);
    }
    finish(Arc::new(out.finish()), scalar)
}

fn json_parse(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let name = "json_parse";
    let (n, scalar) = shape(args);
    let input = StrArg::new(&args.args[0], name)?;
    let mut out = StringBuilder::with_capacity(n, n * 32);
    for i in 0..n {
        match input.get(i) {
            Some(s) => {
                if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(s) {
                    let start: String = s.chars().take(40).collect();
                    return exec_err!("{name}: not JSON ({e}): {start:?}");
                }
                out.append_value(s);
            }
            None => out.append_null(),
        }
    }
    finish(Arc::new(out.finish()), scalar)
}

fn field_at(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    let (n, scalar) = shape(args);
    let row = args.args[0].to_array(n)?;
    let Some(row) = row.as_struct_opt() else { return exec_err!("{FIELD_AT} expects a row") };
    let index = match &args.args[1] {
        ColumnarValue::Scalar(ScalarValue::Int64(Some(i))) => usize::try_from(*i - 1).ok(),
        _ => None,
    };
    let Some(field) = index.filter(|i| *i < row.num_columns()) else {
        return exec_err!("{FIELD_AT}: no such field");
    };
    finish(field_with_row_nulls(row, field)?, scalar)
}

/// Field `i` of `row`, NULL where the row itself is NULL.
fn field_with_row_nulls(row: &StructArray, i: usize) -> Result<ArrayRef> {
    let child = row.column(i).clone();
    let Some(nulls) = row.nulls() else { return Ok(child) };
    if row.null_count() == row.len() {
        return Ok(new_null_array(child.data_type(), row.len()));
    }
    let keep = arrow::array::BooleanArray::new(nulls.inner().clone(), None);
    Ok(arrow::compute::nullif(&child, &arrow::compute::not(&keep)?)?)
}

/// `max_by(x, y)` (with `max`) or `min_by(x, y)`: the `x` of the row with the greatest (least)
/// `y`; rows whose `y` is NULL are ignored.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ByAggregate {
    max: bool,
    signature: Signature,
}

impl AggregateUDFImpl for ByAggregate {
    fn name(&self) -> &str {
        if self.max { "max_by" } else { "min_by" }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.first() {
            Some(t) => Ok(t.clone()),
            None => plan_err!("{} takes two arguments", self.name()),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let [x, y] = args.input_fields else { return plan_err!("{} takes two arguments", self.name()) };
        Ok(vec![
            Arc::new(Field::new(format!("{}[value]", args.name), x.data_type().clone(), true)),
            Arc::new(Field::new(format!("{}[key]", args.name), y.data_type().clone(), true)),
        ])
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let [x, y] = acc_args.expr_fields else { return plan_err!("{} takes two arguments", self.name()) };
        Ok(Box::new(ByAccumulator {
            max: self.max,
            value: ScalarValue::try_from(x.data_type())?,
            key: ScalarValue::try_from(y.data_type())?,
        }))
    }
}

#[derive(Debug)]
struct ByAccumulator {
    max: bool,
    value: ScalarValue,
    key: ScalarValue,
}

impl Accumulator for ByAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let [x, y] = values else { return exec_err!("max_by/min_by take two arguments") };
        // The best key of the batch, NULLs last.
        let options = SortOptions { descending: self.max, nulls_first: false };
        let best = sort_to_indices(y, Some(options), Some(1))?;
        if best.is_empty() || y.is_null(best.value(0) as usize) {
            return Ok(());
        }
        let at = best.value(0) as usize;
        let key = ScalarValue::try_from_array(y, at)?;
        let better = self.key.is_null()
            || match key.partial_cmp(&self.key) {
                Some(std::cmp::Ordering::Greater) => self.max,
                Some(std::cmp::Ordering::Less) => !self.max,
                _ => false,
            };
        if better {
            self.key = key;
            self.value = ScalarValue::try_from_array(x, at)?;
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value.clone())
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.value.size() + self.key.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value.clone(), self.key.clone()])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.update_batch(states)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    use super::replacement;

    /// The single row of `sql`, each column as its JSON text.
    async fn row(sql: &str) -> Vec<String> {
        let ctx = SessionContext::new();
        crate::udf::register(&ctx);
        let batches = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")).collect().await.unwrap();
        let mut w = arrow::json::ArrayWriter::new(Vec::new());
        w.write_batches(&batches.iter().collect::<Vec<_>>()).unwrap();
        w.finish().unwrap();
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(&w.into_inner()).unwrap();
        assert_eq!(rows.len(), 1, "{sql}");
        let schema = batches[0].schema();
        schema.fields().iter().map(|f| rows[0].get(f.name()).map_or("null".into(), |v| v.to_string())).collect()
    }

    #[tokio::test]
    async fn trino_semantics() {
        assert_eq!(
            row("SELECT regexp_replace('a1b22', '[0-9]+', '<$0>'), regexp_replace('a1b2', '[0-9]'), \
                 regexp_replace('aXbx', 'x', '-', 'i'), regexp_replace('aXbx', 'x', '-', 'gi'), regexp_replace(NULL, 'x', 'y')")
            .await,
            ["\"a<1>b<22>\"", "\"ab\"", "\"a-bx\"", "\"a-b-\"", "null"]
        );
        assert_eq!(
            row("SELECT regexp_extract('k=AKIA1 k=ASIA2', 'k=(A[A-Z]+)([0-9])', 2), regexp_extract('abc', 'z'), \
                 regexp_extract_all('k=AKIA1 k=ASIA2', 'k=(A[A-Z]+)', 1), regexp_extract_all('abc', 'z')")
            .await,
            ["\"1\"", "null", "[\"AKIA\",\"ASIA\"]", "[]"]
        );
        assert_eq!(
            row("SELECT split('a.b.c', '.'), split('a.b.c', '.', 2), split('', ','), date('2024-02-29'), \
                 date(TIMESTAMP '2024-02-29T23:59:59Z'), from_iso8601_date('2024-03-01')")
            .await,
            ["[\"a\",\"b\",\"c\"]", "[\"a\",\"b.c\"]", "[\"\"]", "\"2024-02-29\"", "\"2024-02-29\"", "\"2024-03-01\""]
        );
        assert_eq!(
            row("SELECT max_by(x, y), min_by(x, y), arbitrary(x) IS NOT NULL, every(y > 0) \
                 FROM (VALUES ('a', 2), ('b', 9), ('c', NULL), ('d', 1)) AS t(x, y)")
            .await,
            ["\"b\"", "\"d\"", "true", "true"]
        );
        assert_eq!(
            row("SELECT concat('a', NULL), concat('a', 'b', 1), concat(ARRAY[1], ARRAY[2, 3]), concat(ARRAY[1], NULL), concat('d', DATE '2024-01-02')")
                .await,
            ["null", "\"ab1\"", "[1,2,3]", "null", "\"d2024-01-02\""]
        );
        // The field of a NULL row is NULL, whatever the child array holds.
        assert_eq!(
            row("SELECT __trailsift_field_at(r, 2) FROM (SELECT CASE WHEN false THEN named_struct('a', 1, 'b', 'x') END AS r)")
                .await,
            ["null"]
        );
    }

    #[test]
    fn replacements_use_the_regex_crate_syntax() {
        assert_eq!(replacement("$1a").unwrap(), "${1}a");
        assert_eq!(replacement("${user}-\\$").unwrap(), "${user}-$$");
        assert_eq!(replacement("x\\\\y").unwrap(), "x\\y");
        assert!(replacement("cost $").is_err());
    }
}
