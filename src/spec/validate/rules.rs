//! Checks of RBAC rules (`clusterRoles`, `roles`): what Kubernetes itself would refuse.

use super::super::raw::{RbacRoleSpec, RuleSpec, Text};
use super::super::reader::Reader;

/// Checks every rule of a ClusterRole (`namespaced: false`) or a Role.
pub fn rules(reader: &mut Reader<'_>, role: &RbacRoleSpec, namespaced: bool) {
    let kind = if namespaced { "Role" } else { "ClusterRole" };
    for rule in &role.rules {
        one_rule(reader, kind, &role.name, rule, namespaced);
    }
}

fn one_rule(reader: &mut Reader<'_>, kind: &str, role: &Text, rule: &RuleSpec, namespaced: bool) {
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
