//! The server against the SDK: what accessctl relies on answers as EKS documents it.

use aws_sdk_eks::types::{AccessScope, AccessScopeType, AuthenticationMode};

use super::EksServer;

const ROLE: &str = "arn:aws:iam::123456789012:role/admin";

#[tokio::test]
async fn access_entries_round_trip_with_errors_and_pages() {
    let server = EksServer::start().await;
    server.add_cluster(
        "demo",
        "us-east-1",
        Some("API_AND_CONFIG_MAP"),
        Some("https://oidc.eks.us-east-1.amazonaws.com/id/ABC"),
    );
    server.add_cluster("old", "us-east-1", Some("CONFIG_MAP"), None);
    let eks = server.client("us-east-1");

    let described = eks
        .describe_cluster()
        .name("demo")
        .send()
        .await
        .expect("describe");
    let cluster = described.cluster().expect("cluster");
    assert_eq!(
        cluster
            .access_config()
            .and_then(|c| c.authentication_mode()),
        Some(&AuthenticationMode::ApiAndConfigMap)
    );
    assert_eq!(
        cluster
            .identity()
            .and_then(|i| i.oidc())
            .and_then(|o| o.issuer()),
        Some("https://oidc.eks.us-east-1.amazonaws.com/id/ABC")
    );
    let missing = eks
        .describe_cluster()
        .name("nope")
        .send()
        .await
        .expect_err("404");
    assert!(
        missing
            .into_service_error()
            .is_resource_not_found_exception()
    );

    let refused = eks
        .create_access_entry()
        .cluster_name("old")
        .principal_arn(ROLE)
        .send()
        .await
        .expect_err("CONFIG_MAP");
    assert!(refused.into_service_error().is_invalid_request_exception());

    for index in 0..5 {
        eks.create_access_entry()
            .cluster_name("demo")
            .principal_arn(format!("arn:aws:iam::123456789012:role/r{index}"))
            .kubernetes_groups("viewers")
            .tags("managed-by", "accessctl")
            .send()
            .await
            .expect("create");
    }
    let again = eks
        .create_access_entry()
        .cluster_name("demo")
        .principal_arn("arn:aws:iam::123456789012:role/r0")
        .send()
        .await
        .expect_err("exists");
    assert!(again.into_service_error().is_resource_in_use_exception());
    let reserved = eks
        .create_access_entry()
        .cluster_name("demo")
        .principal_arn(ROLE)
        .kubernetes_groups("system:masters")
        .send()
        .await
        .expect_err("reserved group");
    assert!(
        reserved
            .into_service_error()
            .is_invalid_parameter_exception()
    );

    let mut listed = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = eks
            .list_access_entries()
            .cluster_name("demo")
            .max_results(2)
            .set_next_token(token.take())
            .send()
            .await
            .expect("list");
        pages += 1;
        listed.extend(page.access_entries().to_vec());
        match page.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!((listed.len(), pages), (5, 3));

    let principal = "arn:aws:iam::123456789012:role/r1";
    eks.associate_access_policy()
        .cluster_name("demo")
        .principal_arn(principal)
        .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy")
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Namespace)
                .namespaces("apps")
                .build(),
        )
        .send()
        .await
        .expect("associate");
    let policies = demo_policies(&eks, principal).await;
    let [policy] = policies.associated_access_policies() else {
        panic!("{policies:?}");
    };
    assert_eq!(
        policy.access_scope().map(|s| s.namespaces().to_vec()),
        Some(vec!["apps".to_string()])
    );
    let bad = eks
        .associate_access_policy()
        .cluster_name("demo")
        .principal_arn(principal)
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .access_scope(
            AccessScope::builder()
                .r#type(AccessScopeType::Cluster)
                .build(),
        )
        .send()
        .await
        .expect_err("not an access policy");
    assert!(bad.into_service_error().is_invalid_parameter_exception());
    eks.disassociate_access_policy()
        .cluster_name("demo")
        .principal_arn(principal)
        .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy")
        .send()
        .await
        .expect("disassociate");
    eks.update_access_entry()
        .cluster_name("demo")
        .principal_arn(principal)
        .username("someone")
        .send()
        .await
        .expect("update");
    let described = eks
        .describe_access_entry()
        .cluster_name("demo")
        .principal_arn(principal)
        .send()
        .await
        .expect("describe entry");
    let entry = described.access_entry().expect("entry");
    assert_eq!(entry.username(), Some("someone"));
    assert_eq!(entry.kubernetes_groups(), ["viewers"]);
    eks.delete_access_entry()
        .cluster_name("demo")
        .principal_arn(principal)
        .send()
        .await
        .expect("delete");
    let gone = eks
        .delete_access_entry()
        .cluster_name("demo")
        .principal_arn(principal)
        .send()
        .await
        .expect_err("gone");
    assert!(gone.into_service_error().is_resource_not_found_exception());
    assert_eq!(server.entries("demo").len(), 4);
}

