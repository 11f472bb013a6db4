//! Checks of RBAC rules (`clusterRoles`, `roles`): what Kubernetes itself would refuse.

use super::super::raw::{RbacRoleSpec, RuleSpec, Text};
use super::super::reader::Reader;
use super::super::suggest;
use crate::insight::rbac::{KnownResources, verb_problem};

/// Checks every rule of a ClusterRole (`namespaced: false`) or a Role.
pub fn rules(reader: &mut Reader<'_>, role: &RbacRoleSpec, namespaced: bool) {
    let kind = if namespaced { "Role" } else { "ClusterRole" };
    for rule in &role.rules {
        one_rule(reader, kind, &role.name, rule, namespaced);
    }
}

fn one_rule(reader: &mut Reader<'_>, kind: &str, role: &Text, rule: &RuleSpec, namespaced: bool) {
    known_names(reader, KnownResources::builtin(), rule);
    let owner = format!("a rule of {kind} `{}`", role.value);
    let filled = |list: &Option<Vec<Text>>| list.as_ref().is_some_and(|l| !l.is_empty());
    if !filled(&rule.verbs) {
        reader.error_hint(
            rule.at,
            format!("{owner} has no `verbs`"),
            "list what it allows, e.g. `verbs: [get, list, watch]`",
        );
    }
    if filled(&rule.non_resource_urls) {
        if namespaced {
            reader.error_hint(
                rule.at,
                format!("{owner} has `nonResourceURLs`, which only ClusterRoles can grant"),
                "move the rule to a ClusterRole",
            );
        }
        if filled(&rule.api_groups) || filled(&rule.resources) {
            reader.error_hint(
                rule.at,
                format!("{owner} mixes `nonResourceURLs` with `apiGroups`/`resources`"),
                "split it into two rules",
            );
        }
        return;
    }
    if rule.api_groups.is_none() {
        reader.error_hint(
            rule.at,
            format!("{owner} has no `apiGroups`"),
            "`\"\"` is the core group: `apiGroups: [\"\"]`",
        );
    }
    if !filled(&rule.resources) {
        reader.error_hint(
            rule.at,
            format!("{owner} has no `resources`"),
            "list the resources it applies to, e.g. `resources: [pods]`",
        );
    }
}

/// Warns about a verb or resource Kubernetes does not know (a rule naming one grants nothing
/// it was meant to), with the name meant. Warnings, not errors: a cluster serves custom
/// resources, so a resource of a group `known` does not hold is not checked, and RBAC accepts
/// any verb.
fn known_names(reader: &mut Reader<'_>, known: &KnownResources, rule: &RuleSpec) {
    let non_resource = rule
        .non_resource_urls
        .as_ref()
        .is_some_and(|urls| !urls.is_empty());
    for verb in rule.verbs.iter().flatten() {
        if let Some((message, hint)) = verb_problem(&verb.value, non_resource) {
            reader.warn_hint(verb.at, message, hint);
        }
    }
    let groups: Vec<&str> = rule
        .api_groups
        .iter()
        .flatten()
        .map(|group| group.value.as_str())
        .collect();
    // A group the table does not know may serve any name: nothing to check.
    if groups.is_empty() || groups.iter().any(|g| *g != "*" && !known.knows_group(g)) {
        return;
    }
    for resource in rule.resources.iter().flatten() {
        if let Some((message, hint)) = resource_problem(known, &groups, &resource.value) {
            reader.warn_hint(resource.at, message, hint);
        }
    }
}

/// What is wrong with one resource of a rule whose API groups `known` all knows: `None` when
/// one of them serves it.
fn resource_problem(
    known: &KnownResources,
    groups: &[&str],
    resource: &str,
) -> Option<(String, String)> {
    let (parent, sub) = match resource.split_once('/') {
        Some((parent, sub)) => (parent, Some(sub)),
        None => (resource, None),
    };
    let any_group = groups.contains(&"*");
    let shown_groups = match groups {
        _ if any_group => "any built-in API group".to_string(),
        [group] => format!("the API group `{}`", core_shown(group)),
        _ => format!(
            "any of the API groups {}",
            suggest::list(groups.iter().map(|g| core_shown(g)))
        ),
    };
    let served = |group: &str| match sub {
        Some(sub) => known.has_subresource(group, parent, sub),
        None => parent == "*" || known.exact(group, parent).is_some(),
    };
    if groups.iter().any(|group| served(group)) {
        return None;
    }
    if let Some(sub) = sub
        && (parent == "*"
            || groups
                .iter()
                .any(|group| known.exact(group, parent).is_some()))
    {
        let names: Vec<String> = groups
            .iter()
            .flat_map(|group| known.subresources_of(group, parent))
            .map(|name| format!("{parent}/{name}"))
            .collect();
        let names = || names.iter().map(String::as_str);
        return Some((
            format!("`{parent}` has no subresource `{sub}` in {shown_groups}"),
            suggest::hint(resource, names(), || {
                format!("its subresources are {}", suggest::list(names()))
            }),
        ));
    }
    let message = format!("no resource type `{parent}` in {shown_groups}");
    // A short or singular name: RBAC matches only the plural.
    if let crate::insight::rbac::Lookup::Known(found) = known.resolve(parent, None)
        && found.name != parent
        && groups
            .iter()
            .any(|group| *group == "*" || *group == found.group)
    {
        return Some((
            message,
            format!("RBAC rules name the plural: did you mean `{}`?", found.name),
        ));
    }
    let near = groups
        .iter()
        .find_map(|group| known.closest_in(group, parent));
    if let Some(near) = near {
        return Some((message, format!("did you mean `{near}`?")));
    }
    // `*` takes in the groups of custom resources too: only a near miss is a typo.
    if any_group {
        return None;
    }
    let elsewhere = known.groups_of(parent);
    let hint = match elsewhere.first() {
        Some(group) => format!(
            "`{parent}` is in the API group `{}`: add it to `apiGroups`",
            core_shown(group)
        ),
        None => "a custom resource's group is not among them: list it in `apiGroups`".to_string(),
    };
    Some((message, hint))
}

/// An API group as `apiGroups` writes it: the core group is `""`.
fn core_shown(group: &str) -> &str {
    if group.is_empty() { "\"\"" } else { group }
}
