//! The forms of a lint report: text, JSON (`format_version` 1) and SARIF 2.1.0.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Value, json};

use super::{Finding, RULES, Severity};

/// Counts by severity.
pub fn summary(findings: &[Finding]) -> BTreeMap<Severity, usize> {
    let mut counts = BTreeMap::new();
    for finding in findings {
        *counts.entry(finding.severity).or_insert(0) += 1;
    }
    counts
}

/// `file:line:col: severity [rule] message` and a hint line per finding, then a summary.
pub fn render_text(findings: &[Finding], file: &str) -> String {
    let mut out = String::new();
    for finding in findings {
        let file = finding.file.as_deref().unwrap_or(file);
        let place = if finding.line == 0 {
            file.to_string()
        } else {
            format!("{file}:{}:{}", finding.line, finding.column)
        };
        let _ = writeln!(
            out,
            "{place}: {} [{}] {}",
            finding.severity.as_str(),
            finding.rule,
            finding.message
        );
        let _ = writeln!(out, "  hint: {}", finding.hint);
    }
    let counts = summary(findings);
    let count = |severity| counts.get(&severity).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "{} finding{}: {} high, {} medium, {} low",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low)
    );
    out
}

/// The JSON form (`format_version` 1).
pub fn render_json(findings: &[Finding], file: &str) -> Result<String, crate::render::JsonError> {
    let counts = summary(findings);
    let count = |severity| counts.get(&severity).copied().unwrap_or(0);
    let value = json!({
        "format_version": 1,
        "file": file,
        "findings": findings.iter().map(|finding| {
            let mut value = json!({
                "rule": finding.rule,
                "severity": finding.severity,
                "line": finding.line,
                "column": finding.column,
                "message": finding.message,
                "hint": finding.hint,
            });
            // A fragment of a directory: the finding names its file.
            if let Some(own) = finding.file.as_deref().filter(|own| *own != file) {
                value["file"] = json!(own);
            }
            value
        }).collect::<Vec<Value>>(),
        "summary": {
            "high": count(Severity::High),
            "medium": count(Severity::Medium),
            "low": count(Severity::Low),
        },
    });
    crate::render::json::to_pretty("the lint report", &value)
}

/// SARIF 2.1.0, for code-scanning tools. `file` is the artifact URI as given (relative paths
/// stay relative to the checkout).
pub fn render_sarif(findings: &[Finding], file: &str) -> Result<String, crate::render::JsonError> {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.id,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.description},
                "help": {"text": rule.hint},
                "helpUri": rule.help_uri(),
                "defaultConfiguration": {"level": rule.severity.sarif_level()},
                "properties": {"severity": rule.severity.as_str()},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|finding| {
            let uri = finding.file.as_deref().unwrap_or(file).replace('\\', "/");
            json!({
                "ruleId": finding.rule,
                "ruleIndex": RULES.iter().position(|rule| rule.id == finding.rule).unwrap_or(0),
                "level": finding.severity.sarif_level(),
                "message": {"text": format!("{} (hint: {})", finding.message, finding.hint)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {
                            "startLine": finding.line.max(1),
                            "startColumn": finding.column.max(1),
                        },
                    },
                }],
                "properties": {"severity": finding.severity.as_str()},
            })
        })
        .collect();
    let value = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "accessctl",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                },
            },
            "results": results,
        }],
    });
    crate::render::json::to_pretty("the SARIF report", &value)
}
