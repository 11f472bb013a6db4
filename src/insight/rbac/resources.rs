//! The resource types and verbs Kubernetes knows, and the resolution of what a user types
//! (`po`, `pod`, `deploy`, `deployments.apps`) to the resource RBAC matches. One validator for
//! two sources: the table of a Kubernetes version (`data/kubernetes-<minor>/api-resources.txt`
//! and `rbac-only-resources.txt`, what a real API server serves), or a live cluster's API
//! discovery (`KnownResources::from_discovery`).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use super::builtins::DEFAULT_KUBERNETES_VERSION;
use crate::suggest;

/// The verbs Kubernetes authorizes on resources: the API verbs, and the special ones of RBAC,
/// pod security, impersonation, certificates and the proxy.
pub const RESOURCE_VERBS: &[&str] = &[
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

/// The verbs of a request for a non-resource URL: its HTTP method in lower case.
pub const NON_RESOURCE_VERBS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "*",
];

/// The subresource every type has for RBAC: the garbage collector checks `update` on
/// `TYPE/finalizers` before it honours `blockOwnerDeletion`.
const FINALIZERS: &str = "finalizers";

/// Types whose subresource is free text: `userextras/KEY` names the key of an impersonated
/// user's extra field.
const ANY_SUBRESOURCE: &[&str] = &["userextras"];

/// Kubernetes minor version → its tables: what discovery serves, and what only RBAC names.
const TABLES: &[(&str, [&str; 2])] = &[(
    "1.32",
    [
        include_str!("data/kubernetes-1.32/api-resources.txt"),
        include_str!("data/kubernetes-1.32/rbac-only-resources.txt"),
    ],
)];

/// One resource type: its plural name (what RBAC rules name), its API group, the names a
/// request may use for it, and its scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceType {
    pub name: String,
    pub group: String,
    /// Short names and the singular name; empty for names only RBAC uses.
    pub aliases: Vec<String>,
    pub namespaced: bool,
}

impl ResourceType {
    /// `pods`, `deployments.apps`: how a request names it.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.name.clone()
        } else {
            format!("{}.{}", self.name, self.group)
        }
    }
}

/// The resource types of a cluster, with their subresources.
#[derive(Clone, Debug, Default)]
pub struct KnownResources {
    /// In discovery order: where one name is served by two groups (`events`), the first wins,
    /// as it does for kubectl (the core group comes first).
    types: Vec<ResourceType>,
    /// (group, type, subresource).
    subresources: BTreeSet<(String, String, String)>,
    /// Read from a cluster's API discovery: every group it serves is here.
    discovered: bool,
}

/// One resource of a discovery document: its name (`pods`, `pods/exec`), short and singular
/// names, and scope.
#[derive(Clone, Debug, Default)]
pub struct Discovered {
    pub name: String,
    pub aliases: Vec<String>,
    pub namespaced: bool,
}

/// What a resource name in a request resolves to.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'k> {
    /// A known type (by plural, singular or short name).
    Known(&'k ResourceType),
    /// A group the table does not know: a custom resource, which only the cluster knows.
    CustomGroup,
    /// Not known; the closest known name when one is close enough to be a typo.
    Unknown(Option<String>),
}

/// One row of a table: `NAME SHORTNAMES APIVERSION NAMESPACED KIND` (`-` is empty).
fn parse_row(line: &str) -> Result<(String, Vec<String>, String, bool, String), String> {
    let columns: Vec<&str> = line.split_whitespace().collect();
    let [name, short, api_version, namespaced, kind] = columns[..] else {
        return Err(format!("`{line}`: expected 5 columns"));
    };
    let group = match api_version.split_once('/') {
        Some((group, _)) => group.to_string(),
        None => String::new(),
    };
    let namespaced = match namespaced {
        "true" => true,
        "false" => false,
        other => return Err(format!("`{line}`: NAMESPACED is `{other}`")),
    };
    let short = match short {
        "-" => Vec::new(),
        list => list.split(',').map(str::to_string).collect(),
    };
    Ok((name.to_string(), short, group, namespaced, kind.to_string()))
}

