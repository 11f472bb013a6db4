//! Where the integration tests run: the harness's own servers (the in-memory API server, moto)
//! by default, or an external cluster and AWS endpoint named by the environment
//! (docs/testing.md).
//!
//! Only [`KubeTarget::from_env`] and [`AwsTarget::from_env`] read the environment; everything
//! else takes a target object, so one test can aim at an explicit target while others run in
//! parallel with theirs.
//!
//! Against an external cluster a [`TestCluster`] keeps each test inside its own scope: objects
//! are renamed into `acctest-<random>-` namespaces and names, cluster-scoped objects carry the
//! [`TEST_ID_LABEL`], the live state is cut down to the scope before planning, and dropping the
//! handle (also while a failed test unwinds) deletes what the test created and puts
//! kube-system/aws-auth back exactly as it was. Tests on one external cluster take turns, since
//! they all share aws-auth.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use accessctl::kube::ClusterClient;
use accessctl::model::{AWS_AUTH_MANAGED_ANNOTATION, Cluster, RoleRefKind, State};
use accessctl::plan::{Address, Desired, Kind, Plan};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use super::kube_server::without_own_servers;

use super::kube_server::{self, KubeServer};

/// The kubeconfig of an external cluster to run the cluster tests on.
pub const KUBECONFIG_VARIABLE: &str = "ACCESSCTL_TEST_KUBECONFIG";
/// The context in [`KUBECONFIG_VARIABLE`]'s file; its current context when unset.
pub const CONTEXT_VARIABLE: &str = "ACCESSCTL_TEST_KUBE_CONTEXT";
/// The account id that allows the IAM tests to write to a real AWS account.
pub const AWS_ACCOUNT_VARIABLE: &str = "ACCESSCTL_TEST_AWS_ACCOUNT";
/// Labels every cluster-scoped object a test creates on an external cluster.
pub const TEST_ID_LABEL: &str = "accessctl-test-id";

/// Namespaces that exist in every cluster: never renamed, never deleted.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-node-lease", "kube-public", "kube-system"];

/// Prints why a test does not run here. Call it and return: the skip shows in the output.
pub fn skipped(reason: &str) {
    eprintln!("skipped: {reason}");
}

/// `acctest-<8 hex digits>`, different for every call.
pub fn test_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("acctest-{:08x}", hasher.finish() as u32)
}

/// A variable's value, if set and not empty.
fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// `~/x` → `$HOME/x`: the README's command passes the path unexpanded when quoted.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

// --- The cluster ---

/// Which Kubernetes API server a cluster test talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeTarget {
    /// A fresh in-memory test API server per test.
    Own,
    /// A server someone else runs (kind, k3s, EKS, or a second test server standing in).
    External {
        kubeconfig: PathBuf,
        /// The kubeconfig's current context when `None`.
        context: Option<String>,
    },
}

impl KubeTarget {
    /// [`KUBECONFIG_VARIABLE`] (and [`CONTEXT_VARIABLE`]) when set, else [`KubeTarget::Own`].
    pub fn from_env() -> Self {
        match variable(KUBECONFIG_VARIABLE) {
            Some(path) => KubeTarget::External {
                kubeconfig: expand_home(&path),
                context: variable(CONTEXT_VARIABLE),
            },
            None => KubeTarget::Own,
        }
    }

    pub fn is_external(&self) -> bool {
        matches!(self, KubeTarget::External { .. })
    }

    /// For tests that need the test API server itself (faults, request log, latency): prints
    /// `skipped: <reason>` and answers true when the target is external.
    pub fn skip_if_external(&self, reason: &str) -> bool {
        if self.is_external() {
            skipped(&format!("{reason} (the cluster target is external)"));
            return true;
        }
        false
    }

    /// The cluster for one test: a new test server, or a scope on the external one.
    pub async fn cluster(&self) -> TestCluster {
        match self {
            KubeTarget::Own => TestCluster::own().await,
            KubeTarget::External {
                kubeconfig,
                context,
            } => TestCluster::external(kubeconfig, context.as_deref()).await,
        }
    }
}

/// One test's cluster: either its own test server, or its scope on an external cluster.
pub struct TestCluster {
    server: Option<KubeServer>,
    kubeconfig: PathBuf,
    context: Option<String>,
    client: kube::Client,
    /// `acctest-<random>-` on an external cluster, empty on an own server.
    prefix: String,
    id: String,
    /// External only: aws-auth as it was, and this process's turn on the cluster.
    external: Option<External>,
}

