//! Role trust policies: the raw `document`, or the sugar (`accounts`, `services`, `roles`,
//! `users`, `serviceAccounts`) turned into the statements IAM expects — for IRSA, exactly the
//! statement of seed 003, built from the cluster's OIDC issuer.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::model::{DocumentKind, PolicyDocument, State, arn, issuer_host_path};

use super::documents;
use super::federation;
use super::node::Location;
use super::raw::{RoleSpec, Spec, TrustSpec};
use super::reader::Reader;
use super::resolve::Directory;
use super::validate::limits::{self, Limits};

/// The audience IRSA tokens carry.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";
use crate::model::eks_rules::POD_IDENTITY_SERVICE;
pub const POLICY_VERSION: &str = "2012-10-17";

/// The stand-in issuer of a cluster whose issuer is not known yet, after `https://`.
const PLACEHOLDER_PREFIX: &str = "oidc.accessctl.invalid/unknown-issuer/";

/// The IRSA trust policies that could not be checked because a cluster's OIDC issuer is not
/// known (no `oidcIssuer` in the file, no live state): cluster, and the roles whose trust
/// names it.
pub fn unchecked_irsa(state: &crate::model::State) -> Vec<(String, Vec<String>)> {
    state
        .iam
        .oidc_providers
        .keys()
        .filter_map(|provider| provider.strip_prefix(PLACEHOLDER_PREFIX))
        .map(|cluster| {
            let needle = format!("{PLACEHOLDER_PREFIX}{cluster}:");
            let roles = state
                .iam
                .roles
                .iter()
                .filter(|(_, role)| role.trust.to_value().to_string().contains(&needle))
                .map(|(name, _)| name.clone())
                .collect();
            (cluster.to_string(), roles)
        })
        .collect()
}

/// How to find a cluster's issuer: the command, or the key that sets it.
pub fn issuer_hint(cluster: &str, region: Option<&str>) -> String {
    let region = region
        .map(|region| format!(" --region {region}"))
        .unwrap_or_default();
    format!(
        "set `clusters.{cluster}.oidcIssuer` in access.yaml to the issuer `aws eks describe-cluster --name {cluster}{region} --query cluster.identity.oidc.issuer --output text` prints"
    )
}

/// Where a cluster's OIDC issuer comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Issuer {
    /// From the file.
    Known(String),
    /// Not in the file: read from the live cluster, and set by [`resolve`] once live state is
    /// known. Until then the trust policies use `placeholder`, a stand-in that can never match
    /// a real issuer.
    Live {
        placeholder: String,
        region: Option<String>,
    },
}

/// The issuer of every cluster of the file, as far as the file tells.
pub fn issuers(spec: &Spec<'_>) -> BTreeMap<String, Issuer> {
    spec.clusters
        .iter()
        .map(|cluster| {
            let name = cluster.name.value.clone();
            let issuer = match &cluster.oidc_issuer {
                Some(issuer) => Issuer::Known(issuer.value.clone()),
                None => Issuer::Live {
                    placeholder: placeholder(&name),
                    region: cluster.region.as_ref().map(|r| r.value.clone()),
                },
            };
            (name, issuer)
        })
        .collect()
}

/// The stand-in issuer of cluster `name`.
fn placeholder(name: &str) -> String {
    format!("https://{PLACEHOLDER_PREFIX}{name}")
}

/// What the desired state leaves to live facts: the IRSA trust policies of clusters whose
/// issuer access.yaml does not set, and the roles of IAM Identity Center permission sets. [`resolve`] settles them, with no I/O, once live state is
/// read; the file is parsed once.
#[derive(Clone, Debug, Default)]
pub struct Pending {
    /// Each `serviceAccounts` item of a trust whose cluster's issuer comes from live state.
    pub uses: Vec<IssuerUse>,
    /// Roles whose generated trust names such a cluster: their size is checked once the
    /// issuer is known, against these quotas.
    pub roles: Vec<PendingRole>,
    pub limits: Limits,
    /// Each access item naming an IAM Identity Center permission set, whose role is found in
    /// live IAM (see [`super::sso::resolve`]).
    pub sso: Vec<super::sso::SsoUse>,
}

