//! IAM policy documents, normalized so that two documents compare equal exactly when IAM
//! treats them as the same policy.
//!
//! CONTRACT (filled in by the policy work): `from_value` validates and normalizes,
//! `parse_str` accepts raw JSON or IAM's URL-encoded form, `to_value` renders the canonical
//! IAM JSON, and `PartialEq` is semantic equality.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A validation problem in a policy document, with the JSON path where it was found
/// (e.g. `["Statement", "0", "Effect"]`) so the spec loader can point at the YAML node.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    pub path: Vec<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// What a document is for: it decides which elements are required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// Identity-based (managed or inline) policy: statements need `Resource`/`NotResource` and
    /// must not have `Principal`.
    Identity,
    /// Role trust policy: statements need `Principal`/`NotPrincipal` and must not have
    /// `Resource`.
    Trust,
    /// Whatever IAM returned (live state, snapshots): only the shape is checked.
    Any,
}

/// A normalized IAM policy document.
#[derive(Clone, Debug)]
pub struct PolicyDocument {
    value: Value,
}

impl PolicyDocument {
    /// Validates and normalizes a document given as JSON. Reports every problem found.
    pub fn from_value(value: &Value, kind: DocumentKind) -> Result<Self, Vec<PolicyError>> {
        let _ = kind;
        Ok(Self {
            value: value.clone(),
        })
    }

    /// Parses a document as IAM returns it: raw JSON, or percent-encoded JSON.
    pub fn parse_str(text: &str, kind: DocumentKind) -> Result<Self, Vec<PolicyError>> {
        let value: Value = serde_json::from_str(text).map_err(|error| {
            vec![PolicyError {
                path: Vec::new(),
                message: error.to_string(),
                hint: None,
            }]
        })?;
        Self::from_value(&value, kind)
    }

    /// The canonical IAM JSON form (what apply sends and what plans show).
    pub fn to_value(&self) -> Value {
        self.value.clone()
    }

    /// Pretty JSON with stable key order, for diffs.
    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(&self.to_value()).unwrap_or_default()
    }
}

impl PartialEq for PolicyDocument {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Serialize for PolicyDocument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PolicyDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let text;
        let value = match &value {
            // Snapshots may carry IAM's URL-encoded string form.
            Value::String(encoded) => {
                text = encoded.clone();
                return Self::parse_str(&text, DocumentKind::Any).map_err(|errors| {
                    serde::de::Error::custom(
                        errors
                            .first()
                            .map(|e| e.message.clone())
                            .unwrap_or_default(),
                    )
                });
            }
            other => other,
        };
        Self::from_value(value, DocumentKind::Any).map_err(|errors| {
            let messages: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.path.join("."), e.message))
                .collect();
            serde::de::Error::custom(messages.join("; "))
        })
    }
}
