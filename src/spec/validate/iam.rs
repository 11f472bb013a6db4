//! Checks of `iam`: names, paths, tags, ranges, and references to policies, groups, users,
//! roles and clusters.

use crate::model::MANAGED_BY_TAG;

use super::super::managed;
use super::super::raw::{HolderKind, HolderSpec, Pair, Spec, Text, TrustSpec};
use super::super::reader::Reader;
use super::super::resolve::{Directory, unknown};
use super::limits::{self, Limits};
use super::names::{self, IamName};
use super::{duplicates, rule, unloaded_peer, unresolved};

const MAX_DESCRIPTION: usize = 1000;

pub fn validate(reader: &mut Reader<'_>, spec: &Spec<'_>, directory: &Directory, limits: &Limits) {
    let iam = &spec.iam;
    for (path, what, key, objects) in [
        (&iam.group_path, "group path", "groupPath", "IAM group"),
        (
            &iam.policy_path,
            "policy path",
            "policyPath",
            "customer policy",
        ),
    ] {
        let Some(path) = path else { continue };
        rule(reader, path, what, names::iam_path);
        // Everything under the path is owned, and owned objects missing from the file are
        // deleted: `/` would hand accessctl every group (or policy) of the account.
        if path.value == "/" {
            reader.error_hint(
                path.at,
                format!("`{key}` cannot be `/`: accessctl would own, and prune, every {objects} of the account"),
                "use a path of accessctl's own, e.g. `/accessctl/` (the default)".to_string(),
            );
        }
    }
    for policy in &iam.policies {
        name(reader, &policy.name, "policy name", IamName::Policy);
        path(reader, policy.path.as_ref());
        under_policy_path(reader, iam.policy_path(), policy.path.as_ref());
        description(reader, policy.description.as_ref());
        let what = format!("policy `{}`", policy.name.value);
        tags(reader, limits, &what, &policy.tags);
    }
    for group in &iam.groups {
        holder(reader, directory, limits, group);
    }
    for user in &iam.users {
        holder(reader, directory, limits, user);
        path(reader, user.path.as_ref());
        for group in &user.groups {
            if let Err(problem) = directory.group(&group.value) {
                unresolved(reader, group, problem);
            }
        }
        let what = format!("user `{}`", user.name.value);
        let groups = user.groups.iter().map(|group| (group, group.value.clone()));
        over_quota(reader, limits, &limits::GROUPS_PER_USER, &what, groups);
    }
    for role in &iam.roles {
        holder(reader, directory, limits, role);
        path(reader, role.path.as_ref());
        description(reader, role.description.as_ref());
        if let Some(duration) = &role.max_session_duration
            && !(3600..=43200).contains(&duration.value)
        {
            reader.error_hint(
                duration.at,
                format!("invalid maxSessionDuration `{}`", duration.value),
                "IAM accepts 3600 to 43200 seconds (1 to 12 hours)",
            );
        }
        if let Some(trust) = &role.trust {
            validate_trust(reader, directory, trust);
            super::super::federation::validate(reader, &role.name.value, trust);
        }
    }
    case_insensitive(reader, "policy", iam.policies.iter().map(|p| &p.name));
    case_insensitive_holders(reader, &iam.groups);
    case_insensitive_holders(reader, &iam.users);
    case_insensitive_holders(reader, &iam.roles);
}

/// What a group, user and role are checked for alike: the name, the policies attached (each
/// reference resolves; an AWS-managed one is known), the inline policies' names, the
/// permissions boundary and the tags.
fn holder<K: HolderKind>(
    reader: &mut Reader<'_>,
    directory: &Directory,
    limits: &Limits,
    holder: &HolderSpec<'_, K>,
) {
    let what = format!("{} name", K::KIND);
    name(reader, &holder.name, &what, K::NAME);
    let boundary = holder.permissions_boundary.iter();
    for reference in holder.policies.iter().chain(boundary) {
        policy(reader, directory, reference);
    }
    for (key, _) in &holder.inline {
        name(reader, key, "inline policy name", IamName::InlinePolicy);
    }
    let what = format!("{} `{}`", K::KIND, holder.name.value);
    // Two references to one policy attach it once.
    let attached = holder.policies.iter().filter_map(|reference| {
        let arn = directory.policy_arn(&reference.value).ok()?;
        Some((reference, arn))
    });
    over_quota(reader, limits, K::MANAGED_POLICIES, &what, attached);
    tags(reader, limits, &what, &holder.tags);
}

