//! The canonical IAM JSON form of a normalized document: what apply sends and plans show.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{PolicyDocument, Principals, Spelled, Statement};

impl Statement {
    pub(super) fn to_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(sid) = &self.sid {
            map.insert("Sid".into(), Value::String(sid.clone()));
        }
        map.insert("Effect".into(), Value::String(self.effect.as_str().into()));
        if let Some(principals) = &self.principal {
            map.insert("Principal".into(), render_principals(principals));
        }
        if let Some(principals) = &self.not_principal {
            map.insert("NotPrincipal".into(), render_principals(principals));
        }
        if let Some(actions) = &self.action {
            map.insert("Action".into(), render_spelled(actions));
        }
        if let Some(actions) = &self.not_action {
            map.insert("NotAction".into(), render_spelled(actions));
        }
        if let Some(resources) = &self.resource {
            map.insert("Resource".into(), render_strings(resources.iter()));
        }
        if let Some(resources) = &self.not_resource {
            map.insert("NotResource".into(), render_strings(resources.iter()));
        }
        if let Some(conditions) = &self.condition {
            let operators = conditions
                .iter()
                .map(|(operator, keys)| {
                    let keys = keys
                        .iter()
                        .map(|(key, values)| (key.text.clone(), render_strings(values.iter())))
                        .collect::<Map<_, _>>();
                    (operator.clone(), Value::Object(keys))
                })
                .collect::<Map<_, _>>();
            map.insert("Condition".into(), Value::Object(operators));
        }
        Value::Object(map)
    }
}

/// One value as a string, several as a list (the set is already sorted).
fn render_strings<'a>(values: impl ExactSizeIterator<Item = &'a String>) -> Value {
    let mut values: Vec<Value> = values.map(|v| Value::String(v.clone())).collect();
    if values.len() == 1 {
        values.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(values)
    }
}

fn render_spelled(values: &BTreeSet<Spelled>) -> Value {
    let texts: Vec<String> = values.iter().map(|v| v.text.clone()).collect();
    render_strings(texts.iter())
}

fn render_principals(principals: &Principals) -> Value {
    let everyone = principals.len() == 1
        && principals
            .get("AWS")
            .is_some_and(|set| set.len() == 1 && set.iter().all(|p| p.key == "*"));
    if everyone {
        return Value::String("*".into());
    }
    Value::Object(
        principals
            .iter()
            .map(|(kind, values)| (kind.clone(), render_spelled(values)))
            .collect(),
    )
}

impl PolicyDocument {
    /// The canonical IAM JSON form (what apply sends and what plans show): `Version`, `Id`,
    /// then `Statement` as a list; statement keys in IAM's usual order; one value as a string,
    /// several as a sorted list.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("Version".into(), Value::String(self.version.clone()));
        if let Some(id) = &self.id {
            map.insert("Id".into(), Value::String(id.clone()));
        }
        map.insert(
            "Statement".into(),
            Value::Array(self.statements.iter().map(Statement::to_value).collect()),
        );
        Value::Object(map)
    }

    /// Pretty JSON with stable key order, for diffs.
    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(&self.to_value()).unwrap_or_default()
    }
}
