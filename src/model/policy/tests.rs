//! The policy model's tests: equivalences, differences, the canonical form, errors, and
//! properties over generated documents.

use proptest::prelude::*;
use serde_json::{Map, json};

use super::*;

fn parse(value: Value, kind: DocumentKind) -> PolicyDocument {
    match PolicyDocument::from_value(&value, kind) {
        Ok(document) => document,
        Err(errors) => panic!("{value} should be valid: {errors:?}"),
    }
}

fn assert_same(case: &str, a: Value, b: Value, kind: DocumentKind) {
    let (first, second) = (parse(a, kind), parse(b, kind));
    assert_eq!(
        first,
        second,
        "{case}:\n{}\n!=\n{}",
        first.to_pretty_json(),
        second.to_pretty_json()
    );
    // Equal documents render the same, up to the spelling of actions and keys.
    assert_eq!(
        first.to_value().to_string().to_ascii_lowercase(),
        second.to_value().to_string().to_ascii_lowercase(),
        "{case}"
    );
}

fn assert_different(case: &str, a: Value, b: Value, kind: DocumentKind) {
    let (first, second) = (parse(a, kind), parse(b, kind));
    assert_ne!(first, second, "{case}:\n{}", first.to_pretty_json());
}

fn errors(value: Value, kind: DocumentKind) -> Vec<PolicyError> {
    match PolicyDocument::from_value(&value, kind) {
        Ok(document) => panic!(
            "{value} should be refused, got {}",
            document.to_pretty_json()
        ),
        Err(errors) => errors,
    }
}

fn paths(errors: &[PolicyError]) -> Vec<String> {
    errors.iter().map(|error| error.path.join(".")).collect()
}

/// The eks-admin policy of the seed runbook, as written there.
fn eks_admin_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["eks:*"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}}
            }
        ]
    })
}

/// The policy grammar has one reader: no other module of src takes a policy document
/// apart as JSON (it asks this module's typed view), and there is one `Statement` type.
#[test]
fn only_the_policy_model_reads_policy_json() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let keys: Vec<&str> = reader::TOP_LEVEL_KEYS
        .iter()
        .chain(&reader::STATEMENT_KEYS)
        .copied()
        .collect();
    let mut walkers = Vec::new();
    let mut statement_types = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).expect("src is readable");
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            statement_types.extend(
                text.matches(concat!("struct", " Statement "))
                    .map(|_| relative.clone()),
            );
            let own = relative == "model/policy.rs" || relative.starts_with("model/policy/");
            let is_test = relative.ends_with("tests.rs");
            if own || is_test {
                continue;
            }
            // Test modules may look at rendered documents; the code under test may not.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for key in &keys {
                for access in [
                    format!("get(\"{key}\")"),
                    format!("get_mut(\"{key}\")"),
                    format!("contains_key(\"{key}\")"),
                    format!("[\"{key}\"]"),
                ] {
                    if code.contains(&access) {
                        walkers.push(format!("{relative}: {access}"));
                    }
                }
            }
        }
    }
    assert_eq!(
        walkers,
        Vec::<String>::new(),
        "policy JSON read outside model::policy"
    );
    assert_eq!(
        statement_types.len(),
        1,
        "`struct Statement` in {statement_types:?}"
    );
}

// Pairs of documents.

/// How IAM reads a pair of documents.
#[derive(Clone, Copy, Debug)]
enum Reads {
    Same,
    Different,
}