#[tokio::test]
async fn pod_identity_associations_round_trip() {
    let server = EksServer::start().await;
    server.add_cluster("demo", "eu-west-1", Some("API"), None);
    let eks = server.client("eu-west-1");
    let created = eks
        .create_pod_identity_association()
        .cluster_name("demo")
        .namespace("apps")
        .service_account("uploader")
        .role_arn(ROLE)
        .tags("managed-by", "accessctl")
        .send()
        .await
        .expect("create");
    let id = created
        .association()
        .and_then(|a| a.association_id())
        .expect("id")
        .to_string();
    let twice = eks
        .create_pod_identity_association()
        .cluster_name("demo")
        .namespace("apps")
        .service_account("uploader")
        .role_arn(ROLE)
        .send()
        .await
        .expect_err("one per service account");
    assert!(twice.into_service_error().is_resource_in_use_exception());
    let listed = eks
        .list_pod_identity_associations()
        .cluster_name("demo")
        .namespace("apps")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.associations().len(), 1);
    eks.update_pod_identity_association()
        .cluster_name("demo")
        .association_id(&id)
        .role_arn("arn:aws:iam::123456789012:role/other")
        .send()
        .await
        .expect("update");
    let arn = created
        .association()
        .and_then(|a| a.association_arn())
        .expect("arn");
    eks.untag_resource()
        .resource_arn(arn)
        .tag_keys("managed-by")
        .send()
        .await
        .expect("untag");
    let association = &server.associations("demo")["apps/uploader"];
    assert_eq!(association.role_arn, "arn:aws:iam::123456789012:role/other");
    assert!(association.tags.is_empty());
    eks.delete_pod_identity_association()
        .cluster_name("demo")
        .association_id(&id)
        .send()
        .await
        .expect("delete");
    assert!(server.associations("demo").is_empty());
}

/// The username of an entry created without one is EKS's, stored at creation and returned by
/// every read; a given one is kept as it is.
#[tokio::test]
async fn generated_usernames_follow_the_principal_kind_and_the_entry_type() {
    let server = EksServer::start().await;
    server.add_cluster("demo", "us-east-1", Some("API"), None);
    for (principal, kind) in [
        ("arn:aws:iam::123456789012:role/nodes", "EC2_LINUX"),
        ("arn:aws:iam::123456789012:role/windows", "EC2_WINDOWS"),
        ("arn:aws:iam::123456789012:role/fargate", "FARGATE_LINUX"),
        ("arn:aws:iam::123456789012:role/edge", "HYBRID_LINUX"),
    ] {
        server.add_entry("demo", principal, kind, &[]);
    }
    let eks = server.client("us-east-1");
    let created = eks
        .create_access_entry()
        .cluster_name("demo")
        .principal_arn("arn:aws:iam::123456789012:role/team/eks/admin")
        .send()
        .await
        .expect("create role entry");
    assert_eq!(
        created.access_entry().and_then(|e| e.username()),
        Some("arn:aws:sts::123456789012:assumed-role/admin/{{SessionName}}")
    );
    for (principal, username) in [
        ("arn:aws:iam::123456789012:user/people/alice", None),
        (
            "arn:aws:iam::123456789012:role/named",
            Some("named:{{SessionName}}"),
        ),
    ] {
        eks.create_access_entry()
            .cluster_name("demo")
            .principal_arn(principal)
            .set_username(username.map(str::to_string))
            .send()
            .await
            .expect("create");
    }
    let username = |principal: &str| {
        let eks = eks.clone();
        let principal = principal.to_string();
        async move {
            eks.describe_access_entry()
                .cluster_name("demo")
                .principal_arn(principal)
                .send()
                .await
                .expect("describe")
                .access_entry()
                .and_then(|e| e.username())
                .map(str::to_string)
        }
    };
    for (principal, expected) in [
        (
            "arn:aws:iam::123456789012:role/team/eks/admin",
            "arn:aws:sts::123456789012:assumed-role/admin/{{SessionName}}",
        ),
        (
            "arn:aws:iam::123456789012:user/people/alice",
            "arn:aws:iam::123456789012:user/people/alice",
        ),
        (
            "arn:aws:iam::123456789012:role/named",
            "named:{{SessionName}}",
        ),
        (
            "arn:aws:iam::123456789012:role/nodes",
            "system:node:{{EC2PrivateDNSName}}",
        ),
        (
            "arn:aws:iam::123456789012:role/windows",
            "system:node:{{EC2PrivateDNSName}}",
        ),
        (
            "arn:aws:iam::123456789012:role/fargate",
            "system:node:{{SessionName}}",
        ),
        (
            "arn:aws:iam::123456789012:role/edge",
            "system:node:{{SessionName}}",
        ),
    ] {
        assert_eq!(
            username(principal).await.as_deref(),
            Some(expected),
            "{principal}"
        );
    }
    // An update without a username keeps the one the entry has.
    eks.update_access_entry()
        .cluster_name("demo")
        .principal_arn("arn:aws:iam::123456789012:role/team/eks/admin")
        .kubernetes_groups("viewers")
        .send()
        .await
        .expect("update");
    assert_eq!(
        username("arn:aws:iam::123456789012:role/team/eks/admin")
            .await
            .as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/admin/{{SessionName}}")
    );
}

