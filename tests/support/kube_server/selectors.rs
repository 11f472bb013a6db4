//! `labelSelector` and `fieldSelector` query parameters: parsing (the grammar of
//! `k8s.io/apimachinery/pkg/labels` and `fields`) and matching against an object.

use std::collections::BTreeMap;

use serde_json::Value;

use super::status::{ApiError, bad_request};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Exists(String),
    DoesNotExist(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    GreaterThan(String, i64),
    LessThan(String, i64),
}

/// A parsed label selector: all requirements must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

/// Splits on commas that are not inside a `( … )` value set.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0_i32;
    let mut start = 0;
    for (index, character) in text.char_indices() {
        match character {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_set(key: &str, rest: &str, selector: &str) -> Result<Vec<String>, ApiError> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(|| bad_request(format!("unable to parse requirement: found '{rest}', expected: '(' in selector {selector:?} for key {key:?}")))?;
    Ok(inner
        .split(',')
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .collect())
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_./".contains(character))
}

impl LabelSelector {
    pub fn parse(selector: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        if selector.trim().is_empty() {
            return Ok(Self { requirements });
        }
        for part in split_top_level(selector) {
            let part = part.trim();
            let invalid = || {
                bad_request(format!(
                    "unable to parse requirement: invalid label selector: {part:?}"
                ))
            };
            let requirement = if let Some(key) = part.strip_prefix('!') {
                Requirement::DoesNotExist(key.trim().to_owned())
            } else if let Some((key, value)) = part.split_once("!=") {
                Requirement::NotEquals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) = part.split_once("==") {
                Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) = part.split_once('=') {
                Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) = part.split_once('>') {
                Requirement::GreaterThan(
                    key.trim().to_owned(),
                    value.trim().parse().map_err(|_| invalid())?,
                )
            } else if let Some((key, value)) = part.split_once('<') {
                Requirement::LessThan(
                    key.trim().to_owned(),
                    value.trim().parse().map_err(|_| invalid())?,
                )
            } else if let Some((key, rest)) = part.split_once(" notin ") {
                Requirement::NotIn(key.trim().to_owned(), parse_set(key, rest, selector)?)
            } else if let Some((key, rest)) = part.split_once(" in ") {
                Requirement::In(key.trim().to_owned(), parse_set(key, rest, selector)?)
            } else {
                Requirement::Exists(part.to_owned())
            };
            let key = match &requirement {
                Requirement::Exists(key)
                | Requirement::DoesNotExist(key)
                | Requirement::Equals(key, _)
                | Requirement::NotEquals(key, _)
                | Requirement::In(key, _)
                | Requirement::NotIn(key, _)
                | Requirement::GreaterThan(key, _)
                | Requirement::LessThan(key, _) => key,
            };
            if !valid_key(key) {
                return Err(invalid());
            }
            requirements.push(requirement);
        }
        Ok(Self { requirements })
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements
            .iter()
            .all(|requirement| match requirement {
                Requirement::Exists(key) => labels.contains_key(key),
                Requirement::DoesNotExist(key) => !labels.contains_key(key),
                Requirement::Equals(key, value) => labels.get(key) == Some(value),
                // `!=` and `notin` also select objects without the label, as the real selector does.
                Requirement::NotEquals(key, value) => labels.get(key) != Some(value),
                Requirement::In(key, values) => {
                    labels.get(key).is_some_and(|label| values.contains(label))
                }
                Requirement::NotIn(key, values) => {
                    labels.get(key).is_none_or(|label| !values.contains(label))
                }
                Requirement::GreaterThan(key, bound) => labels
                    .get(key)
                    .and_then(|label| label.parse::<i64>().ok())
                    .is_some_and(|number| number > *bound),
                Requirement::LessThan(key, bound) => labels
                    .get(key)
                    .and_then(|label| label.parse::<i64>().ok())
                    .is_some_and(|number| number < *bound),
            })
    }
}

/// A parsed field selector over `metadata.name` and `metadata.namespace`, the fields every
/// resource supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

impl FieldSelector {
    pub fn parse(selector: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        if selector.trim().is_empty() {
            return Ok(Self { terms });
        }
        for part in selector.split(',') {
            let (field, equal, value) = if let Some((field, value)) = part.split_once("!=") {
                (field, false, value)
            } else if let Some((field, value)) = part.split_once("==") {
                (field, true, value)
            } else if let Some((field, value)) = part.split_once('=') {
                (field, true, value)
            } else {
                return Err(bad_request(format!(
                    "invalid selector: '{selector}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if field != "metadata.name" && field != "metadata.namespace" {
                return Err(bad_request(format!("field label not supported: {field}")));
            }
            terms.push((field.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self { terms })
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|(field, equal, value)| {
            let pointer = if field == "metadata.name" {
                "/metadata/name"
            } else {
                "/metadata/namespace"
            };
            let actual = object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default();
            (actual == value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn label_selector_operators() {
        let object = labels(&[("app", "web"), ("tier", "front")]);
        let matches =
            |selector: &str| LabelSelector::parse(selector).map(|parsed| parsed.matches(&object));
        assert_eq!(matches("app=web").ok(), Some(true));
        assert_eq!(matches("app==web,tier=front").ok(), Some(true));
        assert_eq!(matches("app!=web").ok(), Some(false));
        assert_eq!(matches("missing!=x").ok(), Some(true));
        assert_eq!(matches("app in (api, web)").ok(), Some(true));
        assert_eq!(matches("app notin (api,web)").ok(), Some(false));
        assert_eq!(matches("missing notin (a)").ok(), Some(true));
        assert_eq!(matches("tier,!missing").ok(), Some(true));
        assert_eq!(matches("!app").ok(), Some(false));
        assert_eq!(matches("").ok(), Some(true));
        assert!(matches("app in web").is_err());
    }

    #[test]
    fn field_selector_on_name() {
        let object = serde_json::json!({"metadata": {"name": "a", "namespace": "n"}});
        assert!(
            FieldSelector::parse("metadata.name=a").is_ok_and(|selector| selector.matches(&object))
        );
        assert!(
            FieldSelector::parse("metadata.name!=a")
                .is_ok_and(|selector| !selector.matches(&object))
        );
        assert!(FieldSelector::parse("spec.x=a").is_err());
    }
}