/// Pairs of documents and how IAM reads them: (what the pair shows, one, the other, kind, how).
fn pairs() -> Vec<(&'static str, Value, Value, DocumentKind, Reads)> {
    let mut reversed = eks_admin_policy();
    if let Some(Value::Array(statements)) = reversed.get_mut("Statement") {
        statements.reverse();
    }
    let statement = json!({"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"});
    let issuer = "oidc.eks.ca-central-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B";
    vec![
        // Equivalent pairs.
        (
            "statement order does not matter",
            eks_admin_policy(),
            reversed,
            DocumentKind::Identity,
            Reads::Same,
        ),
        (
            "duplicate statements do not matter",
            json!({"Version": "2012-10-17", "Statement": [statement.clone()]}),
            json!({"Version": "2012-10-17", "Statement": [statement.clone(), statement]}),
            DocumentKind::Identity,
            Reads::Same,
        ),
        (
            "IRSA trust as written equals as IAM returns it",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Federated": format!("arn:aws:iam::204393242335:oidc-provider/{issuer}")},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    format!("{issuer}:aud"): "sts.amazonaws.com",
                    format!("{issuer}:sub"): "system:serviceaccount:devops-aurora-1:connections-serviceaccount-s3"}}}]}),
            json!({"Statement": [{"Condition": {"StringEquals": {
                    format!("{issuer}:sub"): ["system:serviceaccount:devops-aurora-1:connections-serviceaccount-s3"],
                    format!("{issuer}:aud"): ["sts.amazonaws.com"]}},
                "Action": ["sts:AssumeRoleWithWebIdentity"],
                "Principal": {"Federated": [format!("arn:aws:iam::204393242335:oidc-provider/{issuer}")]},
                "Effect": "Allow"}], "Version": "2012-10-17"}),
            DocumentKind::Trust,
            Reads::Same,
        ),
        (
            "string action equals one element list",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::424432388155:role/eks-admin"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": ["arn:aws:iam::424432388155:role/eks-admin"]}]}),
            DocumentKind::Identity,
            Reads::Same,
        ),
        (
            "single statement object equals one element list",
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}]}),
            DocumentKind::Identity,
            Reads::Same,
        ),
        (
            "action order and duplicates do not matter",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                "eks:DescribeNodegroup", "eks:ListNodegroups", "eks:DescribeCluster", "eks:ListClusters",
                "eks:AccessKubernetesApi", "ssm:GetParameter", "eks:ListUpdates", "eks:ListFargateProfiles"]}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                "eks:AccessKubernetesApi", "eks:DescribeCluster", "eks:DescribeNodegroup", "eks:ListClusters",
                "eks:ListFargateProfiles", "eks:ListNodegroups", "eks:ListUpdates", "ssm:GetParameter",
                "eks:ListClusters"]}]}),
            DocumentKind::Identity,
            Reads::Same,
        ),
        (
            "resource order and duplicates do not matter",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                "Resource": ["arn:aws:s3:::cinchy-connections/*", "arn:aws:s3:::cinchy-connections"]}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                "Resource": ["arn:aws:s3:::cinchy-connections", "arn:aws:s3:::cinchy-connections/*", "arn:aws:s3:::cinchy-connections"]}]}),
            DocumentKind::Identity,
            Reads::Same,
        ),
        (
            "omitted version is 2008",
            json!({"Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]}),
            json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]}),
            DocumentKind::Identity,
            Reads::Same,
        ),
        (
            "action names are case insensitive",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "S3:PutObject"], "Resource": "*"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["S3:getobject", "s3:putobject"], "Resource": "*"}]}),
            DocumentKind::Identity,
            Reads::Same,
        ),
        (
            "condition keys are case insensitive and values are strings",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": false}, "NumericLessThan": {"s3:TlsVersion": 1.2}}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                "Condition": {"Bool": {"AWS:securetransport": "false"}, "NumericLessThan": {"S3:TLSVERSION": ["1.2"]}}}]}),
            DocumentKind::Identity,
            Reads::Same,
        ),
        (
            "condition value order and duplicates do not matter",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1", "eu-west-1"]}}}]}),
            DocumentKind::Identity,
            Reads::Same,
        ),
        (
            "principal star equals aws star",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": "sts:AssumeRole",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}]}),
            DocumentKind::Trust,
            Reads::Same,
        ),
        (
            "principal values string or list order and duplicates",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"Service": ["ec2.amazonaws.com", "eks.amazonaws.com"], "AWS": "arn:aws:iam::424432388155:role/eks-admin"}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"AWS": ["arn:aws:iam::424432388155:role/eks-admin"], "Service": ["eks.amazonaws.com", "ec2.amazonaws.com", "eks.amazonaws.com"]}}]}),
            DocumentKind::Trust,
            Reads::Same,
        ),
        // The console writes `"Sid": ""` in the trust policies it generates.
        (
            "empty sid equals no sid",
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
            Reads::Same,
        ),
        (
            "empty condition equals no condition",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:ListClusters", "Resource": "*", "Condition": {}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:ListClusters", "Resource": "*"}]}),
            DocumentKind::Identity,
            Reads::Same,
        ),
        // Different documents.
        (
            "allow differs from deny",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "eks:*", "Resource": "*"}]}),
            DocumentKind::Identity,
            Reads::Different,
        ),
        (
            "different resources differ",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::424432388155:role/eks-admin"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::424432388155:role/EKS-Admin"}]}),
            DocumentKind::Identity,
            Reads::Different,
        ),
        (
            "a changed condition value differs",
            eks_admin_policy(),
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "eks:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                 "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}]}),
            DocumentKind::Identity,
            Reads::Different,
        ),
        // Condition values are case-sensitive even though keys are not.
        (
            "condition values are case-sensitive",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "platform"}}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "Platform"}}}]}),
            DocumentKind::Identity,
            Reads::Different,
        ),
        (
            "a condition removed differs",
            eks_admin_policy(),
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "eks:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}),
            DocumentKind::Identity,
            Reads::Different,
        ),
        (
            "versions differ",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}]}),
            DocumentKind::Identity,
            Reads::Different,
        ),
        (
            "action differs from not action",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}]}),
            DocumentKind::Identity,
            Reads::Different,
        ),
        (
            "sid matters",
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "B", "Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}),
            DocumentKind::Identity,
            Reads::Different,
        ),
        (
            "different principal types differ",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "*"}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
            Reads::Different,
        ),
        (
            "an account id differs from a user named root",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "424432388155"}, "Action": "sts:AssumeRole"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::424432388155:user/root"}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
            Reads::Different,
        ),
    ]
}

