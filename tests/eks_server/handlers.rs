//! Routing and the operations: each handler reads the request as EKS documents it and answers
//! with EKS's JSON or error.

use std::collections::BTreeMap;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::{ACCOUNT, Association, Cluster, Entry, Shared, SharedState, lock, visibility};

/// The access policies EKS offers, after `arn:PARTITION` (a subset is enough: the prefix is
/// what is checked).
const POLICY_RESOURCE: &str = ":eks::aws:cluster-access-policy/";
/// The access policy EKS associates with the cluster creator's entry.
const CLUSTER_ADMIN_POLICY: &str = "AmazonEKSClusterAdminPolicy";
/// Kubernetes group prefixes EKS refuses in a STANDARD access entry.
const RESERVED_GROUP_PREFIXES: [&str; 5] = ["system:", "eks:", "aws:", "amazon:", "iam:"];

/// An EKS error: its type (header and `__type`) and status.
pub struct Failure {
    kind: &'static str,
    status: u16,
    message: String,
}

pub(super) fn not_found(message: impl Into<String>) -> Failure {
    Failure {
        kind: "ResourceNotFoundException",
        status: 404,
        message: message.into(),
    }
}

fn in_use(message: impl Into<String>) -> Failure {
    Failure {
        kind: "ResourceInUseException",
        status: 409,
        message: message.into(),
    }
}

pub(super) fn invalid_parameter(message: impl Into<String>) -> Failure {
    Failure {
        kind: "InvalidParameterException",
        status: 400,
        message: message.into(),
    }
}

fn invalid_request(message: impl Into<String>) -> Failure {
    Failure {
        kind: "InvalidRequestException",
        status: 400,
        message: message.into(),
    }
}

/// A tagging error: TagResource and UntagResource list only `BadRequestException` and
/// `NotFoundException` in the EKS API model.
fn tagging_bad_request(message: impl Into<String>) -> Failure {
    Failure {
        kind: "BadRequestException",
        status: 400,
        message: message.into(),
    }
}

fn tagging_not_found(message: impl Into<String>) -> Failure {
    Failure {
        kind: "NotFoundException",
        status: 404,
        message: message.into(),
    }
}

type Answer = Result<Value, Failure>;

/// The partition of a region: `cn-…` is `aws-cn`, `us-gov-…` is `aws-us-gov`.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The username EKS generates for an entry created without one (EKS User Guide, "Set a custom
/// username", "Create access entries"): a user's ARN; for a role, the session ARN of its
/// partition and account without the role's path; `system:node:` forms for nodes.
pub fn generated_username(principal: &str, kind: &str) -> String {
    match kind {
        "EC2_LINUX" | "EC2_WINDOWS" => return "system:node:{{EC2PrivateDNSName}}".to_string(),
        "FARGATE_LINUX" | "HYBRID_LINUX" => return "system:node:{{SessionName}}".to_string(),
        _ => {}
    }
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource] if resource.starts_with("role/") => {
            let name = resource.rsplit('/').next().unwrap_or_default();
            format!("arn:{partition}:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}")
        }
        _ => principal.to_string(),
    }
}

/// The creator's entry EKS makes with a cluster in an access-entry mode: `STANDARD`, untagged,
/// `AmazonEKSClusterAdminPolicy` on the cluster.
pub fn bootstrap_creator(shared: &mut Shared, name: &str, creator: &str) {
    let created_at = tick(shared);
    let Some(cluster) = shared.clusters.get_mut(name) else {
        return;
    };
    cluster.creator = Some(creator.to_string());
    if api_mode(cluster).is_err() {
        return;
    }
    let partition = partition_of_region(&cluster.region);
    let entry = Entry {
        principal_arn: creator.to_string(),
        kind: "STANDARD".to_string(),
        username: Some(generated_username(creator, "STANDARD")),
        groups: Vec::new(),
        tags: BTreeMap::new(),
        policies: BTreeMap::from([(
            format!("arn:{partition}{POLICY_RESOURCE}{CLUSTER_ADMIN_POLICY}"),
            json!({"type": "cluster", "namespaces": []}),
        )]),
        arn: format!(
            "arn:{partition}:eks:{}:{ACCOUNT}:access-entry/{name}/{created_at}",
            cluster.region
        ),
        created_at,
    };
    cluster.entries.insert(creator.to_string(), entry);
}