struct External {
    /// `None` when there was no aws-auth.
    saved_aws_auth: Option<SavedAwsAuth>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

/// What "exactly as it was" means for aws-auth.
#[derive(Clone, Debug, PartialEq)]
struct SavedAwsAuth {
    data: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
}

impl SavedAwsAuth {
    fn of(config_map: &ConfigMap) -> Self {
        SavedAwsAuth {
            data: config_map.data.clone(),
            labels: config_map.metadata.labels.clone(),
            annotations: config_map.metadata.annotations.clone(),
        }
    }
}

/// Tests on an external cluster take turns: they all edit kube-system/aws-auth, which is
/// restored from a copy taken at the start.
fn external_turns() -> Arc<tokio::sync::Mutex<()>> {
    static TURNS: OnceLock<Arc<tokio::sync::Mutex<()>>> = OnceLock::new();
    TURNS
        .get_or_init(|| Arc::new(tokio::sync::Mutex::new(())))
        .clone()
}

async fn client_for(kubeconfig: &Path, context: Option<&str>) -> kube::Client {
    let file = kube::config::Kubeconfig::read_from(kubeconfig)
        .unwrap_or_else(|error| panic!("read {}: {error}", kubeconfig.display()));
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(file, &options)
        .await
        .unwrap_or_else(|error| panic!("kubeconfig {}: {error}", kubeconfig.display()));
    kube::Client::try_from(config).expect("client from kubeconfig")
}

fn resource_of(value: &Value) -> (ApiResource, Option<String>, String) {
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let api_version = text("/apiVersion");
    let (group, version) = api_version
        .split_once('/')
        .unwrap_or(("", api_version.as_str()));
    let gvk = GroupVersionKind::gvk(group, version, &text("/kind"));
    let namespace = Some(text("/metadata/namespace")).filter(|namespace| !namespace.is_empty());
    (
        ApiResource::from_gvk(&gvk),
        namespace,
        text("/metadata/name"),
    )
}

fn dynamic_api(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, resource),
        None => Api::all_with(client.clone(), resource),
    }
}

fn is_system_namespace(name: &str) -> bool {
    SYSTEM_NAMESPACES.contains(&name)
}

/// Cluster roles every cluster has: bindings to them are not renamed.
fn is_builtin_cluster_role(name: &str) -> bool {
    ["cluster-admin", "admin", "edit", "view"].contains(&name)
        || name.starts_with("system:")
        || name.starts_with("eks:")
}

impl TestCluster {
    async fn own() -> Self {
        let server = KubeServer::start().await;
        let kubeconfig = server.kubeconfig_path().to_path_buf();
        let client = server.client().await;
        TestCluster {
            server: Some(server),
            kubeconfig,
            context: Some(kube_server::CONTEXT.to_owned()),
            client,
            prefix: String::new(),
            id: String::new(),
            external: None,
        }
    }

    async fn external(kubeconfig: &Path, context: Option<&str>) -> Self {
        let turn = external_turns().lock_owned().await;
        let client = client_for(kubeconfig, context).await;
        let id = test_id();
        let aws_auth = Api::<ConfigMap>::namespaced(client.clone(), "kube-system")
            .get_opt("aws-auth")
            .await
            .unwrap_or_else(|error| {
                panic!("read kube-system/aws-auth on the external cluster: {error}")
            });
        TestCluster {
            server: None,
            kubeconfig: kubeconfig.to_path_buf(),
            context: context.map(str::to_owned),
            client,
            prefix: format!("{id}-"),
            id,
            external: Some(External {
                saved_aws_auth: aws_auth.as_ref().map(SavedAwsAuth::of),
                _turn: turn,
            }),
        }
    }

    pub fn is_external(&self) -> bool {
        self.external.is_some()
    }

    /// The test server, when this cluster is one.
    pub fn server(&self) -> Option<&KubeServer> {
        self.server.as_ref()
    }

