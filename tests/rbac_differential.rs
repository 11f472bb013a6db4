//! Differential test of accessctl's RBAC decision (issue 15, acceptance): random RBAC estates
//! (wildcards, resourceNames, subresources, non-resource URLs, aggregated ClusterRoles,
//! bindings to the built-in roles) and random requests, answered by accessctl and by a small
//! reference evaluator written here from the Kubernetes documentation ("Using RBAC
//! Authorization", "Aggregated ClusterRoles", "Default roles and role bindings",
//! "Authenticating: anonymous requests"). The reference shares no code with
//! `src/insight/rbac`: it reads the built-in objects from the data files as plain JSON, and
//! matches rules its own way.
//!
//! When `ACCESSCTL_TEST_KUBECONFIG` names a real cluster, the same estates are created there
//! and the same requests asked of the API server with SubjectAccessReview.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use accessctl::insight::rbac::{self, Identity, Request};
use accessctl::model::{
    AggregationRule, Binding, Cluster, LabelSelector, LabelSelectorRequirement, Meta, PolicyRule,
    RbacRole, RoleRef, RoleRefKind, Subject, SubjectKind,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

// --- The estate, in the test's own terms ---

#[derive(Clone, Debug)]
struct TestRule {
    groups: Vec<&'static str>,
    resources: Vec<&'static str>,
    names: Vec<&'static str>,
    urls: Vec<&'static str>,
    verbs: Vec<&'static str>,
}

/// A label selector as (matchLabels, keys that must exist).
type Selector = (BTreeMap<String, String>, Vec<String>);

#[derive(Clone, Debug)]
struct TestRole {
    name: String,
    labels: BTreeMap<String, String>,
    rules: Vec<TestRule>,
    aggregation: Option<Vec<Selector>>,
}

#[derive(Clone, Debug)]
struct TestBinding {
    name: String,
    /// `Some(namespace)`: a RoleBinding.
    namespace: Option<String>,
    role_is_cluster_role: bool,
    role: String,
    /// (kind, name, namespace of a service account)
    subjects: Vec<(&'static str, &'static str, Option<&'static str>)>,
}

#[derive(Clone, Debug)]
struct Estate {
    cluster_roles: Vec<TestRole>,
    /// (namespace, role)
    roles: Vec<(String, TestRole)>,
    bindings: Vec<TestBinding>,
}

#[derive(Clone, Debug)]
struct Question {
    username: &'static str,
    groups: Vec<&'static str>,
    verb: &'static str,
    /// `None`: a non-resource request for `url`.
    resource: Option<(&'static str, &'static str, &'static str, &'static str)>,
    url: &'static str,
    namespace: Option<&'static str>,
}

const NAMESPACES: [&str; 2] = ["ns1", "ns2"];
/// Verbs of rules; of requests, all but `*`.
const VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "delete",
    "impersonate",
    "post",
    "*",
];
const AGGREGATE_LABELS: [&str; 3] = [
    "example.com/aggregate-to-mine",
    "rbac.authorization.k8s.io/aggregate-to-view",
    "rbac.authorization.k8s.io/aggregate-to-edit",
];

fn pick<T: Clone + std::fmt::Debug + 'static>(values: &'static [T]) -> BoxedStrategy<T> {
    prop::sample::select(values).boxed()
}

fn some_of(values: &'static [&'static str], most: usize) -> BoxedStrategy<Vec<&'static str>> {
    prop::sample::subsequence(values, 1..=most.min(values.len())).boxed()
}

fn rule() -> impl Strategy<Value = TestRule> {
    let resource_rule = (
        some_of(&["", "apps", "example.com", "*"], 2),
        some_of(
            &[
                "pods",
                "pods/log",
                "pods/exec",
                "*/log",
                "*/status",
                "pods/*",
                "deployments",
                "deployments/scale",
                "secrets",
                "widgets",
                "nodes",
                "*",
            ],
            3,
        ),
        prop_oneof![
            3 => Just(Vec::new()),
            1 => some_of(&["a", "b"], 2),
        ],
        some_of(VERBS, 3),
    )
        .prop_map(|(groups, resources, names, verbs)| TestRule {
            groups,
            resources,
            names,
            urls: Vec::new(),
            verbs,
        });
    let url_rule = (
        some_of(
            &[
                "/healthz",
                "/healthz/*",
                "/api*",
                "/apis/*",
                "*",
                "/version",
                "/logs/",
                "/metrics",
            ],
            2,
        ),
        some_of(&["get", "post", "*"], 2),
    )
        .prop_map(|(urls, verbs)| TestRule {
            groups: Vec::new(),
            resources: Vec::new(),
            names: Vec::new(),
            urls,
            verbs,
        });
    prop_oneof![3 => resource_rule, 1 => url_rule]
}

