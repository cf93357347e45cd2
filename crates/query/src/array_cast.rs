//! Trino's `CAST(x AS ARRAY(T))` (and `TRY_CAST`, `try(CAST(…))`), which Athena queries use to
//! turn a JSON array into an array they can `UNNEST` or test with `contains`:
//! `CAST(json_extract(requestparameters, '$.policyArns') AS ARRAY(VARCHAR))`.
//!
//! JSON values are text here, so a cast of text to an array reads the text as JSON, as Trino
//! casts its JSON type (Trino has no cast of a plain `varchar` to an array, so nothing is
//! lost by reading every text as JSON). [`crate::trino`] rewrites the cast into a call of
//! [`CAST_ARRAY`]`(x, 'T', lenient)`, which:
//!
//! - for `ARRAY(JSON)`, gives each element as JSON text (`"a"`, `1`, `{"k":2}`);
//! - for `ARRAY(VARCHAR)`, a string element as its value, a number or boolean as its text;
//! - for `ARRAY(BIGINT)`, `INTEGER`, `SMALLINT`, `TINYINT`, `DOUBLE`, `REAL` or `BOOLEAN`,
//!   each element as that type (from a number, a boolean or a string that spells one);
//! - gives a JSON `null` element as NULL, and NULL for NULL or JSON `null` text;
//! - fails, naming the value, on text that is not a JSON array, an object or array element
//!   for a scalar type, or an element that does not convert (a fraction for an integer
//!   type, where Trino would round). `TRY_CAST` gives NULL for the row instead.
//!
//! An array argument (`CAST(split(s, ',') AS ARRAY(BIGINT))`) has its elements cast.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use arrow::compute::kernels::cast::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, FieldRef};
use arrow::util::display::FormatOptions;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use serde_json::Value;

use crate::udf::{finish, shape};

/// Name of the function that stands for `CAST(x AS ARRAY(T))`.
pub(crate) const CAST_ARRAY: &str = "__trailsift_cast_array";

/// Registers [`CAST_ARRAY`] in `ctx`.
pub(crate) fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(CastArray { signature: Signature::any(3, Volatility::Immutable) }));
}

/// The Arrow type of the elements of Trino's `ARRAY(name)`, and whether they are JSON text.
pub(crate) fn element_type(name: &str) -> Option<(DataType, bool)> {
    // `VARCHAR(64)`: the length does not matter here.
    let base = name.split('(').next().unwrap_or(name);
    let t = match base.trim().to_ascii_lowercase().as_str() {
        "json" => return Some((DataType::Utf8, true)),
        "varchar" | "string" | "text" => DataType::Utf8,
        "bigint" => DataType::Int64,
        "integer" | "int" => DataType::Int32,
        "smallint" => DataType::Int16,
        "tinyint" => DataType::Int8,
        "double" => DataType::Float64,
        "real" | "float" => DataType::Float32,
        "boolean" => DataType::Boolean,
        _ => return None,
    };
    Some((t, false))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CastArray {
    signature: Signature,
}

/// The type name (second argument) and whether the cast is lenient (third), both constants.
fn constants<'a>(values: impl Iterator<Item = Option<&'a ScalarValue>>) -> Result<(String, bool)> {
    let v: Vec<Option<&ScalarValue>> = values.collect();
    let name = match v.get(1).copied().flatten() {
        Some(ScalarValue::Utf8(Some(s))) => s.clone(),
        _ => return plan_err!("{CAST_ARRAY}: the element type must be a constant string"),
    };
    let lenient = matches!(v.get(2).copied().flatten(), Some(ScalarValue::Boolean(Some(true))));
    Ok((name, lenient))
}

