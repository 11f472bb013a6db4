//! The meaning of access.yaml: name rules, value ranges and references between objects, all
//! checked at once with every mistake reported at its place. Nothing is built here.

mod acknowledged;
mod bindings;
mod cluster;
mod iam;
pub mod limits;
pub mod names;
mod rules;

use std::collections::BTreeMap;

use super::raw::{AssumeRoleSpec, MetaSpec, Spec, Text};
use super::reader::Reader;
use super::resolve::{Directory, Unresolved};

const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

pub fn validate(
    reader: &mut Reader<'_>,
    spec: &Spec<'_>,
    directory: &Directory,
    limits: &limits::Limits,
) {
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
        rule(reader, account, "account", names::account_id);
    }
    if let Some(partition) = &spec.partition
        && !PARTITIONS.contains(&partition.as_str())
    {
        reader.unknown_word(partition, "partition", &PARTITIONS);
    }
    if let Some(assume) = &spec.assume_role {
        assume_role(reader, spec, assume);
    }
    iam::validate(reader, spec, directory, limits);
    acknowledged::validate(reader, spec);
    for cluster in &spec.clusters {
        cluster::validate(reader, cluster, directory);
    }
}

/// `assumeRole`: a role of the file's account (and partition), and what STS accepts as a
/// session name and an external id.
fn assume_role(reader: &mut Reader<'_>, spec: &Spec<'_>, assume: &AssumeRoleSpec) {
    if let Some(arn) = &assume.arn {
        match crate::model::IamArn::parse(&arn.value) {
            Some(parsed @ crate::model::IamArn::Role { .. }) => {
                let partition = spec.partition.as_ref().map_or("aws", |p| p.as_str());
                if let Some(account) = &spec.account
                    && parsed.account() != account.value
                {
                    reader.error_hint(
                        arn.at,
                        format!(
                            "the role to assume is in account {}, not in this file's account {}",
                            parsed.account(),
                            account.value
                        ),
                        "accessctl reaches each account through a role of that account: one file (or directory) per account, each with its own `assumeRole`",
                    );
                } else if parsed.partition() != partition {
                    reader.error_hint(
                        arn.at,
                        format!(
                            "the role to assume is in partition `{}`, not in this file's `{partition}`",
                            parsed.partition()
                        ),
                        "set `partition` to the role's, or name a role of this partition",
                    );
                }
            }
            _ => reader.error_hint(
                arn.at,
                format!("invalid role ARN `{}`", arn.value),
                "a role ARN looks like `arn:aws:iam::123456789012:role/accessctl`",
            ),
        }
    }
    if let Some(name) = &assume.session_name {
        rule(reader, name, "session name", names::session_name);
    }
    // The value is not repeated: an external id is shared with the account's owner only.
    if let Some(id) = &assume.external_id
        && let Err(reason) = names::external_id(&id.value)
    {
        reader.error(id.at, format!("invalid `externalId`: {reason}"));
    }
}

/// Reports `invalid WHAT `value`: reason` when `check` refuses the text.
fn rule(reader: &mut Reader<'_>, text: &Text, what: &str, check: fn(&str) -> Result<(), String>) {
    if let Err(reason) = check(&text.value) {
        reader.error(
            text.at,
            format!("invalid {what} `{}`: {reason}", text.value),
        );
    }
}

/// Like `rule`, for a part of a key (the name of a `namespace/name` key), reported at the key.
fn part_rule(
    reader: &mut Reader<'_>,
    key: &Text,
    part: &str,
    what: &str,
    check: fn(&str) -> Result<(), String>,
) {
    if let Err(reason) = check(part) {
        reader.error(key.at, format!("invalid {what} `{part}`: {reason}"));
    }
}

/// The namespace and name of a service account a reference names (a binding's subject, a
/// trusted `cluster/namespace/name`), reported at the reference.
fn service_account_parts(reader: &mut Reader<'_>, reference: &Text, namespace: &str, name: &str) {
    part_rule(reader, reference, namespace, "namespace", names::dns_label);
    part_rule(
        reader,
        reference,
        name,
        "service account name",
        names::dns_subdomain,
    );
}

/// Reports an unresolved reference at `text`.
/// Warns at an `ACCOUNT/NAME` reference to a user or role (`kind`) of an account this run
/// does not load: it resolves under `/`, unchecked.
fn unloaded_peer(reader: &mut Reader<'_>, directory: &Directory, text: &Text, kind: &str) {
    let Some(account) = directory.peers.unloaded(&directory.account, &text.value) else {
        return;
    };
    let resolved = if kind == "user" {
        directory.user_arn(&text.value)
    } else {
        directory.role_arn(&text.value)
    };
    let Ok(arn) = resolved else { return };
    reader.warn_hint(
        text.at,
        format!(
            "account {account} is not loaded in this run: `{}` is taken as `{arn}`, unchecked",
            text.value
        ),
        format!(
            "give account {account}'s file with another `-f` to check that the {kind} exists and take its path, or write its ARN"
        ),
    );
}

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
fn metadata(reader: &mut Reader<'_>, meta: &MetaSpec) {
    for (key, value) in &meta.labels {
        rule(reader, key, "label key", names::metadata_key);
        rule(reader, value, "label value", names::label_value);
        if key.value == crate::model::MANAGED_BY_LABEL {
            reader.error_hint(
                key.at,
                format!("the label `{}` is reserved", key.value),
                "accessctl sets it to mark the objects it manages; remove it",
            );
        }
    }
    for (key, _) in &meta.annotations {
        rule(reader, key, "annotation key", names::metadata_key);
    }
}