/// The issuers the built trust policies name (IRSA, and the CI systems of `federation`), and
/// what of them is left to live state.
#[derive(Debug, Default)]
pub struct Irsa {
    /// Each issuer named, with the audiences its statements require: an OIDC provider is
    /// declared for each, with those audiences as its client ids.
    pub used: BTreeMap<String, BTreeSet<String>>,
    pub pending: Pending,
}

impl Irsa {
    fn used_for_irsa(&mut self, issuer: &str) {
        self.used
            .entry(issuer.to_string())
            .or_default()
            .insert(STS_AUDIENCE.to_string());
    }
}

#[derive(Clone, Debug)]
pub struct IssuerUse {
    pub cluster: String,
    pub region: Option<String>,
    pub at: Location,
}

#[derive(Clone, Debug)]
pub struct PendingRole {
    pub name: String,
    pub at: Location,
    /// The clusters whose live issuer the trust names.
    pub clusters: BTreeSet<String>,
}

/// Sets the live issuers where access.yaml leaves them to live state, in the trust policies
/// and the OIDC providers of `state`, then checks the sizes [`Pending`] held back. Without
/// `live` (plain `validate`), the stand-ins stay and are what is checked. A cluster live state
/// has no issuer for is reported at each service account that needs it.
pub fn resolve(
    reader: &mut Reader<'_>,
    pending: &Pending,
    live: Option<&State>,
    state: &mut State,
) {
    let mut missing = BTreeSet::new();
    if let Some(live) = live {
        let mut found = BTreeMap::new();
        for using in &pending.uses {
            let cluster = &using.cluster;
            match live
                .clusters
                .get(cluster)
                .and_then(|c| c.oidc_issuer.clone())
            {
                Some(issuer) => {
                    found.insert(cluster.clone(), issuer);
                }
                None => {
                    missing.insert(cluster.clone());
                    reader.error_hint(
                        using.at,
                        format!("cannot generate the IRSA trust policy: cluster `{cluster}` has no OIDC issuer in the live state, and access.yaml sets no `oidcIssuer`"),
                        format!("{}, or take the live snapshot again with `accessctl snapshot` (it reads the issuer)", issuer_hint(cluster, using.region.as_deref())),
                    );
                }
            }
        }
        for (cluster, issuer) in &found {
            let from = placeholder(cluster);
            let (from, to) = (issuer_host_path(&from), issuer_host_path(issuer));
            for role in &pending.roles {
                if !role.clusters.contains(cluster) {
                    continue;
                }
                let Some(built) = state.iam.roles.get_mut(&role.name) else {
                    continue;
                };
                let mut value = built.trust.to_value();
                set_issuer(&mut value, from, to);
                match PolicyDocument::from_value(&value, DocumentKind::Trust) {
                    Ok(document) => built.trust = document,
                    Err(errors) => {
                        for error in errors {
                            reader.error(
                                role.at,
                                format!(
                                    "the generated trust policy of role `{}` is invalid: {}",
                                    role.name, error.message
                                ),
                            );
                        }
                    }
                }
            }
            if let Some(provider) = state.iam.oidc_providers.remove(from) {
                state.iam.oidc_providers.insert(to.to_string(), provider);
            }
        }
    }
    for role in &pending.roles {
        if role
            .clusters
            .iter()
            .any(|cluster| missing.contains(cluster))
        {
            continue;
        }
        if let Some(built) = state.iam.roles.get(&role.name) {
            check_length(reader, &pending.limits, &role.name, role.at, &built.trust);
        }
    }
}