/// The throttling mode's answer to the request just counted, if it is one to throttle.
fn throttled(shared: &mut Shared) -> Option<Failure> {
    let throttle = &mut shared.throttle;
    if throttle.every == 0 {
        return None;
    }
    throttle.seen += 1;
    if !throttle.seen.is_multiple_of(throttle.every) {
        return None;
    }
    throttle.throttled += 1;
    Some(Failure {
        kind: "ThrottlingException",
        status: 429,
        message: "Rate exceeded".into(),
    })
}

pub fn tick(shared: &mut Shared) -> u64 {
    shared.clock += 1;
    1_700_000_000 + shared.clock
}

pub async fn serve(listener: tokio::net::TcpListener, state: SharedState) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(state.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// Query parameters; a repeated key (`tagKeys`) keeps every value.
fn query(request: &Request<Incoming>) -> BTreeMap<String, Vec<String>> {
    let mut parameters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in request.uri().query().unwrap_or_default().split('&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        parameters
            .entry(decode(&key.replace('+', " ")))
            .or_default()
            .push(decode(&value.replace('+', " ")));
    }
    parameters
}

async fn handle(
    state: SharedState,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let method = request.method().clone();
    // Labels are percent-encoded whole: split first, then decode each segment.
    let segments: Vec<String> = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(decode)
        .collect();
    let parameters = query(&request);
    let body = request.into_body().collect().await?.to_bytes();
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    // What EKS sees of IAM is asked before the state is locked (it may ask moto).
    let visible = visibility::check(&state, &method, &segments, &body).await;
    let (answer, latency) = {
        let mut shared = lock(&state);
        shared.log.push(format!("{method} /{}", segments.join("/")));
        let answer = if let Some(failure) = throttled(&mut shared) {
            Err(failure)
        } else if body.is_null() {
            Err(invalid_parameter("the request body is not JSON"))
        } else {
            visible
                .and_then(|()| visibility::settled(&shared, &method, &segments))
                .and_then(|()| route(&mut shared, &method, &segments, &parameters, &body))
                .inspect(|_| visibility::record(&mut shared, &method, &segments, &body))
        };
        (answer, shared.latency)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    Ok(match answer {
        Ok(value) => respond(StatusCode::OK, &value, None),
        Err(failure) => respond(
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_REQUEST),
            &json!({"message": failure.message}),
            Some(failure.kind),
        ),
    })
}

fn respond(status: StatusCode, body: &Value, error: Option<&str>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(body).unwrap_or_default(),
    )));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if let Some(kind) = error
        && let Ok(value) = hyper::header::HeaderValue::from_str(kind)
    {
        headers.insert("x-amzn-errortype", value);
    }
    response
}

