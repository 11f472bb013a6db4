//! The live IAM read against moto (objects made with the SDK come back as the model says) and
//! against SDK-level mocks (pagination, fallbacks and errors that moto cannot show).

use std::collections::{BTreeMap, BTreeSet};

use accessctl::aws::{self, AwsOptions, Clients, ErrorKind, decode_document};
use accessctl::model::{Group, Iam, OidcProvider, Policy, PolicyDocument, Role, User};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_iam::types::Tag;
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use aws_types::os_shim_internal::Env;

use crate::moto::{Moto, dummy_credentials};
use crate::support::target::AwsTarget;

const ACCOUNT: &str = "123456789012";

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
const READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}"#;
/// `+`, spaces and non-ASCII survive the URL-encoding round trip.
const ODD: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Odd","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::a+b c/ü*"}]}"#;
const DEPLOY_V1: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"eks:DescribeCluster","Resource":"*"}]}"#;
const DEPLOY_V2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["eks:DescribeCluster","eks:ListClusters"],"Resource":"*"}]}"#;
const ISSUER: &str = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

fn document(text: &str) -> PolicyDocument {
    decode_document(text).expect("test documents are valid")
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .expect("key and value set")
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn policy_arn(path: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy{path}{name}")
}

/// Creates, with the SDK, one of everything the read covers; returns what the read must give.
async fn create_everything(iam: &aws_sdk_iam::Client) -> Iam {
    let readers = policy_arn("/accessctl/", "readers");
    let deployers = policy_arn("/", "deployers");
    let boundary = policy_arn("/", "boundary");
    iam.create_policy()
        .policy_name("readers")
        .path("/accessctl/")
        .description("Read buckets")
        .policy_document(READ)
        .tags(tag("managed-by", "accessctl"))
        .tags(tag("team", "platform"))
        .send()
        .await
        .expect("create readers");
    iam.create_policy()
        .policy_name("deployers")
        .policy_document(DEPLOY_V1)
        .send()
        .await
        .expect("create deployers");
    iam.create_policy_version()
        .policy_arn(&deployers)
        .policy_document(DEPLOY_V2)
        .set_as_default(true)
        .send()
        .await
        .expect("new default version");
    iam.create_policy()
        .policy_name("boundary")
        .policy_document(ODD)
        .send()
        .await
        .expect("create boundary");

    iam.create_group()
        .group_name("readers")
        .send()
        .await
        .expect("create group");
    iam.attach_group_policy()
        .group_name("readers")
        .policy_arn(&readers)
        .send()
        .await
        .expect("attach to group");
    iam.put_group_policy()
        .group_name("readers")
        .policy_name("odd")
        .policy_document(ODD)
        .send()
        .await
        .expect("group inline");

    iam.create_user()
        .user_name("alice")
        .path("/people/")
        .tags(tag("managed-by", "accessctl"))
        .send()
        .await
        .expect("create alice");
    iam.add_user_to_group()
        .user_name("alice")
        .group_name("readers")
        .send()
        .await
        .expect("membership");
    iam.attach_user_policy()
        .user_name("alice")
        .policy_arn(&deployers)
        .send()
        .await
        .expect("attach to user");
    iam.put_user_policy()
        .user_name("alice")
        .policy_name("odd")
        .policy_document(ODD)
        .send()
        .await
        .expect("user inline");
    iam.create_user()
        .user_name("bob")
        .send()
        .await
        .expect("create bob");

    iam.create_role()
        .role_name("deployer")
        .path("/ci/")
        .description("Deploys from CI")
        .max_session_duration(7200)
        .assume_role_policy_document(TRUST)
        .permissions_boundary(&boundary)
        .tags(tag("managed-by", "accessctl"))
        .send()
        .await
        .expect("create deployer");
    iam.attach_role_policy()
        .role_name("deployer")
        .policy_arn(&deployers)
        .send()
        .await
        .expect("attach to role");
    iam.put_role_policy()
        .role_name("deployer")
        .policy_name("read")
        .policy_document(READ)
        .send()
        .await
        .expect("role inline");
    iam.create_role()
        .role_name("plain")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("create plain");

    iam.create_open_id_connect_provider()
        .url(format!("https://{ISSUER}"))
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .tags(tag("cluster", "prod"))
        .send()
        .await
        .expect("create OIDC provider");

    let mut expected = Iam::default();
    expected.policies.insert(
        "readers".into(),
        Policy {
            path: "/accessctl/".into(),
            description: Some("Read buckets".into()),
            document: document(READ),
            // Tagged in IAM, but policy tags are not read: ownership is the path.
            tags: BTreeMap::new(),
        },
    );
    expected.policies.insert(
        "deployers".into(),
        Policy {
            path: "/".into(),
            description: None,
            document: document(DEPLOY_V2),
            tags: BTreeMap::new(),
        },
    );
    expected.policies.insert(
        "boundary".into(),
        Policy {
            path: "/".into(),
            description: None,
            document: document(ODD),
            tags: BTreeMap::new(),
        },
    );
    expected.groups.insert(
        "readers".into(),
        Group {
            path: "/".into(),
            managed_policies: set(&[&readers]),
            inline_policies: [("odd".to_string(), document(ODD))].into(),
            members: BTreeSet::new(),
        },
    );
    expected.users.insert(
        "alice".into(),
        User {
            path: "/people/".into(),
            groups: set(&["readers"]),
            managed_policies: set(&[&deployers]),
            inline_policies: [("odd".to_string(), document(ODD))].into(),
            permissions_boundary: None,
            tags: map(&[("managed-by", "accessctl")]),
        },
    );
    expected.users.insert(
        "bob".into(),
        User {
            path: "/".into(),
            groups: BTreeSet::new(),
            managed_policies: BTreeSet::new(),
            inline_policies: BTreeMap::new(),
            permissions_boundary: None,
            tags: BTreeMap::new(),
        },
    );
    expected.roles.insert(
        "deployer".into(),
        Role {
            path: "/ci/".into(),
            description: Some("Deploys from CI".into()),
            max_session_duration: 7200,
            trust: document(TRUST),
            managed_policies: set(&[&deployers]),
            inline_policies: [("read".to_string(), document(READ))].into(),
            permissions_boundary: Some(boundary.clone()),
            tags: map(&[("managed-by", "accessctl")]),
            role_id: None,
        },
    );
    expected.roles.insert(
        "plain".into(),
        Role {
            path: "/".into(),
            description: None,
            max_session_duration: 3600,
            trust: document(TRUST),
            managed_policies: BTreeSet::new(),
            inline_policies: BTreeMap::new(),
            permissions_boundary: None,
            tags: BTreeMap::new(),
            role_id: None,
        },
    );
    expected.oidc_providers.insert(
        ISSUER.into(),
        OidcProvider {
            client_ids: set(&["sts.amazonaws.com"]),
            tags: map(&[("cluster", "prod")]),
        },
    );
    expected
}

fn counts(pairs: &[(&str, u64)]) -> aws::CallCounts {
    aws::CallCounts(
        pairs
            .iter()
            .map(|(operation, count)| (operation.to_string(), *count))
            .collect(),
    )
}

#[tokio::test]
async fn read_returns_exactly_what_was_created() {
    if AwsTarget::from_env().skip_if_external("read_returns_exactly_what_was_created: reads back a whole account only it has written to: a fresh moto") {
        return;
    }
    let moto = Moto::start();
    let clients = moto.clients();
    let expected = create_everything(&clients.iam).await;

    let (caller, mut iam, calls) = aws::read_iam(&clients).await.expect("read");

    assert_eq!(caller.account, ACCOUNT);
    for (name, role) in &mut iam.roles {
        let role_id = role.role_id.take();
        assert!(
            role_id.as_deref().is_some_and(|id| id.starts_with("AROA")),
            "role `{name}` has IAM's unique id, got {role_id:?}"
        );
    }
    assert_eq!(iam, expected);
    assert_eq!(
        calls,
        counts(&[
            ("iam:GetAccountAuthorizationDetails", 1),
            ("iam:GetOpenIDConnectProvider", 1),
            ("iam:ListOpenIDConnectProviders", 1),
            ("iam:ListRoles", 1),
            ("sts:GetCallerIdentity", 1),
        ])
    );
}

#[tokio::test]
async fn an_empty_account_reads_as_empty() {
    if AwsTarget::from_env()
        .skip_if_external("an_empty_account_reads_as_empty: needs an empty account: a fresh moto")
    {
        return;
    }
    let moto = Moto::start();
    let clients = moto.clients();
    let (state, calls) = aws::read_state(&clients).await.expect("read");
    assert_eq!(state.iam, Iam::default());
    assert_eq!(state.account.as_deref(), Some(ACCOUNT));
    assert_eq!(state.partition, "aws");
    assert_eq!(
        state.caller.map(|caller| caller.arn),
        Some(format!("arn:aws:sts::{ACCOUNT}:user/moto"))
    );
    assert_eq!(
        calls,
        counts(&[
            ("iam:GetAccountAuthorizationDetails", 1),
            ("iam:ListOpenIDConnectProviders", 1),
            ("iam:ListRoles", 1),
            ("sts:GetCallerIdentity", 1),
        ])
    );
}

#[tokio::test]
async fn reset_wipes_the_server_between_test_cases() {
    if AwsTarget::from_env()
        .skip_if_external("reset_wipes_the_server_between_test_cases: checks moto's reset")
    {
        return;
    }
    let moto = Moto::start();
    let clients = moto.clients();
    clients
        .iam
        .create_user()
        .user_name("leftover")
        .send()
        .await
        .expect("create user");
    let (_, before, _) = aws::read_iam(&clients).await.expect("read");
    assert_eq!(before.users.keys().collect::<Vec<_>>(), ["leftover"]);
    moto.reset();
    let (_, after, _) = aws::read_iam(&clients).await.expect("read");
    assert_eq!(after, Iam::default());
}

/// More objects than one default IAM page (100), with the figures the report quotes.
#[tokio::test]
async fn many_objects_read_in_few_calls() {
    if AwsTarget::from_env().skip_if_external(
        "many_objects_read_in_few_calls: counts the calls of reading a whole fresh moto account",
    ) {
        return;
    }
    const USERS: usize = 150;
    const ROLES: usize = 120;
    const POLICIES: usize = 40;
    let moto = Moto::start();
    let clients = moto.clients();
    for index in 0..USERS {
        clients
            .iam
            .create_user()
            .user_name(format!("user-{index:03}"))
            .tags(tag("index", &index.to_string()))
            .send()
            .await
            .expect("create user");
    }
    for index in 0..ROLES {
        clients
            .iam
            .create_role()
            .role_name(format!("role-{index:03}"))
            .assume_role_policy_document(TRUST)
            .send()
            .await
            .expect("create role");
    }
    for index in 0..POLICIES {
        clients
            .iam
            .create_policy()
            .policy_name(format!("policy-{index:03}"))
            .policy_document(READ)
            .tags(tag("index", &index.to_string()))
            .send()
            .await
            .expect("create policy");
    }
    let (_, iam, calls) = aws::read_iam(&clients).await.expect("read");

    assert_eq!(iam.users.len(), USERS);
    assert_eq!(iam.roles.len(), ROLES);
    assert_eq!(iam.policies.len(), POLICIES);
    assert_eq!(
        iam.users.get("user-149").map(|user| user.tags.clone()),
        Some(map(&[("index", "149")]))
    );
    // Policy tags are not read, whatever the number of policies: no call per policy.
    assert_eq!(
        iam.policies
            .get("policy-039")
            .map(|policy| policy.tags.clone()),
        Some(BTreeMap::new())
    );
    // moto serves GAAD and ListRoles in one page whatever MaxItems says; the mocked test below
    // covers following real pages.
    assert_eq!(calls.get("iam:ListPolicyTags"), 0);
    assert_eq!(calls.get("iam:GetRole"), 0);
    assert_eq!(calls.total(), 4);
    eprintln!("read {} objects with {calls}", USERS + ROLES + POLICIES);
}

/// `AWS_ENDPOINT_URL_IAM` / `_STS` win over `AWS_ENDPOINT_URL`, through the standard chain
/// (environment credentials included), with accessctl's HTTP client.
#[tokio::test]
async fn standard_endpoint_variables_are_honoured() {
    if AwsTarget::from_env().skip_if_external("standard_endpoint_variables_are_honoured: needs an empty moto account at an endpoint of its own") {
        return;
    }
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let config = aws::config::loader(&AwsOptions::default())
        .env(Env::from_slice(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_IAM", &endpoint),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_CONFIG_FILE", "/nonexistent/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
        ]))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let clients = Clients::new(&config);
    let iam = aws::read_iam_objects(&clients.iam)
        .await
        .expect("IAM goes to AWS_ENDPOINT_URL_IAM");
    assert_eq!(iam, Iam::default());
    let error = aws::caller_identity(&clients.sts)
        .await
        .expect_err("STS goes to AWS_ENDPOINT_URL, where nothing listens");
    assert_eq!(error.kind, ErrorKind::Unreachable, "{error}");
    assert!(
        error
            .to_string()
            .starts_with("`sts:GetCallerIdentity` failed: cannot reach")
    );

    let config = aws::config::loader(&AwsOptions::default())
        .env(Env::from_slice(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_STS", &endpoint),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_CONFIG_FILE", "/nonexistent/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
        ]))
        .load()
        .await;
    let caller = aws::caller_identity(&Clients::new(&config).sts)
        .await
        .expect("STS goes to AWS_ENDPOINT_URL_STS; no region falls back");
    assert_eq!(caller.account, ACCOUNT);
}