    /// The test server; for the parts of a test that skip on an external target.
    pub fn own_server(&self) -> &KubeServer {
        self.server
            .as_ref()
            .expect("this test needs the test API server: skip it on an external target")
    }

    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The context tests connect through (`None`: the kubeconfig's current one).
    pub fn context(&self) -> Option<&str> {
        self.context.as_deref()
    }

    /// The test id (`acctest-…`) on an external cluster, empty on an own server.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A kube-rs client for checks and seeding (not accessctl's).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// accessctl's client for cluster `name`, through this cluster's kubeconfig and context.
    pub async fn connect(&self, name: &str) -> ClusterClient {
        let cluster = Cluster {
            context: self.context.clone(),
            ..Cluster::default()
        };
        ClusterClient::connect_with_file(name, &cluster, &self.kubeconfig)
            .await
            .unwrap_or_else(|error| panic!("connect to {}: {error:?}", self.kubeconfig.display()))
    }

    /// A namespace's name in this test's scope (system namespaces stay).
    pub fn namespace(&self, name: &str) -> String {
        if is_system_namespace(name) {
            name.to_owned()
        } else {
            format!("{}{name}", self.prefix)
        }
    }

    /// A cluster-scoped object's name in this test's scope.
    pub fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// `namespace/name` with the namespace in this test's scope.
    pub fn key(&self, key: &str) -> String {
        match key.split_once('/') {
            Some((namespace, name)) => format!("{}/{name}", self.namespace(namespace)),
            None => self.name(key),
        }
    }

    /// A cluster object's address in this test's scope (IAM and aws-auth addresses stay).
    pub fn scope_address(&self, mut address: Address) -> Address {
        if !self.is_external() {
            return address;
        }
        address.name = match address.kind {
            Kind::Namespace => self.namespace(&address.name),
            Kind::ClusterRole | Kind::ClusterRoleBinding => self.name(&address.name),
            Kind::K8sRole | Kind::RoleBinding | Kind::ServiceAccount => self.key(&address.name),
            _ => return address,
        };
        address
    }

    /// Renames a model cluster's objects into this test's scope and labels its cluster-scoped
    /// objects with the test id; nothing on an own server.
    pub fn scope_cluster(&self, cluster: &mut Cluster) {
        if !self.is_external() {
            return;
        }
        rekey(&mut cluster.namespaces, &|name| self.namespace(name));
        rekey(&mut cluster.cluster_roles, &|name| self.name(name));
        rekey(&mut cluster.cluster_role_bindings, &|name| self.name(name));
        rekey(&mut cluster.roles, &|key| self.key(key));
        rekey(&mut cluster.role_bindings, &|key| self.key(key));
        rekey(&mut cluster.service_accounts, &|key| self.key(key));
        for role in cluster.cluster_roles.values_mut() {
            role.meta
                .labels
                .insert(TEST_ID_LABEL.to_owned(), self.id.clone());
        }
        for (cluster_scoped, binding) in cluster
            .cluster_role_bindings
            .values_mut()
            .map(|binding| (true, binding))
            .chain(
                cluster
                    .role_bindings
                    .values_mut()
                    .map(|binding| (false, binding)),
            )
        {
            if cluster_scoped {
                binding
                    .meta
                    .labels
                    .insert(TEST_ID_LABEL.to_owned(), self.id.clone());
            }
            if binding.role_ref.kind == RoleRefKind::ClusterRole
                && !is_builtin_cluster_role(&binding.role_ref.name)
            {
                binding.role_ref.name = self.name(&binding.role_ref.name);
            }
            binding.subjects = std::mem::take(&mut binding.subjects)
                .into_iter()
                .map(|mut subject| {
                    subject.namespace = subject
                        .namespace
                        .map(|namespace| self.namespace(&namespace));
                    subject
                })
                .collect();
        }
    }

    /// Cuts a live cluster read from an external cluster down to this test's scope: objects
    /// outside it are dropped, and aws-auth entries of other ARNs than `own_arns` count as not
    /// accessctl's, so the plan can neither delete nor change anything else there.
    pub fn scope_live(&self, live: &mut Cluster, own_arns: &BTreeSet<String>) {
        if !self.is_external() {
            return;
        }
        let prefix = self.prefix.as_str();
        live.namespaces.retain(|name, _| name.starts_with(prefix));
        live.cluster_roles
            .retain(|name, _| name.starts_with(prefix));
        live.cluster_role_bindings
            .retain(|name, _| name.starts_with(prefix));
        live.roles.retain(|key, _| key.starts_with(prefix));
        live.role_bindings.retain(|key, _| key.starts_with(prefix));
        live.service_accounts
            .retain(|key, _| key.starts_with(prefix));
        if let Some(aws_auth) = &mut live.aws_auth {
            aws_auth.managed.retain(|arn| own_arns.contains(arn));
        }
    }

    /// Panics, before anything is applied, if the plan reaches outside this test's scope.
    pub fn assert_in_scope(&self, plan: &Plan, own_arns: &BTreeSet<String>) {
        if !self.is_external() {
            return;
        }
        for change in &plan.changes {
            assert!(
                self.in_scope(&change.address, own_arns),
                "{} is outside the test's scope {}: not applied",
                change.address,
                self.prefix
            );
        }
    }

    fn in_scope(&self, address: &Address, own_arns: &BTreeSet<String>) -> bool {
        match address.kind {
            Kind::AwsAuth => own_arns.contains(&address.name),
            Kind::AccessEntry => false,
            kind if kind.is_iam() => false,
            _ => address.name.starts_with(&self.prefix),
        }
    }

    /// Creates an object as manager `seed`.
    pub async fn seed<K: Serialize>(&self, object: &K) -> Value {
        self.seed_as("seed", object).await
    }

    /// Creates an object as `manager`. On an external cluster, an aws-auth ConfigMap is merged
    /// into the one there (each `map*` text appended, the managed-entries annotation joined),
    /// so that the cluster's own entries stay in place.
    pub async fn seed_as<K: Serialize>(&self, manager: &str, object: &K) -> Value {
        if let Some(server) = &self.server {
            return server.seed_as(manager, object);
        }
        let mut value = serde_json::to_value(object).expect("seed object serializes");
        let (resource, namespace, name) = resource_of(&value);
        let api = dynamic_api(&self.client, &resource, namespace.as_deref());
        let params = PostParams {
            field_manager: Some(manager.to_owned()),
            ..PostParams::default()
        };
        if resource.kind == "ConfigMap"
            && namespace.as_deref() == Some("kube-system")
            && name == "aws-auth"
            && let Some(existing) = api.get_opt(&name).await.expect("read aws-auth")
        {
            let mut merged = serde_json::to_value(&existing).expect("json");
            merge_aws_auth(&mut merged, &value);
            let object: DynamicObject = serde_json::from_value(merged).expect("object");
            let stored = api
                .replace(&name, &params, &object)
                .await
                .unwrap_or_else(|error| panic!("seed: merge into aws-auth: {error}"));
            return serde_json::to_value(stored).expect("json");
        }
        if !self.prefix.is_empty() && namespace.is_none() && resource.kind != "Namespace" {
            value["metadata"]["labels"][TEST_ID_LABEL] = Value::String(self.id.clone());
        }
        let object: DynamicObject = serde_json::from_value(value).expect("object");
        let stored = api
            .create(&params, &object)
            .await
            .unwrap_or_else(|error| panic!("seed of {} {name:?} refused: {error}", resource.kind));
        serde_json::to_value(stored).expect("json")
    }

    /// The object of type `K`, if any, as the server answers a GET.
    pub async fn object<K>(&self, namespace: Option<&str>, name: &str) -> Option<K>
    where
        K: kube::Resource<DynamicType = ()> + DeserializeOwned,
    {
        let resource = ApiResource::erase::<K>(&());
        let found = dynamic_api(&self.client, &resource, namespace)
            .get_opt(name)
            .await
            .unwrap_or_else(|error| panic!("GET {} {name}: {error}", resource.plural))?;
        let value = serde_json::to_value(found).expect("json");
        Some(serde_json::from_value(value).expect("object deserializes"))
    }

    /// The objects this test may see, by `{plural}/{namespace}/{name}` (`{plural}/{name}` when
    /// cluster scoped) like [`KubeServer::dump`]: namespaces, RBAC, service accounts and
    /// aws-auth; on an external cluster only those in the test's scope.
    pub async fn dump(&self) -> BTreeMap<String, Value> {
        let mut dump = BTreeMap::new();
        let namespaces = self
            .list(&resource::<k8s_openapi::api::core::v1::Namespace>(), None)
            .await;
        let mut scoped_namespaces = Vec::new();
        for namespace in namespaces {
            let name = object_name(&namespace);
            if name.starts_with(&self.prefix) {
                scoped_namespaces.push(name.clone());
                dump.insert(format!("namespaces/{name}"), namespace);
            }
        }
        for resource in [
            resource::<k8s_openapi::api::rbac::v1::ClusterRole>(),
            resource::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>(),
        ] {
            for object in self.list(&resource, None).await {
                let name = object_name(&object);
                if name.starts_with(&self.prefix) {
                    dump.insert(format!("{}/{name}", resource.plural), object);
                }
            }
        }
        for namespace in &scoped_namespaces {
            for resource in [
                resource::<k8s_openapi::api::rbac::v1::Role>(),
                resource::<k8s_openapi::api::rbac::v1::RoleBinding>(),
                resource::<k8s_openapi::api::core::v1::ServiceAccount>(),
                resource::<ConfigMap>(),
            ] {
                for object in self.list(&resource, Some(namespace)).await {
                    let name = object_name(&object);
                    dump.insert(format!("{}/{namespace}/{name}", resource.plural), object);
                }
            }
        }
        if self.is_external()
            && let Some(aws_auth) = self
                .object::<ConfigMap>(Some("kube-system"), "aws-auth")
                .await
        {
            dump.insert(
                "configmaps/kube-system/aws-auth".to_owned(),
                serde_json::to_value(aws_auth).expect("json"),
            );
        }
        dump
    }

    async fn list(&self, resource: &ApiResource, namespace: Option<&str>) -> Vec<Value> {
        dynamic_api(&self.client, resource, namespace)
            .list(&ListParams::default())
            .await
            .unwrap_or_else(|error| panic!("LIST {}: {error}", resource.plural))
            .items
            .into_iter()
            .map(|object| serde_json::to_value(object).expect("json"))
            .collect()
    }
}

fn resource<K: kube::Resource<DynamicType = ()>>() -> ApiResource {
    ApiResource::erase::<K>(&())
}

fn object_name(object: &Value) -> String {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Appends `seeded`'s `map*` texts to `existing`'s and joins the managed-entries annotations.
fn merge_aws_auth(existing: &mut Value, seeded: &Value) {
    if let Some(data) = seeded.get("data").and_then(Value::as_object) {
        for (key, text) in data {
            let text = text.as_str().unwrap_or_default();
            let old = existing["data"][key]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let separator = if old.is_empty() || old.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            existing["data"][key] = Value::String(format!("{old}{separator}{text}"));
        }
    }
    let managed = |object: &Value| -> BTreeSet<String> {
        object
            .pointer("/metadata/annotations")
            .and_then(|annotations| annotations.get(AWS_AUTH_MANAGED_ANNOTATION))
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    };
    let mut joined = managed(existing);
    joined.extend(managed(seeded));
    if !joined.is_empty() {
        existing["metadata"]["annotations"][AWS_AUTH_MANAGED_ANNOTATION] =
            Value::String(serde_json::to_string(&joined).expect("json"));
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let Some(external) = &self.external else {
            return;
        };
        let kubeconfig = self.kubeconfig.clone();
        let context = self.context.clone();
        let prefix = self.prefix.clone();
        let id = self.id.clone();
        let saved = external.saved_aws_auth.clone();
        // Drop cannot await, and the test's runtime may be the single thread running this:
        // clean up on a thread of its own with its own runtime and client.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(clean_up(
                &kubeconfig,
                context.as_deref(),
                &prefix,
                &id,
                saved,
            ))
        });
        match cleanup.join() {
            Ok(problems) => {
                for problem in problems {
                    eprintln!("cleanup of {}: {problem}", self.id);
                }
            }
            Err(_) => eprintln!("cleanup of {} panicked", self.id),
        }
    }
}

