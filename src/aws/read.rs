//! The live IAM read: users, groups, roles, customer-managed policies and OIDC providers, in
//! as few calls as IAM allows.
//!
//! One paginated `GetAccountAuthorizationDetails` brings almost everything. What it leaves out
//! is fetched beside it: role descriptions and session durations (`ListRoles`, paginated) and
//! OIDC providers (`ListOpenIDConnectProviders` + one `GetOpenIDConnectProvider` each).
//! `GetRole` is called only for a role that `ListRoles` did not describe (created between the
//! two calls, or an endpoint that omits the fields).
//!
//! Customer-policy tags are not read: IAM returns them in no bulk call, and one `ListPolicyTags`
//! per policy would be most of the read. Policies are owned by path instead, so their `tags`
//! stay empty in live state.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{
    AttachedPermissionsBoundary, AttachedPolicy, EntityType, GroupDetail, ManagedPolicyDetail,
    PolicyDetail, RoleDetail, Tag, UserDetail,
};
use percent_encoding::percent_decode_str;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::model::{
    DocumentKind, Group, Iam, IamArn, OidcProvider, Policy, PolicyDocument, Role, User,
    default_max_session, issuer_host_path, root_path,
};

use super::{AwsError, ErrorKind};

const GET_ACCOUNT_AUTHORIZATION_DETAILS: &str = "iam:GetAccountAuthorizationDetails";
const LIST_ROLES: &str = "iam:ListRoles";
const GET_ROLE: &str = "iam:GetRole";
const LIST_OPEN_ID_CONNECT_PROVIDERS: &str = "iam:ListOpenIDConnectProviders";
const GET_OPEN_ID_CONNECT_PROVIDER: &str = "iam:GetOpenIDConnectProvider";
const GET_POLICY: &str = "iam:GetPolicy";

/// The largest page IAM serves for these listings: fewer round trips on big accounts.
const PAGE_SIZE: i32 = 1000;
/// Per-object calls in flight at once: fast, and well under IAM's request rate limits.
pub const CONCURRENCY: usize = 10;

/// Reads everything accessctl models in IAM.
pub async fn read_iam_objects(iam: &Client) -> Result<Iam, AwsError> {
    let (details, summaries, oidc_providers) = tokio::try_join!(
        account_details(iam),
        role_summaries(iam),
        oidc_providers(iam)
    )?;

    let unsummarized: Vec<String> = details
        .roles
        .iter()
        .filter_map(RoleDetail::role_name)
        .filter(|name| {
            summaries
                .get(*name)
                .is_none_or(|summary| summary.max_session_duration.is_none())
        })
        .map(str::to_string)
        .collect();
    let fetched_summaries =
        bounded(unsummarized, |name| get_role_summary(iam.clone(), name)).await?;
    let mut summaries = summaries;
    summaries.extend(fetched_summaries);

    let mut result = Iam {
        oidc_providers: oidc_providers.into_iter().collect(),
        ..Iam::default()
    };
    for detail in &details.users {
        let (name, user) = user_from(detail)?;
        result.users.insert(name, user);
    }
    for detail in &details.groups {
        let (name, group) = group_from(detail)?;
        result.groups.insert(name, group);
    }
    for detail in &details.roles {
        let (name, role) = role_from(detail, &summaries)?;
        result.roles.insert(name, role);
    }
    for detail in &details.policies {
        let (name, policy) = policy_from(detail)?;
        result.policies.insert(name, policy);
    }
    Ok(result)
}

