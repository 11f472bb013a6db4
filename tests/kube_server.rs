//! The in-memory API server of `tests/support/kube_server`, driven by the real kube-rs client
//! configured from the generated kubeconfig only: every hosted kind through create, get, list,
//! replace and delete; the error statuses of the real server; server-side apply ownership; the
//! fault switches and the request log.

use std::collections::BTreeMap;
use std::fmt::Debug;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::Status;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::support::kube_server::{Fault, KubeServer};

fn metadata(name: &str, namespace: Option<&str>, labels: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: (!labels.is_empty()).then(|| {
            labels
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect()
        }),
        ..ObjectMeta::default()
    }
}

fn config_map(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: metadata(name, Some("kube-system"), labels),
        data: Some(
            data.iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        ),
        ..ConfigMap::default()
    }
}

fn rules(verb: &str) -> Vec<PolicyRule> {
    vec![PolicyRule {
        api_groups: Some(vec![String::new()]),
        resources: Some(vec!["pods".to_owned()]),
        verbs: vec![verb.to_owned()],
        ..PolicyRule::default()
    }]
}

fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef {
        api_group: Some("rbac.authorization.k8s.io".to_owned()),
        kind: kind.to_owned(),
        name: name.to_owned(),
    }
}

fn user(name: &str) -> Subject {
    Subject {
        kind: "User".to_owned(),
        name: name.to_owned(),
        ..Subject::default()
    }
}

/// The API status of a failed call; panics on success or on a non-API error.
fn api_status<T: Debug>(result: Result<T, kube::Error>) -> Box<Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected an API error status, got {other:?}"),
    }
}

fn names<K: kube::Resource>(items: &[K]) -> Vec<String> {
    items
        .iter()
        .map(|item| item.meta().name.clone().unwrap_or_default())
        .collect()
}

/// Create, get, list by label, replace (changing a label) and delete one object of kind `K`.
async fn round_trip<K>(
    api: Api<K>,
    object: K,
    change: impl Fn(&mut K),
    deleted_returns_object: bool,
) where
    K: kube::Resource + Clone + Debug + Serialize + DeserializeOwned,
{
    let name = object.meta().name.clone().unwrap_or_default();
    let created = api
        .create(&PostParams::default(), &object)
        .await
        .expect("create");
    let version = created
        .meta()
        .resource_version
        .clone()
        .expect("resourceVersion");
    assert!(created.meta().uid.is_some() && created.meta().creation_timestamp.is_some());
    let fetched = api.get(&name).await.expect("get");
    assert_eq!(
        fetched.meta().resource_version.as_deref(),
        Some(version.as_str())
    );
    let listed = api
        .list(&ListParams::default().labels("suite=round-trip"))
        .await
        .expect("list");
    assert_eq!(names(&listed.items), std::slice::from_ref(&name));
    assert!(
        api.list(&ListParams::default().labels("suite!=round-trip"))
            .await
            .expect("list")
            .items
            .iter()
            .all(|item| item.meta().name.as_deref() != Some(name.as_str()))
    );
    let mut changed = fetched.clone();
    change(&mut changed);
    let replaced = api
        .replace(&name, &PostParams::default(), &changed)
        .await
        .expect("replace");
    let new_version = replaced
        .meta()
        .resource_version
        .clone()
        .expect("resourceVersion");
    assert_ne!(new_version, version, "a change gets a new resourceVersion");
    assert!(
        new_version.parse::<u64>().expect("numeric") > version.parse::<u64>().expect("numeric")
    );
    let deleted = api
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    assert_eq!(deleted.is_left(), deleted_returns_object, "{deleted:?}");
    let status = api_status(api.get(&name).await);
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
}

fn labelled<K: kube::Resource>(mut object: K) -> K {
    object.meta_mut().labels = Some(BTreeMap::from([(
        "suite".to_owned(),
        "round-trip".to_owned(),
    )]));
    object
}

fn relabel<K: kube::Resource>(object: &mut K) {
    object
        .meta_mut()
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert("changed".to_owned(), "yes".to_owned());
}