fn route(
    shared: &mut Shared,
    method: &Method,
    segments: &[String],
    parameters: &BTreeMap<String, Vec<String>>,
    body: &Value,
) -> Answer {
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (method, parts.as_slice()) {
        (&Method::GET, ["clusters", name]) => describe_cluster(shared, name),
        (&Method::POST, ["clusters", name, "access-entries"]) => create_entry(shared, name, body),
        (&Method::GET, ["clusters", name, "access-entries"]) => {
            let cluster = cluster(shared, name)?;
            api_mode(cluster)?;
            let principals: Vec<Value> = cluster.entries.keys().map(|k| json!(k)).collect();
            page(parameters, principals, "accessEntries", Map::new())
        }
        (&Method::GET, ["clusters", name, "access-entries", principal]) => {
            let cluster = cluster(shared, name)?;
            let entry = entry(cluster, principal)?;
            Ok(json!({"accessEntry": entry_json(name, entry)}))
        }
        (&Method::POST, ["clusters", name, "access-entries", principal]) => {
            update_entry(shared, name, principal, body)
        }
        (&Method::DELETE, ["clusters", name, "access-entries", principal]) => {
            let cluster = cluster_mut(shared, name)?;
            api_mode(cluster)?;
            cluster
                .entries
                .remove(*principal)
                .map(|_| json!({}))
                .ok_or_else(|| not_found(format!("The specified access entry resource is not found. principalArn: {principal}")))
        }
        (
            &Method::POST,
            [
                "clusters",
                name,
                "access-entries",
                principal,
                "access-policies",
            ],
        ) => associate(shared, name, principal, body),
        (
            &Method::GET,
            [
                "clusters",
                name,
                "access-entries",
                principal,
                "access-policies",
            ],
        ) => {
            let cluster = cluster(shared, name)?;
            let entry = entry(cluster, principal)?;
            let policies: Vec<Value> = entry
                .policies
                .iter()
                .map(|(arn, scope)| {
                    json!({"policyArn": arn, "accessScope": scope, "associatedAt": entry.created_at, "modifiedAt": entry.created_at})
                })
                .collect();
            let mut extra = Map::new();
            extra.insert("clusterName".into(), json!(name));
            extra.insert("principalArn".into(), json!(principal));
            page(parameters, policies, "associatedAccessPolicies", extra)
        }
        (
            &Method::DELETE,
            [
                "clusters",
                name,
                "access-entries",
                principal,
                "access-policies",
                policy,
            ],
        ) => {
            let cluster = cluster_mut(shared, name)?;
            let entry = cluster.entries.get_mut(*principal).ok_or_else(|| {
                not_found(format!(
                    "The specified access entry resource is not found. principalArn: {principal}"
                ))
            })?;
            entry
                .policies
                .remove(*policy)
                .map(|_| json!({}))
                .ok_or_else(|| not_found(format!("The specified policy {policy} is not associated with principalArn {principal}")))
        }
        (&Method::POST, ["clusters", name, "pod-identity-associations"]) => {
            create_association(shared, name, body)
        }
        (&Method::GET, ["clusters", name, "pod-identity-associations"]) => {
            let cluster = cluster(shared, name)?;
            let wanted = |key: &str| parameters.get(key).and_then(|v| v.first()).cloned();
            let (namespace, account) = (wanted("namespace"), wanted("serviceAccount"));
            let summaries: Vec<Value> = cluster
                .associations
                .values()
                .filter(|a| namespace.as_ref().is_none_or(|n| *n == a.namespace))
                .filter(|a| account.as_ref().is_none_or(|s| *s == a.service_account))
                .map(|a| {
                    json!({"clusterName": name, "namespace": a.namespace, "serviceAccount": a.service_account, "associationArn": a.arn, "associationId": a.id})
                })
                .collect();
            page(parameters, summaries, "associations", Map::new())
        }
        (&Method::GET, ["clusters", name, "pod-identity-associations", id]) => {
            let cluster = cluster(shared, name)?;
            let association = association(cluster, id)?;
            Ok(json!({"association": association_json(name, association)}))
        }
        (&Method::POST, ["clusters", name, "pod-identity-associations", id]) => {
            let cluster = cluster_mut(shared, name)?;
            let partition = partition_of_region(&cluster.region);
            let association = cluster
                .associations
                .get_mut(*id)
                .ok_or_else(|| not_found(format!("Pod identity association {id} not found")))?;
            if let Some(role) = body.get("roleArn").and_then(Value::as_str) {
                role_arn(partition, role)?;
                association.role_arn = role.to_string();
            }
            Ok(json!({"association": association_json(name, association)}))
        }
        (&Method::DELETE, ["clusters", name, "pod-identity-associations", id]) => {
            let cluster = cluster_mut(shared, name)?;
            let association = cluster
                .associations
                .remove(*id)
                .ok_or_else(|| not_found(format!("Pod identity association {id} not found")))?;
            Ok(json!({"association": association_json(name, &association)}))
        }
        (&Method::POST, ["tags", arn]) => tag_resource(shared, arn, body),
        (&Method::DELETE, ["tags", arn]) => {
            let keys = parameters.get("tagKeys").cloned().unwrap_or_default();
            if keys.is_empty() {
                return Err(tagging_bad_request("tagKeys is required"));
            }
            let target = tags_of(shared, arn)?;
            for key in keys {
                target.remove(&key);
            }
            Ok(json!({}))
        }
        _ => Err(not_found(format!(
            "no EKS operation at {method} /{}",
            segments.join("/")
        ))),
    }
}

fn cluster<'a>(shared: &'a Shared, name: &str) -> Result<&'a Cluster, Failure> {
    shared
        .clusters
        .get(name)
        .ok_or_else(|| not_found(format!("No cluster found for name: {name}.")))
}

fn cluster_mut<'a>(shared: &'a mut Shared, name: &str) -> Result<&'a mut Cluster, Failure> {
    shared
        .clusters
        .get_mut(name)
        .ok_or_else(|| not_found(format!("No cluster found for name: {name}.")))
}

fn entry<'a>(cluster: &'a Cluster, principal: &str) -> Result<&'a Entry, Failure> {
    cluster.entries.get(principal).ok_or_else(|| {
        not_found(format!(
            "The specified access entry resource is not found. principalArn: {principal}"
        ))
    })
}

