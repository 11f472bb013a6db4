//! `kubectl auth can-i` requests: parsing the resource argument, and kubectl's warnings for a
//! verb or resource type Kubernetes does not know.

use super::Request;

/// Resource types known without a discovery call: (resource, short names, API group,
/// namespaced). Every built-in type of Kubernetes 1.32 (`kubectl api-resources` on a
/// kube-apiserver v1.32), plus the RBAC-only names its default roles use (`signers`,
/// `metrics.k8s.io`). Where one name is served by two groups (`events`), the core group comes
/// first: it is what a name without a group means.
const KNOWN_RESOURCES: &[(&str, &[&str], &str, bool)] = &[
    ("pods", &["po", "pod"], "", true),
    ("services", &["svc", "service"], "", true),
    ("configmaps", &["cm", "configmap"], "", true),
    ("secrets", &["secret"], "", true),
    ("serviceaccounts", &["sa", "serviceaccount"], "", true),
    ("endpoints", &["ep"], "", true),
    ("events", &["ev", "event"], "", true),
    ("persistentvolumeclaims", &["pvc"], "", true),
    ("replicationcontrollers", &["rc"], "", true),
    ("limitranges", &["limits"], "", true),
    ("resourcequotas", &["quota"], "", true),
    ("podtemplates", &["podtemplate"], "", true),
    ("bindings", &["binding"], "", true),
    ("namespaces", &["ns", "namespace"], "", false),
    ("nodes", &["no", "node"], "", false),
    ("persistentvolumes", &["pv"], "", false),
    ("componentstatuses", &["cs"], "", false),
    ("deployments", &["deploy", "deployment"], "apps", true),
    ("replicasets", &["rs", "replicaset"], "apps", true),
    ("statefulsets", &["sts", "statefulset"], "apps", true),
    ("daemonsets", &["ds", "daemonset"], "apps", true),
    ("controllerrevisions", &[], "apps", true),
    ("jobs", &["job"], "batch", true),
    ("cronjobs", &["cj", "cronjob"], "batch", true),
    ("horizontalpodautoscalers", &["hpa"], "autoscaling", true),
    ("poddisruptionbudgets", &["pdb"], "policy", true),
    ("ingresses", &["ing", "ingress"], "networking.k8s.io", true),
    ("networkpolicies", &["netpol"], "networking.k8s.io", true),
    ("ingressclasses", &[], "networking.k8s.io", false),
    ("endpointslices", &[], "discovery.k8s.io", true),
    ("roles", &["role"], "rbac.authorization.k8s.io", true),
    (
        "rolebindings",
        &["rolebinding"],
        "rbac.authorization.k8s.io",
        true,
    ),
    (
        "clusterroles",
        &["clusterrole"],
        "rbac.authorization.k8s.io",
        false,
    ),
    (
        "clusterrolebindings",
        &["clusterrolebinding"],
        "rbac.authorization.k8s.io",
        false,
    ),
    ("storageclasses", &["sc"], "storage.k8s.io", false),
    ("csidrivers", &[], "storage.k8s.io", false),
    ("csinodes", &[], "storage.k8s.io", false),
    ("csistoragecapacities", &[], "storage.k8s.io", true),
    ("volumeattachments", &[], "storage.k8s.io", false),
    (
        "customresourcedefinitions",
        &["crd", "crds"],
        "apiextensions.k8s.io",
        false,
    ),
    ("apiservices", &[], "apiregistration.k8s.io", false),
    (
        "mutatingwebhookconfigurations",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    (
        "validatingwebhookconfigurations",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    (
        "validatingadmissionpolicies",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    (
        "validatingadmissionpolicybindings",
        &[],
        "admissionregistration.k8s.io",
        false,
    ),
    ("tokenreviews", &[], "authentication.k8s.io", false),
    ("selfsubjectreviews", &[], "authentication.k8s.io", false),
    (
        "localsubjectaccessreviews",
        &[],
        "authorization.k8s.io",
        true,
    ),
    (
        "selfsubjectaccessreviews",
        &[],
        "authorization.k8s.io",
        false,
    ),
    (
        "selfsubjectrulesreviews",
        &[],
        "authorization.k8s.io",
        false,
    ),
    ("subjectaccessreviews", &[], "authorization.k8s.io", false),
    (
        "certificatesigningrequests",
        &["csr"],
        "certificates.k8s.io",
        false,
    ),
    ("signers", &[], "certificates.k8s.io", false),
    ("leases", &[], "coordination.k8s.io", true),
    ("leasecandidates", &[], "coordination.k8s.io", true),
    ("events", &["ev", "event"], "events.k8s.io", true),
    ("flowschemas", &[], "flowcontrol.apiserver.k8s.io", false),
    (
        "prioritylevelconfigurations",
        &[],
        "flowcontrol.apiserver.k8s.io",
        false,
    ),
    ("runtimeclasses", &[], "node.k8s.io", false),
    ("priorityclasses", &["pc"], "scheduling.k8s.io", false),
    ("pods", &[], "metrics.k8s.io", true),
    ("nodes", &[], "metrics.k8s.io", false),
];

/// The verbs Kubernetes authorizes: the API verbs, and the special ones of RBAC, impersonation,
/// certificates and the proxy.
pub const KNOWN_VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "use",
    "bind",
    "escalate",
    "impersonate",
    "approve",
    "sign",
    "attest",
    "proxy",
    "*",
];

/// The known name closest to `wrong` when it is close enough to be a typo: at most one edit in
/// three characters (a swap of neighbours is one edit), ties to the shorter distance, then by
/// name.
fn closest<'k>(wrong: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let limit = (wrong.chars().count() / 3).max(1);
    known
        .into_iter()
        .filter(|name| *name != wrong)
        .map(|name| (edit_distance(wrong, name), name))
        .filter(|(score, _)| *score <= limit)
        .min()
        .map(|(_, name)| name)
}

/// Edit distance with swaps of neighbours (optimal string alignment).
fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let mut table = vec![vec![0usize; right.len() + 1]; left.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=left.len() {
        for j in 1..=right.len() {
            let cost = usize::from(left[i - 1] != right[j - 1]);
            let mut best = (table[i - 1][j] + 1)
                .min(table[i][j - 1] + 1)
                .min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && left[i - 1] == right[j - 2] && left[i - 2] == right[j - 1] {
                best = best.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = best;
        }
    }
    table[left.len()][right.len()]
}

/// What is wrong with a `kubectl auth can-i` request, as kubectl warns: a verb Kubernetes does
/// not know, or a resource type that is not built in and names no API group (a custom resource
/// is named `TYPE.GROUP`). Empty when the request is one Kubernetes knows.
pub fn request_warnings(verb: &str, resource: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if !KNOWN_VERBS.contains(&verb) {
        let suggestion = closest(verb, KNOWN_VERBS.iter().copied())
            .map(|known| format!(" (did you mean `{known}`?)"))
            .unwrap_or_default();
        warnings.push(format!(
            "`{verb}` is not a known verb{suggestion}; the known verbs are {}",
            crate::words::quoted_list(KNOWN_VERBS)
        ));
    }
    if resource.starts_with('/') {
        return warnings;
    }
    let kind = resource.split_once('/').map_or(resource, |(kind, _)| kind);
    let (name, group) = match kind.split_once('.') {
        Some((name, group)) => (name, Some(group)),
        None => (kind, None),
    };
    if name == "*" {
        return warnings;
    }
    let lowered = name.to_ascii_lowercase();
    let builtin_group = |group: &str| {
        group == "*"
            || KNOWN_RESOURCES
                .iter()
                .any(|(_, _, known, _)| *known == group)
    };
    match group {
        // A group Kubernetes does not build in: a custom resource, which only the cluster
        // knows.
        Some(group) if !builtin_group(group) => return warnings,
        _ => {}
    }
    let known = KNOWN_RESOURCES
        .iter()
        .any(|(plural, short, known_group, _)| {
            (*plural == lowered || short.contains(&lowered.as_str()))
                && group.is_none_or(|group| group == "*" || group == *known_group)
        });
    if known {
        return warnings;
    }
    let names = KNOWN_RESOURCES
        .iter()
        .flat_map(|(plural, short, known_group, _)| {
            let keep = group.is_none_or(|group| group == *known_group);
            std::iter::once(*plural)
                .chain(short.iter().copied())
                .filter(move |_| keep)
        });
    let suggestion = closest(&lowered, names)
        .map(|known| match group {
            Some(group) => format!(" (did you mean `{known}.{group}`?)"),
            None => format!(" (did you mean `{known}`?)"),
        })
        .unwrap_or_default();
    match group {
        Some(group) => warnings.push(format!(
            "the API group `{group}` has no resource type `{name}`{suggestion}"
        )),
        None => warnings.push(format!(
            "`{name}` is not a built-in resource type or short name{suggestion}; a custom resource is named with its group: `TYPE.GROUP`"
        )),
    }
    warnings
}

/// Parses `kubectl auth can-i`'s resource argument: `TYPE`, `TYPE.GROUP`, `TYPE/NAME`, `*`, or
/// a non-resource URL (`/healthz`). `namespace` is the namespace asked about (`None` for
/// `--all-namespaces`); it is dropped for cluster-scoped types. Unknown types are taken as
/// namespaced types of the core group, as kubectl does after its warning.
pub fn parse_request(
    verb: &str,
    resource: &str,
    subresource: Option<&str>,
    namespace: Option<&str>,
) -> Request {
    if resource.starts_with('/') {
        return Request {
            verb: verb.to_string(),
            api_group: String::new(),
            resource: resource.to_string(),
            subresource: String::new(),
            name: String::new(),
            namespace: None,
        };
    }
    let (kind, name) = resource.split_once('/').unwrap_or((resource, ""));
    let (kind, explicit_group) = match kind.split_once('.') {
        Some((kind, group)) => (kind, Some(group)),
        None => (kind, None),
    };
    let lowered = kind.to_ascii_lowercase();
    let known = KNOWN_RESOURCES.iter().find(|(plural, short, group, _)| {
        (*plural == lowered || short.contains(&lowered.as_str()))
            && explicit_group.is_none_or(|g| g == *group)
    });
    let (plural, group, namespaced) = match known {
        Some((plural, _, group, namespaced)) => {
            (plural.to_string(), group.to_string(), *namespaced)
        }
        None => (
            lowered.clone(),
            explicit_group
                .unwrap_or(if lowered == "*" { "*" } else { "" })
                .to_string(),
            true,
        ),
    };
    Request {
        verb: verb.to_string(),
        api_group: group,
        resource: plural,
        subresource: subresource.unwrap_or_default().to_string(),
        name: name.to_string(),
        namespace: if namespaced {
            namespace.map(str::to_string)
        } else {
            None
        },
    }
}