#[test]
fn pairs_read_as_iam_reads_them() {
    for (case, a, b, kind, reads) in pairs() {
        match reads {
            Reads::Same => assert_same(case, a, b, kind),
            Reads::Different => assert_different(case, a, b, kind),
        }
    }
}

#[test]
fn key_order_does_not_matter() {
    let text_a = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;
    let text_b = r#"{"Statement":[{"Resource":"*","Action":"s3:ListBucket","Effect":"Allow","Sid":"Read"}],"Version":"2012-10-17"}"#;
    let a = PolicyDocument::parse_str(text_a, DocumentKind::Identity);
    let b = PolicyDocument::parse_str(text_b, DocumentKind::Identity);
    assert_eq!(a, b);
    let rendered = b.map(|document| document.to_value().to_string());
    assert_eq!(rendered.as_deref(), Ok(text_a), "canonical key order");
}

#[test]
fn url_encoded_inline_policy_from_get_role_policy() {
    // `aws iam get-role-policy` (without the CLI's decoding) returns the document like this.
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%5B%22eks%3A%2A%22%5D%2C%22Resource%22%3A%22%2A%22%7D%2C%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22iam%3APassRole%22%2C%22Resource%22%3A%22%2A%22%2C%22Condition%22%3A%7B%22StringEquals%22%3A%7B%22iam%3APassedToService%22%3A%22eks.amazonaws.com%22%7D%7D%7D%5D%7D";
    let live = PolicyDocument::parse_str(encoded, DocumentKind::Any);
    let desired = PolicyDocument::from_value(&eks_admin_policy(), DocumentKind::Identity);
    assert!(live.is_ok());
    assert_eq!(live, desired);
}

#[test]
fn url_encoded_trust_policy_keeps_plus_signs() {
    // Percent-decoding, not form-decoding: `+` in a value stays `+`.
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22arn%3Aaws%3Aiam%3A%3A424432388155%3Auser%2Fci+deploy%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
    let live = PolicyDocument::parse_str(encoded, DocumentKind::Any);
    let written = PolicyDocument::from_value(
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::424432388155:user/ci+deploy"}, "Action": "sts:AssumeRole"}]}),
        DocumentKind::Trust,
    );
    assert!(written.is_ok());
    assert_eq!(live, written);
}

#[test]
fn url_encoded_document_inside_a_json_string() {
    let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
    let quoted = serde_json::to_string(encoded).unwrap_or_default();
    let live = PolicyDocument::parse_str(&quoted, DocumentKind::Any);
    let written = PolicyDocument::from_value(
        &json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}),
        DocumentKind::Identity,
    );
    assert!(written.is_ok());
    assert_eq!(live, written);
}