fn association<'a>(cluster: &'a Cluster, id: &str) -> Result<&'a Association, Failure> {
    cluster
        .associations
        .get(id)
        .ok_or_else(|| not_found(format!("Pod identity association {id} not found")))
}

/// Access entries need the API in the cluster's authentication mode.
fn api_mode(cluster: &Cluster) -> Result<(), Failure> {
    match cluster.authentication_mode.as_deref() {
        Some("API" | "API_AND_CONFIG_MAP") => Ok(()),
        _ => Err(invalid_request(
            "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.",
        )),
    }
}

fn describe_cluster(shared: &Shared, name: &str) -> Answer {
    let cluster = cluster(shared, name)?;
    let mut described = json!({
        "name": name,
        "arn": format!(
            "arn:{}:eks:{}:{ACCOUNT}:cluster/{name}",
            partition_of_region(&cluster.region),
            cluster.region
        ),
        "status": "ACTIVE",
        "version": "1.31",
        "createdAt": 1_700_000_000,
    });
    if let Some(issuer) = &cluster.issuer {
        described["identity"] = json!({"oidc": {"issuer": issuer}});
    }
    if let Some(mode) = &cluster.authentication_mode {
        described["accessConfig"] = json!({
            "authenticationMode": mode,
            "bootstrapClusterCreatorAdminPermissions": cluster.creator.is_some(),
        });
    }
    Ok(json!({"cluster": described}))
}

/// A page of `items` under `key`: `maxResults` (1–100, default 100) and an opaque `nextToken`.
fn page(
    parameters: &BTreeMap<String, Vec<String>>,
    items: Vec<Value>,
    key: &str,
    mut extra: Map<String, Value>,
) -> Answer {
    let first = |name: &str| parameters.get(name).and_then(|v| v.first());
    let size = match first("maxResults") {
        None => 100,
        Some(text) => match text.parse::<usize>() {
            Ok(size) if (1..=100).contains(&size) => size,
            _ => {
                return Err(invalid_parameter(format!(
                    "maxResults must be between 1 and 100, got {text}"
                )));
            }
        },
    };
    let start = match first("nextToken") {
        None => 0,
        Some(token) => token
            .strip_prefix("page-")
            .and_then(|offset| offset.parse::<usize>().ok())
            .filter(|offset| *offset <= items.len())
            .ok_or_else(|| invalid_parameter("The nextToken is not valid."))?,
    };
    let end = (start + size).min(items.len());
    extra.insert(key.to_string(), Value::from(items[start..end].to_vec()));
    if end < items.len() {
        extra.insert("nextToken".into(), json!(format!("page-{end}")));
    }
    Ok(Value::Object(extra))
}

fn string_map(value: Option<&Value>) -> Result<BTreeMap<String, String>, Failure> {
    let Some(value) = value else {
        return Ok(BTreeMap::new());
    };
    let object = value
        .as_object()
        .ok_or_else(|| invalid_parameter("tags must be a map"))?;
    object
        .iter()
        .map(|(key, value)| {
            value
                .as_str()
                .map(|v| (key.clone(), v.to_string()))
                .ok_or_else(|| invalid_parameter(format!("tag {key} must be a string")))
        })
        .collect()
}

fn strings(value: Option<&Value>, what: &str) -> Result<Vec<String>, Failure> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid_parameter(format!("{what} must be strings")))
            })
            .collect(),
        Some(_) => Err(invalid_parameter(format!("{what} must be a list"))),
    }
}

/// An IAM user or role of the cluster's partition.
fn principal_arn(partition: &str, text: &str) -> Result<(), Failure> {
    let prefix = format!("arn:{partition}:iam::");
    let iam = text.starts_with(&prefix) && (text.contains(":role/") || text.contains(":user/"));
    if iam {
        Ok(())
    } else {
        Err(invalid_parameter(format!(
            "The principalArn parameter format is not valid: {text}"
        )))
    }
}

fn role_arn(partition: &str, text: &str) -> Result<(), Failure> {
    let prefix = format!("arn:{partition}:iam::");
    if text.starts_with(&prefix) && text.contains(":role/") {
        Ok(())
    } else {
        Err(invalid_parameter(format!("Role ARN {text} is not valid")))
    }
}