/// Reports the first item, of distinct `(item, key)`s, that takes `what` over `quota`, with
/// the count of them all.
fn over_quota<'t>(
    reader: &mut Reader<'_>,
    limits: &Limits,
    quota: &limits::Quota,
    what: &str,
    items: impl Iterator<Item = (&'t Text, String)>,
) {
    let mut seen = std::collections::BTreeSet::new();
    let distinct: Vec<&Text> = items
        .filter(|(_, key)| seen.insert(key.clone()))
        .map(|(text, _)| text)
        .collect();
    if let Some(first_over) = distinct.get(limits.of(quota)) {
        limits.count(reader, quota, first_over.at, what, distinct.len());
    }
}

fn case_insensitive_holders<K: HolderKind>(reader: &mut Reader<'_>, holders: &[HolderSpec<'_, K>]) {
    case_insensitive(reader, K::KIND, holders.iter().map(|h| &h.name));
}

/// IAM names are unique regardless of case: `Alice` and `alice` are the same user.
fn case_insensitive<'t>(
    reader: &mut Reader<'_>,
    kind: &str,
    names: impl Iterator<Item = &'t Text>,
) {
    duplicates(
        reader,
        names.map(|name| (name, name.value.to_lowercase())),
        |first, second| {
            (
                format!(
                    "{kind} `{}` and `{}` differ only in case",
                    first.value, second.value
                ),
                "IAM names are unique regardless of case: keep one".to_string(),
            )
        },
    );
}

fn path(reader: &mut Reader<'_>, path: Option<&Text>) {
    if let Some(path) = path {
        rule(reader, path, "path", names::iam_path);
    }
}

/// A policy's path says it is owned: it must be the policy path or below it. An invalid
/// `policyPath` is reported once, not again at every policy.
fn under_policy_path(reader: &mut Reader<'_>, policy_path: &str, path: Option<&Text>) {
    if let Some(path) = path
        && names::iam_path(policy_path).is_ok()
        && names::iam_path(&path.value).is_ok()
        && !path.value.starts_with(policy_path)
    {
        reader.error_hint(
            path.at,
            format!(
                "the policy path `{}` is not under `policyPath` (`{policy_path}`)",
                path.value
            ),
            format!(
                "accessctl owns the policies under `{policy_path}`: write `{policy_path}` or a path below it (e.g. `{policy_path}team/`), or leave `path` out"
            ),
        );
    }
}

fn description(reader: &mut Reader<'_>, description: Option<&Text>) {
    if let Some(text) = description
        && text.value.chars().count() > MAX_DESCRIPTION
    {
        reader.error(
            text.at,
            format!("the description is longer than {MAX_DESCRIPTION} characters"),
        );
    }
}

/// A reference to a policy (attached, or a permissions boundary) resolves.
fn policy(reader: &mut Reader<'_>, directory: &Directory, reference: &Text) {
    match directory.policy_arn(&reference.value) {
        Err(problem) => unresolved(reader, reference, problem),
        Ok(_) => aws_managed(reader, reference),
    }
}