/// Parses a policy document as IAM returns it: raw JSON, or percent-encoded JSON (percent
/// decoding only: in IAM's encoding `+` is `%2B`, so a literal `+` stays `+`).
pub fn decode_document(text: &str) -> Result<PolicyDocument, String> {
    let decoded;
    let json = if text.trim_start().starts_with('{') {
        text
    } else {
        decoded = percent_decode_str(text)
            .decode_utf8()
            .map_err(|error| format!("the percent-encoded document is not UTF-8: {error}"))?;
        decoded.as_ref()
    };
    PolicyDocument::parse_str(json, DocumentKind::Any).map_err(|errors| {
        errors
            .iter()
            .map(|error| {
                if error.path.is_empty() {
                    error.message.clone()
                } else {
                    format!("{}: {}", error.path.join("."), error.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// All pages of `GetAccountAuthorizationDetails`, for the entity types accessctl models.
#[derive(Debug, Default)]
struct AccountDetails {
    users: Vec<UserDetail>,
    groups: Vec<GroupDetail>,
    roles: Vec<RoleDetail>,
    policies: Vec<ManagedPolicyDetail>,
}

async fn account_details(iam: &Client) -> Result<AccountDetails, AwsError> {
    let mut pages = iam
        .get_account_authorization_details()
        .filter(EntityType::User)
        .filter(EntityType::Group)
        .filter(EntityType::Role)
        .filter(EntityType::LocalManagedPolicy)
        .max_items(PAGE_SIZE)
        .into_paginator()
        .send();
    let mut details = AccountDetails::default();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|error| AwsError::from_sdk(GET_ACCOUNT_AUTHORIZATION_DETAILS, None, error))?;
        details
            .users
            .extend(page.user_detail_list().iter().cloned());
        details
            .groups
            .extend(page.group_detail_list().iter().cloned());
        details
            .roles
            .extend(page.role_detail_list().iter().cloned());
        details.policies.extend(page.policies().iter().cloned());
    }
    Ok(details)
}

/// What `GetAccountAuthorizationDetails` does not say about a role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct RoleSummary {
    description: Option<String>,
    max_session_duration: Option<u32>,
}

async fn role_summaries(iam: &Client) -> Result<BTreeMap<String, RoleSummary>, AwsError> {
    let mut pages = iam
        .list_roles()
        .max_items(PAGE_SIZE)
        .into_paginator()
        .send();
    let mut summaries = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| AwsError::from_sdk(LIST_ROLES, None, error))?;
        for role in page.roles() {
            summaries.insert(
                role.role_name().to_string(),
                summary(role.description(), role.max_session_duration()),
            );
        }
    }
    Ok(summaries)
}

async fn get_role_summary(iam: Client, name: String) -> Result<(String, RoleSummary), AwsError> {
    let output = iam
        .get_role()
        .role_name(&name)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(GET_ROLE, Some(format!("role `{name}`")), error))?;
    let role = output.role().ok_or_else(|| {
        AwsError::bad_response(
            GET_ROLE,
            Some(format!("role `{name}`")),
            "no `Role` in the response",
        )
    })?;
    Ok((
        name,
        summary(role.description(), role.max_session_duration()),
    ))
}

fn summary(description: Option<&str>, max_session_duration: Option<i32>) -> RoleSummary {
    RoleSummary {
        description: non_empty(description),
        max_session_duration: max_session_duration.and_then(|seconds| u32::try_from(seconds).ok()),
    }
}

async fn oidc_providers(iam: &Client) -> Result<Vec<(String, OidcProvider)>, AwsError> {
    let listed = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(LIST_OPEN_ID_CONNECT_PROVIDERS, None, error))?;
    let arns: Vec<String> = listed
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|entry| entry.arn().map(str::to_string))
        .collect();
    bounded(arns, |arn| get_oidc_provider(iam.clone(), arn)).await
}

async fn get_oidc_provider(iam: Client, arn: String) -> Result<(String, OidcProvider), AwsError> {
    let object = || Some(format!("OIDC provider `{arn}`"));
    let output = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(GET_OPEN_ID_CONNECT_PROVIDER, object(), error))?;
    // The ARN carries the issuer exactly as the provider was created; the URL field is the
    // same without a scheme on IAM, but mocks may add one.
    let issuer = match arn.split_once(":oidc-provider/") {
        Some((_, issuer)) => issuer.to_string(),
        None => match output.url() {
            Some(url) => issuer_host_path(url).to_string(),
            None => {
                return Err(AwsError::bad_response(
                    GET_OPEN_ID_CONNECT_PROVIDER,
                    object(),
                    "neither the ARN nor the response names the issuer",
                ));
            }
        },
    };
    Ok((
        issuer,
        OidcProvider {
            client_ids: output.client_id_list().iter().cloned().collect(),
            tags: tag_map(output.tags()),
        },
    ))
}

