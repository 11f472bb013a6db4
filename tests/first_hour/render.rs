//! Issue 12: render items (see tests/first_hour/mod.rs).
//!
//! Item 15: a plan names each field the way access.yaml writes it (`policies`, `inline`,
//! `permissionsBoundary`, `labels`, …) in text and Markdown, and its lines are sorted by address
//! within an apply stage. Item 16: notes do not repeat their own address, Markdown shows code
//! spans rather than escaped backticks, counts take the right plural, and a missing file is
//! reported without `(os error 2)` or doubled quotes.

use insta::assert_snapshot;

use crate::support::binary;

const NAMES: &str = "tests/fixtures/first_hour/plan-names";

fn plan_transcript(dir: &str, format: &str) -> String {
    let file = format!("{dir}/access.yaml");
    let live = format!("{dir}/live.json");
    let args = ["plan", "-f", &file, "--live-state", &live, "-o", format];
    let output = binary::run(binary::offline(), &args);
    binary::transcript(&args, &output)
}

/// The field names of the text plan: the name before ` = ` (or alone, for documents) on each
/// field line of a change body.
fn text_field_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        // Field lines sit at the body's indent (6) with a marker and one space.
        let Some(rest) = line.strip_prefix("      ") else {
            continue;
        };
        let mut chars = rest.chars();
        let (Some(marker), Some(' ')) = (chars.next(), chars.next()) else {
            continue;
        };
        if !"+-~".contains(marker) {
            continue;
        }
        let body = chars.as_str();
        if body.starts_with(' ') {
            continue;
        }
        let name = body.split(" = ").next().unwrap_or_default().trim_end();
        names.push(name.to_string());
    }
    names
}

#[test]
fn plan_field_names_are_the_keys_of_access_yaml() {
    let text = plan_transcript(NAMES, "text");
    let names = text_field_names(&text);
    for internal in [
        "managed_policies",
        "inline_policies",
        "permissions_boundary",
        "max_session_duration",
        "role_ref",
        "meta.labels",
        "meta.annotations",
        "client_ids",
        "role_arn",
    ] {
        assert!(
            !names.iter().any(|name| name.starts_with(internal)),
            "`{internal}` is not what access.yaml calls it:\n{text}"
        );
    }
    assert!(!text.contains("`role_ref`"), "{text}");
    assert_snapshot!("plan-names-text", text);
    let markdown = plan_transcript(NAMES, "markdown");
    assert!(!markdown.contains("managed_policies"), "{markdown}");
    assert!(!markdown.contains("role_ref"), "{markdown}");
    assert_snapshot!("plan-names-markdown", markdown);
}

#[test]
fn plan_json_keeps_its_documented_field_paths() {
    let json = plan_transcript(NAMES, "json");
    for documented in [
        "\"path\": \"managed_policies\"",
        "\"path\": \"inline_policies.list-clusters\"",
        "\"path\": \"permissions_boundary\"",
        "\"path\": \"max_session_duration\"",
        "\"path\": \"role_ref\"",
        "\"path\": \"meta.labels.team\"",
    ] {
        assert!(json.contains(documented), "{documented} missing:\n{json}");
    }
}

#[test]
fn plan_lines_are_sorted_by_address_within_a_stage() {
    // One stage per kind and pass: `demo-eu` sorts before `demo.` as the addresses are written.
    let text = plan_transcript(ORDER, "text");
    let addresses: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("  # "))
        .filter_map(|line| line.split(' ').next())
        .collect();
    assert_eq!(
        addresses,
        [
            "cluster.demo-eu.namespace.apps",
            "cluster.demo.namespace.apps",
            "cluster.demo.namespace.web",
            "cluster.demo_old.namespace.apps",
        ],
        "{text}"
    );
    assert_snapshot!("plan-order-text", text);
}

const ORDER: &str = "tests/fixtures/first_hour/plan-order";

#[test]
fn notes_do_not_repeat_their_own_address() {
    let text = plan_transcript("specs/examples/003-irsa-service-account", "text");
    for line in text.lines().filter(|line| line.starts_with("note: ")) {
        let address = "iam.oidc-provider.oidc.eks.ca-central-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B";
        assert!(line.matches(address).count() <= 1, "{line}");
    }
    assert_snapshot!("notes-text", text);
    let markdown = plan_transcript("specs/examples/003-irsa-service-account", "markdown");
    assert_snapshot!("notes-markdown", markdown);
}

#[test]
fn markdown_shows_code_spans_not_escaped_backticks() {
    let markdown = plan_transcript("specs/examples/all-seeds-combined", "markdown");
    assert!(!markdown.contains("\\`"), "{markdown}");
    assert!(markdown.contains("`adopt: true`"), "{markdown}");
    assert_snapshot!("markdown-code-spans", markdown);
}

#[test]
fn counts_take_the_right_plural() {
    let file = format!("{NAMES}/access.yaml");
    let args = ["validate", "-f", &file];
    let output = binary::run(binary::offline(), &args);
    let shown = binary::transcript(&args, &output);
    assert!(
        shown.contains("1 policy, 1 group, 2 users, 1 role, 1 cluster"),
        "{shown}"
    );
    assert_snapshot!("validate-counts", shown);
}

/// Runs `args` offline from the crate root, with KUBECONFIG at a path that does not exist.
fn offline_transcript(args: &[&str]) -> String {
    let mut command = binary::offline();
    command.env("KUBECONFIG", "does-not-exist/kubeconfig");
    let output = binary::run(command, args);
    binary::transcript(args, &output)
}

#[test]
fn missing_files_are_reported_without_os_error_codes_or_doubled_quotes() {
    let access = format!("{NAMES}/access.yaml");
    let live = format!("{NAMES}/live.json");
    let cases: [(&str, Vec<&str>); 4] = [
        (
            "missing-live-state",
            vec![
                "plan",
                "-f",
                &access,
                "--live-state",
                "does-not-exist/live.json",
            ],
        ),
        (
            "missing-saved-plan",
            vec!["apply", "does-not-exist/plan.json"],
        ),
        (
            "unwritable-plan-out",
            vec![
                "plan",
                "-f",
                &access,
                "--live-state",
                &live,
                "--out",
                "does-not-exist/plan.json",
            ],
        ),
        ("missing-kubeconfig", vec!["plan", "-f", &access]),
    ];
    for (name, args) in cases {
        let shown = offline_transcript(&args);
        assert!(!shown.contains("os error"), "{shown}");
        assert!(!shown.contains("'\""), "{shown}");
        assert!(!shown.contains("\"'"), "{shown}");
        assert!(shown.contains("exit code: 1"), "{shown}");
        assert_snapshot!(format!("missing-file-{name}"), shown);
    }
}
