//! An in-memory Kubernetes API server for tests: the core/v1 and rbac.authorization.k8s.io/v1
//! resources accessctl touches, served over plain HTTP on 127.0.0.1 with the real server's
//! status codes, `Status` bodies, resourceVersion and managed-fields semantics, plus fault
//! switches and a request log. [`KubeServer::start`] returns the handle; dropping it stops the
//! server.

mod clock;
mod discovery;
mod faults;
mod fields;
mod managed_fields;
mod patch;
mod resources;
mod selectors;
mod server;
mod status;
mod store;
mod validation;
mod verbs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use faults::{Fault, Gate, RecordedRequest};
pub use server::TOKEN;

use faults::{ConcurrentWrite, Hold};
use server::{Shared, SharedState, lock};
use store::ObjectKey;

tokio::task_local! {
    /// Set while a run must not start servers of its own.
    static OWN_SERVERS_FORBIDDEN: ();
}

/// Runs `work` (and whatever it awaits in the same task) with [`KubeServer::start`] refused:
/// proof that a run on an external target starts no test server.
pub async fn without_own_servers<F: std::future::Future>(work: F) -> F::Output {
    OWN_SERVERS_FORBIDDEN.scope((), work).await
}

/// False inside [`without_own_servers`].
pub fn own_servers_allowed() -> bool {
    OWN_SERVERS_FORBIDDEN.try_with(|_| ()).is_err()
}

/// The context, cluster and user name in the generated kubeconfig.
pub const CONTEXT: &str = "test";

/// The namespaces every cluster starts with.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-node-lease", "kube-public", "kube-system"];

/// A running server. Dropping it stops the server and removes its kubeconfig.
pub struct KubeServer {
    url: String,
    state: SharedState,
    kubeconfig: PathBuf,
    // Held for its drop, which removes the kubeconfig.
    _directory: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KubeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The URL path of an object of type `K`, as kube-rs builds it.
fn object_path<K: k8s_openapi::Resource>(namespace: Option<&str>, name: &str) -> String {
    let prefix = if K::GROUP.is_empty() {
        format!("/api/{}", K::VERSION)
    } else {
        format!("/apis/{}/{}", K::GROUP, K::VERSION)
    };
    match namespace {
        Some(namespace) => format!(
            "{prefix}/namespaces/{namespace}/{}/{name}",
            K::URL_PATH_SEGMENT
        ),
        None => format!("{prefix}/{}/{name}", K::URL_PATH_SEGMENT),
    }
}

impl KubeServer {
    /// Binds a free port on 127.0.0.1, creates the system namespaces and writes the kubeconfig.
    pub async fn start() -> Self {
        assert!(
            own_servers_allowed(),
            "a test API server was started during a run on an external target"
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("listener address");
        let url = format!("http://{address}");
        let state: SharedState = Arc::new(Mutex::new(Shared::default()));
        let task = tokio::spawn(server::serve(listener, state.clone(), address.to_string()));
        let directory = tempfile::tempdir().expect("temporary directory");
        let kubeconfig = directory.path().join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_text(&url)).expect("write kubeconfig");
        let server = Self {
            url,
            state,
            kubeconfig,
            _directory: directory,
            task,
        };
        for namespace in SYSTEM_NAMESPACES {
            server.seed_as(
                "kube-apiserver",
                &serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
            );
        }
        server
    }

    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The kubeconfig: cluster, user (bearer token) and context all named [`CONTEXT`].
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// A kube-rs client configured from the kubeconfig alone, as accessctl configures its own.
    pub async fn client(&self) -> kube::Client {
        let config = self.client_config().await;
        kube::Client::try_from(config).expect("client from kubeconfig")
    }

    /// The kube-rs configuration read from the kubeconfig (for tests that change, say, retries).
    pub async fn client_config(&self) -> kube::Config {
        let kubeconfig =
            kube::config::Kubeconfig::read_from(&self.kubeconfig).expect("read kubeconfig");
        let options = kube::config::KubeConfigOptions {
            context: Some(CONTEXT.to_owned()),
            ..Default::default()
        };
        kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .expect("config from kubeconfig")
    }

    /// Creates an object as manager `seed` would (an Update operation in its managed fields).
    /// Panics, naming the object, when the server refuses it.
    pub fn seed<K: Serialize>(&self, object: &K) -> Value {
        self.seed_as("seed", object)
    }