/// Runs `call` for every input, at most [`CONCURRENCY`] at a time; the first error wins and
/// cancels the rest. Results come back in completion order: callers collect into sorted maps.
/// Which of `arns` (managed policies a file refers to that are not in the live read:
/// AWS-managed ones and other accounts') IAM does not know: one `iam:GetPolicy` each,
/// concurrently. Sorted.
pub async fn missing_policies(iam: &Client, arns: Vec<String>) -> Result<Vec<String>, AwsError> {
    let found = bounded(arns, |arn| {
        let iam = iam.clone();
        async move {
            match iam.get_policy().policy_arn(&arn).send().await {
                Ok(_) => Ok((arn, true)),
                Err(error) => {
                    let error =
                        AwsError::from_sdk(GET_POLICY, Some(format!("policy `{arn}`")), error);
                    if error.kind == ErrorKind::NotFound {
                        Ok((arn, false))
                    } else {
                        Err(error)
                    }
                }
            }
        }
    })
    .await?;
    let mut missing: Vec<String> = found
        .into_iter()
        .filter_map(|(arn, exists)| (!exists).then_some(arn))
        .collect();
    missing.sort();
    Ok(missing)
}

async fn bounded<I, T, F, Fut>(inputs: Vec<I>, call: F) -> Result<Vec<T>, AwsError>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, AwsError>> + Send + 'static,
    T: Send + 'static,
{
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    for input in inputs {
        let permits = Arc::clone(&permits);
        let future = call(input);
        tasks.spawn(async move {
            // The semaphore is never closed, so the permit always comes.
            let _permit = permits.acquire_owned().await;
            future.await
        });
    }
    let mut results = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        let result = joined.map_err(|error| AwsError {
            call: "iam",
            object: None,
            kind: ErrorKind::Other,
            message: format!("a concurrent IAM read stopped: {error}"),
        })?;
        results.push(result?);
    }
    Ok(results)
}

fn user_from(detail: &UserDetail) -> Result<(String, User), AwsError> {
    let name = required(detail.user_name(), "user", "UserName")?;
    let object = || Some(format!("user `{name}`"));
    Ok((
        name.to_string(),
        User {
            path: path_or_root(detail.path()),
            groups: detail.group_list().iter().cloned().collect(),
            managed_policies: attached_arns(detail.attached_managed_policies()),
            inline_policies: inline_documents(detail.user_policy_list(), object)?,
            permissions_boundary: boundary_arn(detail.permissions_boundary()),
            tags: tag_map(detail.tags()),
        },
    ))
}

fn group_from(detail: &GroupDetail) -> Result<(String, Group), AwsError> {
    let name = required(detail.group_name(), "group", "GroupName")?;
    let object = || Some(format!("group `{name}`"));
    Ok((
        name.to_string(),
        Group {
            path: path_or_root(detail.path()),
            managed_policies: attached_arns(detail.attached_managed_policies()),
            inline_policies: inline_documents(detail.group_policy_list(), object)?,
            // Membership is read on the users' side (`User::groups`).
            members: BTreeSet::new(),
        },
    ))
}

fn role_from(
    detail: &RoleDetail,
    summaries: &BTreeMap<String, RoleSummary>,
) -> Result<(String, Role), AwsError> {
    let name = required(detail.role_name(), "role", "RoleName")?;
    let object = || Some(format!("role `{name}`"));
    let trust_text = detail.assume_role_policy_document().ok_or_else(|| {
        AwsError::bad_response(
            GET_ACCOUNT_AUTHORIZATION_DETAILS,
            object(),
            "no `AssumeRolePolicyDocument`",
        )
    })?;
    let trust = decode_document(trust_text).map_err(|message| {
        AwsError::bad_response(
            GET_ACCOUNT_AUTHORIZATION_DETAILS,
            object(),
            format!("unreadable trust policy: {message}"),
        )
    })?;
    let summary = summaries.get(name).cloned().unwrap_or_default();
    Ok((
        name.to_string(),
        Role {
            path: path_or_root(detail.path()),
            description: summary.description,
            max_session_duration: summary
                .max_session_duration
                .unwrap_or_else(default_max_session),
            trust,
            managed_policies: attached_arns(detail.attached_managed_policies()),
            inline_policies: inline_documents(detail.role_policy_list(), object)?,
            permissions_boundary: boundary_arn(detail.permissions_boundary()),
            tags: tag_map(detail.tags()),
            role_id: detail.role_id().map(str::to_string),
        },
    ))
}