fn groups_allowed(kind: &str, groups: &[String]) -> Result<(), Failure> {
    if kind != "STANDARD" && !groups.is_empty() {
        return Err(invalid_parameter(format!(
            "kubernetesGroups cannot be set on an access entry of type {kind}"
        )));
    }
    match groups
        .iter()
        .find(|group| RESERVED_GROUP_PREFIXES.iter().any(|p| group.starts_with(p)))
    {
        Some(group) => Err(invalid_parameter(format!(
            "The kubernetes group name {group} is invalid, it cannot start with system:, eks:, aws:, amazon: or iam:"
        ))),
        None => Ok(()),
    }
}

fn entry_json(cluster: &str, entry: &Entry) -> Value {
    let mut value = json!({
        "clusterName": cluster,
        "principalArn": entry.principal_arn,
        "kubernetesGroups": entry.groups,
        "accessEntryArn": entry.arn,
        "createdAt": entry.created_at,
        "modifiedAt": entry.created_at,
        "tags": entry.tags,
        "type": entry.kind,
    });
    // Stored at creation: the one given, or the one EKS generated.
    if let Some(username) = &entry.username {
        value["username"] = json!(username);
    }
    value
}

fn association_json(cluster: &str, association: &Association) -> Value {
    json!({
        "clusterName": cluster,
        "namespace": association.namespace,
        "serviceAccount": association.service_account,
        "roleArn": association.role_arn,
        "associationArn": association.arn,
        "associationId": association.id,
        "tags": association.tags,
        "createdAt": 1_700_000_000,
        "modifiedAt": 1_700_000_000,
    })
}

fn create_entry(shared: &mut Shared, name: &str, body: &Value) -> Answer {
    let created_at = tick(shared);
    let sequence = {
        shared.sequence += 1;
        shared.sequence
    };
    let cluster = cluster_mut(shared, name)?;
    api_mode(cluster)?;
    let principal = body
        .get("principalArn")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_parameter("principalArn is required"))?;
    principal_arn(partition_of_region(&cluster.region), principal)?;
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("STANDARD")
        .to_string();
    let groups = strings(body.get("kubernetesGroups"), "kubernetesGroups")?;
    groups_allowed(&kind, &groups)?;
    if cluster.entries.contains_key(principal) {
        return Err(in_use(format!(
            "The specified access entry resource is already in use on this cluster. principalArn: {principal}"
        )));
    }
    let username = body
        .get("username")
        .and_then(Value::as_str)
        .map_or_else(|| generated_username(principal, &kind), str::to_string);
    let entry = Entry {
        principal_arn: principal.to_string(),
        kind,
        username: Some(username),
        groups,
        tags: string_map(body.get("tags"))?,
        policies: BTreeMap::new(),
        arn: format!(
            "arn:{}:eks:{}:{ACCOUNT}:access-entry/{name}/{sequence:08}",
            partition_of_region(&cluster.region),
            cluster.region
        ),
        created_at,
    };
    let answer = json!({"accessEntry": entry_json(name, &entry)});
    cluster.entries.insert(principal.to_string(), entry);
    Ok(answer)
}

fn update_entry(shared: &mut Shared, name: &str, principal: &str, body: &Value) -> Answer {
    let cluster = cluster_mut(shared, name)?;
    api_mode(cluster)?;
    let entry = cluster.entries.get_mut(principal).ok_or_else(|| {
        not_found(format!(
            "The specified access entry resource is not found. principalArn: {principal}"
        ))
    })?;
    if body.get("kubernetesGroups").is_some() {
        let groups = strings(body.get("kubernetesGroups"), "kubernetesGroups")?;
        groups_allowed(&entry.kind, &groups)?;
        entry.groups = groups;
    }
    if let Some(username) = body.get("username").and_then(Value::as_str) {
        entry.username = Some(username.to_string());
    }
    Ok(json!({"accessEntry": entry_json(name, entry)}))
}