    /// Creates an object as `manager`, through the same create path as a POST.
    pub fn seed_as<K: Serialize>(&self, manager: &str, object: &K) -> Value {
        let object = serde_json::to_value(object).expect("seed object serializes");
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let resource =
            resources::by_kind(&text("/apiVersion"), &text("/kind")).unwrap_or_else(|| {
                panic!(
                    "seed: no hosted resource for {}/{}",
                    text("/apiVersion"),
                    text("/kind")
                )
            });
        let namespace = text("/metadata/namespace");
        let body = serde_json::to_vec(&object).expect("seed object serializes");
        let query = BTreeMap::from([("fieldManager".to_owned(), manager.to_owned())]);
        let call = verbs::Call {
            resource,
            namespace: resource.namespaced.then_some(namespace.as_str()),
            name: None,
            query: &query,
            body: &body,
            content_type: "application/json",
            user_agent: "",
        };
        match verbs::create(&mut lock(&self.state).store, &call) {
            Ok(reply) => reply.body,
            Err(error) => panic!(
                "seed of {} {:?} refused: {}",
                resource.kind,
                text("/metadata/name"),
                error.message()
            ),
        }
    }

    /// The stored object of type `K`, if any.
    pub fn object<K: k8s_openapi::Resource + DeserializeOwned>(
        &self,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<K> {
        let value = self.raw_object::<K>(namespace, name)?;
        Some(serde_json::from_value(value).expect("stored object deserializes"))
    }

    /// The stored object of type `K` as JSON, exactly as the server holds it.
    pub fn raw_object<K: k8s_openapi::Resource>(
        &self,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let key = ObjectKey {
            plural: K::URL_PATH_SEGMENT.to_owned(),
            namespace: namespace.unwrap_or_default().to_owned(),
            name: name.to_owned(),
        };
        lock(&self.state).store.get(&key).cloned()
    }

    /// Every stored object by `{plural}/{namespace}/{name}` (`{plural}/{name}` when cluster
    /// scoped), in key order.
    pub fn dump(&self) -> BTreeMap<String, Value> {
        lock(&self.state)
            .store
            .all()
            .iter()
            .map(|(key, object)| {
                let path = if key.namespace.is_empty() {
                    format!("{}/{}", key.plural, key.name)
                } else {
                    format!("{}/{}/{}", key.plural, key.namespace, key.name)
                };
                (path, object.clone())
            })
            .collect()
    }

    /// Holds the next request with this method whose path contains `path_contains` until the
    /// returned gate opens: the deterministic way to make something happen while a request is
    /// in flight (no sleeps, no latency).
    pub fn hold(&self, method: &str, path_contains: &str) -> Gate {
        self.hold_query(method, path_contains, "")
    }

    /// [`KubeServer::hold`] for a request whose query string also contains `query_contains`
    /// (`fieldManager=accessctl`: one client's writes, not another's).
    pub fn hold_query(&self, method: &str, path_contains: &str, query_contains: &str) -> Gate {
        let (gate, arrived, open) = Gate::new();
        lock(&self.state).faults.holds.push(Hold {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_owned(),
            query_contains: query_contains.to_owned(),
            arrived,
            open,
        });
        gate
    }

    /// Stops serving and waits until the port is closed: a client connecting afterwards is
    /// refused.
    pub async fn stop(mut self) {
        self.task.abort();
        // The task has been dropped, and its listener with it, once the handle resolves.
        let _ = (&mut self.task).await;
    }

    /// Answers the next matching requests with the fault instead of serving them.
    pub fn inject(&self, fault: Fault) {
        lock(&self.state).faults.faults.push(fault);
    }

    /// Removes pending faults.
    pub fn clear_faults(&self) {
        lock(&self.state).faults.faults.clear();
    }

    /// Right after the next GET of this object is answered, applies `change` to the stored
    /// object as manager `concurrent-writer` and gives it a new resourceVersion, so that the
    /// client's update based on what it read conflicts.
    pub fn inject_concurrent_write<K: k8s_openapi::Resource>(
        &self,
        namespace: Option<&str>,
        name: &str,
        change: impl FnOnce(&mut Value) + Send + 'static,
    ) {
        let path = object_path::<K>(namespace, name);
        lock(&self.state)
            .faults
            .concurrent_writes
            .push(ConcurrentWrite {
                path,
                change: Box::new(change),
            });
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).log.clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.state).log.clear();
    }

    /// How many requests had this method and exactly this path.
    pub fn count(&self, method: &str, path: &str) -> usize {
        lock(&self.state)
            .log
            .iter()
            .filter(|request| request.method == method && request.path == path)
            .count()
    }
}

fn kubeconfig_text(url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: {CONTEXT}
  cluster:
    server: {url}
users:
- name: {CONTEXT}
  user:
    token: {TOKEN}
contexts:
- name: {CONTEXT}
  context:
    cluster: {CONTEXT}
    user: {CONTEXT}
    namespace: default
current-context: {CONTEXT}
"
    )
}