fn policy_from(detail: &ManagedPolicyDetail) -> Result<(String, Policy), AwsError> {
    // IAM returns `PolicyName`; some endpoints leave it out, and the ARN's last segment is the
    // name either way.
    let name = match detail.policy_name() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => {
            let arn = required(detail.arn(), "policy", "Arn")?;
            policy_name_from_arn(arn).ok_or_else(|| {
                AwsError::bad_response(
                    GET_ACCOUNT_AUTHORIZATION_DETAILS,
                    Some(format!("policy `{arn}`")),
                    "the ARN is not a policy ARN",
                )
            })?
        }
    };
    let object = || Some(format!("policy `{name}`"));
    let default_version = detail
        .policy_version_list()
        .iter()
        .find(|version| {
            version.is_default_version()
                || (version.version_id().is_some()
                    && version.version_id() == detail.default_version_id())
        })
        .ok_or_else(|| {
            AwsError::bad_response(
                GET_ACCOUNT_AUTHORIZATION_DETAILS,
                object(),
                "no default policy version in the response",
            )
        })?;
    let text = default_version.document().ok_or_else(|| {
        AwsError::bad_response(
            GET_ACCOUNT_AUTHORIZATION_DETAILS,
            object(),
            "the default policy version has no document",
        )
    })?;
    let document = decode_document(text).map_err(|message| {
        AwsError::bad_response(
            GET_ACCOUNT_AUTHORIZATION_DETAILS,
            object(),
            format!("unreadable policy document: {message}"),
        )
    })?;
    Ok((
        name,
        Policy {
            path: path_or_root(detail.path()),
            description: non_empty(detail.description()),
            document,
            // Not read (see the module comment): ownership is the path.
            tags: BTreeMap::new(),
        },
    ))
}

/// `arn:aws:iam::1:policy/team/readers` → `readers`.
fn policy_name_from_arn(arn: &str) -> Option<String> {
    IamArn::parse(arn)?.policy_name().map(str::to_string)
}

fn required<'a>(value: Option<&'a str>, what: &str, field: &str) -> Result<&'a str, AwsError> {
    value.filter(|value| !value.is_empty()).ok_or_else(|| {
        AwsError::bad_response(
            GET_ACCOUNT_AUTHORIZATION_DETAILS,
            None,
            format!("a {what} without `{field}`"),
        )
    })
}

fn inline_documents(
    policies: &[PolicyDetail],
    object: impl Fn() -> Option<String>,
) -> Result<BTreeMap<String, PolicyDocument>, AwsError> {
    policies
        .iter()
        .map(|policy| {
            let name = policy.policy_name().unwrap_or_default();
            let text = policy.policy_document().ok_or_else(|| {
                AwsError::bad_response(
                    GET_ACCOUNT_AUTHORIZATION_DETAILS,
                    object(),
                    format!("inline policy `{name}` has no document"),
                )
            })?;
            let document = decode_document(text).map_err(|message| {
                AwsError::bad_response(
                    GET_ACCOUNT_AUTHORIZATION_DETAILS,
                    object(),
                    format!("unreadable inline policy `{name}`: {message}"),
                )
            })?;
            Ok((name.to_string(), document))
        })
        .collect()
}

fn attached_arns(policies: &[AttachedPolicy]) -> BTreeSet<String> {
    policies
        .iter()
        .filter_map(|policy| policy.policy_arn().map(str::to_string))
        .collect()
}

