//! Data exfiltration and resource exposure: identity statements that let their holder read
//! secrets and data (`iam-data-exfiltration`), or rewrite who else may reach a resource
//! (`iam-resource-exposure`), on more than named resources.
//!
//! How wide the resource is sets the severity: every resource (`*`, or a `NotResource`) above
//! every resource of the service (`arn:aws:s3:::*`, `…:secret:*`); a named resource, or a name
//! prefix (`arn:aws:s3:::logs/*`, `…:secret:app/*`), is not reported. A condition that really
//! limits the statement (on anything but transport, MFA, region or time, and not negated)
//! keeps it quiet. Admin-equivalent statements are `iam-wildcard-admin`'s alone.

use super::{DATA_EXFILTRATION, Linter, RESOURCE_EXPOSURE, Severity};
use crate::model::policy::{Statement, matching};
use crate::spec::SourceLocation;

/// The region of a stand-in resource when a pattern does not name one.
pub(super) const DEFAULT_REGION: &str = "us-east-1";

/// A resource the file names nothing of, of the kind `template` describes
/// (`arn:{p}:kms:{r}:{a}:key/accessctl-lint-any-key`), in the partition, and in the region and
/// account `pattern` names when it is an ARN with literal ones (otherwise `us-east-1` and
/// `account`): does `pattern` reach every resource of that kind?
pub(super) fn stand_in(template: &str, pattern: &str, partition: &str, account: &str) -> String {
    let fields: Vec<&str> = pattern.splitn(6, ':').collect();
    let literal = |index: usize| {
        fields
            .get(index)
            .filter(|field| !field.is_empty() && !field.contains(['*', '?']))
            .copied()
    };
    let region = literal(3).unwrap_or(DEFAULT_REGION);
    let account = literal(4).unwrap_or(account);
    template
        .replace("{p}", partition)
        .replace("{r}", region)
        .replace("{a}", account)
}

/// An action that reads (or exposes) what a kind of resource holds.
struct Sensitive {
    action: &'static str,
    /// A stand-in of the resources it acts on (see [`stand_in`]).
    template: &'static str,
    /// Secrets and keys (rather than data): one severity step more.
    secret: bool,
}

const SECRET: &str = "arn:{p}:secretsmanager:{r}:{a}:secret:accessctl-lint-any-secret-AbCdEf";
const PARAMETER: &str = "arn:{p}:ssm:{r}:{a}:parameter/accessctl-lint-any-parameter";
const KEY: &str = "arn:{p}:kms:{r}:{a}:key/accessctl-lint-any-key";
const OBJECT: &str = "arn:{p}:s3:::accessctl-lint-any-bucket/accessctl-lint-any-object";
const BUCKET: &str = "arn:{p}:s3:::accessctl-lint-any-bucket";
const TABLE: &str = "arn:{p}:dynamodb:{r}:{a}:table/accessctl-lint-any-table";

const fn sensitive(action: &'static str, template: &'static str, secret: bool) -> Sensitive {
    Sensitive {
        action,
        template,
        secret,
    }
}

/// Reading secrets, keys and data.
const READS: &[Sensitive] = &[
    sensitive("secretsmanager:GetSecretValue", SECRET, true),
    sensitive("ssm:GetParameter", PARAMETER, true),
    sensitive("ssm:GetParameters", PARAMETER, true),
    sensitive("ssm:GetParametersByPath", PARAMETER, true),
    sensitive("kms:Decrypt", KEY, true),
    sensitive("s3:GetObject", OBJECT, false),
    sensitive("dynamodb:GetItem", TABLE, false),
    sensitive("dynamodb:Scan", TABLE, false),
    sensitive("dynamodb:Query", TABLE, false),
];

/// Rewriting a resource's own policy or ACL: who else may reach it.
const EXPOSES: &[Sensitive] = &[
    sensitive("s3:PutBucketPolicy", BUCKET, true),
    sensitive("s3:PutBucketAcl", BUCKET, true),
    sensitive("s3:PutObjectAcl", OBJECT, true),
    sensitive("s3:PutBucketPublicAccessBlock", BUCKET, true),
    sensitive("kms:PutKeyPolicy", KEY, true),
    sensitive("kms:CreateGrant", KEY, true),
    sensitive("secretsmanager:PutResourcePolicy", SECRET, true),
    sensitive(
        "lambda:AddPermission",
        "arn:{p}:lambda:{r}:{a}:function:accessctl-lint-any-function",
        true,
    ),
    sensitive(
        "sns:AddPermission",
        "arn:{p}:sns:{r}:{a}:accessctl-lint-any-topic",
        true,
    ),
    sensitive(
        "sqs:AddPermission",
        "arn:{p}:sqs:{r}:{a}:accessctl-lint-any-queue",
        true,
    ),
];

