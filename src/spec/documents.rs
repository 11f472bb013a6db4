//! Policy documents written in access.yaml or in the files it names: YAML to JSON, the short
//! resource forms (`role:NAME`, `user:NAME`, `policy:NAME`) expanded to ARNs, and validation by
//! the policy module, whose complaints are pointed back at the YAML node they concern.

use std::path::Path;

use serde_json::{Map, Number, Value};

use crate::model::{DocumentKind, PolicyDocument};

use super::input;
use super::node::{self, Node, NodeValue};
use super::raw::{DocumentSpec, Text};
use super::reader::{Reader, Source};
use super::resolve::{Directory, Unresolved, unknown};

/// A document from `document:` or `file:`.
pub fn from_spec(
    reader: &mut Reader<'_>,
    directory: &Directory,
    spec: &DocumentSpec<'_>,
    kind: DocumentKind,
) -> Option<PolicyDocument> {
    match spec {
        DocumentSpec::Inline(node) => document(reader, directory, node, kind),
        DocumentSpec::File(file) => from_file(reader, directory, file, kind),
    }
}

/// Reads a policy file relative to access.yaml, and only inside its directory (symbolic links
/// resolved); its mistakes point into it, and sort where access.yaml names it.
fn from_file(
    reader: &mut Reader<'_>,
    directory: &Directory,
    file: &Text,
    kind: DocumentKind,
) -> Option<PolicyDocument> {
    let (written_in, base_dir) = match reader.source.fragment(file.at) {
        Some(fragment) => (fragment.path.clone(), fragment.base.clone()),
        None => (reader.source.root.clone(), std::path::PathBuf::new()),
    };
    let directory_of_fragments = reader.source.directory;
    let base = if written_in == Path::new(input::STDIN_NAME) {
        "the current directory".to_string()
    } else if directory_of_fragments {
        format!("`{}`", reader.source.root.display())
    } else {
        format!("the directory of `{}`", written_in.display())
    };
    let relative = if directory_of_fragments && !base_dir.as_os_str().is_empty() {
        format!("the directory of `{}`", written_in.display())
    } else {
        base.clone()
    };
    let path = match input::confine(&reader.source.root, &base_dir.join(&file.value)) {
        Ok(path) => path,
        Err(refused) => {
            let how = match refused {
                input::Refused::Outside => "",
                input::Refused::LinksOutside => " through a symbolic link",
            };
            reader.error_hint(
                file.at,
                format!(
                    "policy file `{}` is outside {base}{how}",
                    file.value
                ),
                format!(
                    "`file:` names a file in {base} or below it (symbolic links are followed before the check): move or copy the policy there"
                ),
            );
            return None;
        }
    };
    let shown = path.display().to_string();
    let bytes = match reader.source.files.read(&path) {
        Ok(bytes) => bytes,
        Err(reason) => {
            let message = format!("cannot read policy file `{shown}`: {reason}");
            // Too large: where the path is relative to is beside the point.
            if path.is_file() {
                reader.error(file.at, message);
            } else {
                reader.error_hint(
                    file.at,
                    message,
                    format!("`file:` paths are relative to {relative}"),
                );
            }
            return None;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => text,
        _ => {
            reader.error_hint(
                file.at,
                format!("policy file `{shown}` is not a text file"),
                "a policy file holds a policy document, as JSON or YAML text",
            );
            return None;
        }
    };
    let source = Source {
        fragments: vec![super::reader::Fragment::new(path, base_dir, text)],
        root: reader.source.root.clone(),
        directory: reader.source.directory,
        files: reader.source.files.clone(),
    };
    let mut inner = Reader {
        source: &source,
        report: &mut *reader.report,
        anchor: Some(reader.anchor.unwrap_or(file.at)),
    };
    let root = match node::parse(source.text_of(node::Location::default())) {
        Ok(Some(root)) => root,
        Ok(None) => {
            reader.error_hint(
                file.at,
                format!("policy file `{shown}` is empty"),
                "write the policy document in it, as JSON or YAML",
            );
            return None;
        }
        Err(error) => {
            let message = format!("invalid policy file: {}", error.message);
            match error.hint {
                Some(hint) => inner.error_hint(error.location, message, hint),
                None => inner.error(error.location, message),
            }
            return None;
        }
    };
    if root.entries().is_none() {
        inner.wrong_type(
            &root,
            "a policy document (a map with `Version` and `Statement`)",
        );
        return None;
    }
    document(&mut inner, directory, &root, kind)
}

/// Converts, expands and validates one document node.
pub fn document(
    reader: &mut Reader<'_>,
    directory: &Directory,
    node: &Node,
    kind: DocumentKind,
) -> Option<PolicyDocument> {
    let mut value = to_json(reader, node)?;
    if kind == DocumentKind::Identity {
        expand_short_forms(reader, directory, node, &mut value);
    }
    match PolicyDocument::from_value(&value, kind) {
        Ok(document) => Some(document),
        Err(errors) => {
            for error in errors {
                let at = locate(node, &error.path).location;
                match error.hint {
                    Some(hint) => reader.error_hint(at, error.message, hint),
                    None => reader.error(at, error.message),
                }
            }
            None
        }
    }
}

/// YAML → JSON. `None` (and reported) when a key is not text.
pub fn to_json(reader: &mut Reader<'_>, node: &Node) -> Option<Value> {
    Some(match &node.value {
        NodeValue::Null => Value::Null,
        NodeValue::Bool(value) => Value::Bool(*value),
        NodeValue::Int(value) => i64::try_from(*value)
            .map(Value::from)
            .or_else(|_| u64::try_from(*value).map(Value::from))
            .unwrap_or_else(|_| Value::String(value.to_string())),
        NodeValue::Float(value) => {
            Number::from_f64(*value).map_or_else(|| Value::String(value.to_string()), Value::Number)
        }
        NodeValue::String(text) => Value::String(text.clone()),
        NodeValue::Seq(items) => {
            let mut list = Vec::with_capacity(items.len());
            for item in items {
                list.push(to_json(reader, item)?);
            }
            Value::Array(list)
        }
        NodeValue::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let Some(name) = key.scalar_text() else {
                    reader.wrong_type(key, "a string key");
                    return None;
                };
                map.insert(name, to_json(reader, value)?);
            }
            Value::Object(map)
        }
    })
}