/// ARNs follow the partition of the cluster's region, and principals of another partition are
/// refused.
#[tokio::test]
async fn arns_follow_the_partition() {
    let server = EksServer::start().await;
    for (cluster, region, partition) in [
        ("china", "cn-north-1", "aws-cn"),
        ("gov", "us-gov-west-1", "aws-us-gov"),
        ("commercial", "eu-west-1", "aws"),
    ] {
        server.add_cluster(cluster, region, Some("API"), None);
        let eks = server.client(region);
        let described = eks
            .describe_cluster()
            .name(cluster)
            .send()
            .await
            .expect("describe");
        assert_eq!(
            described.cluster().and_then(|c| c.arn()),
            Some(format!("arn:{partition}:eks:{region}:123456789012:cluster/{cluster}").as_str())
        );
        let role = format!("arn:{partition}:iam::123456789012:role/ops/admin");
        let created = eks
            .create_access_entry()
            .cluster_name(cluster)
            .principal_arn(&role)
            .send()
            .await
            .expect("create");
        let entry = created.access_entry().expect("entry");
        assert_eq!(
            entry.username(),
            Some(
                format!("arn:{partition}:sts::123456789012:assumed-role/admin/{{{{SessionName}}}}")
                    .as_str()
            )
        );
        assert!(
            entry
                .access_entry_arn()
                .is_some_and(|arn| arn.starts_with(&format!("arn:{partition}:eks:{region}:"))),
            "{entry:?}"
        );
        eks.associate_access_policy()
            .cluster_name(cluster)
            .principal_arn(&role)
            .policy_arn(format!(
                "arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
            ))
            .access_scope(
                AccessScope::builder()
                    .r#type(AccessScopeType::Cluster)
                    .build(),
            )
            .send()
            .await
            .expect("associate");
        let association = eks
            .create_pod_identity_association()
            .cluster_name(cluster)
            .namespace("apps")
            .service_account("uploader")
            .role_arn(&role)
            .send()
            .await
            .expect("pod identity");
        assert!(
            association
                .association()
                .and_then(|a| a.association_arn())
                .is_some_and(|arn| arn.starts_with(&format!("arn:{partition}:eks:{region}:"))),
            "{association:?}"
        );
        let other = if partition == "aws" { "aws-cn" } else { "aws" };
        let foreign = eks
            .create_access_entry()
            .cluster_name(cluster)
            .principal_arn(format!("arn:{other}:iam::123456789012:role/elsewhere"))
            .send()
            .await
            .expect_err("another partition");
        assert!(
            foreign
                .into_service_error()
                .is_invalid_parameter_exception()
        );
    }
}

