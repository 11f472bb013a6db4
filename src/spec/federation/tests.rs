//! The federation trust sugar: the statements are the ones GitHub and GitLab document, the
//! providers are created for their issuers, and each mistake is one error at its place.

use serde_json::{Value, json};

use crate::model::{MANAGED_BY_TAG, MANAGED_BY_VALUE, State};
use crate::spec::{Facts, load_text};

const HEAD: &str = "version: 1\naccount: \"111122223333\"\niam:\n  roles:\n    ci:\n      trust:\n";

fn loaded(trust: &str) -> State {
    let text = format!("{HEAD}{trust}");
    match load_text("access.yaml", &text, &Facts::default()) {
        Ok(loaded) => loaded.state,
        Err(diagnostics) => panic!("does not load: {diagnostics:?}"),
    }
}

fn errors(trust: &str) -> Vec<(usize, usize, String, Option<String>)> {
    let text = format!("{HEAD}{trust}");
    match load_text("access.yaml", &text, &Facts::default()) {
        Ok(_) => Vec::new(),
        Err(list) => list
            .into_iter()
            .map(|d| (d.line, d.column, d.message, d.hint))
            .collect(),
    }
}

fn trust_of(state: &State) -> Value {
    state.iam.roles["ci"].trust.to_value()
}

/// The trust the sugar writes for one issuer is the documented web-identity statement (`aud`
/// and `sub` on the issuer host), pinned by the snapshot `snapshot`, and the issuer's provider
/// takes the audience as its one client id.
fn assert_documented_trust(state: &State, snapshot: &str, host: &str, audience: &str, sub: Value) {
    let trust = trust_of(state);
    let expected = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{host}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                format!("{host}:aud"): audience,
                format!("{host}:sub"): sub,
            }},
        }],
    });
    assert_eq!(trust, expected);
    insta::assert_snapshot!(
        snapshot,
        serde_json::to_string_pretty(&trust).unwrap_or_default()
    );
    let provider = &state.iam.oidc_providers[host];
    assert_eq!(provider.client_ids.iter().collect::<Vec<_>>(), [audience]);
}

/// GitHub's documented claims: `repo:ORG/REPO:ref:refs/heads/BRANCH` and
/// `repo:ORG/REPO:environment:ENV`, audience `sts.amazonaws.com` (what
/// `aws-actions/configure-aws-credentials` asks for), condition keys on the issuer host.
#[test]
fn github_actions_trust_is_the_documented_statement() {
    let state = loaded(
        "        githubActions:\n          - {repo: org/app, ref: refs/heads/main}\n          - {repo: org/app, environment: prod}\n",
    );
    assert_documented_trust(
        &state,
        "github-actions-trust",
        "token.actions.githubusercontent.com",
        "sts.amazonaws.com",
        json!([
            "repo:org/app:environment:prod",
            "repo:org/app:ref:refs/heads/main",
        ]),
    );
    let provider = &state.iam.oidc_providers["token.actions.githubusercontent.com"];
    assert_eq!(
        provider.tags.get(MANAGED_BY_TAG).map(String::as_str),
        Some(MANAGED_BY_VALUE)
    );
}

/// GitLab's documented claim `project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH` (and
/// `ref_type:tag` for a tag); the audience is the instance's URL, as GitLab's AWS guide sets
/// it; gitlab.com by default.
#[test]
fn gitlab_trust_is_the_documented_statement() {
    let state = loaded(
        "        gitlab:\n          - {project: group/app, ref: main}\n          - {project: group/sub/app, tag: v1.2.0}\n",
    );
    assert_documented_trust(
        &state,
        "gitlab-trust",
        "gitlab.com",
        "https://gitlab.com",
        json!([
            "project_path:group/app:ref_type:branch:ref:main",
            "project_path:group/sub/app:ref_type:tag:ref:v1.2.0",
        ]),
    );
}

/// A self-managed GitLab is its own issuer: `gitlabIssuer`.
#[test]
fn a_self_managed_gitlab_is_its_own_issuer() {
    let state = loaded(
        "        gitlab: [{project: platform/deploy, ref: main}]\n        gitlabIssuer: https://gitlab.example.com\n",
    );
    let trust = trust_of(&state);
    assert_eq!(
        trust["Statement"][0]["Principal"]["Federated"],
        "arn:aws:iam::111122223333:oidc-provider/gitlab.example.com"
    );
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"],
        json!({
            "gitlab.example.com:aud": "https://gitlab.example.com",
            "gitlab.example.com:sub": "project_path:platform/deploy:ref_type:branch:ref:main",
        })
    );
    assert!(state.iam.oidc_providers.contains_key("gitlab.example.com"));
    assert!(!state.iam.oidc_providers.contains_key("gitlab.com"));
}