/// The node a JSON path (`["Statement", "0", "Effect"]`) points at, or the deepest one that
/// exists on the way (a missing key points at the map that lacks it).
pub fn locate<'n>(node: &'n Node, path: &[String]) -> &'n Node {
    let mut current = node;
    for segment in path {
        let next = match &current.value {
            NodeValue::Map(entries) => entries
                .iter()
                .find(|(key, _)| key.scalar_text().as_deref() == Some(segment))
                .or_else(|| {
                    entries.iter().find(|(key, _)| {
                        key.scalar_text()
                            .is_some_and(|name| name.eq_ignore_ascii_case(segment))
                    })
                })
                .map(|(_, value)| value),
            NodeValue::Seq(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(next) => current = next,
            // A single statement (or value) written without a list: `Statement.0` is itself.
            None if segment.parse::<usize>().is_ok_and(|i| i == 0)
                && !matches!(current.value, NodeValue::Seq(_)) => {}
            None => break,
        }
    }
    current
}

/// `role:NAME`, `user:NAME`, `policy:NAME` in `Resource`/`NotResource` become ARNs.
fn expand_short_forms(
    reader: &mut Reader<'_>,
    directory: &Directory,
    node: &Node,
    value: &mut Value,
) {
    crate::model::policy::rewrite_resources(value, |path, text| {
        expand_one(reader, directory, node, path, text);
    });
}

fn expand_one(
    reader: &mut Reader<'_>,
    directory: &Directory,
    node: &Node,
    path: &[String],
    text: &mut String,
) {
    let Some(expanded) = short_form(directory, text) else {
        return;
    };
    match expanded {
        Ok(arn) => *text = arn,
        Err(problem) => {
            let at = locate(node, path).location;
            match problem.hint {
                Some(hint) => reader.error_hint(at, problem.message, hint),
                None => reader.error(at, problem.message),
            }
        }
    }
}

/// `None` when `text` is not a short form.
fn short_form(directory: &Directory, text: &str) -> Option<Result<String, Unresolved>> {
    let (kind, name) = text.split_once(':')?;
    let declared_only = |result: Result<String, Unresolved>| {
        if name.starts_with("arn:") {
            Err(Unresolved {
                message: format!("`{text}` mixes a short form and an ARN"),
                hint: Some(format!(
                    "write `{kind}:NAME` with a name of this file, or the ARN alone"
                )),
            })
        } else {
            result
        }
    };
    Some(match kind {
        "role" => declared_only(directory.role_arn(name)),
        "user" => declared_only(directory.user_arn(name)),
        "policy" => declared_only(match directory.has_policy(name) {
            true => directory.policy_arn(name),
            false => Err(unknown(
                "policy",
                name,
                directory.policies.keys(),
                "declare it under `iam.policies`, or write its ARN",
            )),
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::reader::Report;
    use super::*;

    fn parse(text: &str) -> Node {
        node::parse(text).ok().flatten().expect("a document")
    }

    #[test]
    fn short_forms_expand_to_arns() {
        let node = parse(
            "Version: '2012-10-17'\nStatement:\n  - Effect: Allow\n    Action: sts:AssumeRole\n    Resource: role:eks-admin\n",
        );
        let source = Source::single(
            "a.yaml".into(),
            Default::default(),
            String::new(),
            Default::default(),
        );
        let mut report = Report::default();
        let mut reader = Reader::new(&source, &mut report);
        let mut value = to_json(&mut reader, &node).expect("json");
        expand_short_forms(&mut reader, &Directory::example(), &node, &mut value);
        assert!(report.is_empty());
        assert_eq!(
            value["Statement"][0]["Resource"],
            "arn:aws:iam::424432388155:role/team/eks-admin"
        );
    }

    #[test]
    fn unknown_short_form_is_reported_at_its_node() {
        let text = "Statement:\n  Effect: Allow\n  Resource: [\"*\", role:eks-admn]\n";
        let node = parse(text);
        let source = Source::single(
            "a.yaml".into(),
            Default::default(),
            text.into(),
            Default::default(),
        );
        let mut report = Report::default();
        let mut reader = Reader::new(&source, &mut report);
        let mut value = to_json(&mut reader, &node).expect("json");
        expand_short_forms(&mut reader, &Directory::example(), &node, &mut value);
        let list = report.into_sorted();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].message, "unknown role `eks-admn`");
        assert_eq!((list[0].line, list[0].column), (3, 19));
    }

    #[test]
    fn locate_follows_json_paths() {
        let node = parse("Statement:\n  - Effect: Alow\n    Action: x\n");
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            locate(&node, &path(&["Statement", "0", "Effect"]))
                .location
                .line,
            2
        );
        assert_eq!(
            locate(&node, &path(&["Statement", "0", "Effect"]))
                .location
                .column,
            13
        );
        // Missing key: the statement itself.
        assert_eq!(
            locate(&node, &path(&["Statement", "0", "Resource"]))
                .location
                .column,
            5
        );
        let single = parse("Statement:\n  Effect: Alow\n");
        assert_eq!(
            locate(&single, &path(&["Statement", "0", "Effect"]))
                .location
                .column,
            11
        );
    }
}