fn role(name: String, aggregated: bool) -> impl Strategy<Value = TestRole> {
    let selector = (
        prop::sample::subsequence(&AGGREGATE_LABELS[..], 0..=1),
        prop::sample::subsequence(&["example.com/flavour"][..], 0..=1),
    )
        .prop_map(|(labels, exists)| {
            (
                labels
                    .into_iter()
                    .map(|key| (key.to_string(), "true".to_string()))
                    .collect::<BTreeMap<_, _>>(),
                exists.into_iter().map(str::to_string).collect::<Vec<_>>(),
            )
        });
    let aggregation = if aggregated {
        prop::option::weighted(0.5, prop::collection::vec(selector, 1..=2)).boxed()
    } else {
        Just(None).boxed()
    };
    (
        prop::sample::subsequence(&AGGREGATE_LABELS[..], 0..=2),
        prop::option::of(pick(&["vanilla", "chocolate"])),
        prop::collection::vec(rule(), 0..=3),
        aggregation,
    )
        .prop_map(move |(labels, flavour, rules, aggregation)| {
            let mut labels: BTreeMap<String, String> = labels
                .into_iter()
                .map(|key| (key.to_string(), "true".to_string()))
                .collect();
            if let Some(flavour) = flavour {
                labels.insert("example.com/flavour".to_string(), flavour.to_string());
            }
            TestRole {
                name: name.clone(),
                labels,
                rules,
                aggregation,
            }
        })
}

const SUBJECTS: &[(&str, &str, Option<&str>)] = &[
    ("User", "u1", None),
    ("User", "u2", None),
    ("Group", "g1", None),
    ("Group", "g2", None),
    ("Group", "system:authenticated", None),
    ("Group", "system:unauthenticated", None),
    ("ServiceAccount", "sa", Some("ns1")),
];

const CLUSTER_ROLE_REFS: &[&str] = &[
    "cr0",
    "cr1",
    "cr2",
    "cr3",
    "view",
    "edit",
    "admin",
    "cluster-admin",
    "system:discovery",
    "system:basic-user",
    "system:node-proxier",
    "missing",
];

fn binding(index: usize) -> impl Strategy<Value = TestBinding> {
    (
        prop::option::of(pick(&NAMESPACES)),
        any::<bool>(),
        pick(CLUSTER_ROLE_REFS),
        pick(&["r0", "r1", "missing"]),
        prop::sample::subsequence(SUBJECTS, 1..=3),
    )
        .prop_map(
            move |(namespace, cluster_role, cluster_ref, role_ref, subjects)| {
                let role_is_cluster_role = namespace.is_none() || cluster_role;
                TestBinding {
                    name: format!("b{index}"),
                    namespace: namespace.map(str::to_string),
                    role_is_cluster_role,
                    role: if role_is_cluster_role {
                        cluster_ref.to_string()
                    } else {
                        role_ref.to_string()
                    },
                    subjects: subjects.to_vec(),
                }
            },
        )
}

fn estate() -> impl Strategy<Value = Estate> {
    let cluster_roles = (0..4usize)
        .map(|index| role(format!("cr{index}"), true))
        .collect::<Vec<_>>();
    let roles = (
        prop::collection::vec(rule(), 0..=3),
        prop::collection::vec(rule(), 0..=3),
        pick(&NAMESPACES),
        pick(&NAMESPACES),
    )
        .prop_map(|(rules0, rules1, ns0, ns1)| {
            let plain = |name: &str, rules| TestRole {
                name: name.to_string(),
                labels: BTreeMap::new(),
                rules,
                aggregation: None,
            };
            vec![
                (ns0.to_string(), plain("r0", rules0)),
                (ns1.to_string(), plain("r1", rules1)),
            ]
        });
    let bindings = (0..5usize).map(binding).collect::<Vec<_>>();
    (cluster_roles, roles, bindings).prop_map(|(cluster_roles, roles, bindings)| Estate {
        cluster_roles,
        roles,
        bindings,
    })
}

