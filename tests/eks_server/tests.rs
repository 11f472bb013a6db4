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
    let policies = eks
        .list_associated_access_policies()
        .cluster_name("demo")
        .principal_arn(principal)
        .send()
        .await
        .expect("policies");
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