/// Deletes the test's namespaces with their contents and its cluster-scoped objects, and puts
/// aws-auth back; the problems met (cleanup goes on past each).
async fn clean_up(
    kubeconfig: &Path,
    context: Option<&str>,
    prefix: &str,
    id: &str,
    saved: Option<SavedAwsAuth>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if prefix.is_empty() {
        return vec!["no scope prefix: nothing deleted".to_owned()];
    }
    let client = client_for(kubeconfig, context).await;
    let delete = DeleteParams::default();
    let list = |api: Api<DynamicObject>, params: ListParams| async move {
        api.list(&params)
            .await
            .map(|list| list.items)
            .map_err(|error| error.to_string())
    };
    let namespace_resource = resource::<k8s_openapi::api::core::v1::Namespace>();
    match list(
        dynamic_api(&client, &namespace_resource, None),
        ListParams::default(),
    )
    .await
    {
        Ok(namespaces) => {
            for namespace in namespaces {
                let Some(name) = namespace.metadata.name.clone() else {
                    continue;
                };
                if !name.starts_with(prefix) {
                    continue;
                }
                // A real cluster deletes a namespace's contents with it; the test server does
                // not, so empty it first.
                for contents in [
                    resource::<k8s_openapi::api::rbac::v1::RoleBinding>(),
                    resource::<k8s_openapi::api::rbac::v1::Role>(),
                    resource::<k8s_openapi::api::core::v1::ServiceAccount>(),
                    resource::<ConfigMap>(),
                ] {
                    let api = dynamic_api(&client, &contents, Some(&name));
                    match list(api.clone(), ListParams::default()).await {
                        Ok(objects) => {
                            for object in objects {
                                let Some(object_name) = object.metadata.name else {
                                    continue;
                                };
                                if let Err(error) = api.delete(&object_name, &delete).await {
                                    problems.push(format!(
                                        "delete {}/{name}/{object_name}: {error}",
                                        contents.plural
                                    ));
                                }
                            }
                        }
                        Err(error) => {
                            problems.push(format!("list {} in {name}: {error}", contents.plural))
                        }
                    }
                }
                if let Err(error) = dynamic_api(&client, &namespace_resource, None)
                    .delete(&name, &delete)
                    .await
                {
                    problems.push(format!("delete namespace {name}: {error}"));
                }
            }
        }
        Err(error) => problems.push(format!("list namespaces: {error}")),
    }
    for cluster_scoped in [
        resource::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>(),
        resource::<k8s_openapi::api::rbac::v1::ClusterRole>(),
    ] {
        let api = dynamic_api(&client, &cluster_scoped, None);
        let labelled = ListParams::default().labels(&format!("{TEST_ID_LABEL}={id}"));
        let mut names = BTreeSet::new();
        for params in [labelled, ListParams::default()] {
            match list(api.clone(), params).await {
                Ok(objects) => names.extend(
                    objects
                        .into_iter()
                        .filter_map(|object| object.metadata.name)
                        .filter(|name| name.starts_with(prefix)),
                ),
                Err(error) => problems.push(format!("list {}: {error}", cluster_scoped.plural)),
            }
        }
        for name in names {
            if let Err(error) = api.delete(&name, &delete).await {
                problems.push(format!("delete {}/{name}: {error}", cluster_scoped.plural));
            }
        }
    }
    if let Err(error) = restore_aws_auth(&client, saved).await {
        problems.push(format!("restore kube-system/aws-auth: {error}"));
    }
    problems
}

