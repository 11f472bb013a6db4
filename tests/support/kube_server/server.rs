//! The HTTP side: one hyper HTTP/1 connection task per client, bearer-token authentication,
//! routing of `/api` and `/apis` paths to the verbs, the request log and the fault switches.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::Value;

use super::discovery;
use super::faults::{FaultResponse, Faults, RecordedRequest};
use super::managed_fields;
use super::resources::{self, Resource};
use super::status::{self, ApiError};
use super::store::{ObjectKey, Store};
use super::verbs::{self, Call, Outcome};

/// The bearer token the generated kubeconfig carries and the server requires.
pub const TOKEN: &str = "accessctl-test-token";

/// Everything the connection tasks and the test's handle share.
#[derive(Default)]
pub struct Shared {
    pub store: Store,
    pub faults: Faults,
    pub log: Vec<RecordedRequest>,
}

pub type SharedState = Arc<Mutex<Shared>>;

pub fn lock(state: &SharedState) -> MutexGuard<'_, Shared> {
    // A test that panicked while holding the lock must not hide the state from the others.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The service error that makes hyper close the connection without writing a response.
#[derive(Debug)]
pub struct DroppedConnection;

impl fmt::Display for DroppedConnection {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedConnection {}

fn decode_component(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(key), decode_component(value))
        })
        .collect()
}

fn json_response(code: u16, body: &Value, retry_after: Option<u32>) -> Response<Full<Bytes>> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if let Some(seconds) = retry_after {
        headers.insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from(seconds),
        );
    }
    response
}

fn error_response(error: &ApiError) -> Response<Full<Bytes>> {
    json_response(error.code, &error.body, error.retry_after_seconds)
}

/// What a request path names.
enum Target {
    Document(Value),
    Collection {
        resource: &'static Resource,
        namespace: Option<String>,
    },
    Item {
        resource: &'static Resource,
        namespace: Option<String>,
        name: String,
    },
}

fn route(path: &str, server_address: &str) -> Result<Target, ApiError> {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let (group, version, rest) = match segments.as_slice() {
        ["version"] => return Ok(Target::Document(discovery::version())),
        ["api"] => return Ok(Target::Document(discovery::core_versions(server_address))),
        ["apis"] => return Ok(Target::Document(discovery::group_list())),
        ["apis", group] if discovery::GROUPS.contains(group) => {
            return Ok(Target::Document(discovery::named_group(group)));
        }
        ["api", "v1"] => return Ok(Target::Document(discovery::resource_list("", "v1"))),
        ["apis", group, "v1"] if discovery::GROUPS.contains(group) => {
            return Ok(Target::Document(discovery::resource_list(group, "v1")));
        }
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(status::no_such_resource()),
    };
    let find = |plural: &str| {
        resources::by_path(group, version, plural).ok_or_else(status::no_such_resource)
    };
    match rest {
        ["namespaces", namespace, plural] => {
            let resource = find(plural)?;
            if !resource.namespaced {
                return Err(status::no_such_resource());
            }
            Ok(Target::Collection {
                resource,
                namespace: Some((*namespace).to_owned()),
            })
        }
        ["namespaces", namespace, plural, name] => {
            let resource = find(plural)?;
            if !resource.namespaced {
                return Err(status::no_such_resource());
            }
            Ok(Target::Item {
                resource,
                namespace: Some((*namespace).to_owned()),
                name: (*name).to_owned(),
            })
        }
        [plural] => Ok(Target::Collection {
            resource: find(plural)?,
            namespace: None,
        }),
        [plural, name] => {
            let resource = find(plural)?;
            if resource.namespaced {
                return Err(status::no_such_resource());
            }
            Ok(Target::Item {
                resource,
                namespace: None,
                name: (*name).to_owned(),
            })
        }
        _ => Err(status::no_such_resource()),
    }
}

/// The parts of a request the verbs need, read before the lock is taken.
struct ReadRequest {
    method: Method,
    path: String,
    query: BTreeMap<String, String>,
    body: Bytes,
    content_type: String,
    user_agent: String,
}