#[test]
fn account_id_principal_equals_root_arn() {
    // What people write for "another AWS account", and what IAM stores instead. The bare id
    // is kept as written (the partition is not known here; IAM rewrites it on write).
    let written = parse(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "424432388155"}, "Action": "sts:AssumeRole"}]}),
        DocumentKind::Trust,
    );
    let stored = parse(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::424432388155:root"}, "Action": "sts:AssumeRole"}]}),
        DocumentKind::Trust,
    );
    assert_eq!(written, stored);
    let china = parse(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws-cn:iam::424432388155:root"}, "Action": "sts:AssumeRole"}]}),
        DocumentKind::Trust,
    );
    assert_eq!(written, china);
}

// Canonical form.

#[test]
fn canonical_form_orders_keys_and_renders_single_values_as_strings() {
    let document = parse(
        json!({"Statement": [
            {"Condition": {"StringLike": {"s3:prefix": ["home/", "home/*"]}}, "Resource": ["arn:aws:s3:::b"],
             "Action": ["s3:ListBucket"], "Effect": "Allow", "Sid": "List"},
            {"Resource": "arn:aws:s3:::b/home/*", "Action": ["s3:PutObject", "s3:GetObject"], "Effect": "Allow", "Sid": "Home"}
        ], "Id": "home-dirs", "Version": "2012-10-17"}),
        DocumentKind::Identity,
    );
    let expected = r#"{
  "Version": "2012-10-17",
  "Id": "home-dirs",
  "Statement": [
    {
      "Sid": "Home",
      "Effect": "Allow",
      "Action": [
        "s3:GetObject",
        "s3:PutObject"
      ],
      "Resource": "arn:aws:s3:::b/home/*"
    },
    {
      "Sid": "List",
      "Effect": "Allow",
      "Action": "s3:ListBucket",
      "Resource": "arn:aws:s3:::b",
      "Condition": {
        "StringLike": {
          "s3:prefix": [
            "home/",
            "home/*"
          ]
        }
      }
    }
  ]
}"#;
    assert_eq!(document.to_pretty_json(), expected);
}

#[test]
fn canonical_form_keeps_spellings_and_renders_everyone_as_star() {
    let document = parse(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]},
            "NotPrincipal": {"AWS": ["424432388155", "arn:aws:iam::424432388155:root"]},
            "Action": "STS:assumeRole"}]}),
        DocumentKind::Any,
    );
    let value = document.to_value();
    assert_eq!(value["Statement"][0]["Principal"], json!("*"));
    assert_eq!(
        value["Statement"][0]["NotPrincipal"],
        json!({"AWS": "arn:aws:iam::424432388155:root"})
    );
    assert_eq!(value["Statement"][0]["Action"], json!("STS:assumeRole"));
}