/// Puts aws-auth's data, labels and annotations back, or deletes it if there was none; a
/// compare-and-swap, tried again when someone else wrote in between.
async fn restore_aws_auth(
    client: &kube::Client,
    saved: Option<SavedAwsAuth>,
) -> Result<(), String> {
    let api = Api::<ConfigMap>::namespaced(client.clone(), "kube-system");
    for _ in 0..10 {
        let current = api
            .get_opt("aws-auth")
            .await
            .map_err(|error| error.to_string())?;
        let result = match (&saved, current) {
            (None, None) => return Ok(()),
            (None, Some(_)) => api
                .delete("aws-auth", &DeleteParams::default())
                .await
                .map(|_| ()),
            (Some(saved), None) => {
                let mut restored = ConfigMap::default();
                restored.metadata.name = Some("aws-auth".to_owned());
                restored.metadata.namespace = Some("kube-system".to_owned());
                restored.metadata.labels = saved.labels.clone();
                restored.metadata.annotations = saved.annotations.clone();
                restored.data = saved.data.clone();
                api.create(&PostParams::default(), &restored)
                    .await
                    .map(|_| ())
            }
            (Some(saved), Some(mut current)) => {
                if &SavedAwsAuth::of(&current) == saved {
                    return Ok(());
                }
                current.data = saved.data.clone();
                current.metadata.labels = saved.labels.clone();
                current.metadata.annotations = saved.annotations.clone();
                api.replace("aws-auth", &PostParams::default(), &current)
                    .await
                    .map(|_| ())
            }
        };
        match result {
            Ok(()) => return Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(error.to_string()),
        }
    }
    Err("still conflicting after 10 attempts".to_owned())
}

