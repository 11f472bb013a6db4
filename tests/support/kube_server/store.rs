//! The object store: objects by resource, namespace and name, the global resourceVersion
//! counter and the uid sequence. Like etcd under the real server, it knows nothing of verbs.

use std::collections::BTreeMap;

use serde_json::Value;

use super::resources::Resource;

/// Where an object lives; ordered as etcd orders `/registry/{plural}/{namespace}/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub plural: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(resource: &Resource, namespace: Option<&str>, name: &str) -> Self {
        Self {
            plural: resource.plural.to_owned(),
            namespace: if resource.namespaced {
                namespace.unwrap_or_default().to_owned()
            } else {
                String::new()
            },
            name: name.to_owned(),
        }
    }

    /// The etcd key the real server would use, as some of its messages print it.
    pub fn registry_key(&self) -> String {
        if self.namespace.is_empty() {
            format!("/registry/{}/{}", self.plural, self.name)
        } else {
            format!("/registry/{}/{}/{}", self.plural, self.namespace, self.name)
        }
    }
}

#[derive(Debug, Default)]
pub struct Store {
    objects: BTreeMap<ObjectKey, Value>,
    resource_version: u64,
    uids: u64,
}

impl Store {
    pub fn get(&self, key: &ObjectKey) -> Option<&Value> {
        self.objects.get(key)
    }

    pub fn insert(&mut self, key: ObjectKey, object: Value) {
        self.objects.insert(key, object);
    }

    pub fn remove(&mut self, key: &ObjectKey) -> Option<Value> {
        self.objects.remove(key)
    }

    /// Objects of one resource, in key order, optionally in one namespace.
    pub fn list(&self, resource: &Resource, namespace: Option<&str>) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|(key, _)| {
                key.plural == resource.plural
                    && namespace.is_none_or(|namespace| key.namespace == namespace)
            })
            .map(|(_, object)| object)
            .collect()
    }

    pub fn all(&self) -> &BTreeMap<ObjectKey, Value> {
        &self.objects
    }

    /// Removes every namespaced object of a namespace (what the namespace controller does
    /// before a namespace goes away).
    pub fn remove_namespace_contents(&mut self, namespace: &str) {
        self.objects.retain(|key, _| key.namespace != namespace);
    }

    pub fn namespace_exists(&self, namespace: &str) -> bool {
        self.objects
            .keys()
            .any(|key| key.plural == "namespaces" && key.name == namespace)
    }

    /// The next value of the global counter, for a write about to be committed.
    pub fn next_resource_version(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    pub fn current_resource_version(&self) -> String {
        self.resource_version.to_string()
    }

    /// A fresh uid in the UUID text form.
    pub fn next_uid(&mut self) -> String {
        self.uids += 1;
        format!("6b1f0c2e-0000-4000-8000-{:012x}", self.uids)
    }

    /// A name suffix for `generateName`, from the real generator's alphabet.
    pub fn generated_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        self.uids += 1;
        let mut seed = self.uids.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (0..5)
            .map(|_| {
                let character = ALPHABET[(seed % ALPHABET.len() as u64) as usize] as char;
                seed /= ALPHABET.len() as u64;
                character
            })
            .collect()
    }
}