/// Federation mixes with the other sugar: each issuer is a statement of its own.
#[test]
fn federation_mixes_with_the_other_sugar() {
    let state = loaded(
        "        accounts: [\"111122223333\"]\n        githubActions: [{repo: org/app, ref: refs/tags/v1}]\n        gitlab: [{project: group/app, ref: main}]\n",
    );
    let statements = trust_of(&state)["Statement"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(statements.len(), 3, "{statements:?}");
    assert!(statements.iter().any(
        |s| s["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
            == "repo:org/app:ref:refs/tags/v1"
    ));
    assert_eq!(state.iam.oidc_providers.len(), 2);
}

/// Each mistake is one error, at its place, with a hint.
#[test]
fn each_mistake_is_one_error_at_its_place() {
    let cases: [(&str, (usize, usize), &str, &str); 11] = [
        (
            "        githubActions: [{ref: refs/heads/main}]\n",
            (7, 25),
            "missing field `repo` in item 1 of `githubActions` of role `ci`",
            "org/repo",
        ),
        (
            "        githubActions: [{repo: org/app, ref: main}]\n",
            (7, 46),
            "GitHub ref `main` does not start with `refs/`",
            "refs/heads/main",
        ),
        (
            "        githubActions: [{repo: org/app, ref: refs/heads/main, environment: prod}]\n",
            (7, 63),
            "item 1 of `githubActions` of role `ci` has both `ref` and `environment`",
            "environment",
        ),
        (
            "        githubActions: [{repo: app, ref: refs/heads/main}]\n",
            (7, 32),
            "invalid GitHub repository `app`",
            "ORG/REPO",
        ),
        (
            "        githubActions: [{repo: org/app}]\n",
            (7, 25),
            "item 1 of `githubActions` of role `ci` says neither `ref` nor `environment`: any branch of the repository could assume the role",
            "environment: prod",
        ),
        (
            "        githubActions: [{repo: org/app, ref: \"refs/heads/*\"}]\n",
            (7, 46),
            "`refs/heads/*` has a wildcard",
            "StringEquals",
        ),
        (
            "        gitlab: [{project: group/app, ref: refs/heads/main}]\n",
            (7, 44),
            "GitLab ref `refs/heads/main` names a full ref",
            "`main`",
        ),
        (
            "        gitlab: [{project: app, ref: main}]\n",
            (7, 28),
            "invalid GitLab project `app`",
            "GROUP/PROJECT",
        ),
        (
            "        gitlab: [{project: group/app, ref: main, tag: v1}]\n",
            (7, 50),
            "item 1 of `gitlab` of role `ci` has both `ref` and `tag`",
            "tag",
        ),
        (
            "        gitlab: [{project: group/app, ref: main}]\n        gitlabIssuer: http://gitlab.example.com/\n",
            (8, 23),
            "invalid `gitlabIssuer` `http://gitlab.example.com/`",
            "https://gitlab.example.com",
        ),
        (
            "        accounts: [\"111122223333\"]\n        gitlabIssuer: https://gitlab.example.com\n",
            (8, 23),
            "`gitlabIssuer` is set but the trust of role `ci` has no `gitlab` item",
            "gitlab",
        ),
    ];
    for (trust, (line, column), message, hint) in cases {
        let found = errors(trust);
        assert_eq!(found.len(), 1, "{trust}: {found:#?}");
        let (l, c, m, h) = &found[0];
        assert_eq!((*l, *c), (line, column), "{trust}: {found:#?}");
        assert!(m.contains(message), "{trust}: {m}");
        let h = h.clone().unwrap_or_default();
        assert!(h.contains(hint), "{trust}: hint {h}");
    }
}

/// `document` and the federation keys do not mix, as for the other sugar.
#[test]
fn a_document_does_not_mix_with_federation() {
    let found = errors(
        "        githubActions: [{repo: org/app, ref: refs/heads/main}]\n        document: {Version: \"2012-10-17\", Statement: []}\n",
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]
            .2
            .contains("has both `document` and `githubActions`")
    );
}