/// A cluster made by a creator (EKS's default) has the creator's access entry: untagged,
/// `STANDARD`, cluster admin; a cluster in `CONFIG_MAP` mode, or made without bootstrap admin
/// permissions, has no entries.
#[tokio::test]
async fn a_cluster_created_by_someone_has_the_creators_admin_entry() {
    const CREATOR: &str = "arn:aws:iam::123456789012:role/platform/cluster-creator";
    let server = EksServer::start().await;
    server.add_cluster_created_by(
        "demo",
        "us-east-1",
        Some("API_AND_CONFIG_MAP"),
        None,
        CREATOR,
    );
    server.add_cluster_created_by("old", "us-east-1", Some("CONFIG_MAP"), None, CREATOR);
    server.add_cluster("bare", "us-east-1", Some("API"), None);
    let eks = server.client("us-east-1");
    let listed = eks
        .list_access_entries()
        .cluster_name("demo")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.access_entries(), [CREATOR]);
    let described = eks
        .describe_access_entry()
        .cluster_name("demo")
        .principal_arn(CREATOR)
        .send()
        .await
        .expect("describe");
    let entry = described.access_entry().expect("entry");
    assert_eq!(entry.r#type(), Some("STANDARD"));
    assert!(entry.tags().is_none_or(|tags| tags.is_empty()), "{entry:?}");
    assert_eq!(
        entry.username(),
        Some("arn:aws:sts::123456789012:assumed-role/cluster-creator/{{SessionName}}")
    );
    let policies = demo_policies(&eks, CREATOR).await;
    let [policy] = policies.associated_access_policies() else {
        panic!("{policies:?}");
    };
    assert_eq!(
        policy.policy_arn(),
        Some("arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")
    );
    assert_eq!(
        policy.access_scope().and_then(|s| s.r#type()),
        Some(&AccessScopeType::Cluster)
    );
    let bootstrap = |name: &'static str| {
        let eks = eks.clone();
        async move {
            eks.describe_cluster()
                .name(name)
                .send()
                .await
                .expect("describe cluster")
                .cluster()
                .and_then(|c| c.access_config())
                .and_then(|c| c.bootstrap_cluster_creator_admin_permissions())
        }
    };
    assert_eq!(bootstrap("demo").await, Some(true));
    assert_eq!(bootstrap("bare").await, Some(false));
    assert!(server.entries("old").is_empty());
    assert!(server.entries("bare").is_empty());
}

/// TagResource and UntagResource answer with the errors the EKS model lists for them:
/// `NotFoundException` for an unknown resource, `BadRequestException` for tags EKS refuses.
#[tokio::test]
async fn tagging_errors_use_the_codes_of_the_eks_model() {
    let server = EksServer::start().await;
    server.add_cluster("demo", "us-east-1", Some("API"), None);
    let eks = server.client("us-east-1");
    let created = eks
        .create_access_entry()
        .cluster_name("demo")
        .principal_arn(ROLE)
        .send()
        .await
        .expect("create");
    let arn = created
        .access_entry()
        .and_then(|e| e.access_entry_arn())
        .expect("arn")
        .to_string();
    let missing = "arn:aws:eks:us-east-1:123456789012:access-entry/demo/gone";
    let unknown = eks
        .tag_resource()
        .resource_arn(missing)
        .tags("team", "a")
        .send()
        .await
        .expect_err("unknown resource");
    assert!(unknown.into_service_error().is_not_found_exception());
    let unknown = eks
        .untag_resource()
        .resource_arn(missing)
        .tag_keys("team")
        .send()
        .await
        .expect_err("unknown resource");
    assert!(unknown.into_service_error().is_not_found_exception());
    let reserved = eks
        .tag_resource()
        .resource_arn(&arn)
        .tags("aws:team", "a")
        .send()
        .await
        .expect_err("reserved prefix");
    assert!(reserved.into_service_error().is_bad_request_exception());
    let long = eks
        .tag_resource()
        .resource_arn(&arn)
        .tags("team", "v".repeat(257))
        .send()
        .await
        .expect_err("value too long");
    assert!(long.into_service_error().is_bad_request_exception());
    let mut fifty = eks.tag_resource().resource_arn(&arn);
    for index in 0..50 {
        fifty = fifty.tags(format!("k{index}"), "v");
    }
    fifty.send().await.expect("50 tags");
    let over = eks
        .tag_resource()
        .resource_arn(&arn)
        .tags("one-more", "v")
        .send()
        .await
        .expect_err("51 tags");
    assert!(over.into_service_error().is_bad_request_exception());
    eks.untag_resource()
        .resource_arn(&arn)
        .tag_keys("k0")
        .send()
        .await
        .expect("untag");
    assert_eq!(server.entries("demo")[ROLE].tags.len(), 49);
}

