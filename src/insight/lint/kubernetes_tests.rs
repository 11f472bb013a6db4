//! The Kubernetes RBAC escalation rules: each fires, and the closest case that must not
//! (limited by `resourceNames`, bound in another namespace, the `view` role) stays quiet.

use super::super::*;
use crate::spec::{Facts, load_text};

/// A role `ci-deployer` mapped (aws-auth) into group `ci-deployers` of cluster `demo`, which
/// has a ClusterRole `c` with `rules` and the `bindings`.
fn file(rules: &str, bindings: &str) -> String {
    format!(
        "version: 1\naccount: \"111122223333\"\niam:\n  roles:\n    ci-deployer:\n      trust: {{accounts: [\"111122223333\"]}}\nclusters:\n  demo:\n    namespaces: [app]\n    access:\n      - role: ci-deployer\n        groups: [ci-deployers]\n    clusterRoles:\n      c:\n        rules:\n{rules}    bindings:\n{bindings}"
    )
}

fn rule(rule: &str) -> String {
    format!("          - {rule}\n")
}

fn binding(binding: &str) -> String {
    format!("      {binding}\n")
}

/// (rule, message) of every finding.
fn findings(text: &str) -> Vec<(&'static str, String)> {
    let desired = match load_text("access.yaml", text, &Facts::default()) {
        Ok(desired) => desired,
        Err(diagnostics) => panic!("the test file is invalid: {diagnostics:?}"),
    };
    lint(&desired.state, &Locations::new())
        .into_iter()
        .map(|finding| {
            let medium = finding.rule == WILDCARD_CLUSTER_ROLE;
            assert_eq!(finding.severity == Severity::High, !medium, "{finding:?}");
            (finding.rule, finding.message)
        })
        .collect()
}

fn rules(text: &str) -> Vec<&'static str> {
    findings(text).into_iter().map(|(rule, _)| rule).collect()
}

/// A rule that grants nothing risky, for files whose bindings use built-in roles.
const HARMLESS: &str = "          - {apiGroups: [\"\"], resources: [configmaps], verbs: [get]}\n";
const GROUP: &str = "groups: [ci-deployers]";
const ROLE_ARN: &str = "arn:aws:iam::111122223333:role/ci-deployer";

/// The file where the ClusterRole `c` with the rules (lines of `rules:`) is bound to the group
/// `ci-deployers` under the binding name (`NAME`, `NAMESPACE/NAME`).
fn bound_file(rules_lines: &str, name: &str) -> String {
    file(
        rules_lines,
        &binding(&format!("{name}: {{clusterRole: c, {GROUP}}}")),
    )
}

/// The rules that fire in [`bound_file`].
fn bound_rules(rules_lines: &str, name: &str) -> Vec<&'static str> {
    rules(&bound_file(rules_lines, name))
}

/// Each (rules, binding name) of `cases`, bound as in [`bound_rules`], fires nothing.
fn assert_quiet(cases: &[(String, &str)]) {
    assert_no_finding(
        cases
            .iter()
            .map(|(rules_lines, name)| bound_file(rules_lines, name)),
    );
}

/// None of the files fires anything.
fn assert_no_finding(files: impl IntoIterator<Item = String>) {
    for text in files {
        assert_eq!(rules(&text), [] as [&str; 0], "{text}");
    }
}

/// The findings are one of `rule`, saying that the role `ci-deployer`, mapped into the group,
/// `can …`.
fn assert_only_the_role(found: Vec<(&'static str, String)>, rule: &str, can: &str) {
    let message =
        format!("IAM role {ROLE_ARN} (via aws-auth mapRoles → group ci-deployers) can {can}");
    assert_eq!(found, [(rule, message)]);
}

/// The same with the single rule `rule_text`.
fn bound(rule_text: &str, name: &str) -> Vec<&'static str> {
    bound_rules(&rule(rule_text), name)
}

