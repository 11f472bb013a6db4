//! The meaning of access.yaml: name rules, value ranges and references between objects, all
//! checked at once with every mistake reported at its place. Nothing is built here.

mod bindings;
mod cluster;
mod iam;
pub mod names;
mod rules;

use std::collections::BTreeMap;

use super::raw::{Pair, Spec, Text};
use super::reader::Reader;
use super::resolve::{Directory, Unresolved};
use super::suggest;

const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

pub fn validate(reader: &mut Reader<'_>, spec: &Spec<'_>, directory: &Directory) {
    if let Some(version) = &spec.version
        && version.value != 1
    {
        reader.error_hint(
            version.at,
            format!("unsupported version `{}`", version.value),
            "this accessctl reads `version: 1`",
        );
    }
    if let Some(account) = &spec.account {
        rule(
            reader,
            account,
            "account",
            names::account_id(&account.value),
        );
    }
    if let Some(partition) = &spec.partition
        && !PARTITIONS.contains(&partition.as_str())
    {
        let hint = match suggest::closest(&partition.value, PARTITIONS) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("expected {}", suggest::list(PARTITIONS)),
        };
        reader.error_hint(
            partition.at,
            format!("unknown partition `{}`", partition.value),
            hint,
        );
    }
    iam::validate(reader, spec, directory);
    for cluster in &spec.clusters {
        cluster::validate(reader, cluster, directory);
    }
}

/// Reports `invalid WHAT `value`: reason` when `result` is an error.
fn rule(reader: &mut Reader<'_>, text: &Text, what: &str, result: Result<(), String>) {
    if let Err(reason) = result {
        reader.error(
            text.at,
            format!("invalid {what} `{}`: {reason}", text.value),
        );
    }
}

/// Reports an unresolved reference at `text`.
fn unresolved(reader: &mut Reader<'_>, text: &Text, problem: Unresolved) {
    match problem.hint {
        Some(hint) => reader.error_hint(text.at, problem.message, hint),
        None => reader.error(text.at, problem.message),
    }
}

/// Reports the second and later occurrences of the same key (after `normalize`).
fn duplicates<'t>(
    reader: &mut Reader<'_>,
    items: impl IntoIterator<Item = (&'t Text, String)>,
    message: impl Fn(&Text, &Text) -> (String, String),
) {
    let mut seen: BTreeMap<String, &Text> = BTreeMap::new();
    for (text, key) in items {
        match seen.get(&key) {
            Some(first) => {
                let (message, hint) = message(first, text);
                reader.error_hint(text.at, message, hint);
            }
            None => {
                seen.insert(key, text);
            }
        }
    }
}

/// Labels and annotations: Kubernetes key rules, label value rules, and the ownership label.
fn metadata(reader: &mut Reader<'_>, labels: &[Pair], annotations: &[Pair]) {
    for (key, value) in labels {
        rule(reader, key, "label key", names::metadata_key(&key.value));
        rule(
            reader,
            value,
            "label value",
            names::label_value(&value.value),
        );
        if key.value == crate::model::MANAGED_BY_LABEL {
            reader.error_hint(
                key.at,
                format!("the label `{}` is reserved", key.value),
                "accessctl sets it to mark the objects it manages; remove it",
            );
        }
    }
    for (key, _) in annotations {
        rule(
            reader,
            key,
            "annotation key",
            names::metadata_key(&key.value),
        );
    }
}
