//! The machine view: the plan's own serde JSON, pretty and newline-terminated. This is the
//! only place that writes plan JSON, so `plan -o json`, `plan --out` and the documented
//! format cannot drift apart.
//!
//! Also the one way accessctl turns its own data into JSON ([`to_value`], [`to_pretty`]): a
//! value that cannot be serialized is an error naming what was being written, never `null`,
//! `{}` or an empty output.

use serde::Serialize;
use serde_json::Value;

use crate::plan::Plan;

/// Serializing accessctl's own data failed (a map whose keys are not strings, a `Serialize`
/// that refuses): a bug, reported as such instead of writing something else.
#[derive(Debug, thiserror::Error)]
#[error("internal error: cannot write {what} as JSON: {source}")]
pub struct JsonError {
    /// What was being written: `the plan`, `the saved plan`, `live state`, ...
    pub what: &'static str,
    #[source]
    pub source: serde_json::Error,
}

/// `value` as a JSON value.
pub fn to_value<T: Serialize + ?Sized>(what: &'static str, value: &T) -> Result<Value, JsonError> {
    serde_json::to_value(value).map_err(|source| JsonError { what, source })
}

/// `value` as pretty JSON with a trailing newline.
pub fn to_pretty<T: Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<String, JsonError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|source| JsonError { what, source })?;
    text.push('\n');
    Ok(text)
}

pub fn render(plan: &Plan) -> Result<String, JsonError> {
    to_pretty("the plan", plan)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A map keyed by tuples: serde_json cannot write it.
    fn unwritable() -> BTreeMap<(u8, u8), u8> {
        BTreeMap::from([((1, 2), 3)])
    }

    #[test]
    fn a_value_that_cannot_be_written_is_an_error_naming_what() {
        let error = to_pretty("the plan", &unwritable()).expect_err("refused");
        assert_eq!(error.what, "the plan");
        assert!(
            error
                .to_string()
                .starts_with("internal error: cannot write the plan as JSON: "),
            "{error}"
        );
        let error = to_value("live state", &unwritable()).expect_err("refused");
        assert!(error.to_string().contains("live state"), "{error}");
    }

    #[test]
    fn pretty_json_ends_with_a_newline() {
        assert_eq!(
            to_pretty("a map", &BTreeMap::from([("a", 1)])).expect("written"),
            "{\n  \"a\": 1\n}\n"
        );
    }
}