fn associate(shared: &mut Shared, name: &str, principal: &str, body: &Value) -> Answer {
    let cluster = cluster_mut(shared, name)?;
    api_mode(cluster)?;
    let entry = cluster.entries.get_mut(principal).ok_or_else(|| {
        not_found(format!(
            "The specified access entry resource is not found. principalArn: {principal}"
        ))
    })?;
    let policy = body
        .get("policyArn")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_parameter("policyArn is required"))?;
    let prefix = format!(
        "arn:{}{POLICY_RESOURCE}",
        partition_of_region(&cluster.region)
    );
    if !policy.starts_with(&prefix) {
        return Err(invalid_parameter(format!(
            "The policyArn {policy} is not a valid access policy"
        )));
    }
    if entry.kind != "STANDARD" {
        return Err(invalid_request(format!(
            "Access policies cannot be associated with an access entry of type {}",
            entry.kind
        )));
    }
    let scope = body
        .get("accessScope")
        .ok_or_else(|| invalid_parameter("accessScope is required"))?;
    let namespaces = strings(scope.get("namespaces"), "namespaces")?;
    let scope = match scope.get("type").and_then(Value::as_str) {
        Some("cluster") if namespaces.is_empty() => json!({"type": "cluster", "namespaces": []}),
        Some("namespace") if !namespaces.is_empty() => {
            json!({"type": "namespace", "namespaces": namespaces})
        }
        Some("cluster") => {
            return Err(invalid_parameter(
                "namespaces cannot be specified with an accessScope of type cluster",
            ));
        }
        Some("namespace") => {
            return Err(invalid_parameter(
                "namespaces are required with an accessScope of type namespace",
            ));
        }
        other => {
            return Err(invalid_parameter(format!(
                "accessScope type {other:?} is not valid"
            )));
        }
    };
    entry.policies.insert(policy.to_string(), scope.clone());
    Ok(json!({
        "clusterName": name,
        "principalArn": principal,
        "associatedAccessPolicy": {"policyArn": policy, "accessScope": scope, "associatedAt": entry.created_at, "modifiedAt": entry.created_at},
    }))
}

fn create_association(shared: &mut Shared, name: &str, body: &Value) -> Answer {
    let sequence = {
        shared.sequence += 1;
        shared.sequence
    };
    let cluster = cluster_mut(shared, name)?;
    let field = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| invalid_parameter(format!("{key} is required")))
    };
    let (namespace, service_account, role) = (
        field("namespace")?,
        field("serviceAccount")?,
        field("roleArn")?,
    );
    role_arn(partition_of_region(&cluster.region), &role)?;
    if cluster
        .associations
        .values()
        .any(|a| a.namespace == namespace && a.service_account == service_account)
    {
        return Err(in_use(format!(
            "Association already exists for serviceAccount: {service_account} in namespace: {namespace}"
        )));
    }
    let id = format!("a-{sequence:017}");
    let association = Association {
        arn: format!(
            "arn:{}:eks:{}:{ACCOUNT}:podidentityassociation/{name}/{id}",
            partition_of_region(&cluster.region),
            cluster.region
        ),
        id: id.clone(),
        namespace,
        service_account,
        role_arn: role,
        tags: string_map(body.get("tags"))?,
    };
    let answer = json!({"association": association_json(name, &association)});
    cluster.associations.insert(id, association);
    Ok(answer)
}

fn tags_of<'a>(
    shared: &'a mut Shared,
    arn: &str,
) -> Result<&'a mut BTreeMap<String, String>, Failure> {
    for cluster in shared.clusters.values_mut() {
        if let Some(entry) = cluster.entries.values_mut().find(|e| e.arn == arn) {
            return Ok(&mut entry.tags);
        }
        if let Some(association) = cluster.associations.values_mut().find(|a| a.arn == arn) {
            return Ok(&mut association.tags);
        }
    }
    Err(tagging_not_found(format!("Resource {arn} not found")))
}

/// TagResource: EKS's tag limits (50 tags; keys 1–128 and values up to 256 characters; the
/// `aws:` prefix reserved) answer `BadRequestException`, an unknown ARN `NotFoundException`.
fn tag_resource(shared: &mut Shared, arn: &str, body: &Value) -> Answer {
    let tags =
        string_map(body.get("tags")).map_err(|failure| tagging_bad_request(failure.message))?;
    if tags.is_empty() {
        return Err(tagging_bad_request("tags is required"));
    }
    if let Some(key) = tags
        .keys()
        .find(|key| key.is_empty() || key.len() > 128 || key.to_lowercase().starts_with("aws:"))
    {
        return Err(tagging_bad_request(format!("Tag key {key} is not valid")));
    }
    if let Some((key, _)) = tags.iter().find(|(_, value)| value.len() > 256) {
        return Err(tagging_bad_request(format!(
            "The value of tag {key} is too long"
        )));
    }
    let target = tags_of(shared, arn)?;
    let count = target
        .keys()
        .chain(tags.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if count > 50 {
        return Err(tagging_bad_request(format!(
            "Resource {arn} would have {count} tags; the limit is 50"
        )));
    }
    target.extend(tags);
    Ok(json!({}))
}