#[test]
fn exec_cluster_wide_or_in_kube_system() {
    let exec = rule("{apiGroups: [\"\"], resources: [pods/exec], verbs: [create]}");
    assert_only_the_role(
        findings(&bound_file(&exec, "kube-system/deploy")),
        ESCALATION_EXEC,
        "create pods/exec in kube-system in cluster demo (RoleBinding kube-system/deploy → ClusterRole c): a shell in those pods, with their service-account tokens",
    );
    let found = findings(&file(
        &rule("{apiGroups: [\"\"], resources: [pods/attach], verbs: [create, get]}"),
        &binding(&format!("deploy: {{clusterRole: c, {GROUP}}}")),
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .1
            .contains("can create/get pods/attach cluster-wide"),
        "{found:?}"
    );
    // A WebSocket upgrade is a GET: `get` alone is exec too.
    assert_eq!(
        bound(
            "{apiGroups: [\"\"], resources: [pods/exec], verbs: [get]}",
            "deploy"
        ),
        [ESCALATION_EXEC]
    );
    // `*` resources in the core group: exec, attach, and pods themselves.
    assert_eq!(
        bound(
            "{apiGroups: [\"\"], resources: [\"*\"], verbs: [create]}",
            "kube-system/deploy"
        ),
        [ESCALATION_EXEC, ESCALATION_KUBE_SYSTEM_WORKLOADS]
    );
    // In an application namespace, limited to named pods, or on the logs: no finding.
    assert_quiet(&[
        (exec.clone(), "app/deploy"),
        (
            rule(
                "{apiGroups: [\"\"], resources: [pods/exec], verbs: [create], resourceNames: [debug]}",
            ),
            "kube-system/deploy",
        ),
        (
            rule("{apiGroups: [\"\"], resources: [pods/log], verbs: [get, create]}"),
            "deploy",
        ),
    ]);
}

#[test]
fn built_in_roles_edit_and_admin_escalate_view_does_not() {
    let everything_edit_can = [
        ESCALATION_EXEC,
        ESCALATION_IMPERSONATE,
        ESCALATION_KUBE_SYSTEM_WORKLOADS,
        SECRETS_CLUSTER_WIDE,
    ];
    for role in ["edit", "admin"] {
        let found = findings(&file(
            HARMLESS,
            &binding(&format!("ci: {{clusterRole: {role}, {GROUP}}}")),
        ));
        let fired: Vec<&str> = found.iter().map(|(rule, _)| *rule).collect();
        assert_eq!(fired, everything_edit_can, "{role}: {found:?}");
        assert!(
            found[0]
                .1
                .contains("can create/get pods/exec, pods/attach cluster-wide"),
            "{found:?}"
        );
    }
    assert_eq!(
        rules(&file(
            HARMLESS,
            &binding(&format!("ci: {{clusterRole: view, {GROUP}}}"))
        )),
        [] as [&str; 0]
    );
    // `edit` in an application namespace stays in it.
    assert_eq!(
        rules(&file(
            HARMLESS,
            &binding(&format!("app/ci: {{clusterRole: edit, {GROUP}}}"))
        )),
        [] as [&str; 0]
    );
    // `cluster-admin` escalates nowhere: `rbac-wildcard-cluster-wide` says what it is.
    assert_eq!(
        rules(&file(
            HARMLESS,
            &binding(&format!("ci: {{clusterRole: cluster-admin, {GROUP}}}"))
        )),
        [WILDCARD_CLUSTER_ROLE]
    );
}

/// An access entry of `ci-deployer` with one access policy.
fn access_entry(policy: &str) -> String {
    format!(
        "version: 1\naccount: \"111122223333\"\niam:\n  roles:\n    ci-deployer:\n      trust: {{accounts: [\"111122223333\"]}}\nclusters:\n  demo:\n    authentication: access-entries\n    namespaces: [app]\n    access:\n      - role: ci-deployer\n        accessPolicies:\n          - {policy}\n"
    )
}

#[test]
fn access_policies_of_access_entries() {
    let found = findings(&access_entry(
        "{policy: AmazonEKSEditPolicy, namespaces: [kube-system]}",
    ));
    let fired: Vec<&str> = found.iter().map(|(rule, _)| *rule).collect();
    assert_eq!(
        fired,
        [
            ESCALATION_EXEC,
            ESCALATION_IMPERSONATE,
            ESCALATION_KUBE_SYSTEM_WORKLOADS
        ]
    );
    assert_eq!(
        found[0].1,
        format!(
            "IAM role {ROLE_ARN} (via access entry) can create/get pods/exec, pods/attach in kube-system in cluster demo (access policy AmazonEKSEditPolicy): a shell in those pods, with their service-account tokens"
        )
    );
    assert_eq!(
        rules(&access_entry("{policy: AmazonEKSEditPolicy}")),
        [
            ESCALATION_EXEC,
            ESCALATION_IMPERSONATE,
            ESCALATION_KUBE_SYSTEM_WORKLOADS,
            SECRETS_CLUSTER_WIDE
        ]
    );
    assert_no_finding(
        [
            "{policy: AmazonEKSEditPolicy, namespaces: [app]}",
            "{policy: AmazonEKSViewPolicy}",
            "{policy: AmazonEKSClusterAdminPolicy}",
        ]
        .map(access_entry),
    );
}

#[test]
fn impersonation() {
    for resource in ["users", "groups"] {
        let found = findings(&file(
            &rule(&format!(
                "{{apiGroups: [\"\"], resources: [{resource}], verbs: [impersonate]}}"
            )),
            &binding(&format!("imp: {{clusterRole: c, {GROUP}}}")),
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, ESCALATION_IMPERSONATE);
        assert!(
            found[0]
                .1
                .contains(&format!("can impersonate {resource} cluster-wide")),
            "{found:?}"
        );
    }
    let service_accounts =
        rule("{apiGroups: [\"\"], resources: [serviceaccounts], verbs: [impersonate]}");
    assert_eq!(
        bound_rules(&service_accounts, "kube-system/imp"),
        [ESCALATION_IMPERSONATE]
    );
    // Named identities, users through a RoleBinding (users are not namespaced), or service
    // accounts of an application namespace: no finding.
    assert_quiet(&[
        (
            rule(
                "{apiGroups: [\"\"], resources: [users], verbs: [impersonate], resourceNames: [reporter]}",
            ),
            "imp",
        ),
        (
            rule("{apiGroups: [\"\"], resources: [users, groups], verbs: [impersonate]}"),
            "app/imp",
        ),
        (service_accounts.clone(), "app/imp"),
    ]);
}

/// A Role `app/deployer` with `rules`, bound to the group in `app`.
fn own_role(rules: &str) -> String {
    format!(
        "version: 1\naccount: \"111122223333\"\niam:\n  roles:\n    ci-deployer:\n      trust: {{accounts: [\"111122223333\"]}}\nclusters:\n  demo:\n    namespaces: [app]\n    access:\n      - role: ci-deployer\n        groups: [ci-deployers]\n    roles:\n      app/deployer:\n        rules:\n          - {rules}\n    bindings:\n      app/deployer: {{role: deployer, {GROUP}}}\n"
    )
}

#[test]
fn rewriting_the_role_one_is_bound_to() {
    assert_only_the_role(
        findings(&own_role(
            "{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [patch, escalate], resourceNames: [deployer]}",
        )),
        ESCALATION_SELF_ROLE,
        "update and escalate Role app/deployer in cluster demo, which it holds (RoleBinding app/deployer → Role deployer): it can write any rule into its own role",
    );
    assert_eq!(
        rules(&own_role(
            "{apiGroups: [rbac.authorization.k8s.io], resources: [\"*\"], verbs: [\"*\"]}"
        )),
        [ESCALATION_BIND, ESCALATION_SELF_ROLE]
    );
    // A ClusterRole bound cluster-wide with `*` verbs on clusterroles.
    assert_eq!(
        bound(
            "{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [\"*\"]}",
            "c"
        ),
        [ESCALATION_SELF_ROLE, WILDCARD_CLUSTER_ROLE]
    );
    // Without `escalate` the API server refuses rules the subject does not hold; another
    // role is not its own; everything held already gains nothing.
    assert_no_finding(
        [
            "{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [update, patch]}",
            "{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [update, escalate], resourceNames: [other]}",
            "{apiGroups: [\"*\"], resources: [\"*\"], verbs: [\"*\"]}",
        ]
        .map(own_role),
    );
}

#[test]
fn secrets_of_every_namespace() {
    let list = rule("{apiGroups: [\"\"], resources: [secrets], verbs: [list]}");
    // In one namespace, or named secrets: no finding.
    assert_quiet(&[
        (list.clone(), "app/reader"),
        (
            rule("{apiGroups: [\"\"], resources: [secrets], verbs: [get], resourceNames: [tls]}"),
            "reader",
        ),
    ]);
    // Cluster-wide:
    assert_only_the_role(
        findings(&bound_file(&list, "reader")),
        SECRETS_CLUSTER_WIDE,
        "list secrets in every namespace in cluster demo (ClusterRoleBinding reader → ClusterRole c): every service-account token and credential of the cluster",
    );
}

#[test]
fn workloads_in_kube_system() {
    let deployments = rule("{apiGroups: [apps], resources: [deployments], verbs: [create]}");
    let found = findings(&file(
        &deployments,
        &binding(
            "kube-system/ci: {clusterRole: c, serviceAccounts: [app/runner], groups: [nobody-maps]}",
        ),
    ));
    assert_eq!(
        found,
        [(
            ESCALATION_KUBE_SYSTEM_WORKLOADS,
            "group nobody-maps and service account app/runner can create deployments.apps in kube-system in cluster demo (RoleBinding kube-system/ci → ClusterRole c): its pods can run as any service account of kube-system and use its token".to_string()
        )]
    );
    assert_eq!(
        bound(
            "{apiGroups: [batch], resources: [cronjobs], verbs: [patch]}",
            "ci"
        ),
        [ESCALATION_KUBE_SYSTEM_WORKLOADS]
    );
    // In an application namespace, only reading, or only a named deployment: no finding.
    assert_quiet(&[
        (deployments.clone(), "app/ci"),
        (
            rule("{apiGroups: [apps], resources: [deployments], verbs: [get, list, watch]}"),
            "kube-system/ci",
        ),
        (
            rule(
                "{apiGroups: [apps], resources: [deployments], verbs: [update], resourceNames: [metrics-server]}",
            ),
            "kube-system/ci",
        ),
    ]);
}

#[test]
fn binding_any_role_names_the_iam_principals() {
    let binder = "{apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings, clusterroles], verbs: [create, bind]}";
    // The rule, where it is bound, and the finding. Bound in a namespace: create rolebindings
    // there, binding any ClusterRole into it.
    let cases = [
        (
            binder,
            "binder",
            "create clusterrolebindings.rbac.authorization.k8s.io, bind clusterroles.rbac.authorization.k8s.io in every namespace in cluster demo (ClusterRoleBinding binder → ClusterRole c): it can bind any role, `cluster-admin` included",
        ),
        (
            "{apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings, clusterroles], verbs: [create, escalate]}",
            "app/binder",
            "create rolebindings.rbac.authorization.k8s.io, escalate clusterroles.rbac.authorization.k8s.io in app in cluster demo (RoleBinding app/binder → ClusterRole c): it can bind `admin` or `cluster-admin` in app",
        ),
    ];
    for (granted, bound, message) in cases {
        assert_only_the_role(
            findings(&bound_file(&rule(granted), bound)),
            ESCALATION_BIND,
            message,
        );
    }
    let binder = rule(binder);
    // A subject no IAM mapping reaches is named as itself.
    let found = findings(&file(
        &binder,
        &binding("binder: {clusterRole: c, users: [bob]}"),
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, ESCALATION_BIND);
    assert!(found[0].1.starts_with("user bob can create"), "{found:?}");
    // The closest quiet cases: `bind` limited to `view`, creating bindings without `bind` or
    // `escalate` (the API server checks them), and a role nobody is bound to.
    let limited = "{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [view]}";
    let create = "{apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [create]}";
    assert_quiet(&[
        (rule(create) + &rule(limited), "binder"),
        (rule(create), "binder"),
    ]);
    assert_no_finding([file(
        &binder,
        &binding("app/other: {clusterRole: view, groups: [ci-deployers]}"),
    )]);
}
