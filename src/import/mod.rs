//! `accessctl import`: live IAM and one cluster's access, written as an access.yaml that plans
//! to nothing but `adopt`.
//!
//! Pure over a live [`State`] (read live, or a snapshot): [`select`] chooses what to import,
//! [`emit`] writes it, and this module checks the result with the spec loader itself — trust
//! policies are folded into the sugar only when the loader's own generation gives back the live
//! document, and the finished file is loaded and planned against the same live state, every
//! change that is not an adoption reported as a warning. [`read`] lists a cluster's RBAC
//! objects for the live path; [`yaml`] is the writer.

mod emit;
mod select;
mod trust;
pub mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::model::{
    DEFAULT_GROUP_PATH, MANAGED_BY_TAG, State, issuer_host_path, owned as ownership,
};
use crate::plan::{self, Action, PlanOptions};
use crate::spec::{self, Facts};

pub use select::BUILT_IN_NAMESPACES;

/// What `--include` can choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Part {
    IamUsers,
    IamRoles,
    IamGroups,
    IamPolicies,
    AwsAuth,
    Rbac,
    Namespaces,
    ServiceAccounts,
}

/// What to import and how to write it.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The cluster, by its name in live state.
    pub cluster: String,
    /// Empty: everything.
    pub include: BTreeSet<Part>,
    pub path_prefix: Option<String>,
    /// Customer policies as `file:` references into this directory.
    pub policies_dir: Option<PathBuf>,
    /// The file's `account` (default: the caller's).
    pub account: Option<String>,
    /// The kubeconfig context to write (default: the one live state names).
    pub context: Option<String>,
}

impl Options {
    pub fn includes(&self, part: Part) -> bool {
        self.include.is_empty() || self.include.contains(&part)
    }
}

/// The imported file and what goes with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    pub yaml: String,
    /// With `--policies-dir`: file path (as written in `file:`) → JSON document.
    pub policy_files: BTreeMap<String, String>,
    /// Changes other than `adopt` the first plan would show, or why it would be refused.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("cluster `{cluster}` is not in the live state (it has: {known})")]
    UnknownCluster { cluster: String, known: String },
    #[error("the account is unknown: live state names no caller")]
    NoAccount,
    #[error("the imported file does not load; this is a bug in import:\n{0}")]
    Invalid(String),
}