#[tokio::test]
async fn every_hosted_kind_round_trips() {
    let server = KubeServer::start().await;
    let client = server.client().await;
    round_trip(
        Api::<Namespace>::all(client.clone()),
        labelled(Namespace {
            metadata: metadata("team-a", None, &[]),
            ..Namespace::default()
        }),
        relabel,
        true,
    )
    .await;
    round_trip(
        Api::<ConfigMap>::namespaced(client.clone(), "kube-system"),
        labelled(config_map("aws-auth", &[], &[("mapRoles", "[]")])),
        relabel,
        false,
    )
    .await;
    round_trip(
        Api::<ServiceAccount>::namespaced(client.clone(), "default"),
        labelled(ServiceAccount {
            metadata: metadata("deployer", None, &[]),
            ..ServiceAccount::default()
        }),
        relabel,
        true,
    )
    .await;
    round_trip(
        Api::<ClusterRole>::all(client.clone()),
        labelled(ClusterRole {
            metadata: metadata("pod-reader", None, &[]),
            rules: Some(rules("get")),
            ..ClusterRole::default()
        }),
        |role| role.rules = Some(rules("list")),
        false,
    )
    .await;
    round_trip(
        Api::<ClusterRoleBinding>::all(client.clone()),
        labelled(ClusterRoleBinding {
            metadata: metadata("system:readers", None, &[]),
            role_ref: role_ref("ClusterRole", "view"),
            subjects: Some(vec![user("alice")]),
        }),
        |binding| binding.subjects = Some(vec![user("bob")]),
        false,
    )
    .await;
    round_trip(
        Api::<Role>::namespaced(client.clone(), "default"),
        labelled(Role {
            metadata: metadata("deployer", None, &[]),
            rules: Some(rules("get")),
        }),
        |role| role.rules = Some(rules("create")),
        false,
    )
    .await;
    round_trip(
        Api::<RoleBinding>::namespaced(client, "default"),
        labelled(RoleBinding {
            metadata: metadata("deployer", None, &[]),
            role_ref: role_ref("Role", "deployer"),
            subjects: Some(vec![user("alice")]),
        }),
        relabel,
        false,
    )
    .await;
}

#[tokio::test]
async fn delete_answers_like_the_real_registry() {
    let server = KubeServer::start().await;
    let created = server.seed(&config_map("aws-auth", &[], &[]));
    let api = Api::<ConfigMap>::namespaced(server.client().await, "kube-system");
    let deleted = api
        .delete("aws-auth", &DeleteParams::default())
        .await
        .expect("delete");
    let status = deleted
        .right()
        .expect("a ConfigMap delete answers with a Status");
    let details = status.details.expect("details");
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("aws-auth", "configmaps")
    );
    assert_eq!(
        details.uid,
        created["metadata"]["uid"].as_str().unwrap_or_default()
    );
    assert!(
        server
            .raw_object::<ConfigMap>(Some("kube-system"), "aws-auth")
            .is_none()
    );

    let namespace = Api::<Namespace>::all(server.client().await);
    let terminating = namespace
        .delete("default", &DeleteParams::default())
        .await
        .expect("delete namespace");
    let terminating = terminating
        .left()
        .expect("a Namespace delete answers with the namespace");
    assert_eq!(
        terminating
            .status
            .and_then(|status| status.phase)
            .as_deref(),
        Some("Terminating")
    );
}

#[tokio::test]
async fn list_filters_by_label_and_field_selectors() {
    let server = KubeServer::start().await;
    server.seed(&config_map("a", &[("app", "web"), ("tier", "front")], &[]));
    server.seed(&config_map("b", &[("app", "api")], &[]));
    server.seed(&config_map("c", &[], &[]));
    let api = Api::<ConfigMap>::namespaced(server.client().await, "kube-system");
    let select = |labels: &'static str| {
        let api = api.clone();
        async move {
            names(
                &api.list(&ListParams::default().labels(labels))
                    .await
                    .expect("list")
                    .items,
            )
        }
    };
    assert_eq!(select("app=web").await, ["a"]);
    assert_eq!(select("app!=web").await, ["b", "c"]);
    assert_eq!(select("app in (web,api)").await, ["a", "b"]);
    assert_eq!(select("app notin (web)").await, ["b", "c"]);
    assert_eq!(select("app").await, ["a", "b"]);
    assert_eq!(select("!app").await, ["c"]);
    assert_eq!(select("app,tier=front").await, ["a"]);
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=b"))
        .await
        .expect("list");
    assert_eq!(names(&by_name.items), ["b"]);
    let list_version = by_name
        .metadata
        .resource_version
        .expect("list resourceVersion");
    assert!(list_version.parse::<u64>().is_ok());
    let status = api_status(api.list(&ListParams::default().fields("data.x=y")).await);
    assert_eq!((status.code, status.reason.as_str()), (400, "BadRequest"));
    let everywhere = Api::<ConfigMap>::all(server.client().await)
        .list(&ListParams::default())
        .await
        .expect("list");
    assert_eq!(names(&everywhere.items), ["a", "b", "c"]);
}