fn question() -> impl Strategy<Value = Question> {
    let resource = prop::option::weighted(
        0.8,
        (
            pick(&["", "apps", "example.com"]),
            pick(&["pods", "deployments", "secrets", "widgets", "nodes"]),
            pick(&["", "", "log", "status", "exec", "scale", "*"]),
            pick(&["", "", "a", "c"]),
        ),
    );
    (
        pick(&[
            "u1",
            "u2",
            "system:serviceaccount:ns1:sa",
            "system:anonymous",
        ]),
        prop::sample::subsequence(
            &[
                "g1",
                "g2",
                "system:masters",
                "system:unauthenticated",
                "system:authenticated",
            ][..],
            0..=2,
        ),
        pick(&VERBS[..8]),
        resource,
        pick(&[
            "/healthz",
            "/healthz/etcd",
            "/api",
            "/apis/apps",
            "/version",
            "/version/",
            "/logs/x",
            "/metrics",
            "/openapi/v2",
        ]),
        prop::option::of(pick(&["ns1", "ns2", "kube-system"])),
    )
        .prop_map(|(username, mut groups, verb, resource, url, namespace)| {
            // system:masters is rare in real estates: keep it from hiding everything else.
            if username != "u1" {
                groups.retain(|group| *group != "system:masters");
            }
            Question {
                username,
                groups,
                verb,
                resource,
                url,
                namespace,
            }
        })
}

// --- The reference evaluator, from the Kubernetes documentation ---

/// A rule as the documentation describes PolicyRule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RefRule {
    groups: Vec<String>,
    resources: Vec<String>,
    names: Vec<String>,
    urls: Vec<String>,
    verbs: Vec<String>,
}

#[derive(Clone, Debug)]
struct RefRole {
    labels: BTreeMap<String, String>,
    rules: Vec<RefRule>,
    selectors: Option<Vec<Selector>>,
}

#[derive(Clone, Debug)]
struct RefBinding {
    namespace: Option<String>,
    cluster_role: bool,
    role: String,
    subjects: Vec<(String, String, Option<String>)>,
}