/// Imports one cluster and the IAM objects it needs from `live`.
pub fn import(live: &State, options: &Options) -> Result<Imported, ImportError> {
    let Some(cluster) = live.clusters.get(&options.cluster) else {
        return Err(ImportError::UnknownCluster {
            cluster: options.cluster.clone(),
            known: live.clusters.keys().cloned().collect::<Vec<_>>().join(", "),
        });
    };
    let account = options
        .account
        .clone()
        .or_else(|| live.account.clone())
        .or_else(|| live.caller.as_ref().map(|c| c.account.clone()))
        .ok_or(ImportError::NoAccount)?;
    let mut live_for_account = live.clone();
    live_for_account.account = Some(account.clone());
    let selection = select::select(&live_for_account, &options.cluster, cluster, options);
    let owned = owned(live, &options.cluster);
    let issuer = cluster.oidc_issuer.as_deref();
    let irsa_sugar_allowed = issuer.is_some_and(|issuer| irsa_provider_ready(live, issuer));
    let context = emit::Context {
        account: &account,
        partition: &live.partition,
        cluster: &options.cluster,
        region: cluster.region.as_deref(),
        kube_context: options.context.as_deref().or(cluster.context.as_deref()),
        authentication: cluster.authentication,
        issuer,
        irsa_sugar_allowed,
        policies_dir: None,
        header: header(options, &selection.left_out),
        owned: &owned,
    };
    let facts = Facts { live: Some(live) };
    let mut forms = emit::trust_forms(&selection, &context);
    // Sugar stays only where the loader generates the live document from it.
    for _ in 0..3 {
        let text = emit::write(&selection, &context, &forms);
        let desired = match load(&text, &facts) {
            Ok(desired) => desired,
            Err(_)
                if forms
                    .values()
                    .any(|f| matches!(f, emit::TrustForm::Sugar(_))) =>
            {
                for form in forms.values_mut() {
                    if matches!(form, emit::TrustForm::Sugar(_)) {
                        *form = emit::TrustForm::Raw(
                            "kept raw: the file did not load with the trust sugar".into(),
                        );
                    }
                }
                continue;
            }
            Err(error) => return Err(error),
        };
        let mut changed = false;
        for (name, form) in &mut forms {
            if !matches!(form, emit::TrustForm::Sugar(_)) {
                continue;
            }
            let generated = desired.state.iam.roles.get(name).map(|r| &r.trust);
            let wanted = selection.roles.get(name).map(|r| &r.trust);
            if generated != wanted {
                *form = emit::TrustForm::Raw(
                    "kept raw: the trust sugar would generate a different document".into(),
                );
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let text = emit::write(&selection, &context, &forms);
    let desired = load(&text, &facts)?;
    let warnings = check_plan(&desired, live);

    let (yaml, policy_files) = match &options.policies_dir {
        None => (text, BTreeMap::new()),
        Some(dir) => {
            let context = emit::Context {
                policies_dir: Some(dir),
                ..context
            };
            let files = selection
                .policies
                .iter()
                .map(|(name, policy)| {
                    (
                        emit::policy_file(dir, name),
                        format!("{}\n", policy.document.to_pretty_json()),
                    )
                })
                .collect();
            (emit::write(&selection, &context, &forms), files)
        }
    };
    Ok(Imported {
        yaml,
        policy_files,
        warnings,
    })
}

fn load(text: &str, facts: &Facts<'_>) -> Result<plan::Desired, ImportError> {
    spec::load_str(Path::new("access.yaml"), text, facts)
        .map_err(|diagnostics| ImportError::Invalid(diagnostics.to_string()))
}

/// The IRSA sugar adds the cluster's IAM OIDC provider to the desired state: it must exist and
/// serve IRSA as it is, or the first plan would create or change it.
fn irsa_provider_ready(live: &State, issuer: &str) -> bool {
    live.iam
        .oidc_providers
        .get(issuer_host_path(issuer))
        .is_some_and(|provider| {
            let owned = ownership::by_tags(&provider.tags);
            let sts = BTreeSet::from([spec_audience()]);
            if owned {
                provider.client_ids == sts && provider.tags.keys().all(|key| key == MANAGED_BY_TAG)
            } else {
                provider.client_ids.contains(&spec_audience())
            }
        })
}

fn spec_audience() -> String {
    "sts.amazonaws.com".to_string()
}

/// The names of the objects of `objects` that `keep` keeps.
fn names_where<T>(objects: &BTreeMap<String, T>, keep: impl Fn(&T) -> bool) -> BTreeSet<String> {
    objects
        .iter()
        .filter(|(_, object)| keep(object))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Which live objects accessctl already manages.
fn owned(live: &State, cluster_name: &str) -> emit::Owned {
    let iam = &live.iam;
    let kube = live
        .clusters
        .get(cluster_name)
        .into_iter()
        .flat_map(|cluster| cluster.kube_objects())
        .filter(|(_, _, object)| object.meta().is_owned())
        .map(|(kind, key, _)| (kind, key.clone()))
        .collect();
    emit::Owned {
        policies: names_where(&iam.policies, |p| {
            ownership::policy_path(&p.path, crate::model::DEFAULT_POLICY_PATH)
        }),
        groups: names_where(&iam.groups, |g| {
            ownership::group_path(&g.path, DEFAULT_GROUP_PATH)
        }),
        users: names_where(&iam.users, |u| ownership::by_tags(&u.tags)),
        roles: names_where(&iam.roles, |r| ownership::by_tags(&r.tags)),
        kube,
    }
}

/// The file's opening comment: how it was made and what was left out.
fn header(options: &Options, left_out: &[String]) -> Vec<String> {
    let mut lines = vec![
        format!(
            "Imported by `accessctl import --cluster {}`: review it, then run `accessctl plan`;",
            options.cluster
        ),
        "the first plan adopts what is marked `adopt: true` and changes nothing else.".to_string(),
        "Not imported: aws-auth node-role entries, EKS-made access entries, Kubernetes' and EKS's"
            .to_string(),
        "own RBAC objects (`system:*`, `eks:*`, cluster-admin/admin/edit/view), IAM objects no"
            .to_string(),
        "access item needs (add `--path-prefix` to take a subtree). accessctl leaves all of them"
            .to_string(),
        "alone.".to_string(),
    ];
    if !left_out.is_empty() {
        lines.push(String::new());
        lines.push("Left out, and why:".to_string());
        let mut sorted = left_out.to_vec();
        sorted.sort();
        sorted.dedup();
        lines.extend(sorted.into_iter().map(|line| format!("- {line}")));
    }
    lines
}

/// What the first plan of the file would do besides adopting.
fn check_plan(desired: &plan::Desired, live: &State) -> Vec<String> {
    match plan::plan(desired, live, &PlanOptions::default()) {
        Ok(plan) => plan
            .changes
            .iter()
            .filter(|change| change.action != Action::Adopt || change_beyond_marker(change))
            .map(|change| {
                let fields: Vec<String> = change
                    .fields
                    .iter()
                    .filter_map(|f| plan::display_path(change.address.kind, &f.path))
                    .collect();
                format!(
                    "the first plan would {} `{}` and change {}: {}",
                    format!("{:?}", change.action).to_lowercase(),
                    change.address,
                    if fields.is_empty() {
                        "it".to_string()
                    } else {
                        fields.join(", ")
                    },
                    change.reason.as_deref().unwrap_or("")
                )
            })
            .collect(),
        Err(error) => error
            .problems
            .iter()
            .map(|problem| format!("the first plan would be refused: {}", problem.message()))
            .collect(),
    }
}

/// An adoption that changes more than the ownership marker (e.g. moves a group).
fn change_beyond_marker(change: &plan::Change) -> bool {
    change.fields.iter().any(|field| {
        let path = field.path.as_str();
        !(path.starts_with("tags")
            || path.starts_with("meta.labels")
            || path == "path" && change.address.kind == plan::Kind::Group)
    })
}

#[cfg(test)]
mod tests;
