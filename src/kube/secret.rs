//! The Secret an access key is delivered to: written by server-side apply, labelled as
//! accessctl's, annotated with the key id (masked) and its creation time. The secret value
//! passes through here and nowhere else on the cluster side; no error names it. The read-back
//! of which key a Secret holds fetches its metadata only.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams};

use super::FIELD_MANAGER;
use super::{ClusterClient, KubeError, error::KubeErrorKind};
use crate::model::access_key::KEY_ID_ANNOTATION;
use crate::model::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};

/// Creates or updates Secret `namespace/name` with `data`, and the annotations given.
pub async fn write_secret(
    client: &ClusterClient,
    namespace: &str,
    name: &str,
    data: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> Result<(), KubeError> {
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(BTreeMap::from([(
                MANAGED_BY_LABEL.to_string(),
                MANAGED_BY_VALUE.to_string(),
            )])),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_string()),
        data: Some(
            data.into_iter()
                .map(|(key, value)| (key, ByteString(value.into_bytes())))
                .collect(),
        ),
        ..Secret::default()
    };
    let mut body = serde_json::to_value(&secret).map_err(|error| {
        KubeError::new(
            KubeErrorKind::Data,
            format!("Secret {namespace}/{name} could not be written: {error}"),
        )
    })?;
    if let Some(object) = body.as_object_mut() {
        object.insert("apiVersion".into(), "v1".into());
        object.insert("kind".into(), "Secret".into());
    }
    let api: Api<Secret> = Api::namespaced(client.client().clone(), namespace);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let patch = Patch::Apply(&body);
    client
        .call(
            &format!("PATCH (server-side apply) secrets {namespace}/{name}"),
            || api.patch(name, &params, &patch),
        )
        .await?;
    Ok(())
}

/// Which access key Secret `namespace/name` holds, as its [`KEY_ID_ANNOTATION`] says: `None`
/// when the Secret does not exist, `Some(None)` when it records no key. Reads the metadata only
/// (`PartialObjectMetadata`): the secret value is never fetched.
pub async fn read_key_annotation(
    client: &ClusterClient,
    namespace: &str,
    name: &str,
) -> Result<Option<Option<String>>, KubeError> {
    let api: Api<Secret> = Api::namespaced(client.client().clone(), namespace);
    let found = client
        .call(
            &format!("GET (metadata only) secrets {namespace}/{name}"),
            || api.get_metadata_opt(name),
        )
        .await?;
    Ok(found.map(|meta| {
        meta.metadata
            .annotations
            .and_then(|mut annotations| annotations.remove(KEY_ID_ANNOTATION))
    }))
}