#[tokio::test]
async fn list_body_has_the_list_kind_and_no_kind_on_items() {
    let server = KubeServer::start().await;
    server.seed(&config_map("aws-auth", &[], &[]));
    let client = server.client().await;
    let request = http::Request::get("/api/v1/namespaces/kube-system/configmaps")
        .body(Vec::new())
        .expect("request");
    let list: Value = client.request(request).await.expect("raw list");
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["apiVersion"], "v1");
    assert!(list["metadata"]["resourceVersion"].is_string());
    assert_eq!(list["items"][0]["metadata"]["name"], "aws-auth");
    assert!(list["items"][0].get("kind").is_none());
}

#[tokio::test]
async fn errors_carry_the_real_status_bodies() {
    let server = KubeServer::start().await;
    let client = server.client().await;
    let api = Api::<ConfigMap>::namespaced(client.clone(), "kube-system");
    let missing = api_status(api.get("aws-auth").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, r#"configmaps "aws-auth" not found"#);
    let details = missing.details.expect("details");
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("aws-auth", "configmaps")
    );

    api.create(&PostParams::default(), &config_map("aws-auth", &[], &[]))
        .await
        .expect("create");
    let exists = api_status(
        api.create(&PostParams::default(), &config_map("aws-auth", &[], &[]))
            .await,
    );
    assert_eq!(
        (exists.code, exists.reason.as_str()),
        (409, "AlreadyExists")
    );
    assert_eq!(exists.message, r#"configmaps "aws-auth" already exists"#);

    let mut stale = api.get("aws-auth").await.expect("get");
    let mut fresh = stale.clone();
    fresh.data = Some(BTreeMap::from([("mapUsers".to_owned(), "[]".to_owned())]));
    api.replace("aws-auth", &PostParams::default(), &fresh)
        .await
        .expect("first writer wins");
    stale.data = Some(BTreeMap::from([("mapRoles".to_owned(), "[]".to_owned())]));
    let conflict = api_status(
        api.replace("aws-auth", &PostParams::default(), &stale)
            .await,
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        conflict.message,
        r#"Operation cannot be fulfilled on configmaps "aws-auth": the object has been modified; please apply your changes to the latest version and try again"#
    );

    let elsewhere = Api::<ConfigMap>::namespaced(client.clone(), "nowhere");
    let mut orphan = config_map("x", &[], &[]);
    orphan.metadata.namespace = None;
    let no_namespace = api_status(elsewhere.create(&PostParams::default(), &orphan).await);
    assert_eq!(
        (no_namespace.code, no_namespace.message.as_str()),
        (404, r#"namespaces "nowhere" not found"#)
    );

    let invalid = api_status(
        api.create(&PostParams::default(), &config_map("Bad_Name", &[], &[]))
            .await,
    );
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    assert!(
        invalid.message.starts_with(
            r#"ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain"#
        ),
        "{}",
        invalid.message
    );
    let cause = &invalid.details.expect("details").causes[0];
    assert_eq!(
        (cause.reason.as_str(), cause.field.as_str()),
        ("FieldValueInvalid", "metadata.name")
    );

    let roles = Api::<ClusterRole>::all(client);
    let bad_role = ClusterRole {
        metadata: metadata("a/b", None, &[]),
        ..ClusterRole::default()
    };
    let invalid = api_status(roles.create(&PostParams::default(), &bad_role).await);
    assert_eq!(
        invalid.message,
        r#"ClusterRole.rbac.authorization.k8s.io "a/b" is invalid: metadata.name: Invalid value: "a/b": may not contain '/'"#
    );
}

#[tokio::test]
async fn changing_a_role_ref_is_invalid() {
    let server = KubeServer::start().await;
    let client = server.client().await;
    let bindings = Api::<RoleBinding>::namespaced(client.clone(), "default");
    let binding = RoleBinding {
        metadata: metadata("readers", None, &[]),
        role_ref: role_ref("ClusterRole", "view"),
        subjects: Some(vec![user("alice")]),
    };
    let mut created = bindings
        .create(&PostParams::default(), &binding)
        .await
        .expect("create");
    assert_eq!(
        created
            .subjects
            .as_ref()
            .and_then(|subjects| subjects[0].api_group.clone())
            .as_deref(),
        Some("rbac.authorization.k8s.io"),
        "User subjects are defaulted to the RBAC group"
    );
    created.role_ref.name = "edit".to_owned();
    let invalid = api_status(
        bindings
            .replace("readers", &PostParams::default(), &created)
            .await,
    );
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        invalid.message,
        r#"RoleBinding.rbac.authorization.k8s.io "readers" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: cannot change roleRef"#
    );
    let details = invalid.details.expect("details");
    assert_eq!(
        (details.kind.as_str(), details.group.as_str()),
        ("RoleBinding", "rbac.authorization.k8s.io")
    );
    assert_eq!(details.causes[0].field, "roleRef");

    let cluster_bindings = Api::<ClusterRoleBinding>::all(client);
    cluster_bindings
        .create(
            &PostParams::default(),
            &ClusterRoleBinding {
                metadata: metadata("admins", None, &[]),
                role_ref: role_ref("ClusterRole", "admin"),
                subjects: None,
            },
        )
        .await
        .expect("create");
    let patch = json!({"roleRef": {"name": "cluster-admin"}});
    let invalid = api_status(
        cluster_bindings
            .patch("admins", &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    );
    assert_eq!(
        (
            invalid.code,
            invalid.details.expect("details").causes[0]
                .message
                .ends_with("cannot change roleRef")
        ),
        (422, true)
    );
}

fn managed_fields(server: &KubeServer, name: &str) -> Vec<Value> {
    let object = server
        .raw_object::<ConfigMap>(Some("kube-system"), name)
        .expect("stored");
    object["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn owners(entries: &[Value]) -> Vec<(String, String, Value)> {
    entries
        .iter()
        .map(|entry| {
            (
                entry["manager"].as_str().unwrap_or_default().to_owned(),
                entry["operation"].as_str().unwrap_or_default().to_owned(),
                entry["fieldsV1"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn server_side_apply_tracks_owners_and_conflicts() {
    let server = KubeServer::start().await;
    let api = Api::<ConfigMap>::namespaced(server.client().await, "kube-system");
    let ours = PatchParams::apply("accessctl");
    let mut applied = config_map(
        "aws-auth",
        &[("app", "accessctl")],
        &[("mapRoles", "- a"), ("mapUsers", "- u")],
    );
    applied.metadata.namespace = None;
    let created = api
        .patch("aws-auth", &ours, &Patch::Apply(&applied))
        .await
        .expect("apply creates");
    assert_eq!(created.data.as_ref().map(BTreeMap::len), Some(2));
    assert_eq!(
        owners(&managed_fields(&server, "aws-auth")),
        [(
            "accessctl".to_owned(),
            "Apply".to_owned(),
            json!({"f:data": {"f:mapRoles": {}, "f:mapUsers": {}}, "f:metadata": {"f:labels": {"f:app": {}}}})
        )]
    );
    let first_version = created.metadata.resource_version.clone();

    // Applying the same configuration again changes nothing.
    let same = api
        .patch("aws-auth", &ours, &Patch::Apply(&applied))
        .await
        .expect("re-apply");
    assert_eq!(same.metadata.resource_version, first_version);

    // The same manager stops applying mapUsers: nobody else owns it, so it goes.
    let narrower = config_map("aws-auth", &[("app", "accessctl")], &[("mapRoles", "- b")]);
    let updated = api
        .patch("aws-auth", &ours, &Patch::Apply(&narrower))
        .await
        .expect("apply update");
    assert_eq!(
        updated.data,
        Some(BTreeMap::from([("mapRoles".to_owned(), "- b".to_owned())]))
    );

    // Another manager applying a different value conflicts with the owner.
    let theirs = config_map("aws-auth", &[], &[("mapRoles", "- c")]);
    let conflict = api_status(
        api.patch(
            "aws-auth",
            &PatchParams::apply("eksctl"),
            &Patch::Apply(&theirs),
        )
        .await,
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        conflict.message,
        r#"Apply failed with 1 conflict: conflict with "accessctl": .data.mapRoles"#
    );
    let cause = &conflict.details.expect("details").causes[0];
    assert_eq!(
        (
            cause.reason.as_str(),
            cause.message.as_str(),
            cause.field.as_str()
        ),
        (
            "FieldManagerConflict",
            r#"conflict with "accessctl""#,
            ".data.mapRoles"
        )
    );

    // Forced, the other manager takes the field over.
    let forced = api
        .patch(
            "aws-auth",
            &PatchParams::apply("eksctl").force(),
            &Patch::Apply(&theirs),
        )
        .await
        .expect("forced apply");
    assert_eq!(
        forced.data,
        Some(BTreeMap::from([("mapRoles".to_owned(), "- c".to_owned())]))
    );
    assert_eq!(
        owners(&managed_fields(&server, "aws-auth")),
        [
            (
                "accessctl".to_owned(),
                "Apply".to_owned(),
                json!({"f:metadata": {"f:labels": {"f:app": {}}}})
            ),
            (
                "eksctl".to_owned(),
                "Apply".to_owned(),
                json!({"f:data": {"f:mapRoles": {}}})
            ),
        ]
    );

    // An Update (merge patch) by a third manager takes the field over without a conflict.
    let patch = json!({"data": {"mapRoles": "- d"}});
    api.patch(
        "aws-auth",
        &PatchParams {
            field_manager: Some("kubectl-edit".to_owned()),
            ..PatchParams::default()
        },
        &Patch::Merge(&patch),
    )
    .await
    .expect("merge patch");
    let entries = owners(&managed_fields(&server, "aws-auth"));
    assert!(
        entries.contains(&(
            "kubectl-edit".to_owned(),
            "Update".to_owned(),
            json!({"f:data": {"f:mapRoles": {}}})
        )),
        "{entries:?}"
    );
    let conflict = api_status(
        api.patch(
            "aws-auth",
            &PatchParams::apply("eksctl"),
            &Patch::Apply(&theirs),
        )
        .await,
    );
    assert_eq!(
        conflict.message,
        r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.mapRoles"#
    );
}

#[tokio::test]
async fn apply_needs_a_field_manager_and_the_namespace() {
    let server = KubeServer::start().await;
    let client = server.client().await;
    let api = Api::<ConfigMap>::namespaced(client.clone(), "kube-system");
    let status = api_status(
        api.patch(
            "aws-auth",
            &PatchParams::default(),
            &Patch::Apply(&config_map("aws-auth", &[], &[])),
        )
        .await,
    );
    assert_eq!(
        (status.code, status.message.as_str()),
        (
            422,
            r#"PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch"#
        )
    );
    let elsewhere = Api::<ConfigMap>::namespaced(client, "nowhere");
    let mut orphan = config_map("x", &[], &[]);
    orphan.metadata.namespace = None;
    let status = api_status(
        elsewhere
            .patch(
                "x",
                &PatchParams::apply("accessctl"),
                &Patch::Apply(&orphan),
            )
            .await,
    );
    assert_eq!(
        (status.code, status.message.as_str()),
        (404, r#"namespaces "nowhere" not found"#)
    );
}

#[tokio::test]
async fn merge_strategic_and_json_patches() {
    let server = KubeServer::start().await;
    server.seed(&config_map(
        "aws-auth",
        &[("app", "x")],
        &[("mapRoles", "a"), ("mapUsers", "b")],
    ));
    let client = server.client().await;
    let api = Api::<ConfigMap>::namespaced(client.clone(), "kube-system");
    let merged = api
        .patch(
            "aws-auth",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"mapUsers": null, "mapAccounts": "c"}})),
        )
        .await
        .expect("merge patch");
    let keys: Vec<String> = merged.data.unwrap_or_default().into_keys().collect();
    assert_eq!(keys, ["mapAccounts", "mapRoles"]);
    let strategic = api
        .patch(
            "aws-auth",
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"labels": {"team": "a"}}})),
        )
        .await
        .expect("strategic patch");
    assert_eq!(
        strategic.metadata.labels.map(|labels| labels.len()),
        Some(2)
    );

    let body = serde_json::to_vec(&json!([
        {"op": "test", "path": "/data/mapRoles", "value": "a"},
        {"op": "replace", "path": "/data/mapRoles", "value": "z"},
    ]))
    .expect("patch body");
    let request = http::Request::patch("/api/v1/namespaces/kube-system/configmaps/aws-auth")
        .header("content-type", "application/json-patch+json")
        .body(body)
        .expect("request");
    let patched: ConfigMap = client.request(request).await.expect("json patch");
    assert_eq!(
        patched
            .data
            .and_then(|data| data.get("mapRoles").cloned())
            .as_deref(),
        Some("z")
    );

    // A patch carrying an old resourceVersion is an optimistic-concurrency precondition.
    let stale = json!({"metadata": {"resourceVersion": "1"}, "data": {"mapRoles": "y"}});
    let conflict = api_status(
        api.patch("aws-auth", &PatchParams::default(), &Patch::Merge(&stale))
            .await,
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
}

#[tokio::test]
async fn too_many_requests_is_retried_by_the_client() {
    let server = KubeServer::start().await;
    server.seed(&config_map("aws-auth", &[], &[]));
    server.inject(
        Fault::too_many_requests(2)
            .retry_after(0)
            .method("GET")
            .path_contains("/configmaps/aws-auth"),
    );
    server.clear_requests();
    let api = Api::<ConfigMap>::namespaced(server.client().await, "kube-system");
    api.get("aws-auth").await.expect("third try succeeds");
    let statuses: Vec<Option<u16>> = server
        .requests()
        .iter()
        .map(|request| request.status)
        .collect();
    assert_eq!(statuses, [Some(429), Some(429), Some(200)]);
}

#[tokio::test]
async fn too_many_requests_without_retries_surfaces_the_status() {
    let server = KubeServer::start().await;
    server.inject(Fault::too_many_requests(1));
    let mut config = server.client_config().await;
    config.default_retry = false;
    let client = kube::Client::try_from(config).expect("client");
    let status = api_status(
        Api::<ConfigMap>::namespaced(client, "kube-system")
            .get("aws-auth")
            .await,
    );
    assert_eq!(
        (status.code, status.reason.as_str()),
        (429, "TooManyRequests")
    );
    assert_eq!(
        status.details.map(|details| details.retry_after_seconds),
        Some(1)
    );
}

#[tokio::test]
async fn internal_errors_and_dropped_connections_surface_as_errors() {
    let server = KubeServer::start().await;
    server.seed(&config_map("aws-auth", &[], &[]));
    let api = Api::<ConfigMap>::namespaced(server.client().await, "kube-system");
    server.inject(Fault::internal_error(1).method("GET"));
    let status = api_status(api.get("aws-auth").await);
    assert_eq!(
        (status.code, status.reason.as_str()),
        (500, "InternalError")
    );
    assert!(
        status.message.starts_with("Internal error occurred: "),
        "{}",
        status.message
    );

    server.inject(Fault::drop_connection(1).path_contains("aws-auth"));
    let dropped = api.get("aws-auth").await;
    assert!(
        matches!(dropped, Err(ref error) if !matches!(error, kube::Error::Api(_))),
        "{dropped:?}"
    );
    assert_eq!(
        server.requests().last().map(|request| request.status),
        Some(None)
    );
    api.get("aws-auth").await.expect("the fault was used up");
}

#[tokio::test]
async fn a_concurrent_write_after_get_makes_the_update_conflict() {
    let server = KubeServer::start().await;
    server.seed(&config_map("aws-auth", &[], &[("mapRoles", "a")]));
    server.inject_concurrent_write::<ConfigMap>(Some("kube-system"), "aws-auth", |object| {
        object["data"]["mapUsers"] = json!("someone else");
    });
    let api = Api::<ConfigMap>::namespaced(server.client().await, "kube-system");
    let mut read = api.get("aws-auth").await.expect("get");
    read.data
        .get_or_insert_with(BTreeMap::new)
        .insert("mapRoles".to_owned(), "b".to_owned());
    let conflict = api_status(api.replace("aws-auth", &PostParams::default(), &read).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    let stored: ConfigMap = server
        .object(Some("kube-system"), "aws-auth")
        .expect("stored");
    assert_eq!(
        stored
            .data
            .and_then(|data| data.get("mapUsers").cloned())
            .as_deref(),
        Some("someone else")
    );
    // Read again, the update goes through.
    let mut reread = api.get("aws-auth").await.expect("get");
    reread
        .data
        .get_or_insert_with(BTreeMap::new)
        .insert("mapRoles".to_owned(), "b".to_owned());
    api.replace("aws-auth", &PostParams::default(), &reread)
        .await
        .expect("replace after re-read");
}

#[tokio::test]
async fn a_held_request_is_served_only_once_its_gate_opens() {
    let server = KubeServer::start().await;
    let path = "/api/v1/namespaces/kube-system/configmaps/held";
    let mut gate = server.hold("GET", path);
    let api = Api::<ConfigMap>::namespaced(server.client().await, "kube-system");
    let get = tokio::spawn(async move { api.get("held").await });
    gate.arrived().await;
    // Held: not answered, not logged, and served with what is stored when the gate opens (the
    // ConfigMap did not exist when the request arrived).
    assert!(!get.is_finished());
    assert_eq!(server.count("GET", path), 0);
    server.seed(&config_map("held", &[], &[("key", "created while held")]));
    gate.open();
    let held = get.await.expect("task").expect("get after the gate opened");
    assert_eq!(
        held.data.unwrap_or_default().get("key").map(String::as_str),
        Some("created while held")
    );
    assert_eq!(server.count("GET", path), 1);
}

#[tokio::test]
async fn requests_are_logged_for_counting() {
    let server = KubeServer::start().await;
    server.seed(&config_map("aws-auth", &[], &[]));
    let client = server.client().await;
    Api::<ConfigMap>::all(client.clone())
        .list(&ListParams::default().labels("app=x"))
        .await
        .expect("list");
    Api::<ClusterRole>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list");
    Api::<ClusterRoleBinding>::all(client)
        .list(&ListParams::default())
        .await
        .expect("list");
    assert_eq!(server.count("GET", "/api/v1/configmaps"), 1);
    assert_eq!(
        server.count("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles"),
        1
    );
    assert_eq!(
        server.count(
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
        ),
        1
    );
    let first = &server.requests()[0];
    assert_eq!(first.method, "GET");
    assert!(
        first
            .query
            .split('&')
            .any(|pair| pair == "labelSelector=app%3Dx"),
        "{first:?}"
    );
}

#[tokio::test]
async fn discovery_and_the_kubeconfig() {
    let server = KubeServer::start().await;
    let kubeconfig = std::fs::read_to_string(server.kubeconfig_path()).expect("kubeconfig");
    assert!(kubeconfig.contains(&format!("server: {}", server.url())));
    let client = server.client().await;
    assert_eq!(
        client.apiserver_version().await.expect("version").major,
        "1"
    );
    let core = client
        .list_core_api_resources("v1")
        .await
        .expect("core resources");
    let core_names: Vec<&str> = core
        .resources
        .iter()
        .map(|resource| resource.name.as_str())
        .collect();
    assert_eq!(
        core_names,
        ["namespaces", "secrets", "configmaps", "serviceaccounts"]
    );
    let groups = client.list_api_groups().await.expect("groups");
    assert_eq!(groups.groups[0].name, "rbac.authorization.k8s.io");
    let rbac = client
        .list_api_group_resources("rbac.authorization.k8s.io/v1")
        .await
        .expect("rbac resources");
    assert_eq!(rbac.resources.len(), 4);
    let dump = server.dump();
    assert!(
        dump.contains_key("namespaces/kube-system"),
        "{:?}",
        dump.keys()
    );
}
