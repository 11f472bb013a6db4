use std::path::Path;

use super::*;
use crate::spec::{self, Facts};

/// A state from an access.yaml text.
fn state(text: &str) -> State {
    match spec::load_str(Path::new("access.yaml"), text, &Facts { live: None }) {
        Ok(desired) => desired.state,
        Err(diagnostics) => panic!("does not load: {diagnostics}"),
    }
}

const HEAD: &str = "version: 1\naccount: \"111122223333\"\n";

/// `who direction access place`, one per item.
fn lines(items: &[ImpactItem]) -> Vec<String> {
    items
        .iter()
        .map(|item| {
            format!(
                "{}{} {} {} {} {}",
                if item.escalation { "! " } else { "" },
                item.who,
                item.direction.as_str(),
                item.access,
                item.namespace.as_deref().unwrap_or("cluster-wide"),
                item.cluster
            )
        })
        .collect()
}

fn cluster(bindings: &str) -> String {
    format!(
        "{HEAD}clusters:\n  demo:\n    region: us-east-1\n    namespaces:\n      team-a: {{}}\n    clusterRoles:\n      reader:\n        rules:\n          - apiGroups: [\"\"]\n            resources: [pods]\n            verbs: [get, list]\n      lister:\n        rules:\n          - apiGroups: [\"\"]\n            resources: [pods]\n            verbs: [list, get]\n    bindings:\n{bindings}"
    )
}

/// A binding replaced by another one to an equivalent role is neither a gain nor a loss; a
/// cluster-wide binding narrowed to a namespace loses the rest of the cluster only.
#[test]
fn an_equivalent_binding_is_no_change_and_a_removed_one_is_a_loss() {
    let before = state(&cluster(
        "      reader:\n        clusterRole: reader\n        groups: [team]\n",
    ));
    let equivalent = state(&cluster(
        "      lister:\n        clusterRole: lister\n        groups: [team]\n",
    ));
    assert_eq!(lines(&impact(&before, &equivalent)), Vec::<String>::new());

    let namespaced = state(&cluster(
        "      team-a/lister:\n        clusterRole: lister\n        groups: [team]\n",
    ));
    assert_eq!(
        lines(&impact(&before, &namespaced)),
        // In team-a it could already: only the rest of the cluster is lost.
        ["team loses get, list on pods [core] cluster-wide demo"]
    );
}

const ADMIN: &str = "iam:\n  users:\n    manager:\n      inline:\n        assume:\n          Version: \"2012-10-17\"\n          Statement:\n            - Effect: Allow\n              Action: sts:AssumeRole\n              Resource: role:admin\n  roles:\n    admin:\n      trust:\n        accounts: [\"111122223333\"]\n";

/// Mapping a role into `system:masters` escalates it and everyone who can assume it, listed
/// first with the route; what comes with signing in is not listed apart.
#[test]
fn an_escalation_is_listed_first_with_its_route() {
    let before = state(&format!(
        "{HEAD}{ADMIN}clusters:\n  demo:\n    region: us-east-1\n    access:\n      - user: manager\n        username: manager\n        groups: [viewers]\n    bindings:\n      view:\n        clusterRole: view\n        groups: [viewers]\n"
    ));
    let after = state(&format!(
        "{HEAD}{ADMIN}clusters:\n  demo:\n    region: us-east-1\n    access:\n      - role: admin\n        username: admin\n        groups: [\"system:masters\"]\n    bindings:\n      view:\n        clusterRole: view\n        groups: [viewers]\n"
    ));
    let items = impact(&before, &after);
    assert_eq!(
        lines(&items),
        [
            format!("! user/manager gains {ADMIN_ACCESS} cluster-wide demo"),
            format!("! role/admin gains {ADMIN_ACCESS} cluster-wide demo"),
        ]
    );
    assert_eq!(
        items[0].via,
        "user/manager → role/admin → aws-auth mapRoles (user admin, groups system:masters) → ClusterRoleBinding cluster-admin (built-in) → ClusterRole cluster-admin",
    );
    assert_eq!(escalations(&items).count(), 2);
    // Going back: admin loses everything; manager, mapped again, loses everything but `view`
    // and what comes with signing in. Nobody escalates.
    let back = impact(&after, &before);
    assert_eq!(
        lines(&back),
        [
            format!("! user/manager loses {ADMIN_ACCESS} cluster-wide demo"),
            format!("! role/admin loses {ADMIN_ACCESS} cluster-wide demo"),
        ]
    );
    assert_eq!(escalations(&back).count(), 0);
}