impl ScalarUDFImpl for CastArray {
    fn name(&self) -> &str {
        CAST_ARRAY
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("{CAST_ARRAY} is typed from its arguments")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let (name, _) = constants(args.scalar_arguments.iter().copied())?;
        let Some((t, _)) = element_type(&name) else {
            return plan_err!(
                "CAST to ARRAY({name}) is not supported: the element type must be VARCHAR, JSON, BIGINT, INTEGER, SMALLINT, TINYINT, DOUBLE, REAL or BOOLEAN"
            );
        };
        Ok(Arc::new(Field::new(CAST_ARRAY, DataType::List(Arc::new(Field::new_list_field(t, true))), true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (name, lenient) = constants(args.args.iter().map(|a| match a {
            ColumnarValue::Scalar(s) => Some(s),
            ColumnarValue::Array(_) => None,
        }))?;
        let Some((element, json)) = element_type(&name) else {
            return exec_err!("CAST to ARRAY({name}) is not supported");
        };
        let (n, scalar) = shape(&args);
        let input = args.args[0].to_array(n)?;
        let target = DataType::List(Arc::new(Field::new_list_field(element.clone(), true)));
        let options = CastOptions { safe: lenient, format_options: FormatOptions::default() };
        let out = match input.data_type() {
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
                cast_with_options(&input, &target, &options)?
            }
            DataType::Null => arrow::array::new_null_array(&target, input.len()),
            t if t.is_nested() => return exec_err!("cannot cast {t} to ARRAY({name})"),
            _ => {
                let text = cast_with_options(&input, &DataType::Utf8, &options)?;
                let texts = from_json(text.as_string::<i32>(), json, lenient, &name)?;
                if element == DataType::Utf8 {
                    Arc::new(texts)
                } else {
                    cast_list_lenient_by_row(&texts, &target, lenient, &name)?
                }
            }
        };
        finish(out, scalar)
    }
}

/// Each JSON array of `texts` as a list of element texts (see the module documentation).
fn from_json(
    texts: &arrow::array::StringArray,
    json: bool,
    lenient: bool,
    name: &str,
) -> Result<arrow::array::ListArray> {
    let mut out = ListBuilder::new(StringBuilder::new());
    for text in texts.iter() {
        let Some(text) = text else {
            out.append_null();
            continue;
        };
        match elements(text, json) {
            Ok(Some(items)) => {
                for item in items {
                    out.values().append_option(item);
                }
                out.append(true);
            }
            Ok(None) => out.append_null(),
            Err(_) if lenient => out.append_null(),
            Err(why) => return exec_err!("cannot cast '{}' to ARRAY({name}): {why}", clip(text)),
        }
    }
    Ok(out.finish())
}

/// The element texts of the JSON array `text`, `None` for JSON `null`.
fn elements(text: &str, json: bool) -> std::result::Result<Option<Vec<Option<String>>>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        other => return Err(format!("a JSON {} is not an array", kind(&other))),
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Null => Ok(None),
            Value::String(s) if !json => Ok(Some(s)),
            Value::Bool(_) | Value::Number(_) if !json => Ok(Some(item.to_string())),
            Value::Array(_) | Value::Object(_) if !json => Err(format!("an element is a JSON {}", kind(&item))),
            other => Ok(Some(other.to_string())),
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(Some)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The first 80 characters of `text`, for an error message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// `lists` (of element texts) cast to `target`. A lenient cast makes NULL the whole row
/// whose elements do not all convert (not only the element, as Arrow's safe cast would).
fn cast_list_lenient_by_row(
    lists: &arrow::array::ListArray,
    target: &DataType,
    lenient: bool,
    name: &str,
) -> Result<ArrayRef> {
    let strict = CastOptions { safe: false, format_options: FormatOptions::default() };
    match cast_with_options(lists, target, &strict) {
        Ok(done) => Ok(done),
        Err(e) if !lenient => exec_err!("cannot cast to ARRAY({name}): {e}"),
        Err(_) => {
            // Row by row: a row that fails becomes NULL.
            let rows: Vec<ArrayRef> = (0..lists.len())
                .map(|i| {
                    let row = lists.slice(i, 1);
                    cast_with_options(&row, target, &strict).or_else(|_| Ok(arrow::array::new_null_array(target, 1)))
                })
                .collect::<Result<_>>()?;
            let refs: Vec<&dyn Array> = rows.iter().map(|a| a.as_ref()).collect();
            Ok(arrow::compute::concat(&refs)?)
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    use super::elements;

    /// Runs Trino `sql` (one row, one column) and gives the value as text.
    async fn value(ctx: &SessionContext, sql: &str) -> Result<String, String> {
        let df = crate::plan_trino(ctx, sql).await.map_err(|e| e.to_string())?;
        let batches = df.collect().await.map_err(|e| e.to_string())?;
        let b = batches.iter().find(|b| b.num_rows() > 0).expect("a row");
        let v = datafusion::common::ScalarValue::try_from_array(b.column(0), 0).unwrap();
        Ok(v.to_string())
    }

    #[tokio::test]
    async fn trino_casts_to_arrays() {
        let ctx = SessionContext::new();
        crate::udf::register(&ctx);
        let cases = [
            (r#"array_to_string(CAST(json_parse('["a", 1, true, null]') AS ARRAY(VARCHAR)), '|', 'N')"#, "a|1|true|N"),
            (r#"array_to_string(CAST('[{"k": 1}, "x"]' AS ARRAY(JSON)), '|')"#, r#"{"k":1}|"x""#),
            ("array_to_string(CAST('[1, 2, -3]' AS array(bigint)), '|')", "1|2|-3"),
            ("array_to_string(CAST('[1.5, 2]' AS ARRAY(DOUBLE)), '|')", "1.5|2"),
            ("array_to_string(CAST('[true, false]' AS ARRAY(BOOLEAN)), '|')", "true|false"),
            ("cardinality(CAST('[]' AS ARRAY(VARCHAR)))", "0"),
            ("CAST('null' AS ARRAY(VARCHAR)) IS NULL", "true"),
            ("TRY_CAST('{\"a\": 1}' AS ARRAY(VARCHAR)) IS NULL", "true"),
            ("try(CAST('[1.5]' AS ARRAY(BIGINT))) IS NULL", "true"),
            ("array_to_string(try(CAST('[7]' AS ARRAY(BIGINT))), '|')", "7"),
            ("array_to_string(CAST(split('1,2', ',') AS ARRAY(BIGINT)), '|')", "1|2"),
            (r#"contains(CAST('["a", "b"]' AS ARRAY(VARCHAR)), 'b')"#, "true"),
            (
                r#"array_to_string(CAST(CAST('[["a"], ["b", "c"]]' AS ARRAY(JSON)) AS ARRAY(VARCHAR)), '|')"#,
                r#"["a"]|["b","c"]"#,
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(value(&ctx, &format!("SELECT {expr}")).await.as_deref(), Ok(want), "{expr}");
        }
        let unnest = r#"SELECT string_agg(x, '|' ORDER BY x) FROM (SELECT '["b", "a"]' AS j) AS t CROSS JOIN UNNEST(CAST(j AS ARRAY(VARCHAR))) AS u(x)"#;
        assert_eq!(value(&ctx, unnest).await.as_deref(), Ok("a|b"));
        let err = value(&ctx, r#"SELECT CAST('{"a": 1}' AS ARRAY(VARCHAR))"#).await.unwrap_err();
        assert!(err.contains(r#"cannot cast '{"a": 1}' to ARRAY(VARCHAR): a JSON object is not an array"#), "{err}");
        let err = value(&ctx, "SELECT CAST('[1.5]' AS ARRAY(BIGINT))").await.unwrap_err();
        assert!(err.contains("cannot cast to ARRAY(BIGINT)"), "{err}");
        let err = value(&ctx, "SELECT CAST('[1]' AS ARRAY(DATE))").await.unwrap_err();
        assert!(err.contains("CAST to ARRAY(DATE) is not supported"), "{err}");
    }

    #[test]
    fn json_arrays_give_their_elements() {
        let s = |v: &[Option<&str>]| Some(v.iter().map(|x| x.map(str::to_string)).collect::<Vec<_>>());
        assert_eq!(elements(r#"["a", 1, true, null]"#, false), Ok(s(&[Some("a"), Some("1"), Some("true"), None])));
        assert_eq!(
            elements(r#"["a", {"k": [1, 2]}, null]"#, true),
            Ok(s(&[Some("\"a\""), Some(r#"{"k":[1,2]}"#), None]))
        );
        assert_eq!(elements("null", false), Ok(None));
        assert_eq!(elements("[]", false), Ok(s(&[])));
        assert!(elements(r#"{"a": 1}"#, false).unwrap_err().contains("object is not an array"));
        assert!(elements(r#"[[1]]"#, false).unwrap_err().contains("element is a JSON array"));
        assert!(elements("[1,", false).unwrap_err().contains("not JSON"));
    }
}