/// Replaces the issuer host path `from` by `to` where an IRSA statement names it: the
/// federated principal (`…:oidc-provider/HOST/PATH`) and the condition keys (`HOST/PATH:sub`).
fn set_issuer(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(text) => {
            if let Some(arn) = text.strip_suffix(from)
                && arn.ends_with(":oidc-provider/")
            {
                *text = format!("{arn}{to}");
            }
        }
        Value::Array(items) => {
            for item in items {
                set_issuer(item, from, to);
            }
        }
        Value::Object(map) => {
            for (key, mut item) in std::mem::take(map) {
                set_issuer(&mut item, from, to);
                let key = match key.strip_prefix(from) {
                    Some(rest) if rest.starts_with(':') => format!("{to}{rest}"),
                    _ => key,
                };
                map.insert(key, item);
            }
        }
        _ => {}
    }
}

/// Reports a trust policy over IAM's quota (`Role trust policy length`), at the role's name.
pub fn check_length(
    reader: &mut Reader<'_>,
    limits: &Limits,
    name: &str,
    at: Location,
    trust: &PolicyDocument,
) {
    let what = format!("the trust policy of role `{name}`");
    let quota = &limits::ROLE_TRUST_POLICY_LENGTH;
    limits.size(reader, quota, at, &what, limits::document_size(trust));
}

/// Builds a role's trust policy. Issuers used for IRSA are added to `irsa`.
pub fn trust_document(
    reader: &mut Reader<'_>,
    directory: &Directory,
    issuers: &BTreeMap<String, Issuer>,
    role: &RoleSpec<'_>,
    trust: &TrustSpec<'_>,
    pod_identity: bool,
    irsa: &mut Irsa,
) -> Option<PolicyDocument> {
    if let Some(node) = trust.document {
        return documents::document(reader, directory, node, DocumentKind::Trust);
    }
    let mut statements = Vec::new();
    let mut aws: Vec<String> = trust
        .accounts
        .iter()
        .map(|account| arn::account_root(&directory.partition, &account.value))
        .collect();
    // An unresolved name is reported by validation; the policy is then not generated.
    let mut complete = true;
    for resolved in trust
        .roles
        .iter()
        .map(|r| directory.role_arn(&r.value))
        .chain(trust.users.iter().map(|u| directory.user_arn(&u.value)))
    {
        match resolved {
            Ok(arn) => aws.push(arn),
            Err(_) => complete = false,
        }
    }
    // Pod Identity needs its own statement (it also tags the session): the service is not
    // repeated among the others.
    let services: Vec<String> = trust
        .services
        .iter()
        .map(|s| s.value.clone())
        .filter(|service| !(pod_identity && service == POD_IDENTITY_SERVICE))
        .collect();
    if !aws.is_empty() || !services.is_empty() {
        let mut principal = serde_json::Map::new();
        if !aws.is_empty() {
            principal.insert("AWS".into(), one_or_many(aws));
        }
        if !services.is_empty() {
            principal.insert("Service".into(), one_or_many(services));
        }
        statements.push(json!({
            "Effect": "Allow",
            "Principal": principal,
            "Action": "sts:AssumeRole",
        }));
    }
    if pod_identity {
        statements.push(pod_identity_statement());
    }
    statements.extend(federation::statements(directory, trust, &mut irsa.used));
    for item in &trust.service_accounts {
        let parts: Vec<&str> = item.value.split('/').collect();
        let [cluster, namespace, name] = parts[..] else {
            complete = false;
            continue;
        };
        match issuers.get(cluster) {
            Some(Issuer::Known(issuer)) => {
                statements.push(irsa_statement(directory, issuer, namespace, name));
                irsa.used_for_irsa(issuer);
            }
            Some(Issuer::Live {
                placeholder,
                region,
            }) => {
                statements.push(irsa_statement(directory, placeholder, namespace, name));
                irsa.used_for_irsa(placeholder);
                irsa.pending.uses.push(IssuerUse {
                    cluster: cluster.to_string(),
                    region: region.clone(),
                    at: item.at,
                });
            }
            // An unknown cluster is reported by validation.
            None => complete = false,
        }
    }
    // No statement: the trust names no one, which is reported by decoding.
    if !complete || statements.is_empty() {
        return None;
    }
    let document = json!({"Version": POLICY_VERSION, "Statement": statements});
    match PolicyDocument::from_value(&document, DocumentKind::Trust) {
        Ok(document) => Some(document),
        Err(errors) => {
            for error in errors {
                reader.error(
                    role.name.at,
                    format!(
                        "the generated trust policy of role `{}` is invalid: {}",
                        role.name.value, error.message
                    ),
                );
            }
            None
        }
    }
}