/// The ARNs of a model cluster's aws-auth entries.
pub fn aws_auth_arns(cluster: &Cluster) -> BTreeSet<String> {
    cluster
        .aws_auth
        .iter()
        .flat_map(|aws_auth| &aws_auth.entries)
        .map(|entry| entry.arn.clone())
        .collect()
}

/// access.yaml's desired state renamed into `cluster`'s scope, `adopt: true` marks included.
pub fn scope_desired(cluster: &TestCluster, desired: &mut Desired) {
    scope_state(cluster, &mut desired.state);
    desired.adopt = std::mem::take(&mut desired.adopt)
        .into_iter()
        .map(|address| cluster.scope_address(address))
        .collect();
}

/// A state's clusters renamed into `cluster`'s scope.
pub fn scope_state(cluster: &TestCluster, state: &mut State) {
    for model in state.clusters.values_mut() {
        cluster.scope_cluster(model);
    }
}

/// The same map with each key renamed.
fn rekey<V>(map: &mut BTreeMap<String, V>, rename: &dyn Fn(&str) -> String) {
    let old = std::mem::take(map);
    *map = old
        .into_iter()
        .map(|(key, value)| (rename(&key), value))
        .collect();
}

// --- IAM ---

/// Which AWS endpoint the IAM tests talk to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AwsTarget {
    /// A moto server started by the test.
    Own,
    /// `AWS_ENDPOINT_URL`: a moto or LocalStack someone else runs; credentials from the
    /// standard chain.
    Endpoint { url: String },
    /// The real AWS account the standard chain's credentials reach, named by
    /// [`AWS_ACCOUNT_VARIABLE`] as the guard that says "yes, this account".
    Account { account: String },
}

