//! Issue 12: spec items (see tests/first_hour/mod.rs): what access.yaml reading shows a
//! newcomer, and what it refuses to read.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use crate::support::binary;

const HEADER: &str = "version: 1\naccount: \"424432388155\"\n";

/// A scratch directory holding `files` (relative path → text).
fn directory(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (path, text) in files {
        let path = dir.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("a directory");
        }
        std::fs::write(path, text).expect("a file");
    }
    dir
}

/// `accessctl ARGS` run from `dir`, offline and sealed.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    let mut command = binary::offline();
    command.current_dir(dir);
    binary::run(command, args)
}

/// `accessctl ARGS` run from `dir` with `input` on stdin.
fn run_with_stdin(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut command = binary::offline();
    command
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("accessctl starts");
    let mut stdin = child.stdin.take().expect("a stdin pipe");
    stdin.write_all(input.as_bytes()).expect("stdin written");
    drop(stdin);
    child.wait_with_output().expect("accessctl runs")
}

fn policy_file(name: &str, file: &str) -> String {
    format!("  {name}:\n      file: {file}\n")
}

// Item 1: `file:` reads only inside the directory of access.yaml, and never echoes what is not
// the user's YAML or JSON.

#[test]
fn file_references_cannot_leave_the_directory_of_access_yaml() {
    let dir = directory(&[(
        "outside/secret.json",
        "AWS_SESSION_TOKEN=FwoGZXIvYXdzEXAMPLE\n",
    )]);
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("policies")).expect("a directory");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        dir.path().join("outside/secret.json"),
        project.join("policies/linked.json"),
    )
    .expect("a symlink");
    let text = format!(
        "{HEADER}iam:\n  policies:\n  {}  {}  {}",
        policy_file("environ", "/proc/self/environ"),
        policy_file("parent", "../outside/secret.json"),
        policy_file("linked", "policies/linked.json"),
    );
    std::fs::write(project.join("access.yaml"), text).expect("access.yaml");
    let mut command = binary::offline();
    command
        .current_dir(&project)
        .env("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLE");
    let args = ["validate", "-f", "access.yaml"];
    let output = binary::run(command, &args);
    let shown = binary::shown(&output);
    assert!(!shown.contains("FwoGZXIvYXdzEXAMPLE"), "{shown}");
    insta::assert_snapshot!(binary::transcript(&args, &output));
}

#[test]
fn an_error_in_a_policy_file_shows_its_place_and_at_most_the_offending_line() {
    let long = "x".repeat(5000);
    let broken = format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{{\"Effect\": \"Allow\", \"Action\": \"{long}\" \"Resource\": \"*\"}}]\n}}\n"
    );
    let dir = directory(&[
        (
            "access.yaml",
            &format!(
                "{HEADER}iam:\n  policies:\n    broken:\n      file: policies/broken.json\n    binary:\n      file: policies/binary.json\n"
            ),
        ),
        ("policies/broken.json", &broken),
        (
            "policies/binary.json",
            "{\"Version\": \"2012-10-17\",\0 \"SECRET=1\"}\n",
        ),
    ]);
    let args = ["validate", "-f", "access.yaml"];
    let output = run_in(dir.path(), &args);
    assert!(
        output.stderr.len() + output.stdout.len() < 2000,
        "{}",
        binary::shown(&output)
    );
    insta::assert_snapshot!(binary::transcript(&args, &output));
}

// Item 2: what is shown of a source line is bounded.

#[test]
fn a_long_source_line_is_shown_truncated_around_the_caret() {
    let long = format!(
        "version: 1\naccount: \"424432388155\"\niam: {{users: {{{}alice: {{groups: [nope]}}}}}}\n",
        (0..40_000)
            .map(|i| format!("u{i}: {{}}, "))
            .collect::<String>()
    );
    let wide = format!("version: 1\naccount: \"{}\"\n", "1".repeat(1_000_000));
    let dir = directory(&[("long.yaml", &long), ("wide.yaml", &wide)]);
    for (name, file) in [("long-line", "long.yaml"), ("wide-value", "wide.yaml")] {
        let args = ["validate", "-f", file];
        let output = run_in(dir.path(), &args);
        assert!(
            output.stderr.len() + output.stdout.len() < 2000,
            "{} bytes",
            output.stderr.len()
        );
        insta::assert_snapshot!(name, binary::transcript(&args, &output));
    }
}

// Item 6: a hint that names a key or a flag names one that exists.

/// The string literals of a Rust source file (plain and raw), without escapes resolved.
fn string_literals(source: &str) -> Vec<String> {
    let mut literals = Vec::new();
    let bytes = source.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'/' if bytes.get(index + 1) == Some(&b'/') => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
            }
            b'\'' => {
                // A char literal (`'"'`) or a lifetime.
                if bytes.get(index + 2) == Some(&b'\'') {
                    index += 3;
                } else if bytes.get(index + 1) == Some(&b'\\') {
                    index += 4;
                } else {
                    index += 1;
                }
            }
            b'"' => {
                let start = index + 1;
                index += 1;
                while index < bytes.len() && bytes[index] != b'"' {
                    if bytes[index] == b'\\' {
                        index += 1;
                    }
                    index += 1;
                }
                literals.push(source[start..index.min(bytes.len())].to_string());
                index += 1;
            }
            _ => index += 1,
        }
    }
    literals
}

