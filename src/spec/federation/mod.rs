//! OIDC federation trust sugar: `githubActions` and `gitlab` items become the
//! `sts:AssumeRoleWithWebIdentity` statement GitHub and GitLab document for AWS, with `aud` and
//! `sub` conditions, and the IAM OIDC provider of the issuer is declared (owned, tagged) as for
//! IRSA, so that CI needs no access key.
//!
//! - GitHub Actions: issuer `https://token.actions.githubusercontent.com`, audience
//!   `sts.amazonaws.com` (what `aws-actions/configure-aws-credentials` requests), `sub` =
//!   `repo:ORG/REPO:ref:REF` or `repo:ORG/REPO:environment:ENV`.
//! - GitLab: issuer `https://gitlab.com` or `gitlabIssuer`, audience the issuer URL (GitLab's
//!   AWS guide: the job's `id_tokens` sets `aud` to the instance URL), `sub` =
//!   `project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH` (or `ref_type:tag`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::model::{arn, issuer_host_path};

use super::node::{Location, Node};
use super::raw::{CiScope, CiSystem, FederatedSpec, Text, TrustSpec};
use super::reader::{Object, Owner, Reader};
use super::resolve::Directory;

/// GitHub's token issuer.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The audience GitHub tokens for AWS carry.
pub const GITHUB_AUDIENCE: &str = "sts.amazonaws.com";
/// GitLab's issuer unless `gitlabIssuer` says otherwise.
pub const GITLAB_ISSUER: &str = "https://gitlab.com";

impl CiSystem {
    /// The trust key that lists its items.
    pub fn key(self) -> &'static str {
        match self {
            CiSystem::GithubActions => "githubActions",
            CiSystem::Gitlab => "gitlab",
        }
    }

    fn repository_key(self) -> &'static str {
        match self {
            CiSystem::GithubActions => "repo",
            CiSystem::Gitlab => "project",
        }
    }

    fn scopes(self) -> [(&'static str, CiScope); 2] {
        match self {
            CiSystem::GithubActions => {
                [("ref", CiScope::Ref), ("environment", CiScope::Environment)]
            }
            CiSystem::Gitlab => [("ref", CiScope::Ref), ("tag", CiScope::Tag)],
        }
    }

    fn label(self) -> &'static str {
        match self {
            CiSystem::GithubActions => "GitHub",
            CiSystem::Gitlab => "GitLab",
        }
    }

    fn example(self) -> &'static str {
        match self {
            CiSystem::GithubActions => "{repo: org/repo, ref: refs/heads/main}",
            CiSystem::Gitlab => "{project: group/project, ref: main}",
        }
    }

    /// The `sub` claim of a token for `repository` and `scope`, exactly as the system writes it.
    pub fn subject(self, repository: &str, scope: CiScope, value: &str) -> String {
        match (self, scope) {
            (CiSystem::GithubActions, CiScope::Environment) => {
                format!("repo:{repository}:environment:{value}")
            }
            (CiSystem::GithubActions, _) => format!("repo:{repository}:ref:{value}"),
            (CiSystem::Gitlab, CiScope::Tag) => {
                format!("project_path:{repository}:ref_type:tag:ref:{value}")
            }
            (CiSystem::Gitlab, _) => {
                format!("project_path:{repository}:ref_type:branch:ref:{value}")
            }
        }
    }
}

/// The `githubActions` and `gitlab` items of a trust. Returns them, and whether any item was
/// written at all (an item with a mistake is reported and left out, but the trust is not
/// "naming no one").
pub fn decode(
    reader: &mut Reader<'_>,
    role: &Text,
    object: &Object<'_>,
) -> (Vec<FederatedSpec>, bool) {
    let mut items = Vec::new();
    let mut written = false;
    for system in [CiSystem::GithubActions, CiSystem::Gitlab] {
        let Some(node) = object.get(system.key()) else {
            continue;
        };
        for (index, item) in reader.list(node).iter().enumerate() {
            written = true;
            if let Some(spec) = decode_item(reader, role, system, index + 1, item) {
                items.push(spec);
            }
        }
    }
    (items, written)
}