#[test]
fn serde_reads_objects_and_url_encoded_strings() {
    let from_object: Result<PolicyDocument, _> = serde_json::from_value(eks_admin_policy());
    let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22eks%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
    let from_string: Result<PolicyDocument, _> = serde_json::from_value(json!(encoded));
    let expected = parse(
        json!({"Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}]}),
        DocumentKind::Any,
    );
    assert_eq!(from_string.ok(), Some(expected));
    let document = from_object.ok();
    assert_eq!(
        document
            .as_ref()
            .map(serde_json::to_value)
            .and_then(Result::ok),
        document.as_ref().map(PolicyDocument::to_value)
    );
    let bad: Result<PolicyDocument, _> =
        serde_json::from_value(json!({"Statement": [{"Effect": "allow", "Action": "*"}]}));
    let message = bad.err().map(|error| error.to_string()).unwrap_or_default();
    assert!(message.contains("Statement.0.Effect"), "{message}");
}

#[test]
fn parse_str_reports_bad_json() {
    let errors = PolicyDocument::parse_str("{\"Version\": ", DocumentKind::Any).err();
    assert!(errors.is_some_and(
        |errors| errors.len() == 1 && errors[0].message.contains("not valid JSON")
    ));
    let errors = PolicyDocument::parse_str("{\"Version\": \"100%\"", DocumentKind::Any).err();
    assert!(errors.is_some_and(|errors| {
        errors[0]
            .hint
            .as_deref()
            .is_some_and(|h| !h.contains("percent-decoded"))
    }));
    let errors = PolicyDocument::parse_str("%7B%22Version", DocumentKind::Any).err();
    assert!(errors.is_some_and(|errors| {
        errors[0]
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("percent-decoded"))
    }));
}

// Validation.

/// What the error at an index of a refusal must say, beyond its path.
enum Says {
    Message(usize, &'static str),
    Hint(usize, &'static str),
}

/// A refused document: (what the case shows, the document, its kind, the path of every error
/// in order, what some errors say).
type Refusal = (
    &'static str,
    Value,
    DocumentKind,
    Vec<&'static str>,
    Vec<Says>,
);

fn refusals() -> Vec<Refusal> {
    vec![
        (
            "not an object",
            json!(["Statement"]),
            DocumentKind::Any,
            vec![""],
            vec![Says::Message(0, "must be an object, not a list")],
        ),
        (
            "version must be known",
            json!({"Version": "2024-01-01", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
            DocumentKind::Identity,
            vec!["Version"],
            vec![],
        ),
        (
            "version must be a string",
            json!({"Version": 2012, "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
            DocumentKind::Any,
            vec!["Version"],
            vec![],
        ),
        (
            "statement missing",
            json!({"Version": "2012-10-17"}),
            DocumentKind::Identity,
            vec![""],
            vec![],
        ),
        (
            "statement of the wrong type",
            json!({"Version": "2012-10-17", "Statement": "Allow"}),
            DocumentKind::Any,
            vec!["Statement"],
            vec![],
        ),
        (
            "statement list empty",
            json!({"Version": "2012-10-17", "Statement": []}),
            DocumentKind::Identity,
            vec!["Statement"],
            vec![],
        ),
        (
            "a statement of the wrong type",
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, "Deny"]}),
            DocumentKind::Any,
            vec!["Statement.1"],
            vec![],
        ),
        (
            "effect missing or misspelled",
            json!({"Version": "2012-10-17", "Statement": [
                {"Action": "s3:*", "Resource": "*"},
                {"Effect": "allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": true, "Action": "s3:*", "Resource": "*"}]}),
            DocumentKind::Identity,
            vec!["Statement.0", "Statement.1.Effect", "Statement.2.Effect"],
            vec![Says::Message(1, "not `allow`")],
        ),
        (
            "action and not action",
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"}]}),
            DocumentKind::Identity,
            vec!["Statement.0", "Statement.1.NotAction"],
            vec![
                Says::Message(0, "neither `Action` nor `NotAction`"),
                Says::Message(1, "both"),
            ],
        ),
        (
            "identity statements need a resource and no principal",
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*"},
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}]}),
            DocumentKind::Identity,
            vec!["Statement.0", "Statement.1.Principal"],
            vec![],
        ),
        (
            "trust statements need a principal and no resource",
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole", "Resource": "*"}]}),
            DocumentKind::Trust,
            vec!["Statement.0", "Statement.1.Resource"],
            vec![],
        ),
        (
            "actions must be service:action",
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3GetObject", "s3:", "ec2:Describe*"], "Resource": "*"},
                {"Effect": "Allow", "NotAction": "iam: PassRole", "Resource": "*"}]}),
            DocumentKind::Identity,
            vec![
                "Statement.0.Action.1",
                "Statement.0.Action.2",
                "Statement.1.NotAction",
            ],
            vec![Says::Hint(0, "service:Action")],
        ),
        (
            "condition must be operator, key, values",
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": ["StringEquals"]},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": "aws:username"}},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"aws:username": {"x": 1}}}},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"aws:username": ["a", null]}}},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"aws:username": "a", "AWS:UserName": "b"}}}]}),
            DocumentKind::Any,
            vec![
                "Statement.0.Condition",
                "Statement.1.Condition.StringEquals",
                "Statement.2.Condition.StringEquals.aws:username",
                "Statement.3.Condition.StringEquals.aws:username.1",
                "Statement.4.Condition.StringEquals.AWS:UserName",
            ],
            vec![],
        ),
        (
            "principals must be star or typed",
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": "arn:aws:iam::424432388155:root", "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"Services": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"AWS": [1]}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
            vec![
                "Statement.0.Principal",
                "Statement.1.Principal.Services",
                "Statement.2.Principal.AWS.0",
            ],
            vec![Says::Hint(1, "`Service`")],
        ),
        (
            "sids must be alphanumeric and unique",
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "read-only", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
                {"Sid": "Write", "Effect": "Allow", "Action": "s3:Put*", "Resource": "*"},
                {"Sid": "Write", "Effect": "Allow", "Action": "s3:Delete*", "Resource": "*"}]}),
            DocumentKind::Identity,
            vec!["Statement.0.Sid", "Statement.2.Sid"],
            vec![Says::Message(1, "Statement.1")],
        ),
        (
            "every problem is reported at once",
            json!({"Version": "2012-10-18", "Extra": 1, "Statement": [
                {"Effect": "Permit", "Action": "s3GetObject"},
                {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}),
            DocumentKind::Identity,
            vec![
                "Extra",
                "Version",
                "Statement.0.Effect",
                "Statement.0.Action",
                "Statement.0",
                "Statement.1.Principal",
            ],
            vec![],
        ),
    ]
}