/// Every property name of the access.yaml schema.
fn schema_keys() -> std::collections::BTreeSet<String> {
    fn walk(value: &serde_json::Value, keys: &mut std::collections::BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    if key == "properties"
                        && let serde_json::Value::Object(properties) = child
                    {
                        keys.extend(properties.keys().cloned());
                    }
                    walk(child, keys);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, keys)),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(binary::root().join("specs/access.schema.json"))
        .expect("the schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let mut keys = std::collections::BTreeSet::new();
    walk(&schema, &mut keys);
    keys
}

/// Every long flag of every command.
fn cli_flags() -> std::collections::BTreeSet<String> {
    use clap::CommandFactory;
    fn walk(command: &clap::Command, flags: &mut std::collections::BTreeSet<String>) {
        for arg in command.get_arguments() {
            if let Some(long) = arg.get_long() {
                flags.insert(format!("--{long}"));
            }
            for alias in arg.get_all_aliases().into_iter().flatten() {
                flags.insert(format!("--{alias}"));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, flags);
        }
    }
    let mut flags = std::collections::BTreeSet::from(["--help".to_string(), "--version".into()]);
    walk(&accessctl::cli::Cli::command(), &mut flags);
    flags
}

fn rust_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Value prefixes written with a colon that are not keys: short forms (`role:NAME`), AWS
/// condition and action prefixes, reserved Kubernetes name prefixes.
const PREFIXES: [&str; 9] = [
    "aws", "eks", "system", "amazon", "role", "user", "policy", "arn", "sts",
];