fn decode_item(
    reader: &mut Reader<'_>,
    role: &Text,
    system: CiSystem,
    number: usize,
    item: &Node,
) -> Option<FederatedSpec> {
    let key = system.key();
    let place = format!("item {number} of `{key}` of role `{}`", role.value);
    let repository_key = system.repository_key();
    let scopes = system.scopes();
    let allowed = [repository_key, scopes[0].0, scopes[1].0];
    let object = reader.object(
        item,
        Owner::new(format!("in {place}"), item.location),
        &allowed,
    )?;
    let repository = match object.get(repository_key) {
        Some(node) => reader.string(node),
        None => {
            reader.error_hint(
                item.location,
                format!("missing field `{repository_key}` in {place}"),
                format!("name the repository, e.g. `{}`", system.example()),
            );
            None
        }
    };
    let mut found: Vec<(CiScope, Text, Location)> = Vec::new();
    for (name, scope) in scopes {
        if let (Some(value), Some(key_node)) = (object.get(name), object.key(name))
            && let Some(text) = reader.string(value)
        {
            found.push((scope, text, key_node.location));
        }
    }
    let present: Vec<&str> = scopes
        .iter()
        .filter(|(name, _)| object.has(name))
        .map(|(name, _)| *name)
        .collect();
    match present.as_slice() {
        [] => {
            let hint = match system {
                CiSystem::GithubActions => {
                    "add `ref: refs/heads/main` (a branch), `ref: refs/tags/v1` (a tag) or `environment: prod`"
                }
                CiSystem::Gitlab => "add `ref: main` (a branch) or `tag: v1` (a tag)",
            };
            reader.error_hint(
                item.location,
                format!(
                    "{place} says neither `{}` nor `{}`: any branch of the repository could assume the role",
                    scopes[0].0, scopes[1].0
                ),
                hint,
            );
            return None;
        }
        [first, second] => {
            let at = object.key(second).map_or(item.location, |key| key.location);
            let hint = match system {
                CiSystem::GithubActions => {
                    "a job that deploys to an environment gets `sub` = `repo:ORG/REPO:environment:ENV` and no ref: write two items, one with `ref`, one with `environment`"
                }
                CiSystem::Gitlab => {
                    "`sub` names a branch or a tag: write two items, one with `ref`, one with `tag`"
                }
            };
            reader.error_hint(
                at,
                format!("{place} has both `{first}` and `{second}`"),
                hint,
            );
            return None;
        }
        _ => {}
    }
    let (scope, value, _) = found.pop()?;
    Some(FederatedSpec {
        system,
        repository: repository?,
        scope: (scope, value),
    })
}

/// Checks each item's values (one error per value) and `gitlabIssuer`.
pub fn validate(reader: &mut Reader<'_>, role: &str, trust: &TrustSpec<'_>) {
    for item in &trust.federated {
        let system = item.system;
        let (scope, value) = &item.scope;
        if !wildcard(reader, &item.repository) && !repository_shape(system, &item.repository.value)
        {
            let (what, hint) = match system {
                CiSystem::GithubActions => (
                    "repository",
                    "write it as `ORG/REPO`, e.g. `octo-org/octo-repo`",
                ),
                CiSystem::Gitlab => (
                    "project",
                    "write it as `GROUP/PROJECT` (or `GROUP/SUBGROUP/PROJECT`), e.g. `my-group/my-project`",
                ),
            };
            reader.error_hint(
                item.repository.at,
                format!(
                    "invalid {} {what} `{}`",
                    system.label(),
                    item.repository.value
                ),
                hint,
            );
        }
        if wildcard(reader, value) {
            continue;
        }
        match (system, scope) {
            (CiSystem::GithubActions, CiScope::Ref) if !value.value.starts_with("refs/") => {
                reader.error_hint(
                    value.at,
                    format!("GitHub ref `{}` does not start with `refs/`", value.value),
                    format!(
                        "GitHub's `sub` names the full ref: write `refs/heads/{0}` for a branch or `refs/tags/{0}` for a tag",
                        value.value
                    ),
                );
            }
            (CiSystem::Gitlab, CiScope::Ref | CiScope::Tag) if value.value.starts_with("refs/") => {
                let short = value
                    .value
                    .trim_start_matches("refs/heads/")
                    .trim_start_matches("refs/tags/");
                reader.error_hint(
                    value.at,
                    format!("GitLab ref `{}` names a full ref", value.value),
                    format!("GitLab's `sub` names the branch or tag alone: write `{short}`"),
                );
            }
            _ if value.value.trim().is_empty() => {
                reader.error(
                    value.at,
                    format!("empty `{}` in `{}`", scope_word(*scope), system.key()),
                );
            }
            _ => {}
        }
    }
    if let Some(issuer) = &trust.gitlab_issuer {
        if !issuer_shape(&issuer.value) {
            reader.error_hint(
                issuer.at,
                format!("invalid `gitlabIssuer` `{}`", issuer.value),
                "write the GitLab instance's URL with `https://` and no trailing slash, e.g. `https://gitlab.example.com`",
            );
        } else if !trust
            .federated
            .iter()
            .any(|item| item.system == CiSystem::Gitlab)
        {
            reader.error_hint(
                issuer.at,
                format!(
                    "`gitlabIssuer` is set but the trust of role `{role}` has no `gitlab` item"
                ),
                "add `gitlab: [{project: GROUP/PROJECT, ref: BRANCH}]`, or remove `gitlabIssuer`",
            );
        }
    }
}