fn dispatch(shared: &mut Shared, request: &ReadRequest, server_address: &str) -> Outcome {
    let target = route(&request.path, server_address)?;
    let (resource, namespace, name) = match target {
        Target::Document(document) => {
            return if request.method == Method::GET {
                Ok(verbs::Reply {
                    code: 200,
                    body: document,
                })
            } else {
                Err(status::no_such_resource())
            };
        }
        Target::Collection {
            resource,
            namespace,
        } => (resource, namespace, None),
        Target::Item {
            resource,
            namespace,
            name,
        } => (resource, namespace, Some(name)),
    };
    let call = Call {
        resource,
        namespace: namespace.as_deref(),
        name: name.as_deref(),
        query: &request.query,
        body: &request.body,
        content_type: &request.content_type,
        user_agent: &request.user_agent,
    };
    let store = &mut shared.store;
    match (name.is_some(), &request.method) {
        (false, &Method::GET) => verbs::list(store, &call),
        // POST to the all-namespaces list of a namespaced resource is not a route.
        (false, &Method::POST) if !resource.namespaced || namespace.is_some() => {
            verbs::create(store, &call)
        }
        (true, &Method::GET) => verbs::get(store, &call),
        (true, &Method::PUT) => verbs::replace(store, &call),
        (true, &Method::PATCH) => verbs::patch(store, &call),
        (true, &Method::DELETE) => verbs::delete(store, &call),
        (_, method) => Err(status::method_not_supported(resource, method.as_str())),
    }
}

/// Runs the concurrent write waiting for a GET of `path`: the stored object changes and gets a
/// new resourceVersion, as if another client had updated it.
fn run_concurrent_write(shared: &mut Shared, path: &str, server_address: &str) {
    let Some(write) = shared.faults.take_concurrent_write(path) else {
        return;
    };
    let Ok(Target::Item {
        resource,
        namespace,
        name,
    }) = route(path, server_address)
    else {
        return;
    };
    let key = ObjectKey::new(resource, namespace.as_deref(), &name);
    let Some(old) = shared.store.get(&key).cloned() else {
        return;
    };
    let mut changed = old.clone();
    (write.change)(&mut changed);
    managed_fields::record_update(
        Some(&old),
        &mut changed,
        "concurrent-writer",
        &resource.api_version(),
    );
    let resource_version = shared.store.next_resource_version();
    if let Some(Value::Object(metadata)) = changed.get_mut("metadata") {
        metadata.insert("resourceVersion".into(), Value::String(resource_version));
    }
    shared.store.insert(key, changed);
}

fn authorized(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value == format!("Bearer {TOKEN}"))
}

/// An object as the API server answers a client that asks for its metadata only (`Accept:
/// application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`): no data travels.
fn partial_object_metadata(object: &Value) -> Value {
    serde_json::json!({
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadata",
        "metadata": object.get("metadata").cloned().unwrap_or(Value::Null),
    })
}

/// Serves one request.
pub async fn handle(
    state: SharedState,
    server_address: String,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    let header = |name: hyper::header::HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let content_type = header(hyper::header::CONTENT_TYPE);
    let user_agent = header(hyper::header::USER_AGENT);
    let metadata_only = header(hyper::header::ACCEPT).contains("as=PartialObjectMetadata");
    let is_authorized = authorized(&request);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let raw_query = request.uri().query().unwrap_or_default().to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let hold = lock(&state)
        .faults
        .take_hold(method.as_str(), &path, &raw_query);
    if let Some(hold) = hold {
        // The test may be gone (it failed); then there is no one to wait for.
        let _ = hold.arrived.send(());
        let _ = hold.open.await;
    }
    let incoming = ReadRequest {
        method: method.clone(),
        path: path.clone(),
        query: parse_query(&raw_query),
        body,
        content_type,
        user_agent,
    };
    let mut shared = lock(&state);
    let mut record = RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: raw_query,
        status: None,
        metadata_only,
    };
    let response = match shared.faults.take(method.as_str(), &path) {
        Some(FaultResponse::DropConnection) => {
            shared.log.push(record);
            return Err(DroppedConnection);
        }
        Some(FaultResponse::TooManyRequests {
            retry_after_seconds,
        }) => error_response(&status::too_many_requests(retry_after_seconds)),
        Some(FaultResponse::InternalError) => error_response(&status::internal_error(
            "an injected fault: etcdserver: request timed out",
        )),
        None if !is_authorized => error_response(&status::unauthorized()),
        None => match dispatch(&mut shared, &incoming, &server_address) {
            Ok(reply) => {
                if method == Method::GET {
                    run_concurrent_write(&mut shared, &path, &server_address);
                }
                if metadata_only && method == Method::GET {
                    json_response(reply.code, &partial_object_metadata(&reply.body), None)
                } else {
                    json_response(reply.code, &reply.body, None)
                }
            }
            Err(error) => error_response(&error),
        },
    };
    record.status = Some(response.status().as_u16());
    shared.log.push(record);
    Ok(response)
}

/// Serves every connection accepted on `listener` until the task is aborted.
pub async fn serve(listener: tokio::net::TcpListener, state: SharedState, server_address: String) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        let server_address = server_address.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                handle(state.clone(), server_address.clone(), request)
            });
            // A dropped connection ends here with the service's error: nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}