#[tokio::test]
async fn the_throttling_mode_answers_every_nth_request_with_429() {
    use aws_sdk_eks::error::ProvideErrorMetadata;

    let server = EksServer::start().await;
    server.add_cluster("demo", "us-east-1", Some("API"), None);
    let eks = server.client_without_retries("us-east-1");
    server.throttle_every(3);
    let mut outcomes = Vec::new();
    for _ in 0..9 {
        match eks.describe_cluster().name("demo").send().await {
            Ok(_) => outcomes.push("ok".to_string()),
            Err(error) => {
                let status = error.raw_response().map(|r| r.status().as_u16());
                let service = error.into_service_error();
                outcomes.push(format!(
                    "{status:?} {} {}",
                    service.code().unwrap_or_default(),
                    service.message().unwrap_or_default()
                ));
            }
        }
    }
    let throttled = "Some(429) ThrottlingException Rate exceeded";
    assert_eq!(
        outcomes,
        [
            "ok", "ok", throttled, "ok", "ok", throttled, "ok", "ok", throttled
        ]
    );
    assert_eq!(server.throttled(), 3);
    // Throttled requests are requests: they are logged like the others.
    assert_eq!(server.log().len(), 9);

    // Setting the mode again starts the count afresh; 0 turns it off.
    server.throttle_every(2);
    eks.describe_cluster()
        .name("demo")
        .send()
        .await
        .expect("1st");
    let second = eks.describe_cluster().name("demo").send().await;
    assert!(second.is_err(), "{second:?}");
    assert_eq!(server.throttled(), 1);
    server.throttle_every(0);
    for _ in 0..4 {
        eks.describe_cluster()
            .name("demo")
            .send()
            .await
            .expect("off");
    }
    assert_eq!(server.throttled(), 0);
}

/// A trust document: `service` may assume the role with `actions`.
fn trust(service: &str, actions: &[&str]) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}]})
        .to_string()
}

async fn create_role(iam: &aws_sdk_iam::Client, name: &str, trust: &str) -> String {
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("create role")
        .role()
        .expect("role")
        .arn()
        .to_string()
}

/// The error type and message of a failed EKS call.
fn refusal(error: impl aws_sdk_eks::error::ProvideErrorMetadata) -> (String, String) {
    (
        error.code().unwrap_or_default().to_string(),
        error.message().unwrap_or_default().to_string(),
    )
}

/// EKS consults the test's IAM: what moto created before stays visible, what it creates since is
/// not until the window is lifted, what it never created never is, and a Pod Identity role
/// must trust `pods.eks.amazonaws.com` with `sts:AssumeRole` and `sts:TagSession`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principals_iam_has_not_propagated_answer_what_eks_answers() {
    use super::{ACCOUNT, UNTIL_LIFTED};
    use crate::moto::Moto;

    let moto =
        tokio::task::spawn_blocking(|| Moto::start_with_env(&[("MOTO_ACCOUNT_ID", ACCOUNT)]))
            .await
            .expect("moto starts");
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    let pods = trust(
        "pods.eks.amazonaws.com",
        &["sts:AssumeRole", "sts:TagSession"],
    );
    let old = create_role(&iam, "old", &pods).await;
    let server = EksServer::start().await;
    server.add_cluster("demo", "us-east-1", Some("API"), None);
    server.consult_iam(iam.clone(), UNTIL_LIFTED);
    let eks = server.client("us-east-1");

    let fresh = create_role(&iam, "fresh", &pods).await;
    let no_tag = create_role(
        &iam,
        "no-tag",
        &trust("pods.eks.amazonaws.com", &["sts:AssumeRole"]),
    )
    .await;
    let ec2 = create_role(
        &iam,
        "ec2",
        &trust("ec2.amazonaws.com", &["sts:AssumeRole", "sts:TagSession"]),
    )
    .await;
    iam.create_user()
        .user_name("alice")
        .send()
        .await
        .expect("create user");
    let alice = format!("arn:aws:iam::{ACCOUNT}:user/alice");
    let missing = format!("arn:aws:iam::{ACCOUNT}:role/missing");
    let entry = |principal: &str| {
        eks.create_access_entry()
            .cluster_name("demo")
            .principal_arn(principal)
            .send()
    };
    let associate = |account: &str, role: &str| {
        eks.create_pod_identity_association()
            .cluster_name("demo")
            .namespace("apps")
            .service_account(account)
            .role_arn(role)
            .send()
    };
    let invalid_principal = (
        "InvalidParameterException".to_string(),
        "The specified principalArn is invalid: invalid principal".to_string(),
    );
    let no_role = (
        "InvalidParameterException".to_string(),
        "Role provided in the request does not exist".to_string(),
    );
    let bad_trust = (
        "InvalidParameterException".to_string(),
        "Trust policy of the role provided is invalid".to_string(),
    );

    // Within the window: what IAM made since is not there yet; what it had before is.
    for principal in [&fresh, &alice, &missing] {
        assert_eq!(
            refusal(entry(principal).await.expect_err(principal)),
            invalid_principal
        );
    }
    assert_eq!(
        refusal(associate("a", &fresh).await.expect_err("fresh")),
        no_role
    );
    entry(&old).await.expect("a role IAM had before is visible");
    let created = associate("old", &old).await.expect("association");
    let id = created
        .association()
        .and_then(|a| a.association_id())
        .expect("id")
        .to_string();
    let update = |role: &str| {
        eks.update_pod_identity_association()
            .cluster_name("demo")
            .association_id(&id)
            .role_arn(role)
            .send()
    };
    assert_eq!(refusal(update(&fresh).await.expect_err("fresh")), no_role);
    assert!(server.entries("demo").keys().eq([&old]));

    // The window lifted: new principals are there; a missing one never is; the trust counts.
    server.set_iam_window(std::time::Duration::ZERO);
    entry(&fresh).await.expect("visible now");
    entry(&alice).await.expect("a user too");
    assert_eq!(
        refusal(entry(&missing).await.expect_err("missing")),
        invalid_principal
    );
    assert_eq!(
        refusal(associate("b", &missing).await.expect_err("missing")),
        no_role
    );
    for role in [&no_tag, &ec2] {
        assert_eq!(
            refusal(associate("c", role).await.expect_err(role)),
            bad_trust
        );
        assert_eq!(refusal(update(role).await.expect_err(role)), bad_trust);
    }
    associate("a", &fresh).await.expect("trusted and visible");
    update(&fresh)
        .await
        .expect("update to a visible, trusted role");
    assert_eq!(server.associations("demo")["apps/old"].role_arn, fresh);
    let refused = server.refused();
    assert_eq!(
        refused,
        [&fresh, &alice, &missing, &fresh, &fresh, &missing, &missing].map(String::clone)
    );

    // A role deleted and created again under the same name is new again.
    server.set_iam_window(UNTIL_LIFTED);
    iam.delete_role()
        .role_name("old")
        .send()
        .await
        .expect("delete");
    create_role(&iam, "old", &pods).await;
    assert_eq!(
        refusal(associate("d", &old).await.expect_err("recreated")),
        no_role
    );
}