#[test]
fn refused_documents_report_every_problem_at_its_path() {
    for (case, document, kind, expected, says) in refusals() {
        let errors = errors(document, kind);
        assert_eq!(paths(&errors), expected, "{case}");
        for check in says {
            match check {
                Says::Message(index, text) => assert!(
                    errors[index].message.contains(text),
                    "{case}: {:?}",
                    errors[index]
                ),
                Says::Hint(index, text) => assert!(
                    errors[index]
                        .hint
                        .as_deref()
                        .is_some_and(|hint| hint.contains(text)),
                    "{case}: {:?}",
                    errors[index]
                ),
            }
        }
    }
}

#[test]
fn unknown_keys_get_a_did_you_mean() {
    let errors = errors(
        json!({"Version": "2012-10-17", "Statment": [], "Statement": [{"effect": "Allow", "Effect": "Allow", "Actions": "s3:*", "Action": "s3:*", "Resource": "*"}]}),
        DocumentKind::Identity,
    );
    assert_eq!(
        paths(&errors),
        ["Statment", "Statement.0.effect", "Statement.0.Actions"]
    );
    let hints: Vec<&str> = errors.iter().filter_map(|e| e.hint.as_deref()).collect();
    assert!(hints[0].contains("`Statement`"), "{hints:?}");
    assert!(hints[1].contains("`Effect`"), "{hints:?}");
    assert!(hints[2].contains("`Action`"), "{hints:?}");
    let errors = super::tests::errors(
        json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Banana": 1}]}),
        DocumentKind::Any,
    );
    assert!(
        errors[0]
            .hint
            .as_deref()
            .is_some_and(|h| h.starts_with("known keys:"))
    );
}

#[test]
fn empty_lists_are_refused_when_written() {
    let document = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [], "Resource": []},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": []}}}]});
    let errors = errors(document.clone(), DocumentKind::Identity);
    assert_eq!(
        paths(&errors),
        [
            "Statement.0.Action",
            "Statement.0.Resource",
            "Statement.1.Condition.StringEquals.aws:PrincipalTag/team"
        ]
    );
    // Live documents are taken as they are.
    assert!(PolicyDocument::from_value(&document, DocumentKind::Any).is_ok());
}

#[test]
fn any_kind_checks_only_shape() {
    // A trust policy and an identity policy are both fine as live documents.
    for document in [
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        eks_admin_policy(),
    ] {
        assert!(PolicyDocument::from_value(&document, DocumentKind::Any).is_ok());
    }
    assert!(PolicyDocument::from_value(&eks_admin_policy(), DocumentKind::Trust).is_err());
}

// Properties.

const ACTIONS: [&str; 6] = [
    "s3:GetObject",
    "s3:PutObject",
    "eks:Describe*",
    "iam:PassRole",
    "sts:AssumeRole",
    "*",
];
const RESOURCES: [&str; 4] = [
    "*",
    "arn:aws:s3:::bucket/a+b",
    "arn:aws:iam::424432388155:role/eks-admin",
    "arn:aws:eks:us-east-1:424432388155:cluster/demo",
];
const PRINCIPALS: [&str; 4] = [
    "424432388155",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::424432388155:user/developer",
    "*",
];
const CONDITION_KEYS: [&str; 3] = ["aws:SourceIp", "aws:SecureTransport", "s3:prefix"];