/// How wide a statement's resources are for one kind of resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Width {
    /// Every resource of the service (`arn:aws:s3:::*`).
    Service,
    /// Every resource (`*`, or all but a `NotResource`).
    Every,
}

/// Condition keys that say how a request is made, not what it may reach.
const NOT_LIMITING: &[&str] = &[
    "aws:securetransport",
    "aws:multifactorauthpresent",
    "aws:multifactorauthage",
    "aws:requestedregion",
    "aws:currenttime",
    "aws:epochtime",
    "aws:tokenissuetime",
    "aws:useragent",
];

/// Does a condition of the statement really limit what it reaches?
fn limits(statement: &Statement) -> bool {
    statement.conditions().any(|condition| {
        let operator = condition.operator.to_ascii_lowercase();
        let key = condition.key.to_ascii_lowercase();
        let negated = operator.contains("not") || operator == "null";
        !negated && !operator.ends_with("ifexists") && !NOT_LIMITING.contains(&key.as_str())
    })
}

impl Linter<'_> {
    /// `iam-data-exfiltration` and `iam-resource-exposure` on one `Allow` statement of an
    /// identity document (`label`: `policy NAME`, `inline policy …`).
    pub(super) fn data_rules(
        &mut self,
        label: &str,
        statement: &Statement,
        at: Option<&SourceLocation>,
    ) {
        if limits(statement) {
            return;
        }
        let rules = [
            (
                DATA_EXFILTRATION,
                READS,
                "whoever holds it can read secrets and data it was not given by name",
            ),
            (
                RESOURCE_EXPOSURE,
                EXPOSES,
                "whoever holds it can open these resources to other accounts or to anyone",
            ),
        ];
        for (rule, table, consequence) in rules {
            let mut actions: Vec<&str> = Vec::new();
            let mut widest: Option<(Severity, Width, String)> = None;
            for entry in table {
                if !statement.matches_action(entry.action) {
                    continue;
                }
                let Some((width, pattern)) = self.width(statement, entry.template) else {
                    continue;
                };
                let severity = match (rule == RESOURCE_EXPOSURE || entry.secret, width) {
                    (true, Width::Every) => Severity::High,
                    (false, Width::Service) => Severity::Low,
                    _ => Severity::Medium,
                };
                actions.push(entry.action);
                if widest.as_ref().is_none_or(|(known, known_width, _)| {
                    (severity, width) > (*known, *known_width)
                }) {
                    widest = Some((severity, width, pattern));
                }
            }
            let Some((severity, width, pattern)) = widest else {
                continue;
            };
            let actions: Vec<String> = actions.iter().map(|a| format!("`{a}`")).collect();
            let wide = match width {
                Width::Every => "every resource".to_string(),
                Width::Service => format!("every resource of the service (`{pattern}`)"),
            };
            let message = format!(
                "{label} allows {} on {wide}: {consequence}",
                actions.join(", ")
            );
            self.push(rule, severity, at, message);
        }
    }

    /// How wide the statement's resources are for the kind `template` stands for, and the
    /// pattern that makes them so; `None` when it names resources.
    fn width(&self, statement: &Statement, template: &str) -> Option<(Width, String)> {
        let partition = &self.state.partition;
        let Some(resources) = statement.resources() else {
            let any = stand_in(template, "*", partition, &self.account);
            return statement
                .matches_resource(&any)
                .then(|| (Width::Every, "*".to_string()));
        };
        let mut found = None;
        for pattern in resources {
            if pattern.chars().all(|c| c == '*') {
                return Some((Width::Every, pattern.to_string()));
            }
            let any = stand_in(template, pattern, partition, &self.account);
            if found.is_none() && matching::wildcard_match(pattern, &any, false) {
                found = Some((Width::Service, pattern.to_string()));
            }
        }
        found
    }
}