/// A principal that gets its first way into a cluster signs in (one item for what every
/// authenticated user may do) and gains its own grants; the reverse loses them.
#[test]
fn a_new_mapping_signs_in_and_gains_its_grants() {
    let base = format!("{HEAD}iam:\n  users:\n    dev: {{}}\n");
    let before = state(&format!(
        "{base}clusters:\n  demo:\n    region: us-east-1\n    clusterRoles:\n      reader:\n        rules:\n          - apiGroups: [\"*\"]\n            resources: [pods, secrets]\n            verbs: [get, list, watch]\n    bindings:\n      reader:\n        clusterRole: reader\n        groups: [reader]\n"
    ));
    let after = state(&format!(
        "{base}clusters:\n  demo:\n    region: us-east-1\n    access:\n      - user: dev\n        username: dev\n        groups: [reader]\n    clusterRoles:\n      reader:\n        rules:\n          - apiGroups: [\"*\"]\n            resources: [pods, secrets]\n            verbs: [get, list, watch]\n    bindings:\n      reader:\n        clusterRole: reader\n        groups: [reader]\n"
    ));
    let items = impact(&before, &after);
    assert_eq!(
        lines(&items),
        [
            "user/dev gains get, list, watch on pods, secrets [*] cluster-wide demo".to_string(),
            format!("user/dev gains {SIGN_IN_ACCESS} cluster-wide demo"),
        ]
    );
    assert!(items.iter().all(|item| !item.possibly));
    assert_eq!(
        lines(&impact(&after, &before)),
        [
            "user/dev loses get, list, watch on pods, secrets [*] cluster-wide demo".to_string(),
            format!("user/dev loses {SIGN_IN_ACCESS} cluster-wide demo"),
        ]
    );
}

/// Atoms put back together are exactly the atoms given.
#[test]
fn atoms_regroup_into_rules_of_the_same_atoms() {
    let rule = PolicyRule {
        api_groups: BTreeSet::from(["".to_string(), "apps".to_string()]),
        resources: BTreeSet::from(["pods".to_string(), "deployments".to_string()]),
        verbs: BTreeSet::from(["get".to_string(), "list".to_string()]),
        ..PolicyRule::default()
    };
    let mut found = atoms(&Scope::Cluster, &rule);
    assert_eq!(rules(&found), [rule]);
    // Without one atom: still exactly the rest.
    found.retain(|atom| !(atom.verb == "list" && atom.resource == "pods" && atom.group.is_empty()));
    let regrouped: BTreeSet<Atom> = rules(&found)
        .iter()
        .flat_map(|rule| atoms(&Scope::Cluster, rule))
        .collect();
    assert_eq!(regrouped, found.into_iter().collect());
}

/// With IAM unchanged, a change of RBAC that grants a mapped identity nothing new changes no
/// IAM principal's access (the shortcut), while one that does is found through the same ways.
#[test]
fn with_the_same_iam_only_changed_grants_of_mapped_identities_count() {
    let with = |bindings: &str| {
        state(&format!(
            "{HEAD}iam:\n  users:\n    dev: {{}}\nclusters:\n  demo:\n    region: us-east-1\n    access:\n      - user: dev\n        username: dev\n        groups: [devs]\n    clusterRoles:\n      reader:\n        rules:\n          - apiGroups: [\"\"]\n            resources: [pods]\n            verbs: [get]\n    bindings:\n{bindings}"
        ))
    };
    let before = with("      reader:\n        clusterRole: reader\n        groups: [devs]\n");
    let others = with(
        "      reader:\n        clusterRole: reader\n        groups: [devs]\n      others:\n        clusterRole: reader\n        groups: [others]\n",
    );
    assert_eq!(
        lines(&impact(&before, &others)),
        ["others gains get on pods [core] cluster-wide demo"]
    );
    let more = with(
        "      reader:\n        clusterRole: reader\n        groups: [devs]\n      view:\n        clusterRole: view\n        users: [dev]\n",
    );
    let items = impact(&before, &more);
    assert!(
        items
            .iter()
            .any(|item| item.who == "user/dev" && item.direction == Direction::Gains),
        "{:?}",
        lines(&items)
    );
    assert!(
        items.iter().any(|item| item.who == "dev"),
        "{:?}",
        lines(&items)
    );
}