#[derive(Default)]
struct Reference {
    cluster_roles: BTreeMap<String, RefRole>,
    /// By (namespace, name).
    roles: BTreeMap<(String, String), RefRole>,
    /// By (namespace or "", name).
    bindings: BTreeMap<(String, String), RefBinding>,
    /// The ClusterRoles' rules after aggregation (see [`Reference::aggregated_rules`]).
    aggregated: BTreeMap<String, BTreeSet<RefRule>>,
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value[key]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

impl Reference {
    /// The objects a v1.32 API server serves before anyone adds one (the data files).
    fn kubernetes_1_32() -> Reference {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src/insight/rbac/data/kubernetes-1.32");
        let mut reference = Reference::default();
        for file in [
            "cluster-roles.json",
            "cluster-role-bindings.json",
            "namespaced-roles-and-bindings.json",
        ] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            let list: Value = serde_json::from_str(&text).unwrap();
            for item in list["items"].as_array().unwrap() {
                let name = item["metadata"]["name"].as_str().unwrap().to_string();
                let namespace = item["metadata"]["namespace"].as_str().map(str::to_string);
                let rules: Vec<RefRule> = item["rules"]
                    .as_array()
                    .map(|rules| {
                        rules
                            .iter()
                            .map(|rule| RefRule {
                                groups: strings(rule, "apiGroups"),
                                resources: strings(rule, "resources"),
                                names: strings(rule, "resourceNames"),
                                urls: strings(rule, "nonResourceURLs"),
                                verbs: strings(rule, "verbs"),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let role = || RefRole {
                    labels: string_map(&item["metadata"]["labels"]),
                    rules: rules.clone(),
                    selectors: item["aggregationRule"]["clusterRoleSelectors"]
                        .as_array()
                        .map(|selectors| {
                            selectors
                                .iter()
                                .map(|selector| (string_map(&selector["matchLabels"]), Vec::new()))
                                .collect()
                        }),
                };
                let subjects = || {
                    item["subjects"]
                        .as_array()
                        .map(|subjects| {
                            subjects
                                .iter()
                                .map(|s| {
                                    (
                                        s["kind"].as_str().unwrap().to_string(),
                                        s["name"].as_str().unwrap().to_string(),
                                        s["namespace"].as_str().map(str::to_string),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                };
                match item["kind"].as_str().unwrap() {
                    "ClusterRole" => {
                        reference.cluster_roles.insert(name, role());
                    }
                    "Role" => {
                        reference.roles.insert((namespace.unwrap(), name), role());
                    }
                    _ => {
                        let binding = RefBinding {
                            namespace: namespace.clone(),
                            cluster_role: item["roleRef"]["kind"] == "ClusterRole",
                            role: item["roleRef"]["name"].as_str().unwrap().to_string(),
                            subjects: subjects(),
                        };
                        reference
                            .bindings
                            .insert((namespace.unwrap_or_default(), name), binding);
                    }
                }
            }
        }
        reference
    }

    /// The built-in objects with the estate's on top (an object of the estate replaces a
    /// built-in one of the same name).
    fn with(estate: &Estate) -> Reference {
        let mut reference = Reference::kubernetes_1_32();
        let convert = |role: &TestRole| RefRole {
            labels: role.labels.clone(),
            rules: role
                .rules
                .iter()
                .map(|rule| RefRule {
                    groups: rule.groups.iter().map(|s| s.to_string()).collect(),
                    resources: rule.resources.iter().map(|s| s.to_string()).collect(),
                    names: rule.names.iter().map(|s| s.to_string()).collect(),
                    urls: rule.urls.iter().map(|s| s.to_string()).collect(),
                    verbs: rule.verbs.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            selectors: role.aggregation.clone(),
        };
        reference.cluster_roles.extend(
            estate
                .cluster_roles
                .iter()
                .map(|role| (role.name.clone(), convert(role))),
        );
        reference.roles.extend(
            estate
                .roles
                .iter()
                .map(|(namespace, role)| ((namespace.clone(), role.name.clone()), convert(role))),
        );
        for binding in &estate.bindings {
            reference.bindings.insert(
                (
                    binding.namespace.clone().unwrap_or_default(),
                    binding.name.clone(),
                ),
                RefBinding {
                    namespace: binding.namespace.clone(),
                    cluster_role: binding.role_is_cluster_role,
                    role: binding.role.clone(),
                    subjects: binding
                        .subjects
                        .iter()
                        .map(|(kind, name, ns)| {
                            (kind.to_string(), name.to_string(), ns.map(str::to_string))
                        })
                        .collect(),
                },
            );
        }
        reference.aggregated = reference.aggregated_rules();
        reference
    }

    /// "Aggregated ClusterRoles": the controller fills the rules of a ClusterRole with an
    /// aggregationRule with those of every ClusterRole its selectors match, over and over
    /// until nothing changes. Here: start empty, repeat until a fixed point.
    fn aggregated_rules(&self) -> BTreeMap<String, BTreeSet<RefRule>> {
        let mut current: BTreeMap<String, BTreeSet<RefRule>> = self
            .cluster_roles
            .iter()
            .map(|(name, role)| {
                let own = if role.selectors.is_some() {
                    BTreeSet::new()
                } else {
                    role.rules.iter().cloned().collect()
                };
                (name.clone(), own)
            })
            .collect();
        loop {
            let mut next = current.clone();
            for (name, role) in &self.cluster_roles {
                let Some(selectors) = &role.selectors else {
                    continue;
                };
                for (other_name, other) in &self.cluster_roles {
                    if other_name == name {
                        continue;
                    }
                    let selected = selectors.iter().any(|(labels, exist)| {
                        labels.iter().all(|(k, v)| other.labels.get(k) == Some(v))
                            && exist.iter().all(|k| other.labels.contains_key(k))
                    });
                    if selected {
                        let gained = current[other_name].clone();
                        next.get_mut(name).unwrap().extend(gained);
                    }
                }
            }
            if next == current {
                return current;
            }
            current = next;
        }
    }

    /// May the user do it? "RBAC … permissions are purely additive"; a RoleBinding grants in
    /// its namespace only; system:masters is allowed everything.
    fn allows(&self, question: &Question) -> bool {
        let mut groups: BTreeSet<&str> = question.groups.iter().copied().collect();
        // "Authenticating": every authenticated user is in system:authenticated — the API
        // server adds it unless the user is anonymous or already says which it is.
        if question.username != "system:anonymous" && !groups.contains("system:unauthenticated") {
            groups.insert("system:authenticated");
        }
        if groups.contains("system:masters") {
            return true;
        }
        let aggregated = &self.aggregated;
        let request_namespace = match question.resource {
            Some(_) => question.namespace,
            None => None,
        };
        for binding in self.bindings.values() {
            let bound =
                binding
                    .subjects
                    .iter()
                    .any(|(kind, name, namespace)| match kind.as_str() {
                        "User" => name == question.username,
                        "Group" => groups.contains(name.as_str()),
                        _ => {
                            let namespace = namespace
                                .clone()
                                .or_else(|| binding.namespace.clone())
                                .unwrap_or_default();
                            question.username == format!("system:serviceaccount:{namespace}:{name}")
                        }
                    });
            if !bound {
                continue;
            }
            if let Some(namespace) = &binding.namespace
                && request_namespace != Some(namespace.as_str())
            {
                continue;
            }
            let rules: Vec<RefRule> = if binding.cluster_role {
                aggregated
                    .get(&binding.role)
                    .map(|rules| rules.iter().cloned().collect())
                    .unwrap_or_default()
            } else {
                let key = (
                    binding.namespace.clone().unwrap_or_default(),
                    binding.role.clone(),
                );
                self.roles
                    .get(&key)
                    .map(|role| role.rules.clone())
                    .unwrap_or_default()
            };
            if rules.iter().any(|rule| rule_allows(rule, question)) {
                return true;
            }
        }
        false
    }
}

/// "Referring to resources" and "Referring to subjects" of the RBAC documentation.
fn rule_allows(rule: &RefRule, question: &Question) -> bool {
    if !rule
        .verbs
        .iter()
        .any(|verb| verb == "*" || verb == question.verb)
    {
        return false;
    }
    let Some((group, resource, subresource, name)) = question.resource else {
        // nonResourceURLs: an exact path, `*`, or a path ending in `*` naming a prefix.
        return rule.urls.iter().any(|url| {
            if url == "*" || url == question.url {
                return true;
            }
            let mut prefix = url.as_str();
            let mut starred = false;
            while let Some(shorter) = prefix.strip_suffix('*') {
                prefix = shorter;
                starred = true;
            }
            starred && question.url.starts_with(prefix)
        });
    };
    if !rule.groups.iter().any(|g| g == "*" || g == group) {
        return false;
    }
    let wanted = if subresource.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}/{subresource}")
    };
    let resource_ok = rule.resources.iter().any(|r| {
        if r == "*" || *r == wanted {
            return true;
        }
        // `*/subresource`: that subresource of any resource.
        match r.split_once('/') {
            Some(("*", sub)) => !subresource.is_empty() && sub == subresource,
            _ => false,
        }
    });
    // resourceNames: "if resourceNames is set, the request must name one of them".
    resource_ok && (rule.names.is_empty() || rule.names.iter().any(|n| n == name))
}

// --- accessctl's answer ---

fn model_role(role: &TestRole) -> RbacRole {
    RbacRole {
        meta: Meta {
            labels: role.labels.clone(),
            annotations: BTreeMap::new(),
        },
        rules: role
            .rules
            .iter()
            .map(|rule| {
                let set = |values: &Vec<&str>| values.iter().map(|v| v.to_string()).collect();
                PolicyRule {
                    api_groups: set(&rule.groups),
                    resources: set(&rule.resources),
                    resource_names: set(&rule.names),
                    non_resource_urls: set(&rule.urls),
                    verbs: set(&rule.verbs),
                }
            })
            .collect(),
        aggregation_rule: role.aggregation.as_ref().map(|selectors| AggregationRule {
            cluster_role_selectors: selectors
                .iter()
                .map(|(labels, exist)| LabelSelector {
                    match_labels: labels.clone(),
                    match_expressions: exist
                        .iter()
                        .map(|key| LabelSelectorRequirement {
                            key: key.clone(),
                            operator: "Exists".to_string(),
                            values: Vec::new(),
                        })
                        .collect(),
                })
                .collect(),
        }),
    }
}

fn model_cluster(estate: &Estate) -> Cluster {
    let mut cluster = Cluster::default();
    for role in &estate.cluster_roles {
        cluster
            .cluster_roles
            .insert(role.name.clone(), model_role(role));
    }
    for (namespace, role) in &estate.roles {
        cluster
            .roles
            .insert(format!("{namespace}/{}", role.name), model_role(role));
    }
    for binding in &estate.bindings {
        let model = Binding {
            meta: Meta::default(),
            role_ref: RoleRef {
                kind: if binding.role_is_cluster_role {
                    RoleRefKind::ClusterRole
                } else {
                    RoleRefKind::Role
                },
                name: binding.role.clone(),
            },
            subjects: binding
                .subjects
                .iter()
                .map(|(kind, name, namespace)| Subject {
                    kind: match *kind {
                        "User" => SubjectKind::User,
                        "Group" => SubjectKind::Group,
                        _ => SubjectKind::ServiceAccount,
                    },
                    name: name.to_string(),
                    namespace: namespace.map(str::to_string),
                })
                .collect(),
        };
        match &binding.namespace {
            Some(namespace) => {
                cluster
                    .role_bindings
                    .insert(format!("{namespace}/{}", binding.name), model);
            }
            None => {
                cluster
                    .cluster_role_bindings
                    .insert(binding.name.clone(), model);
            }
        }
    }
    cluster
}

fn request(question: &Question) -> Request {
    match question.resource {
        Some((group, resource, subresource, name)) => Request {
            verb: question.verb.to_string(),
            api_group: group.to_string(),
            resource: resource.to_string(),
            subresource: subresource.to_string(),
            name: name.to_string(),
            namespace: question.namespace.map(str::to_string),
        },
        None => Request {
            verb: question.verb.to_string(),
            api_group: String::new(),
            resource: question.url.to_string(),
            subresource: String::new(),
            name: String::new(),
            namespace: None,
        },
    }
}

fn accessctl_allows(cluster: &Cluster, question: &Question) -> bool {
    let identity = Identity {
        username: question.username.to_string(),
        groups: question.groups.iter().map(|g| g.to_string()).collect(),
    };
    let grants = rbac::grants(cluster, &identity, &BTreeMap::new());
    rbac::allowing(&grants, &request(question)).is_some()
}

fn case() -> impl Strategy<Value = (Estate, Vec<Question>)> {
    (estate(), prop::collection::vec(question(), 24))
}

proptest! {
    #![proptest_config(Config { cases: 256, ..Config::default() })]

    #[test]
    fn accessctl_decides_as_the_documented_rbac_rules((estate, questions) in case()) {
        let cluster = model_cluster(&estate);
        let reference = Reference::with(&estate);
        for question in &questions {
            prop_assert_eq!(
                accessctl_allows(&cluster, question),
                reference.allows(question),
                "{:?}\nin {:#?}",
                question,
                estate
            );
        }
    }
}

/// The reference itself, on cases whose answers the documentation states outright: a
/// reference that allowed or denied everything would make the differential test pass.
#[test]
fn the_reference_answers_the_documented_cases() {
    let reference = Reference::with(&Estate {
        cluster_roles: Vec::new(),
        roles: Vec::new(),
        bindings: Vec::new(),
    });
    let ask = |username, groups: &[&'static str], verb, url| Question {
        username,
        groups: groups.to_vec(),
        verb,
        resource: None,
        url,
        namespace: None,
    };
    // system:discovery for system:authenticated; system:public-info-viewer for everyone.
    assert!(reference.allows(&ask("u1", &[], "get", "/apis/apps")));
    assert!(!reference.allows(&ask("system:anonymous", &[], "get", "/apis/apps")));
    let anonymous = ["system:unauthenticated"];
    assert!(reference.allows(&ask("system:anonymous", &anonymous, "get", "/version")));
    assert!(!reference.allows(&ask("system:anonymous", &anonymous, "get", "/api")));
    assert!(!reference.allows(&ask("u1", &[], "get", "/metrics")));
    assert!(reference.allows(&ask("u1", &["system:masters"], "delete", "/metrics")));
    let pods = Question {
        resource: Some(("", "pods", "", "")),
        namespace: Some("ns1"),
        ..ask("u1", &[], "get", "")
    };
    assert!(!reference.allows(&pods));
}

// --- The same questions asked of a real API server ---

/// With `ACCESSCTL_TEST_KUBECONFIG`: a few estates created on the cluster (names in the test's
/// scope), every question asked with a SubjectAccessReview and compared with accessctl's
/// answer. The estate's users and groups are scoped too, so that the cluster's own bindings
/// (other than the built-in ones) do not answer for them.
#[tokio::test]
async fn accessctl_decides_as_subject_access_review() {
    use crate::support::target::{KubeTarget, skipped};
    let target = KubeTarget::from_env();
    if !target.is_external() {
        skipped(
            "the SubjectAccessReview comparison needs a real API server: set ACCESSCTL_TEST_KUBECONFIG",
        );
        return;
    }
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[15; 32]),
    );
    for round in 0..4 {
        let (estate, questions) = case().new_tree(&mut runner).unwrap().current();
        let cluster = target.cluster().await;
        let scoped = scope_estate(&estate, &|name: &str| cluster.name(name), &|ns: &str| {
            cluster.namespace(ns)
        });
        for namespace in NAMESPACES {
            cluster
                .seed(&json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": cluster.namespace(namespace)}}))
                .await;
        }
        for object in objects(&scoped) {
            cluster.seed(&object).await;
        }
        let model = model_cluster(&scoped);
        let client = cluster.client();
        for question in &questions {
            let question = scope_question(question, &|name: &str| cluster.name(name), &|ns| {
                cluster.namespace(ns)
            });
            let expected = accessctl_allows(&model, &question);
            // RBAC is read through the API server's informers: wait (bounded) for the estate
            // to be seen before concluding the answers differ.
            let mut answer = subject_access_review(&client, &question).await;
            for _ in 0..20 {
                if answer == expected {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                answer = subject_access_review(&client, &question).await;
            }
            assert_eq!(
                answer, expected,
                "round {round}: {question:?}\nin {scoped:#?}"
            );
        }
    }
}

/// The estate with its object names, namespaces, users and groups in the test's scope
/// (`system:` names stay: they are Kubernetes' own).
fn scope_estate(
    estate: &Estate,
    name: &dyn Fn(&str) -> String,
    namespace: &dyn Fn(&str) -> String,
) -> Estate {
    let own = |value: &str| {
        if value.starts_with("system:") || CLUSTER_ROLE_REFS[4..].contains(&value) {
            value.to_string()
        } else {
            name(value)
        }
    };
    let leak = |value: String| -> &'static str { Box::leak(value.into_boxed_str()) };
    let mut scoped = estate.clone();
    for role in &mut scoped.cluster_roles {
        role.name = own(&role.name);
    }
    for (ns, role) in &mut scoped.roles {
        *ns = namespace(ns);
        role.name = own(&role.name);
    }
    for binding in &mut scoped.bindings {
        binding.name = own(&binding.name);
        binding.namespace = binding.namespace.as_deref().map(namespace);
        if binding.role != "missing" {
            binding.role = own(&binding.role);
        }
        for (kind, subject, ns) in &mut binding.subjects {
            if *kind != "ServiceAccount" && !subject.starts_with("system:") {
                *subject = leak(name(subject));
            }
            *ns = ns.map(|ns| leak(namespace(ns)));
        }
    }
    scoped
}

fn scope_question(
    question: &Question,
    name: &dyn Fn(&str) -> String,
    namespace: &dyn Fn(&str) -> String,
) -> Question {
    let leak = |value: String| -> &'static str { Box::leak(value.into_boxed_str()) };
    let scoped_user = match question.username.strip_prefix("system:serviceaccount:ns1:") {
        Some(account) => leak(format!(
            "system:serviceaccount:{}:{account}",
            namespace("ns1")
        )),
        None if question.username.starts_with("system:") => question.username,
        None => leak(name(question.username)),
    };
    Question {
        username: scoped_user,
        groups: question
            .groups
            .iter()
            .map(|g| {
                if g.starts_with("system:") {
                    *g
                } else {
                    leak(name(g))
                }
            })
            .collect(),
        namespace: question.namespace.map(|ns| {
            if ns == "kube-system" {
                ns
            } else {
                leak(namespace(ns))
            }
        }),
        ..question.clone()
    }
}

/// The estate as Kubernetes objects.
fn objects(estate: &Estate) -> Vec<Value> {
    let rules = |role: &TestRole| -> Vec<Value> {
        role.rules
            .iter()
            .map(|rule| {
                if rule.urls.is_empty() {
                    json!({"apiGroups": rule.groups, "resources": rule.resources,
                        "resourceNames": rule.names, "verbs": rule.verbs})
                } else {
                    json!({"nonResourceURLs": rule.urls, "verbs": rule.verbs})
                }
            })
            .collect()
    };
    let mut objects = Vec::new();
    for role in &estate.cluster_roles {
        let mut object = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": role.name, "labels": role.labels}, "rules": rules(role)});
        if let Some(selectors) = &role.aggregation {
            object["aggregationRule"] = json!({"clusterRoleSelectors": selectors.iter().map(|(labels, exist)| json!({
                "matchLabels": labels,
                "matchExpressions": exist.iter().map(|key| json!({"key": key, "operator": "Exists"})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()});
        }
        objects.push(object);
    }
    for (namespace, role) in &estate.roles {
        objects.push(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": role.name, "namespace": namespace}, "rules": rules(role)}),
        );
    }
    for binding in &estate.bindings {
        let subjects: Vec<Value> = binding
            .subjects
            .iter()
            .map(|(kind, name, namespace)| match kind {
                &"ServiceAccount" => json!({"kind": kind, "name": name, "namespace": namespace}),
                _ => json!({"kind": kind, "name": name, "apiGroup": "rbac.authorization.k8s.io"}),
            })
            .collect();
        let kind = if binding.role_is_cluster_role {
            "ClusterRole"
        } else {
            "Role"
        };
        let mut object = json!({"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": if binding.namespace.is_some() { "RoleBinding" } else { "ClusterRoleBinding" },
            "metadata": {"name": binding.name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": binding.role},
            "subjects": subjects});
        if let Some(namespace) = &binding.namespace {
            object["metadata"]["namespace"] = json!(namespace);
        }
        objects.push(object);
    }
    objects
}

async fn subject_access_review(client: &kube::Client, question: &Question) -> bool {
    use k8s_openapi::api::authorization::v1::SubjectAccessReview;
    // A SubjectAccessReview is authorized with exactly the groups it names: add
    // system:authenticated as the authenticator would.
    let mut groups = question.groups.clone();
    if question.username != "system:anonymous"
        && !groups.contains(&"system:unauthenticated")
        && !groups.contains(&"system:authenticated")
    {
        groups.push("system:authenticated");
    }
    let mut spec = json!({"user": question.username, "groups": groups});
    match question.resource {
        Some((group, resource, subresource, name)) => {
            spec["resourceAttributes"] = json!({"verb": question.verb, "group": group,
                "resource": resource, "subresource": subresource, "name": name,
                "namespace": question.namespace.unwrap_or_default()});
        }
        None => {
            spec["nonResourceAttributes"] = json!({"verb": question.verb, "path": question.url});
        }
    }
    let review: SubjectAccessReview = serde_json::from_value(json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec,
    }))
    .unwrap();
    let api: kube::Api<SubjectAccessReview> = kube::Api::all(client.clone());
    let created = api
        .create(&kube::api::PostParams::default(), &review)
        .await
        .unwrap_or_else(|error| panic!("SubjectAccessReview for {question:?}: {error}"));
    created.status.is_some_and(|status| status.allowed)
}
