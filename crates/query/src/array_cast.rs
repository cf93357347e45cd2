//! Trino's `CAST(x AS ARRAY(T))` and `CAST(x AS MAP(K, V))` (and `TRY_CAST`, `try(CAST(…))`),
//! which Athena queries use to turn JSON into an array they can `UNNEST` or test with
//! `contains`, or into a map they can index:
//! `CAST(json_extract(requestparameters, '$.policyArns') AS ARRAY(VARCHAR))`,
//! `element_at(CAST(json_parse(requestparameters) AS MAP(VARCHAR, JSON)), 'bucketName')`.
//!
//! JSON values are text here, so a cast of text reads the text as JSON, as Trino casts its
//! JSON type (Trino has no cast of a plain `varchar` to an array or a map, so nothing is lost
//! by reading every text as JSON). [`crate::trino`] rewrites the casts into calls of
//! [`CAST_ARRAY`]`(x, 'T', lenient)` and [`CAST_MAP`]`(x, 'K', 'V', lenient)`, which:
//!
//! - take a JSON array (a JSON object for a map) and give each element (value):
//!   - for `JSON`, as JSON text (`"a"`, `1`, `{"k":2}`);
//!   - for `VARCHAR`, a string as its value, a number or boolean as its text;
//!   - for `BIGINT`, `INTEGER`, `SMALLINT`, `TINYINT`, `DOUBLE`, `REAL` or `BOOLEAN`, as that
//!     type (from a number, a boolean or a string that spells one);
//! - give a JSON `null` element as NULL, and NULL for NULL or JSON `null` text;
//! - fail, naming the value, on text that is not a JSON array (object), an object or array
//!   element for a scalar type, or an element that does not convert (a fraction for an
//!   integer type, where Trino would round). `TRY_CAST` gives NULL for the row instead.
//!
//! An array argument (`CAST(split(s, ',') AS ARRAY(BIGINT))`) has its elements cast. A map's
//! keys are in the JSON object's key order, sorted; a key given twice keeps its last value.

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

/// Name of the function that stands for `CAST(x AS MAP(K, V))`.
pub(crate) const CAST_MAP: &str = "__trailsift_cast_map";

/// Registers [`CAST_ARRAY`] and [`CAST_MAP`] in `ctx`.
pub(crate) fn register(ctx: &SessionContext) {
    for (map, args) in [(false, 3), (true, 4)] {
        ctx.register_udf(ScalarUDF::new_from_impl(CastJson {
            map,
            signature: Signature::any(args, Volatility::Immutable),
        }));
    }
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

/// A cast of JSON text (or of an array) to `ARRAY(T)`, or (`map`) of JSON text to `MAP(K, V)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CastJson {
    map: bool,
    signature: Signature,
}

/// The types named by the constant arguments after the value (`T`, or `K` and `V`), and
/// whether the cast is lenient (the last argument).
fn constants<'a>(map: bool, values: impl Iterator<Item = Option<&'a ScalarValue>>) -> Result<(Vec<String>, bool)> {
    let v: Vec<Option<&ScalarValue>> = values.collect();
    let names = (1..if map { 3 } else { 2 })
        .map(|i| match v.get(i).copied().flatten() {
            Some(ScalarValue::Utf8(Some(s))) => Ok(s.clone()),
            _ => plan_err!("the type names of a cast to an array or a map must be constant strings"),
        })
        .collect::<Result<Vec<_>>>()?;
    let lenient = matches!(v.last().copied().flatten(), Some(ScalarValue::Boolean(Some(true))));
    Ok((names, lenient))
}

/// The Trino spelling of the target type, for messages.
fn spelled(names: &[String]) -> String {
    match names {
        [t] => format!("ARRAY({t})"),
        _ => format!("MAP({})", names.join(", ")),
    }
}

/// `MAP(K, V)` as Arrow writes it (entries `key`, `value`, as DataFusion's `map()` names them).
fn map_type(key: DataType, value: DataType) -> DataType {
    let entries = arrow::datatypes::Fields::from(vec![Field::new("key", key, false), Field::new("value", value, true)]);
    DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false)
}