impl AwsTarget {
    /// `AWS_ENDPOINT_URL`, else [`AWS_ACCOUNT_VARIABLE`], else [`AwsTarget::Own`]: credentials
    /// alone never aim the tests at a real account.
    pub fn from_env() -> Self {
        if let Some(url) = variable("AWS_ENDPOINT_URL") {
            return AwsTarget::Endpoint { url };
        }
        match variable(AWS_ACCOUNT_VARIABLE) {
            Some(account) => AwsTarget::Account { account },
            None => AwsTarget::Own,
        }
    }

    pub fn is_external(&self) -> bool {
        *self != AwsTarget::Own
    }

    /// For tests that need moto itself (reset, the account header, `MOTO_ACCOUNT_ID`, EKS):
    /// prints `skipped: <reason>` and answers true when the target is external.
    pub fn skip_if_external(&self, reason: &str) -> bool {
        if self.is_external() {
            skipped(&format!("{reason} (the AWS target is external)"));
            return true;
        }
        false
    }
}

/// Where an [`IamScope`] gets its clients: built afresh each time, so cleanup can build its
/// own on its own runtime.
#[derive(Clone, Debug)]
enum ClientSource {
    /// A moto server of the test's, at this endpoint, with dummy credentials.
    Moto(String),
    External(AwsTarget),
}

/// moto and LocalStack do not implement `iam:ListServiceSpecificCredentials`: answered here as
/// IAM answers it for a user without such credentials; every other call goes through.
fn no_service_credentials() -> aws_smithy_mocks::MockResponseInterceptor {
    use aws_sdk_iam::operation::list_service_specific_credentials::ListServiceSpecificCredentialsOutput;
    let rule = aws_smithy_mocks::mock!(aws_sdk_iam::Client::list_service_specific_credentials)
        .sequence()
        .output(|| ListServiceSpecificCredentialsOutput::builder().build())
        .repeatedly()
        .build();
    aws_smithy_mocks::MockResponseInterceptor::new()
        .rule_mode(aws_smithy_mocks::RuleMode::MatchAny)
        .with_rule(&rule)
        .allow_passthrough()
}

impl ClientSource {
    async fn clients(&self) -> accessctl::aws::Clients {
        use accessctl::aws::config::{AwsOptions, http_client, loader};
        let (config, mock) = match self {
            ClientSource::Moto(endpoint) => (
                aws_config::SdkConfig::builder()
                    .behavior_version(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::from_static("us-east-1"))
                    .endpoint_url(endpoint)
                    .credentials_provider(
                        aws_credential_types::provider::SharedCredentialsProvider::new(
                            crate::moto::dummy_credentials(),
                        ),
                    )
                    .http_client(http_client())
                    .build(),
                true,
            ),
            ClientSource::External(AwsTarget::Endpoint { url }) => (
                loader(&AwsOptions {
                    endpoint_url: Some(url.clone()),
                    ..AwsOptions::default()
                })
                .load()
                .await,
                true,
            ),
            ClientSource::External(_) => (loader(&AwsOptions::default()).load().await, false),
        };
        let config = if config.region().is_none() {
            config
                .to_builder()
                .region(aws_config::Region::from_static(
                    accessctl::aws::config::FALLBACK_REGION,
                ))
                .build()
        } else {
            config
        };
        let mut iam = aws_sdk_iam::config::Builder::from(&config);
        if mock {
            iam = iam.interceptor(no_service_credentials());
        }
        accessctl::aws::Clients::from_builders(iam, aws_sdk_sts::config::Builder::from(&config))
    }
}