/// AssociateAccessPolicy right after CreateAccessEntry does not find the entry until the entry
/// window ends; without a window (the default) it finds it at once.
#[tokio::test]
async fn a_new_entry_is_not_found_by_associate_access_policy_within_its_window() {
    use super::UNTIL_LIFTED;

    let server = EksServer::start().await;
    server.add_cluster("demo", "us-east-1", Some("API"), None);
    let eks = server.client("us-east-1");
    let associate = |principal: &str| {
        eks.associate_access_policy()
            .cluster_name("demo")
            .principal_arn(principal)
            .policy_arn("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy")
            .access_scope(
                AccessScope::builder()
                    .r#type(AccessScopeType::Cluster)
                    .build(),
            )
            .send()
    };
    let before = "arn:aws:iam::123456789012:role/before";
    eks.create_access_entry()
        .cluster_name("demo")
        .principal_arn(before)
        .send()
        .await
        .expect("create");
    associate(before).await.expect("no window: found at once");
    server.set_entry_window(UNTIL_LIFTED);
    eks.create_access_entry()
        .cluster_name("demo")
        .principal_arn(ROLE)
        .send()
        .await
        .expect("create");
    let (code, message) = refusal(associate(ROLE).await.expect_err("not yet"));
    assert_eq!(code, "ResourceNotFoundException");
    assert!(
        message.starts_with("The specified principalArn could not be found."),
        "{message}"
    );
    assert!(server.entries("demo")[ROLE].policies.is_empty());
    // The window over: found.
    server.set_entry_window(std::time::Duration::ZERO);
    associate(ROLE).await.expect("found now");
    assert_eq!(server.entries("demo")[ROLE].policies.len(), 1);
}

/// The access policies associated with `principal`'s entry on `demo`.
async fn demo_policies(
    eks: &aws_sdk_eks::Client,
    principal: &str,
) -> aws_sdk_eks::operation::list_associated_access_policies::ListAssociatedAccessPoliciesOutput {
    eks.list_associated_access_policies()
        .cluster_name("demo")
        .principal_arn(principal)
        .send()
        .await
        .expect("policies")
}