/// An AWS-managed policy reference checked against the table shipped with accessctl: a near
/// miss of a known name is a typo (an error with the name meant); a name far from every known
/// one is a warning, since AWS adds policies (`plan` asks IAM).
fn aws_managed(reader: &mut Reader<'_>, reference: &Text) {
    let Some(name) = managed::managed_name(&reference.value) else {
        return;
    };
    let written = &reference.value;
    match managed::lookup(name) {
        managed::Known::Yes => {}
        managed::Known::Near(meant) => {
            let suggestion = if written.starts_with("aws:") {
                format!("aws:{meant}")
            } else {
                format!("{}{meant}", &written[..written.len() - name.len()])
            };
            reader.error_hint(
                reference.at,
                format!("`{written}` is not an AWS-managed policy"),
                format!("did you mean `{suggestion}`?"),
            );
        }
        managed::Known::No => reader.warn_hint(
            reference.at,
            format!(
                "`{written}` is not among the {} AWS-managed policies accessctl knows",
                managed::count()
            ),
            "check the name (and its path, e.g. `aws:service-role/NAME`); if AWS added it recently, `accessctl plan` checks that it exists",
        ),
    }
}

/// Reports an IAM name IAM would refuse, with a valid name close to it.
fn name(reader: &mut Reader<'_>, text: &Text, what: &str, kind: IamName) {
    if let Err(reason) = names::iam_name(kind, &text.value) {
        reader.error_hint(
            text.at,
            format!("invalid {what} `{}`: {reason}", text.value),
            names::iam_name_hint(kind, &text.value),
        );
    }
}

/// The tags of `what`: their keys and values, and their number with the ownership tag
/// accessctl adds.
fn tags(reader: &mut Reader<'_>, limits: &Limits, what: &str, tags: &[Pair]) {
    let quota = &limits::TAGS_PER_OBJECT;
    // accessctl adds its own tag: the file has room for one less.
    let room = limits.of(quota) - 1;
    if let Some((key, _)) = tags.get(room) {
        let what = format!("{what} (with accessctl's `{MANAGED_BY_TAG}` tag)");
        limits.count(reader, quota, key.at, &what, tags.len() + 1);
    }
    for (key, value) in tags {
        if key.value == MANAGED_BY_TAG {
            reader.error_hint(
                key.at,
                format!("the tag `{MANAGED_BY_TAG}` is reserved"),
                "accessctl sets it to mark the objects it manages; remove it",
            );
            continue;
        }
        rule(reader, key, "tag key", names::tag_key);
        rule(reader, value, "tag value", names::tag_value);
    }
}

fn validate_trust(reader: &mut Reader<'_>, directory: &Directory, trust: &TrustSpec<'_>) {
    for account in &trust.accounts {
        if let Err(reason) = names::account_id(&account.value) {
            reader.error_hint(
                account.at,
                format!("invalid account `{}`: {reason}", account.value),
                "to trust a role or user, list it under `roles` or `users`",
            );
        }
    }
    for service in &trust.services {
        if service.value.is_empty() || service.value.contains(char::is_whitespace) {
            reader.error_hint(
                service.at,
                format!("invalid service principal `{}`", service.value),
                "a service principal looks like `ec2.amazonaws.com`",
            );
        }
    }
    for role in &trust.roles {
        match directory.role_arn(&role.value) {
            Ok(_) => unloaded_peer(reader, directory, role, "role"),
            Err(problem) => unresolved(reader, role, problem),
        }
    }
    for user in &trust.users {
        match directory.user_arn(&user.value) {
            Ok(_) => unloaded_peer(reader, directory, user, "user"),
            Err(problem) => unresolved(reader, user, problem),
        }
    }
    for item in &trust.service_accounts {
        service_account_item(reader, directory, item);
    }
}

/// `cluster/namespace/name`.
fn service_account_item(reader: &mut Reader<'_>, directory: &Directory, item: &Text) {
    let parts: Vec<&str> = item.value.split('/').collect();
    let [cluster, namespace, name] = parts[..] else {
        reader.error_hint(
            item.at,
            format!("invalid service account `{}`", item.value),
            "write `cluster/namespace/name`, e.g. `demo/default/my-service-account`",
        );
        return;
    };
    if !directory.has_cluster(cluster) {
        let problem = unknown(
            "cluster",
            cluster,
            &directory.clusters,
            "declare the cluster under `clusters`: IRSA needs its OIDC issuer",
        );
        unresolved(reader, item, problem);
    }
    super::service_account_parts(reader, item, namespace, name);
}
