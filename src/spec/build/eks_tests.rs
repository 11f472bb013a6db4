//! The builder for EKS: Pod Identity associations and the trust statement they need, and the
//! trust-policy size IAM accepts by default.

use serde_json::json;

use super::super::{Facts, load_text};
use crate::model::Desired;
use crate::model::{MANAGED_BY_TAG, MANAGED_BY_VALUE};

fn load(text: &str) -> Result<Desired, String> {
    load_text("access.yaml", text, &Facts::default())
        .map_err(|diagnostics| super::super::Diagnostics(diagnostics).to_string())
}

/// Two roles used by Pod Identity: `uploader` trusts the agent in the file, `reporter` trusts
/// its account only.
const POD_IDENTITY: &str = r#"
version: 1
account: "111122223333"
iam:
  roles:
    uploader:
      trust: {services: [pods.eks.amazonaws.com]}
    reporter:
      trust: {accounts: ["111122223333"]}
clusters:
  demo:
    region: us-east-1
    namespaces: {apps: {}}
    serviceAccounts:
      apps/uploader: {podIdentity: uploader}
      apps/reporter: {podIdentity: "arn:aws:iam::111122223333:role/reporter"}
"#;

#[test]
fn pod_identity_creates_the_association_and_trusts_the_agent() {
    let desired = load(POD_IDENTITY).unwrap_or_else(|error| panic!("{error}"));
    let demo = &desired.state.clusters["demo"];
    let association = &demo.pod_identity["apps/uploader"];
    assert_eq!(
        association.role_arn,
        "arn:aws:iam::111122223333:role/uploader"
    );
    assert_eq!(association.tags[MANAGED_BY_TAG], MANAGED_BY_VALUE);
    assert_eq!(
        demo.pod_identity["apps/reporter"].role_arn,
        "arn:aws:iam::111122223333:role/reporter"
    );
    let statement = json!({
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    });
    // The service listed by hand is not repeated in a second statement.
    assert_eq!(
        desired.state.iam.roles["uploader"].trust.to_value()["Statement"],
        json!([statement])
    );
    let reporter = desired.state.iam.roles["reporter"].trust.to_value();
    assert_eq!(reporter["Statement"].as_array().map(Vec::len), Some(2));
    assert_eq!(reporter["Statement"][1], statement);
    // Not a ServiceAccount annotation: Pod Identity needs none.
    assert!(
        demo.service_accounts["apps/uploader"]
            .meta
            .annotations
            .is_empty()
    );
}

#[test]
fn pod_identity_mistakes_are_refused() {
    // A raw trust document must trust the agent itself.
    let raw = POD_IDENTITY.replace(
        "trust: {services: [pods.eks.amazonaws.com]}",
        r#"trust:
        document:
          Version: "2012-10-17"
          Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}]"#,
    );
    // A Pod Identity role is a known one.
    let unknown = POD_IDENTITY.replace("{podIdentity: uploader}", "{podIdentity: nobody}");
    let cases = [
        (
            raw,
            "is used by `podIdentity` but its trust `document` does not allow `pods.eks.amazonaws.com` `sts:AssumeRole` and `sts:TagSession`",
        ),
        (unknown, "nobody"),
    ];
    for (text, expected) in cases {
        let error = load(&text).expect_err("refused");
        assert!(error.contains(expected), "{error}");
    }
}

#[test]
fn irsa_trust_over_the_default_quota_is_refused_with_its_size() {
    let accounts: Vec<String> = (0..40)
        .map(|index| format!("\"demo/apps/service-account-number-{index:02}\""))
        .collect();
    let text = format!(
        r#"
version: 1
account: "111122223333"
iam:
  roles:
    shared:
      trust: {{serviceAccounts: [{}]}}
clusters:
  demo:
    oidcIssuer: https://oidc.eks.us-east-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B
"#,
        accounts.join(", ")
    );
    let error = load(&text).expect_err("refused");
    assert!(
        error.contains("the trust policy of role `shared` is ")
            && error.contains("characters: IAM quota `Role trust policy length` is 2,048 (adjustable to 4,096 in Service Quotas)"),
        "{error}"
    );
    assert!(error.contains("Role trust policy length"), "{error}");

    // Four service accounts fit.
    let few = text
        .replace(&accounts[4..].join(", "), "")
        .replace(", ]", "]");
    let desired = load(&few).unwrap_or_else(|error| panic!("{error}"));
    let length =
        super::super::validate::limits::document_size(&desired.state.iam.roles["shared"].trust);
    assert!(length < 2048, "{length}");
}