/// One test's part of an AWS account: IAM path `/acctest-<random>/` and names
/// `acctest-<random>-`. Dropping it deletes every IAM object under the path with accessctl's
/// own executor, also while a failed test unwinds.
pub struct IamScope {
    pub id: String,
    /// `/acctest-<random>/`.
    pub path: String,
    source: ClientSource,
}

impl IamScope {
    /// A scope on `target`; `moto_endpoint` is the test's own moto when the target is
    /// [`AwsTarget::Own`].
    pub fn new(target: &AwsTarget, moto_endpoint: Option<String>) -> Self {
        let id = test_id();
        let source = match (target, moto_endpoint) {
            (AwsTarget::Own, Some(endpoint)) => ClientSource::Moto(endpoint),
            (AwsTarget::Own, None) => panic!("an own AWS target needs the test's moto endpoint"),
            (external, _) => ClientSource::External(external.clone()),
        };
        IamScope {
            path: format!("/{id}/"),
            id,
            source,
        }
    }

    /// Clients for the scope's endpoint.
    pub async fn clients(&self) -> accessctl::aws::Clients {
        self.source.clients().await
    }

    /// A name in the scope.
    pub fn name(&self, name: &str) -> String {
        format!("{}-{name}", self.id)
    }

    /// Keeps only the changes to this scope's objects: the rest of the account (accessctl's
    /// objects from real use included) is never planned for. Panics on a cluster change.
    pub fn scope_plan(&self, plan: &mut Plan) {
        let prefix = format!("{}-", self.id);
        plan.changes.retain(|change| {
            assert!(change.address.kind.is_iam(), "{}", change.address);
            change.address.name.starts_with(&prefix)
        });
    }

    /// Deletes everything under the path; the problems met.
    pub async fn clean_up(&self) -> Vec<String> {
        let clients = self.clients().await;
        let (state, _) = match accessctl::aws::read_state(&clients).await {
            Ok(read) => read,
            Err(error) => return vec![format!("read the account: {error}")],
        };
        let under = |path: &str| path.starts_with(&self.path);
        let mut changes = Vec::new();
        let mut delete = |kind: Kind, name: &str, object: accessctl::plan::Object| {
            changes.push(accessctl::plan::Change {
                address: Address::iam(kind, name),
                action: accessctl::plan::Action::Delete,
                reason: None,
                before: Some(object),
                after: None,
                fields: Vec::new(),
            });
        };
        use accessctl::plan::Object;
        for (name, user) in &state.iam.users {
            if under(&user.path) {
                delete(Kind::User, name, Object::User(user.clone()));
            }
        }
        for (name, group) in &state.iam.groups {
            if under(&group.path) {
                delete(Kind::Group, name, Object::Group(group.clone()));
            }
        }
        for (name, role) in &state.iam.roles {
            if under(&role.path) {
                delete(Kind::Role, name, Object::Role(role.clone()));
            }
        }
        for (name, policy) in &state.iam.policies {
            if under(&policy.path) {
                delete(Kind::Policy, name, Object::Policy(policy.clone()));
            }
        }
        if changes.is_empty() {
            return Vec::new();
        }
        let plan = Plan {
            format_version: accessctl::plan::PLAN_FORMAT_VERSION,
            changes,
            summary: Default::default(),
            overrides: Vec::new(),
            notes: Vec::new(),
            deleted_with: Vec::new(),
            access_impact: Vec::new(),
        };
        let Some(account) = state.account.clone() else {
            return vec!["the account read names no account id".to_owned()];
        };
        let executor =
            accessctl::aws::IamExecutor::new(clients.iam.clone(), account, state.partition.clone());
        let report = accessctl::apply::apply(&plan, &executor, 4).await;
        report
            .failed
            .iter()
            .map(|(address, error)| format!("delete {address}: {}", error.message))
            .chain(
                report
                    .not_attempted
                    .iter()
                    .map(|address| format!("{address} not attempted")),
            )
            .collect()
    }
}

impl Drop for IamScope {
    fn drop(&mut self) {
        let scope = IamScope {
            id: self.id.clone(),
            path: self.path.clone(),
            source: self.source.clone(),
        };
        // The scope's clients hold connections of the test's runtime, which this thread may
        // be running: clean up on a thread of its own with new clients.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let problems = runtime.block_on(scope.clean_up());
            // The copy has nothing left to clean.
            std::mem::forget(scope);
            problems
        });
        match cleanup.join() {
            Ok(problems) => {
                for problem in problems {
                    eprintln!("cleanup of {}: {problem}", self.id);
                }
            }
            Err(_) => eprintln!("cleanup of {} panicked", self.id),
        }
    }
}