// --- SDK-level mocks: what moto cannot show ---

fn mocked(rules: &[&aws_smithy_mocks::Rule]) -> Clients {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let iam = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::from_static("us-east-1"))
        .credentials_provider(dummy_credentials())
        .http_client(create_mock_http_client())
        .interceptor(interceptor);
    let sts = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::from_static("us-east-1"))
        .credentials_provider(dummy_credentials())
        .http_client(create_mock_http_client());
    Clients::from_builders(iam, sts)
}

fn user_detail(name: &str) -> aws_sdk_iam::types::UserDetail {
    aws_sdk_iam::types::UserDetail::builder()
        .user_name(name)
        .path("/")
        .build()
}

#[tokio::test]
async fn truncated_pages_are_followed_and_unlisted_roles_fetched() {
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
    use aws_sdk_iam::operation::get_role::GetRoleOutput;
    use aws_sdk_iam::operation::list_open_id_connect_providers::ListOpenIdConnectProvidersOutput;
    use aws_sdk_iam::operation::list_roles::ListRolesOutput;

    let first_page = mock!(Client::get_account_authorization_details)
        .match_requests(|request| request.marker().is_none())
        .then_output(|| {
            GetAccountAuthorizationDetailsOutput::builder()
                .user_detail_list(user_detail("first"))
                .is_truncated(true)
                .marker("page-2")
                .build()
        });
    let second_page = mock!(Client::get_account_authorization_details)
        .match_requests(|request| request.marker() == Some("page-2"))
        .then_output(|| {
            GetAccountAuthorizationDetailsOutput::builder()
                .user_detail_list(user_detail("second"))
                .role_detail_list(
                    aws_sdk_iam::types::RoleDetail::builder()
                        .role_name("late")
                        .path("/")
                        .assume_role_policy_document(
                            percent_encoding::utf8_percent_encode(
                                TRUST,
                                percent_encoding::NON_ALPHANUMERIC,
                            )
                            .to_string(),
                        )
                        .build(),
                )
                .is_truncated(false)
                .build()
        });
    let no_roles = mock!(Client::list_roles).then_output(|| {
        ListRolesOutput::builder()
            .set_roles(Some(Vec::new()))
            .build()
            .expect("roles set")
    });
    let get_role = mock!(Client::get_role)
        .match_requests(|request| request.role_name() == Some("late"))
        .then_output(|| {
            GetRoleOutput::builder()
                .role(
                    aws_sdk_iam::types::Role::builder()
                        .role_name("late")
                        .path("/")
                        .role_id("AROALATE")
                        .arn(format!("arn:aws:iam::{ACCOUNT}:role/late"))
                        .create_date(aws_smithy_types::DateTime::from_secs(0))
                        .description("Created during the read")
                        .max_session_duration(43200)
                        .build()
                        .expect("required fields set"),
                )
                .build()
        });
    let no_providers = mock!(Client::list_open_id_connect_providers)
        .then_output(|| ListOpenIdConnectProvidersOutput::builder().build());
    let clients = mocked(&[
        &first_page,
        &second_page,
        &no_roles,
        &get_role,
        &no_providers,
    ]);

    let iam = aws::read_iam_objects(&clients.iam).await.expect("read");

    assert_eq!(
        iam.users.keys().map(String::as_str).collect::<Vec<_>>(),
        ["first", "second"]
    );
    let late = iam.roles.get("late").expect("role from page 2");
    assert_eq!(late.description.as_deref(), Some("Created during the read"));
    assert_eq!(late.max_session_duration, 43200);
    assert_eq!(late.trust, document(TRUST));
    assert_eq!(first_page.num_calls(), 1);
    assert_eq!(second_page.num_calls(), 1);
    assert_eq!(
        clients.counter.snapshot(),
        counts(&[
            ("iam:GetAccountAuthorizationDetails", 2),
            ("iam:GetRole", 1),
            ("iam:ListOpenIDConnectProviders", 1),
            ("iam:ListRoles", 1),
        ])
    );
}