/// The Arrow type of the target and, for each of `T` (or `K`, `V`), its element type and
/// whether it is JSON text.
fn target(names: &[String]) -> Result<(DataType, Vec<(DataType, bool)>)> {
    let types = names.iter().map(|n| element_type(n)).collect::<Option<Vec<_>>>().filter(|t| t.len() == 1 || !t[0].1);
    let Some(types) = types else {
        return plan_err!(
            "CAST to {} is not supported: the element type must be VARCHAR, JSON, BIGINT, INTEGER, SMALLINT, TINYINT, DOUBLE, REAL or BOOLEAN (a map's key not JSON)",
            spelled(names)
        );
    };
    let t = match types.as_slice() {
        [(t, _)] => DataType::List(Arc::new(Field::new_list_field(t.clone(), true))),
        [(k, _), (v, _)] => map_type(k.clone(), v.clone()),
        _ => return plan_err!("a map has a key type and a value type"),
    };
    Ok((t, types))
}

impl ScalarUDFImpl for CastJson {
    fn name(&self) -> &str {
        if self.map { CAST_MAP } else { CAST_ARRAY }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("{} is typed from its arguments", self.name())
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let (names, _) = constants(self.map, args.scalar_arguments.iter().copied())?;
        Ok(Arc::new(Field::new(self.name(), target(&names)?.0, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (names, lenient) = constants(
            self.map,
            args.args.iter().map(|a| match a {
                ColumnarValue::Scalar(s) => Some(s),
                ColumnarValue::Array(_) => None,
            }),
        )?;
        let spelled = spelled(&names);
        let (target, types) = target(&names)?;
        let (n, scalar) = shape(&args);
        let input = args.args[0].to_array(n)?;
        let options = CastOptions { safe: lenient, format_options: FormatOptions::default() };
        let out: ArrayRef = match input.data_type() {
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) if !self.map => {
                cast_with_options(&input, &target, &options)?
            }
            DataType::Null => arrow::array::new_null_array(&target, input.len()),
            t if t.is_nested() => return exec_err!("cannot cast {t} to {spelled}"),
            _ => {
                let text = cast_with_options(&input, &DataType::Utf8, &options)?;
                let texts = text.as_string::<i32>();
                let read: ArrayRef = match types.as_slice() {
                    [(_, json)] => Arc::new(from_json(texts, *json, lenient, &spelled)?),
                    _ => Arc::new(map_from_json(texts, types[1].1, lenient, &spelled)?),
                };
                if types.iter().all(|(t, _)| *t == DataType::Utf8) {
                    read
                } else {
                    cast_lenient_by_row(&read, &target, lenient, &spelled)?
                }
            }
        };
        finish(out, scalar)
    }
}

/// Each JSON object of `texts` as a map of key to value text (see the module documentation).
fn map_from_json(
    texts: &arrow::array::StringArray,
    json: bool,
    lenient: bool,
    spelled: &str,
) -> Result<arrow::array::MapArray> {
    let names =
        arrow::array::builder::MapFieldNames { entry: "entries".into(), key: "key".into(), value: "value".into() };
    let mut out = arrow::array::builder::MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
    read_rows(
        texts,
        lenient,
        spelled,
        |t| entries(t, json),
        |row| {
            for (k, v) in row.iter().flatten() {
                out.keys().append_value(k);
                out.values().append_option(v.as_deref());
            }
            Ok(out.append(row.is_some())?)
        },
    )?;
    Ok(out.finish())
}

/// Reads each text of `texts` with `read` and hands the row to `add`: `None` for a NULL text,
/// JSON `null`, or (`lenient`) a text `read` refuses; otherwise a refusal is the error.
fn read_rows<T>(
    texts: &arrow::array::StringArray,
    lenient: bool,
    spelled: &str,
    read: impl Fn(&str) -> std::result::Result<Option<T>, String>,
    mut add: impl FnMut(Option<T>) -> Result<()>,
) -> Result<()> {
    for text in texts.iter() {
        let row = match text.map(|t| (t, read(t))) {
            None => None,
            Some((_, Ok(row))) => row,
            Some((_, Err(_))) if lenient => None,
            Some((t, Err(why))) => return exec_err!("cannot cast '{}' to {spelled}: {why}", clip(t)),
        };
        add(row)?;
    }
    Ok(())
}

/// A map's keys and value texts (`None` for NULL), in order.
type Entries = Vec<(String, Option<String>)>;

/// The keys and value texts of the JSON object `text`, `None` for JSON `null`.
fn entries(text: &str, json: bool) -> std::result::Result<Option<Entries>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let fields = match value {
        Value::Null => return Ok(None),
        Value::Object(fields) => fields,
        other => return Err(format!("a JSON {} is not an object", kind(&other))),
    };
    fields
        .into_iter()
        .map(|(k, v)| Ok((k, element_text(v, json)?)))
        .collect::<std::result::Result<_, String>>()
        .map(Some)
}

/// Each JSON array of `texts` as a list of element texts (see the module documentation).
fn from_json(
    texts: &arrow::array::StringArray,
    json: bool,
    lenient: bool,
    spelled: &str,
) -> Result<arrow::array::ListArray> {
    let mut out = ListBuilder::new(StringBuilder::new());
    read_rows(
        texts,
        lenient,
        spelled,
        |t| elements(t, json),
        |row| {
            for item in row.iter().flatten() {
                out.values().append_option(item.as_deref());
            }
            out.append(row.is_some());
            Ok(())
        },
    )?;
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
    items.into_iter().map(|item| element_text(item, json)).collect::<std::result::Result<Vec<_>, _>>().map(Some)
}

/// An element's text: as JSON text (`json`), or a string's value, a number's or boolean's
/// text; `None` for JSON `null`.
fn element_text(item: Value, json: bool) -> std::result::Result<Option<String>, String> {
    match item {
        Value::Null => Ok(None),
        Value::String(s) if !json => Ok(Some(s)),
        Value::Bool(_) | Value::Number(_) if !json => Ok(Some(item.to_string())),
        Value::Array(_) | Value::Object(_) if !json => Err(format!(
            "an element is a JSON {}; cast to ARRAY(JSON) or MAP(VARCHAR, JSON) to keep such values as JSON text",
            kind(&item)
        )),
        other => Ok(Some(other.to_string())),
    }
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

/// `lists` (arrays or maps of element texts) cast to `target`. A lenient cast makes NULL the whole row
/// whose elements do not all convert (not only the element, as Arrow's safe cast would).
fn cast_lenient_by_row(lists: &ArrayRef, target: &DataType, lenient: bool, spelled: &str) -> Result<ArrayRef> {
    let strict = CastOptions { safe: false, format_options: FormatOptions::default() };
    match cast_with_options(lists, target, &strict) {
        Ok(done) => Ok(done),
        Err(e) if !lenient => exec_err!("cannot cast to {spelled}: {e}"),
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
        let maps = [
            (r#"element_at(CAST('{"b": {"x": 1}, "a": null}' AS MAP(VARCHAR, JSON)), 'b')"#, r#"{"x":1}"#),
            (r#"element_at(CAST('{"b": 2, "a": 1}' AS MAP(VARCHAR, BIGINT)), 'a') + 1"#, "2"),
            (r#"array_to_string(map_keys(CAST('{"b": 2, "a": 1}' AS MAP(VARCHAR, VARCHAR))), '|')"#, "a|b"),
            (r#"cardinality(CAST('{}' AS MAP(VARCHAR, VARCHAR)))"#, "0"),
            (r#"element_at(CAST('{"a": null}' AS MAP(VARCHAR, VARCHAR)), 'a') IS NULL"#, "true"),
            (r#"TRY_CAST('[1]' AS MAP(VARCHAR, VARCHAR)) IS NULL"#, "true"),
            (r#"try(CAST('{"a": "x"}' AS MAP(VARCHAR, BIGINT))) IS NULL"#, "true"),
        ];
        for (expr, want) in maps {
            assert_eq!(value(&ctx, &format!("SELECT {expr}")).await.as_deref(), Ok(want), "{expr}");
        }
        let err = value(&ctx, "SELECT CAST('[1]' AS MAP(VARCHAR, VARCHAR))").await.unwrap_err();
        assert!(err.contains("cannot cast '[1]' to MAP(VARCHAR, VARCHAR): a JSON array is not an object"), "{err}");
        let err = value(&ctx, "SELECT CAST('{}' AS MAP(JSON, VARCHAR))").await.unwrap_err();
        assert!(err.contains("CAST to MAP(JSON, VARCHAR) is not supported"), "{err}");
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