fn boundary_arn(boundary: Option<&AttachedPermissionsBoundary>) -> Option<String> {
    boundary
        .and_then(AttachedPermissionsBoundary::permissions_boundary_arn)
        .filter(|arn| !arn.is_empty())
        .map(str::to_string)
}

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|tag| (tag.key().to_string(), tag.value().to_string()))
        .collect()
}

fn path_or_root(path: Option<&str>) -> String {
    match path {
        Some(path) if !path.is_empty() => path.to_string(),
        _ => root_path(),
    }
}

/// IAM omits an unset description; some endpoints send `""`. Both mean none.
fn non_empty(text: Option<&str>) -> Option<String> {
    text.filter(|text| !text.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::types::PolicyVersion;
    use serde_json::json;

    use super::*;
    use crate::testing::assert_cases;

    const DOCUMENT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a+b/*"}]}"#;

    #[test]
    fn raw_and_percent_encoded_documents_decode_alike() {
        let raw = decode_document(DOCUMENT).expect("raw JSON");
        let encoded: String =
            percent_encoding::utf8_percent_encode(DOCUMENT, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert!(encoded.starts_with("%7B"));
        let decoded = decode_document(&encoded).expect("percent-encoded JSON");
        assert_eq!(raw, decoded);
        assert_eq!(
            decoded.to_value()["Statement"][0]["Resource"],
            json!("arn:aws:s3:::a+b/*")
        );
    }

    #[test]
    fn plus_is_not_a_space() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aa+b%2F*%22%7D%5D%7D";
        let document = decode_document(encoded).expect("decodes");
        assert_eq!(
            document.to_value()["Statement"][0]["Resource"],
            json!("arn:aws:s3:::a+b/*")
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode_document("not%20json").is_err());
        assert!(decode_document("%FF%FE").is_err());
    }

    #[test]
    fn policy_name_comes_from_the_arn_when_missing() {
        assert_cases(
            policy_name_from_arn,
            &[
                (
                    "arn:aws:iam::123456789012:policy/team/readers",
                    Some("readers".into()),
                ),
                (
                    "arn:aws:iam::123456789012:policy/readers",
                    Some("readers".into()),
                ),
                ("arn:aws:iam::1:role/readers", None),
            ],
        );

        let detail = ManagedPolicyDetail::builder()
            .arn("arn:aws:iam::123456789012:policy/team/readers")
            .path("/team/")
            .description("")
            .default_version_id("v2")
            .policy_version_list(
                PolicyVersion::builder()
                    .version_id("v1")
                    .document(r#"{"Statement":[]}"#)
                    .is_default_version(false)
                    .build(),
            )
            .policy_version_list(
                PolicyVersion::builder()
                    .version_id("v2")
                    .document(DOCUMENT)
                    .is_default_version(true)
                    .build(),
            )
            .build();
        let (name, policy) = policy_from(&detail).expect("converts");
        assert_eq!(name, "readers");
        assert_eq!(policy.path, "/team/");
        assert_eq!(policy.description, None);
        assert_eq!(policy.document, decode_document(DOCUMENT).expect("valid"));
    }

    #[test]
    fn a_policy_without_default_version_is_reported() {
        let detail = ManagedPolicyDetail::builder()
            .policy_name("orphan")
            .arn("arn:aws:iam::1:policy/orphan")
            .build();
        let error = policy_from(&detail).expect_err("no default version");
        assert_eq!(error.kind, ErrorKind::BadResponse);
        assert_eq!(error.object.as_deref(), Some("policy `orphan`"));
    }

    #[test]
    fn role_without_summary_gets_defaults() {
        let detail = RoleDetail::builder()
            .role_name("deployer")
            .role_id("AROAEXAMPLE")
            .assume_role_policy_document(DOCUMENT)
            .build();
        let (name, role) = role_from(&detail, &BTreeMap::new()).expect("converts");
        assert_eq!(name, "deployer");
        assert_eq!(role.path, "/");
        assert_eq!(role.max_session_duration, 3600);
        assert_eq!(role.description, None);
        assert_eq!(role.role_id.as_deref(), Some("AROAEXAMPLE"));
    }
}