#[tokio::test]
async fn access_denied_names_the_call_and_the_missing_permission() {
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsError;
    use aws_sdk_iam::operation::list_open_id_connect_providers::ListOpenIdConnectProvidersOutput;
    use aws_sdk_iam::operation::list_roles::ListRolesOutput;
    use aws_smithy_types::error::ErrorMetadata;

    let denied = mock!(Client::get_account_authorization_details).then_error(|| {
        GetAccountAuthorizationDetailsError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:GetAccountAuthorizationDetails")
                .build(),
        )
    });
    let no_roles = mock!(Client::list_roles).then_output(|| {
        ListRolesOutput::builder()
            .set_roles(Some(Vec::new()))
            .build()
            .expect("roles set")
    });
    let no_providers = mock!(Client::list_open_id_connect_providers)
        .then_output(|| ListOpenIdConnectProvidersOutput::builder().build());
    let clients = mocked(&[&denied, &no_roles, &no_providers]);

    let error = aws::read_iam_objects(&clients.iam)
        .await
        .expect_err("denied");
    assert_eq!(error.kind, ErrorKind::AccessDenied);
    assert_eq!(
        error.to_string(),
        "`iam:GetAccountAuthorizationDetails` failed: access denied: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:GetAccountAuthorizationDetails"
    );
    assert!(
        error
            .hint()
            .starts_with("the caller needs `iam:GetAccountAuthorizationDetails`")
    );
}