#[test]
fn every_key_and_flag_named_in_a_message_exists() {
    let keys = schema_keys();
    let flags = cli_flags();
    let mut files = Vec::new();
    rust_files(&binary::root().join("src"), &mut files);
    files.sort();
    let flag = regex_lite_flag;
    let mut wrong = Vec::new();
    for file in files {
        if file.ends_with("tests.rs")
            || file
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with("_tests.rs"))
        {
            continue;
        }
        let whole = std::fs::read_to_string(&file).expect("source");
        // Unit tests quote what they check, not what the product says.
        let source = whole
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let shown = file
            .strip_prefix(binary::root())
            .unwrap_or(&file)
            .display()
            .to_string();
        for literal in string_literals(source) {
            for quoted in literal.split('`').skip(1).step_by(2) {
                // Commands of other tools (`aws eks update-kubeconfig --name …`) have their
                // own flags.
                if !["aws ", "kubectl "]
                    .iter()
                    .any(|tool| quoted.starts_with(tool))
                {
                    for name in flag(quoted) {
                        if !flags.contains(&name) {
                            wrong.push(format!("{shown}: flag `{name}` (in `{quoted}`)"));
                        }
                    }
                }
                for key in named_keys(quoted) {
                    if !keys.contains(&key) && !PREFIXES.contains(&key.as_str()) {
                        wrong.push(format!("{shown}: key `{key}` (in `{quoted}`)"));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "names that do not exist:\n{}",
        wrong.join("\n")
    );
}

/// `--flag` words of a string.
fn regex_lite_flag(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut index = 0;
    while let Some(at) = text[index..].find("--") {
        let start = index + at;
        let before_ok = start == 0 || matches!(bytes[start - 1], b' ' | b'`' | b'(' | b'[');
        let mut end = start + 2;
        while end < bytes.len() && (bytes[end].is_ascii_lowercase() || bytes[end] == b'-') {
            end += 1;
        }
        if before_ok && end > start + 2 && bytes[start + 2].is_ascii_lowercase() {
            found.push(text[start..end].trim_end_matches('-').to_string());
        }
        index = end.max(start + 2);
    }
    found
}

/// The keys a backticked piece of text names: `eksName`, `file:`, `trust: {…}` (its first
/// key), `iam.policies` (its first part and any camelCase part).
fn named_keys(quoted: &str) -> Vec<String> {
    let is_word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic());
    let camel = |s: &str| {
        is_word(s)
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().any(|c| c.is_ascii_uppercase())
    };
    if let Some((key, rest)) = quoted.split_once(':')
        && is_word(key)
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && (rest.is_empty() || rest.starts_with(' '))
    {
        return vec![key.to_string()];
    }
    if camel(quoted) {
        return vec![quoted.to_string()];
    }
    let parts: Vec<&str> = quoted.split('.').collect();
    if parts.len() > 1 && parts.iter().all(|p| !p.is_empty() && !p.contains(' ')) {
        let mut keys = Vec::new();
        if ["iam", "clusters"].contains(&parts[0]) {
            keys.push(parts[0].to_string());
            keys.extend(
                parts[1..]
                    .iter()
                    .filter(|p| camel(p))
                    .map(|p| p.to_string()),
            );
        }
        return keys;
    }
    Vec::new()
}

// Item 8: YAML resource limits and the size cap.

#[test]
fn yaml_resource_limits_are_explained_at_one_place() {
    let mut bomb = String::from(HEADER);
    bomb.push_str("iam:\n  users:\n    a0: &a0 {tags: {x: \"1\", y: \"2\", z: \"3\", w: \"4\", v: \"5\", u: \"6\", t: \"7\", s: \"8\", r: \"9\", q: \"10\"}}\n");
    for level in 1..9 {
        let previous = format!("*a{}", level - 1);
        let list = [previous.as_str(); 10].join(", ");
        bomb.push_str(&format!("    a{level}: &a{level} [{list}]\n"));
    }
    let deep = format!("{HEADER}iam: {}{}\n", "[".repeat(3000), "]".repeat(3000));
    let dir = directory(&[("bomb.yaml", &bomb), ("deep.yaml", &deep)]);
    for (name, file) in [("anchor-bomb", "bomb.yaml"), ("deep-nesting", "deep.yaml")] {
        let args = ["validate", "-f", file];
        let output = run_in(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Words, not the reader's debug dump (`budget breached: Nodes { nodes: 250001 }`).
        assert!(
            !stderr.contains("budget") && !stderr.contains(" { "),
            "{stderr}"
        );
        insta::assert_snapshot!(name, binary::transcript(&args, &output));
    }
}

#[test]
fn files_over_the_size_cap_are_refused_before_they_are_read() {
    let dir = directory(&[(
        "access.yaml",
        &format!("{HEADER}iam:\n  policies:\n    huge:\n      file: huge.json\n"),
    )]);
    for name in ["big.yaml", "huge.json"] {
        let file = std::fs::File::create(dir.path().join(name)).expect("a file");
        file.set_len(16 * 1024 * 1024 + 1).expect("a sparse file");
    }
    for (name, file) in [
        ("oversized-access-yaml", "big.yaml"),
        ("oversized-policy-file", "access.yaml"),
    ] {
        let args = ["validate", "-f", file];
        let output = run_in(dir.path(), &args);
        insta::assert_snapshot!(name, binary::transcript(&args, &output));
    }
}

// Item 11: one mistake, one error, at its place.

#[test]
fn one_mistake_is_one_error_at_its_place() {
    let cases: [(&str, String); 8] = [
        (
            "misspelt-section",
            format!(
                "{HEADER}iam:\n  roles:\n    app:\n      trust: {{serviceAccounts: [prod/default/app]}}\nclustres:\n  prod:\n    region: us-east-1\n"
            ),
        ),
        (
            "unreadable-user",
            format!(
                "{HEADER}iam:\n  users:\n    alice: developer\n  roles:\n    r:\n      trust: {{users: [alice]}}\nclusters:\n  prod:\n    region: us-east-1\n    access:\n      - {{user: alice, username: alice, groups: [reader]}}\n"
            ),
        ),
        (
            "missing-colon",
            format!("{HEADER}iam:\n  users:\n    alice\n    bob: {{}}\n"),
        ),
        (
            "over-indented-key",
            format!("{HEADER}clusters:\n  prod:\n    region: us-east-1\n      access: []\n"),
        ),
        (
            "under-indented-key",
            format!("{HEADER}iam:\n  users:\n    alice: {{}}\n   bob: {{}}\n"),
        ),
        (
            "invalid-user-name",
            format!(
                "{HEADER}iam:\n  users:\n    alice smith: {{}}\n  roles:\n    r:\n      trust: {{users: [alice smith]}}\nclusters:\n  prod:\n    region: us-east-1\n    access:\n      - {{user: alice smith, username: alice, groups: [reader]}}\n"
            ),
        ),
        (
            "misspelt-cluster-section",
            format!(
                "{HEADER}clusters:\n  prod:\n    region: us-east-1\n    clusterRols:\n      reader: {{rules: [{{apiGroups: [\"\"], resources: [pods], verbs: [get]}}]}}\n    bindings:\n      reader: {{clusterRole: reader, groups: [reader]}}\n      ci/deploy: {{role: deployer, users: [ci]}}\n"
            ),
        ),
        (
            "second-document",
            format!("{HEADER}iam: {{}}\n---\nclusters: {{}}\n"),
        ),
    ];
    let dir = directory(&[]);
    for (name, text) in cases {
        let file = format!("{name}.yaml");
        std::fs::write(dir.path().join(&file), text).expect("a file");
        let args = ["validate", "-f", file.as_str()];
        let output = run_in(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            stderr.matches("\nerror: ").count() + usize::from(stderr.starts_with("error: ")),
            2,
            "{name}: one diagnostic and the summary\n{stderr}"
        );
        if name != "unreadable-user" {
            assert!(stderr.contains("= hint: "), "{name}: a hint\n{stderr}");
        }
        insta::assert_snapshot!(name, binary::transcript(&args, &output));
    }
}

// Item 17a: `-f -` reads access.yaml from stdin.

#[test]
fn dash_reads_access_yaml_from_stdin() {
    let dir = directory(&[
        (
            "policies/read.json",
            "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"eks:Describe*\", \"Resource\": \"*\"}]}\n",
        ),
        ("outside.json", "{}\n"),
    ]);
    let valid = format!("{HEADER}iam:\n  policies:\n    read:\n      file: policies/read.json\n");
    let broken = format!(
        "{HEADER}iam:\n  policies:\n    read:\n      file: policies/read.json\n    escape:\n      file: ../outside.json\n  users:\n    alice: {{groups: [nope]}}\n"
    );
    let example = binary::root().join("specs/examples/000-service-admins-and-ci-user");
    let example_yaml = std::fs::read_to_string(example.join("access.yaml")).expect("an example");
    for (name, args, cwd, input) in [
        (
            "stdin-valid",
            vec!["validate", "-f", "-"],
            dir.path(),
            valid.as_str(),
        ),
        (
            "stdin-broken",
            vec!["validate", "-f", "-"],
            dir.path(),
            broken.as_str(),
        ),
        (
            "stdin-lint",
            vec!["lint", "-f", "-"],
            dir.path(),
            valid.as_str(),
        ),
        (
            "stdin-plan",
            vec!["plan", "-f", "-", "--live-state", "live.json"],
            example.as_path(),
            example_yaml.as_str(),
        ),
    ] {
        let output = run_with_stdin(cwd, &args, input);
        insta::assert_snapshot!(name, binary::transcript(&args, &output));
    }
}
