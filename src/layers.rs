//! The layers, checked: the core modules (access.yaml, the model, the planner, insight and the
//! renderers) are pure functions of their inputs. They depend on no command-line, async
//! runtime, Kubernetes or AWS crate, and on none of the modules that do I/O; see
//! docs/architecture.md, "Layers and data flow".

/// The core modules, as directories of `src/`.
pub const CORE: [&str; 5] = ["spec", "model", "plan", "insight", "render"];

/// Paths the core may not name: external crates (as `NAME::`) and the edge modules.
pub const FORBIDDEN: [&str; 11] = [
    "clap::",
    "tokio::",
    "kube::",
    "k8s_openapi::",
    "futures_util::",
    "crate::aws",
    "crate::kube",
    "crate::live",
    "crate::cli",
    "crate::apply",
    "crate::import",
];

/// Every forbidden path named in `text` (comments aside), with its line: the `FORBIDDEN`
/// ones, and any `aws_*::` crate (`aws_sdk_iam::`, `aws_config::`, `aws_smithy_types::`).
pub fn violations(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for (at, _) in code.char_indices() {
            let rest = &code[at..];
            // A path's start: not inside a name, nor a later segment (`crate::kube::`).
            let starts_word = code[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
            if !starts_word {
                continue;
            }
            if let Some(path) = FORBIDDEN.iter().find(|path| rest.starts_with(**path)) {
                found.push((index + 1, path.to_string()));
            } else if let Some(tail) = rest.strip_prefix("aws_") {
                let name: String = tail
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if tail[name.len()..].starts_with("::") {
                    found.push((index + 1, format!("aws_{name}::")));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn sources(dir: &Path, into: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).expect("a source directory");
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                sources(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push(path);
            }
        }
    }

    #[test]
    fn the_core_depends_on_no_io_crate_and_no_edge_module() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for module in CORE {
            sources(&src.join(module), &mut files);
        }
        assert!(files.len() > 20, "only {} core files", files.len());
        let mut problems = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("a source file");
            for (line, path) in violations(&text) {
                problems.push(format!("{}:{line}: `{path}`", file.display()));
            }
        }
        assert!(
            problems.is_empty(),
            "the core modules must stay free of I/O crates and edge modules:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn violations_are_found_in_code_not_comments() {
        let text = "use clap::Args;\n// tokio::spawn\nlet x = aws_sdk_iam::Client::new();\nlet y = my_clap::X; aws_thing.call();\n#[derive(clap::ValueEnum)]\nuse crate::kube::read;";
        assert_eq!(
            violations(text),
            vec![
                (1, "clap::".to_string()),
                (3, "aws_sdk_iam::".to_string()),
                (5, "clap::".to_string()),
                (6, "crate::kube".to_string()),
            ]
        );
    }
}