impl KnownResources {
    /// Parses a version's tables: served types get their short names and singular name (the
    /// kind in lower case); RBAC-only names get none.
    fn parse(tables: [&str; 2]) -> Result<Self, String> {
        let mut known = Self::default();
        for (index, table) in tables.iter().enumerate() {
            let served = index == 0;
            for line in table.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (name, short, group, namespaced, kind) = parse_row(line)?;
                let mut aliases = Vec::new();
                if served {
                    aliases = short;
                    if kind != "-" {
                        aliases.push(kind.to_ascii_lowercase());
                    }
                }
                known.add(&group, &name, aliases, namespaced);
            }
        }
        Ok(known)
    }

    /// Adds a resource (`pods`) or subresource (`pods/exec`) of `group`.
    pub fn add(&mut self, group: &str, name: &str, aliases: Vec<String>, namespaced: bool) {
        if let Some((parent, sub)) = name.split_once('/') {
            self.subresources
                .insert((group.to_string(), parent.to_string(), sub.to_string()));
            return;
        }
        if self
            .types
            .iter()
            .any(|t| t.group == group && t.name == name)
        {
            return;
        }
        self.types.push(ResourceType {
            name: name.to_string(),
            group: group.to_string(),
            aliases,
            namespaced,
        });
    }

    /// The table of a Kubernetes minor version.
    pub fn kubernetes(version: &str) -> Option<&'static KnownResources> {
        static TABLE: LazyLock<Vec<(&str, KnownResources)>> = LazyLock::new(|| {
            TABLES
                .iter()
                .map(|(version, tables)| {
                    (*version, KnownResources::parse(*tables).unwrap_or_default())
                })
                .collect()
        });
        TABLE
            .iter()
            .find(|(known, _)| *known == version)
            .map(|(_, table)| table)
    }

    /// The table of the Kubernetes version a cluster is taken to run when nothing says
    /// otherwise.
    pub fn builtin() -> &'static KnownResources {
        static EMPTY: LazyLock<KnownResources> = LazyLock::new(KnownResources::default);
        Self::kubernetes(DEFAULT_KUBERNETES_VERSION).unwrap_or(&EMPTY)
    }

    /// A live cluster's API discovery: for each group (`""` for the core group, in the
    /// server's order), the resources one version lists, each with its short names, singular
    /// name and scope. Subresources come as `TYPE/SUB`.
    pub fn from_discovery(groups: impl IntoIterator<Item = (String, Vec<Discovered>)>) -> Self {
        let mut known = Self {
            discovered: true,
            ..Self::default()
        };
        for (group, resources) in groups {
            for resource in resources {
                known.add(
                    &group,
                    &resource.name,
                    resource.aliases,
                    resource.namespaced,
                );
            }
        }
        known
    }

    /// Read from a cluster's API discovery (rather than the table of a version)?
    pub fn is_discovered(&self) -> bool {
        self.discovered
    }

    /// The API groups it holds, each once, in order.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        let mut seen = BTreeSet::new();
        self.types
            .iter()
            .map(|t| t.group.as_str())
            .filter(move |group| seen.insert(*group))
    }

    /// Adds what another cluster's discovery holds (what both hold stays as this one has it).
    pub fn extend(&mut self, other: KnownResources) {
        for t in other.types {
            self.add(&t.group, &t.name, t.aliases, t.namespaced);
        }
        self.subresources.extend(other.subresources);
        self.discovered &= other.discovered;
    }

    /// Whether the table knows the API group at all.
    pub fn knows_group(&self, group: &str) -> bool {
        self.types.iter().any(|t| t.group == group)
    }

    fn in_group<'k, 'g>(
        &'k self,
        group: Option<&'g str>,
    ) -> impl Iterator<Item = &'k ResourceType> + use<'k, 'g> {
        self.types
            .iter()
            .filter(move |t| group.is_none_or(|group| group == "*" || t.group == group))
    }

    /// Resolves a request's type (`po`, `pod`, `pods`, `deploy`) in `group` (`None`: any group,
    /// the first that has it; `*`: any group).
    pub fn resolve(&self, name: &str, group: Option<&str>) -> Lookup<'_> {
        if let Some(group) = group
            && group != "*"
            && !self.knows_group(group)
        {
            return Lookup::CustomGroup;
        }
        let lowered = name.to_ascii_lowercase();
        let found = self
            .in_group(group)
            .find(|t| t.name == lowered)
            .or_else(|| self.in_group(group).find(|t| t.aliases.contains(&lowered)));
        if let Some(found) = found {
            return Lookup::Known(found);
        }
        // The name meant, by any of its names, is given as its plural.
        let names = self
            .in_group(group)
            .flat_map(|t| std::iter::once(&t.name).chain(&t.aliases))
            .map(String::as_str);
        let meant = suggest::closest(&lowered, names).and_then(|close| {
            self.in_group(group)
                .find(|t| t.name == close || t.aliases.iter().any(|alias| alias == close))
        });
        Lookup::Unknown(meant.map(|t| t.name.clone()))
    }

    /// The type named exactly (as an RBAC rule names it: the plural, case-sensitive) in
    /// `group` (`*`: any group).
    pub fn exact(&self, group: &str, name: &str) -> Option<&ResourceType> {
        self.in_group(Some(group)).find(|t| t.name == name)
    }

    /// The closest known plural in `group` (`*`: any) to a mistyped one, for an RBAC rule.
    pub fn closest_in(&self, group: &str, name: &str) -> Option<&str> {
        suggest::closest(name, self.in_group(Some(group)).map(|t| t.name.as_str()))
    }

    /// The groups that serve a type by this exact plural.
    pub fn groups_of(&self, name: &str) -> Vec<&str> {
        self.types
            .iter()
            .filter(|t| t.name == name)
            .map(|t| t.group.as_str())
            .collect()
    }

    /// Whether `sub` is a subresource of the type `parent` of `group` (`*` for either: any).
    pub fn has_subresource(&self, group: &str, parent: &str, sub: &str) -> bool {
        (sub == FINALIZERS || ANY_SUBRESOURCE.contains(&parent))
            && (parent == "*" || self.exact(group, parent).is_some())
            || self.subresources.iter().any(|(g, p, s)| {
                (group == "*" || g == group) && (parent == "*" || p == parent) && s == sub
            })
    }

    /// The subresources of `parent` in `group` (`*`: any), for did-you-mean.
    pub fn subresources_of<'k>(&'k self, group: &'k str, parent: &'k str) -> Vec<&'k str> {
        let mut names: Vec<&str> = self
            .subresources
            .iter()
            .filter(|(g, p, _)| (group == "*" || g == group) && (parent == "*" || p == parent))
            .map(|(_, _, s)| s.as_str())
            .collect();
        names.push(FINALIZERS);
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// The verb a request or rule names, checked: `None` when Kubernetes knows it, else the
/// warning and its hint (the closest known verb, or the list of them).
pub fn verb_problem(verb: &str, non_resource: bool) -> Option<(String, String)> {
    let (known, what) = if non_resource {
        (NON_RESOURCE_VERBS, "an HTTP verb for a non-resource URL")
    } else {
        (RESOURCE_VERBS, "a known verb")
    };
    if known.contains(&verb) {
        return None;
    }
    Some((
        format!("`{verb}` is not {what}"),
        suggest::hint(verb, known.iter().copied(), || {
            format!("the known verbs are {}", crate::words::quoted_list(known))
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> &'static KnownResources {
        KnownResources::builtin()
    }

    #[test]
    fn every_embedded_table_parses_whole() {
        for (version, tables) in TABLES {
            let known =
                KnownResources::parse(*tables).unwrap_or_else(|error| panic!("{version}: {error}"));
            assert!(known.types.len() > 60, "{version}: {}", known.types.len());
        }
        assert!(KnownResources::parse(["pods po v1 maybe Pod", ""]).is_err());
        assert!(KnownResources::parse(["pods po v1", ""]).is_err());
    }

    /// Every resource a built-in ClusterRole or Role of the same version names is known: the
    /// table and the RBAC data come from the same API server.
    #[test]
    fn every_resource_a_builtin_role_names_is_known() {
        let builtins = super::super::builtins::default_kubernetes();
        let mut checked = 0;
        for (role, rules) in builtins
            .cluster_roles
            .iter()
            .chain(&builtins.roles)
            .map(|(name, role)| (name, &role.rules))
        {
            for rule in rules {
                for group in &rule.api_groups {
                    if group != "*" && !table().knows_group(group) {
                        // The metrics APIs served by an add-on: only `*` is named.
                        assert!(
                            rule.resources.iter().all(|r| r == "*"),
                            "{role}: group `{group}`"
                        );
                        continue;
                    }
                    for resource in &rule.resources {
                        checked += 1;
                        let known = match resource.split_once('/') {
                            Some((parent, sub)) => table().has_subresource(group, parent, sub),
                            None => resource == "*" || table().exact(group, resource).is_some(),
                        };
                        assert!(known, "{role}: `{resource}` in group `{group}`");
                    }
                }
            }
        }
        assert!(checked > 300, "{checked}");
    }

    #[test]
    fn short_singular_and_plural_names_resolve() {
        let qualified = |name: &str, group: Option<&str>| match table().resolve(name, group) {
            Lookup::Known(found) => found.qualified(),
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(qualified("po", None), "pods");
        assert_eq!(qualified("pod", None), "pods");
        assert_eq!(qualified("Pods", None), "pods");
        assert_eq!(qualified("deploy", None), "deployments.apps");
        assert_eq!(qualified("deployment", Some("apps")), "deployments.apps");
        assert_eq!(qualified("events", None), "events");
        assert_eq!(
            qualified("ev", Some("events.k8s.io")),
            "events.events.k8s.io"
        );
        assert_eq!(
            qualified("crd", None),
            "customresourcedefinitions.apiextensions.k8s.io"
        );
        assert_eq!(
            qualified("netpol", Some("*")),
            "networkpolicies.networking.k8s.io"
        );
        assert_eq!(qualified("quota", None), "resourcequotas");
        // RBAC-only names are known, but have no short name.
        assert_eq!(qualified("signers", None), "signers.certificates.k8s.io");
        assert_eq!(
            table().resolve("deploy", Some("extensions")),
            Lookup::Unknown(None)
        );
    }

    #[test]
    fn unknown_names_get_the_closest_known_one() {
        assert_eq!(
            table().resolve("pdos", None),
            Lookup::Unknown(Some("pods".into()))
        );
        assert_eq!(
            table().resolve("deploymets", Some("apps")),
            Lookup::Unknown(Some("deployments".into()))
        );
        // A near miss of a singular or short name is given as the plural.
        assert_eq!(
            table().resolve("deploymnt", None),
            Lookup::Unknown(Some("deployments".into()))
        );
        assert_eq!(table().resolve("pods", Some("apps")), Lookup::Unknown(None));
        assert_eq!(table().resolve("zebras", None), Lookup::Unknown(None));
        assert_eq!(
            table().resolve("certificates", Some("cert-manager.io")),
            Lookup::CustomGroup
        );
    }

    #[test]
    fn subresources_are_known_per_type() {
        assert!(table().has_subresource("", "pods", "exec"));
        assert!(table().has_subresource("", "pods", "log"));
        assert!(table().has_subresource("apps", "deployments", "scale"));
        assert!(table().has_subresource("*", "*", "scale"));
        assert!(table().has_subresource("", "configmaps", "finalizers"));
        assert!(table().has_subresource("authentication.k8s.io", "userextras", "scopes"));
        assert!(table().exact("", "users").is_some());
        assert!(table().exact("authentication.k8s.io", "uids").is_some());
        assert!(!table().has_subresource("", "pods", "scale"));
        assert!(!table().has_subresource("", "pods", "lgo"));
        assert!(table().subresources_of("", "pods").contains(&"log"));
    }

    #[test]
    fn verbs_are_checked_against_their_kind_of_request() {
        assert_eq!(verb_problem("get", false), None);
        assert_eq!(verb_problem("impersonate", false), None);
        assert_eq!(verb_problem("post", true), None);
        assert_eq!(verb_problem("head", true), None);
        let (message, hint) = verb_problem("delet", false).unwrap();
        assert_eq!(message, "`delet` is not a known verb");
        assert_eq!(hint, "did you mean `delete`?");
        let (_, hint) = verb_problem("lsit", false).unwrap();
        assert_eq!(hint, "did you mean `list`?");
        let (message, hint) = verb_problem("post", false).unwrap();
        assert_eq!(message, "`post` is not a known verb");
        assert!(hint.starts_with("the known verbs are `get`"), "{hint}");
        let (message, _) = verb_problem("list", true).unwrap();
        assert_eq!(message, "`list` is not an HTTP verb for a non-resource URL");
    }

    #[test]
    fn discovery_feeds_the_same_resolver() {
        let resource = |name: &str, aliases: &[&str]| Discovered {
            name: name.to_string(),
            aliases: aliases.iter().map(|alias| alias.to_string()).collect(),
            namespaced: true,
        };
        let known = KnownResources::from_discovery([
            (
                String::new(),
                vec![resource("pods", &["po", "pod"]), resource("pods/exec", &[])],
            ),
            (
                "cert-manager.io".to_string(),
                vec![resource("certificates", &["cert", "certificate"])],
            ),
        ]);
        match known.resolve("cert", None) {
            Lookup::Known(found) => assert_eq!(found.qualified(), "certificates.cert-manager.io"),
            other => panic!("{other:?}"),
        }
        assert!(known.has_subresource("", "pods", "exec"));
        assert_eq!(known.resolve("deploy", None), Lookup::Unknown(None));
        assert_eq!(known.resolve("x", Some("apps")), Lookup::CustomGroup);
    }
}