fn one_or_many(mut values: Vec<String>) -> Value {
    if values.len() == 1 {
        Value::String(values.remove(0))
    } else {
        Value::from(values)
    }
}

/// What EKS Pod Identity needs in the trust of the role it hands to pods.
pub fn pod_identity_statement() -> Value {
    json!({
        "Effect": "Allow",
        "Principal": {"Service": POD_IDENTITY_SERVICE},
        "Action": crate::model::eks_rules::POD_IDENTITY_ACTIONS,
    })
}

/// Seed 003's statement: the service account may assume the role with its web identity token.
pub fn irsa_statement(directory: &Directory, issuer: &str, namespace: &str, name: &str) -> Value {
    federation::web_identity_statement(
        directory,
        issuer,
        STS_AUDIENCE,
        vec![format!("system:serviceaccount:{namespace}:{name}")],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Cluster;
    use crate::spec::{Facts, load_text};

    /// The file is parsed once, with stand-ins; the live issuers set afterwards give the same
    /// trust policies and OIDC providers as the file naming them.
    #[test]
    fn live_issuers_are_set_as_if_the_file_named_them() {
        let issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B";
        let text = |set: &str| {
            format!(
                "version: 1\naccount: \"424432388155\"\niam:\n  roles:\n    app:\n      trust:\n        accounts: [\"424432388155\"]\n        serviceAccounts: [demo/default/app, demo2/default/app]\nclusters:\n  demo:\n    region: us-east-1\n{set}  demo2:\n    region: us-east-1\n{set}"
            )
        };
        let named = load_text(
            "access.yaml",
            &text(&format!("    oidcIssuer: {issuer}\n")),
            &Facts::default(),
        )
        .expect("loads");
        let cluster = || Cluster {
            oidc_issuer: Some(issuer.into()),
            ..Cluster::default()
        };
        let mut live = State::default();
        live.clusters.insert("demo".into(), cluster());
        let missing = load_text("access.yaml", &text(""), &Facts { live: Some(&live) })
            .expect_err("demo2 has no issuer live");
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert!(
            missing[0]
                .message
                .contains("cluster `demo2` has no OIDC issuer")
        );
        live.clusters.insert("demo2".into(), cluster());
        let resolved =
            load_text("access.yaml", &text(""), &Facts { live: Some(&live) }).expect("loads");
        assert_eq!(resolved.state.iam, named.state.iam);
        let trust = resolved.state.iam.roles["app"].trust.to_value().to_string();
        assert!(!trust.contains(PLACEHOLDER_PREFIX), "{trust}");
        assert!(unchecked_irsa(&resolved.state).is_empty());
    }

    #[test]
    fn irsa_statement_is_seed_003s() {
        let directory = Directory {
            partition: "aws".into(),
            account: "204393242335".into(),
            ..Directory::default()
        };
        let statement = irsa_statement(
            &directory,
            "https://oidc.eks.ca-central-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B",
            "devops-aurora-1",
            "connections-serviceaccount-s3",
        );
        // Seed 003's statement, as IAM holds it; `build`'s tests check the whole trust policy.
        let seed: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/seed-003-irsa-statement.json"
        ))
        .expect("seed JSON");
        assert_eq!(statement, seed);
    }
}