fn scope_word(scope: CiScope) -> &'static str {
    match scope {
        CiScope::Ref => "ref",
        CiScope::Environment => "environment",
        CiScope::Tag => "tag",
    }
}

/// Reports a value with `*` or `?`: the condition is `StringEquals`, so it would match only
/// itself.
fn wildcard(reader: &mut Reader<'_>, value: &Text) -> bool {
    if !value.value.contains(['*', '?']) {
        return false;
    }
    reader.error_hint(
        value.at,
        format!("`{}` has a wildcard", value.value),
        "the generated `sub` condition is `StringEquals` (exact): list each branch, tag or environment as its own item",
    );
    true
}

fn repository_shape(system: CiSystem, repository: &str) -> bool {
    let segment = |text: &str, extra: &[u8]| {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    };
    let parts: Vec<&str> = repository.split('/').collect();
    match system {
        CiSystem::GithubActions => {
            matches!(parts[..], [owner, name]
                if segment(owner, b"-") && !owner.starts_with('-') && owner.len() <= 39
                    && segment(name, b"-_.") && name.len() <= 100)
        }
        CiSystem::Gitlab => parts.len() >= 2 && parts.iter().all(|part| segment(part, b"-_.")),
    }
}

fn issuer_shape(issuer: &str) -> bool {
    issuer.strip_prefix("https://").is_some_and(|rest| {
        !rest.is_empty()
            && !rest.starts_with('/')
            && !rest.ends_with('/')
            && !rest.contains(['?', '#', ' '])
    })
}

/// The issuer and audience of a system's tokens for this trust.
fn issuer(system: CiSystem, trust: &TrustSpec<'_>) -> (String, String) {
    match system {
        CiSystem::GithubActions => (GITHUB_ISSUER.to_string(), GITHUB_AUDIENCE.to_string()),
        CiSystem::Gitlab => {
            let issuer = trust
                .gitlab_issuer
                .as_ref()
                .map_or_else(|| GITLAB_ISSUER.to_string(), |issuer| issuer.value.clone());
            (issuer.clone(), issuer)
        }
    }
}

/// One statement per issuer, its `sub` values every item of the trust for that issuer; the
/// issuers are added to `providers` with their audience (the provider's client id).
pub fn statements(
    directory: &Directory,
    trust: &TrustSpec<'_>,
    providers: &mut BTreeMap<String, BTreeSet<String>>,
) -> Vec<Value> {
    let mut by_issuer: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for item in &trust.federated {
        let (scope, value) = &item.scope;
        by_issuer
            .entry(issuer(item.system, trust))
            .or_default()
            .insert(
                item.system
                    .subject(&item.repository.value, *scope, &value.value),
            );
    }
    by_issuer
        .into_iter()
        .map(|((issuer, audience), subjects)| {
            providers
                .entry(issuer.clone())
                .or_default()
                .insert(audience.clone());
            web_identity_statement(
                directory,
                &issuer,
                &audience,
                subjects.into_iter().collect(),
            )
        })
        .collect()
}

/// `sts:AssumeRoleWithWebIdentity` through the issuer's provider, on `aud` and `sub`.
pub fn web_identity_statement(
    directory: &Directory,
    issuer: &str,
    audience: &str,
    mut subjects: Vec<String>,
) -> Value {
    let provider = issuer_host_path(issuer);
    let sub = if subjects.len() == 1 {
        Value::String(subjects.remove(0))
    } else {
        Value::from(subjects)
    };
    json!({
        "Effect": "Allow",
        "Principal": {
            "Federated": arn::oidc_provider(&directory.partition, &directory.account, provider),
        },
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                format!("{provider}:aud"): audience,
                format!("{provider}:sub"): sub,
            }
        }
    })
}

#[cfg(test)]
mod tests;