fn subset(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<Value>> {
    proptest::sample::subsequence(pool, 1..=pool.len())
        .prop_map(|items| items.into_iter().map(|item| json!(item)).collect())
}

fn arb_condition() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        Just(json!(true)),
        Just(json!(3)),
        Just(json!("10.0.0.0/8")),
        Just(json!(["home/", "home/*"])),
    ];
    let keys =
        proptest::collection::btree_map(proptest::sample::select(&CONDITION_KEYS[..]), value, 1..3);
    proptest::collection::btree_map(
        proptest::sample::select(&["StringEquals", "Bool", "IpAddress"][..]),
        keys,
        1..3,
    )
    .prop_map(|operators| {
        Value::Object(
            operators
                .into_iter()
                .map(|(operator, keys)| {
                    let keys = keys.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                    (operator.to_string(), Value::Object(keys))
                })
                .collect(),
        )
    })
}

fn arb_statement() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(proptest::sample::select(&["Read", "Write", "Admin1"][..])),
        any::<bool>(),
        proptest::option::of(subset(&PRINCIPALS)),
        any::<bool>(),
        subset(&ACTIONS),
        proptest::option::of(subset(&RESOURCES)),
        proptest::option::of(arb_condition()),
    )
        .prop_map(
            |(sid, allow, principals, not_action, actions, resources, condition)| {
                let mut map = Map::new();
                if let Some(sid) = sid {
                    map.insert("Sid".into(), json!(sid));
                }
                map.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
                if let Some(principals) = principals {
                    map.insert("Principal".into(), json!({"AWS": principals}));
                }
                let action_key = if not_action { "NotAction" } else { "Action" };
                map.insert(action_key.into(), Value::Array(actions));
                if let Some(resources) = resources {
                    map.insert("Resource".into(), Value::Array(resources));
                }
                if let Some(condition) = condition {
                    map.insert("Condition".into(), condition);
                }
                Value::Object(map)
            },
        )
}

fn arb_document() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(proptest::sample::select(&[VERSION_2012, VERSION_2008][..])),
        proptest::option::of(Just("doc-1")),
        proptest::collection::vec(arb_statement(), 1..5),
    )
        .prop_map(|(version, id, statements)| {
            let mut map = Map::new();
            if let Some(version) = version {
                map.insert("Version".into(), json!(version));
            }
            if let Some(id) = id {
                map.insert("Id".into(), json!(id));
            }
            map.insert("Statement".into(), Value::Array(statements));
            Value::Object(map)
        })
}

/// splitmix64: a small deterministic generator driven by the proptest seed.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn flip_case(text: &str, state: &mut u64) -> String {
    text.chars()
        .map(|c| {
            if next(state).is_multiple_of(2) {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Rewrites a document the way IAM and people do without changing its meaning: lists
/// shuffled, an item duplicated, one-element lists written as their item, keys reordered,
/// action names and condition keys re-cased, account root ARNs written as bare ids.
fn scramble(value: &Value, parent: &str, state: &mut u64) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items
                .iter()
                .map(|item| scramble(item, parent, state))
                .collect();
            for index in (1..items.len()).rev() {
                let other = usize::try_from(next(state) % (index as u64 + 1)).unwrap_or(0);
                items.swap(index, other);
            }
            if let Some(first) = items
                .first()
                .cloned()
                .filter(|_| next(state).is_multiple_of(3))
            {
                items.push(first);
            }
            if items.len() == 1 && next(state).is_multiple_of(2) {
                return items.pop().unwrap_or(Value::Null);
            }
            Value::Array(items)
        }
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map
                .iter()
                .map(|(key, item)| {
                    let key = if parent == "Condition.operator" {
                        flip_case(key, state)
                    } else {
                        key.clone()
                    };
                    let child = match parent {
                        "Condition" => "Condition.operator",
                        _ => key.as_str(),
                    };
                    let item = scramble(item, child, state);
                    (key, item)
                })
                .collect();
            let length = entries.len().max(1);
            let shift = usize::try_from(next(state) % length as u64).unwrap_or(0);
            entries.rotate_left(shift);
            Value::Object(entries.into_iter().collect())
        }
        Value::String(text) if parent == "Action" || parent == "NotAction" => {
            json!(flip_case(text, state))
        }
        Value::String(text)
            if parent == "AWS"
                && text == "arn:aws:iam::111122223333:root"
                && next(state).is_multiple_of(2) =>
        {
            json!("111122223333")
        }
        Value::Bool(flag) if next(state).is_multiple_of(2) => json!(flag.to_string()),
        Value::Number(number) if next(state).is_multiple_of(2) => json!(number.to_string()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn canonical_form_round_trips(value in arb_document()) {
        let document = PolicyDocument::from_value(&value, DocumentKind::Any);
        prop_assert!(document.is_ok(), "{value}");
        let document = parse(value, DocumentKind::Any);
        let canonical = document.to_value();
        let again = parse(canonical.clone(), DocumentKind::Any);
        prop_assert_eq!(&again, &document);
        prop_assert_eq!(again.to_value(), canonical);
        let text = serde_json::to_string(&document).unwrap_or_default();
        let read: Result<PolicyDocument, _> = serde_json::from_str(&text);
        prop_assert_eq!(read.ok(), Some(document));
    }

    #[test]
    fn rewritten_documents_stay_equal(value in arb_document(), seed in any::<u64>()) {
        let mut state = seed;
        let scrambled = scramble(&value, "", &mut state);
        let original = parse(value, DocumentKind::Any);
        let rewritten = parse(scrambled.clone(), DocumentKind::Any);
        prop_assert_eq!(&original, &rewritten, "{}", scrambled);
        let encoded = percent_encoding::utf8_percent_encode(
            &scrambled.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        let decoded = PolicyDocument::parse_str(&encoded, DocumentKind::Any);
        prop_assert_eq!(decoded.ok(), Some(original));
    }

    #[test]
    fn changing_the_effect_changes_the_document(value in arb_document()) {
        let original = parse(value.clone(), DocumentKind::Any);
        let mut flipped = value;
        if let Some(Value::Array(statements)) = flipped.get_mut("Statement")
            && let Some(Value::Object(first)) = statements.first_mut()
        {
            let effect = if first.get("Effect") == Some(&json!("Allow")) { "Deny" } else { "Allow" };
            first.insert("Effect".into(), json!(effect));
        }
        let flipped = parse(flipped, DocumentKind::Any);
        // Another statement may make the flipped one a duplicate of it, so compare sets of
        // effects only when the documents have one statement each.
        if original.statements.len() == 1 && flipped.statements.len() == 1 {
            prop_assert_ne!(original, flipped);
        }
    }
}

/// One list reader serves string elements and condition values: each keeps its own wording.
#[test]
fn string_lists_and_condition_values_word_their_problems() {
    let errors = errors(
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": [], "Resource": ["*", 3]},
            {"Effect": "Allow", "Action": "s3:*", "Resource": {"a": 1}},
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {
                "aws:username": [], "aws:userid": ["a", true, 3, null], "aws:SourceIp": {"x": 1}}}}]}),
        DocumentKind::Identity,
    );
    let shown: Vec<(String, String, Option<String>)> = errors
        .iter()
        .map(|error| {
            (
                error.path.join("."),
                error.message.clone(),
                error.hint.clone(),
            )
        })
        .collect();
    let value_hint =
        Some("a condition value is a string, number or boolean, or a list of them".to_string());
    let empty_hint = Some("give at least one value, or remove the key".to_string());
    assert_eq!(
        shown,
        [
            (
                "Statement.0.Action".to_string(),
                "`Action` is an empty list".to_string(),
                empty_hint.clone()
            ),
            (
                "Statement.0.Resource.1".to_string(),
                "the items of `Resource` must be strings, not a number".to_string(),
                None
            ),
            (
                "Statement.1.Resource".to_string(),
                "`Resource` must be a string or a list of strings, not an object".to_string(),
                None
            ),
            (
                "Statement.2.Condition.StringEquals.aws:username".to_string(),
                "the condition key `aws:username` has an empty list of values".to_string(),
                empty_hint
            ),
            (
                "Statement.2.Condition.StringEquals.aws:userid.3".to_string(),
                "a value of the condition key `aws:userid` cannot be null".to_string(),
                value_hint.clone()
            ),
            (
                "Statement.2.Condition.StringEquals.aws:SourceIp".to_string(),
                "the value of the condition key `aws:SourceIp` cannot be an object".to_string(),
                value_hint
            ),
        ]
    );
}
