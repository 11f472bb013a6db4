//! The body of one change as tagged lines, built once and laid out by both the text and the
//! Markdown views: the fields of a created object, or the field-level differences of an
//! update, replace or adopt, with policy documents as pretty JSON or a unified diff.
//!
//! Nothing here knows about colour or Markdown; it only decides what is shown.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use similar::{Algorithm, ChangeTag, DiffOp, TextDiff, capture_diff_slices};

use crate::plan::{Action, Change, FieldChange, Kind, display_field, display_path};

use super::value::{self, inline, inline_or_none, is_container, is_document, key_text};

/// Lines longer than this are laid out over several lines when their value allows it.
const WIDTH: usize = 100;
/// Field names longer than this do not widen the name column of their block.
const MAX_COLUMN: usize = 32;
/// Lines of unchanged context around each changed part of a policy document.
const CONTEXT: usize = 3;

/// What a line says about its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    Add,
    Remove,
    Change,
    /// Unchanged context, closing brackets, hidden-element counts.
    Keep,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    Text(String),
    /// `name = before -> after` in text; the Markdown view writes a removed and an added line
    /// so that GitHub colours them.
    Change {
        name: String,
        before: Option<String>,
        after: Option<String>,
    },
}

/// One line of a change's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub tag: Tag,
    /// Nesting level below the change's own fields.
    pub depth: usize,
    /// Shown without a marker in text (document bodies, closing brackets); still coloured and
    /// still marked in Markdown.
    pub bare: bool,
    pub content: Content,
}

impl Line {
    fn text(tag: Tag, depth: usize, text: impl Into<String>) -> Self {
        Line {
            tag,
            depth,
            bare: false,
            content: Content::Text(text.into()),
        }
    }

    fn bare(tag: Tag, depth: usize, text: impl Into<String>) -> Self {
        Line {
            bare: true,
            ..Line::text(tag, depth, text)
        }
    }
}

/// The lines shown under a change's address. Deletes show none: the address says it all.
/// Fields are named as access.yaml writes them ([`display_field`]).
pub fn body(change: &Change) -> Vec<Line> {
    let mut lines = Vec::new();
    let kind = change.address.kind;
    match change.action {
        Action::Create => {
            if let Some(after) = &change.after {
                created(&mut lines, kind, &after.to_value());
            }
        }
        Action::Delete => {}
        Action::Update | Action::Replace | Action::Adopt => {
            fields(&mut lines, kind, &change.fields);
        }
    }
    lines
}

fn created(lines: &mut Vec<Line>, kind: Kind, object: &Value) {
    let Some(object) = object.as_object() else {
        emit_value(lines, Tag::Add, 0, None, 0, object, "");
        return;
    };
    let entries = create_entries(kind, object);
    let column = column_width(
        entries
            .iter()
            .filter(|(_, value)| !is_document(value))
            .map(|(name, _)| name.as_str()),
    );
    for (name, value) in &entries {
        if is_document(value) {
            document(lines, Tag::Add, 0, name, value);
        } else {
            emit_value(lines, Tag::Add, 0, Some(name), column, value, "");
        }
    }
}

/// The top-level fields worth showing on create, by the names access.yaml gives them. `meta`
/// is only a wrapper (its `labels` and `annotations` are shown), and a map of documents
/// (`inline`) shows each document under its own name.
fn create_entries(kind: Kind, object: &Map<String, Value>) -> Vec<(String, &Value)> {
    let mut entries = Vec::new();
    for (key, value) in object {
        if value::is_empty(value) {
            continue;
        }
        match value.as_object() {
            Some(inner) if key == "meta" => {
                for (inner_key, inner_value) in inner {
                    let field = format!("{key}.{inner_key}");
                    if let (false, Some(name)) =
                        (value::is_empty(inner_value), display_field(kind, &field))
                    {
                        entries.push((name.to_string(), inner_value));
                    }
                }
            }
            Some(inner) if inner.values().all(is_document) => {
                let Some(name) = display_field(kind, key) else {
                    continue;
                };
                for (inner_key, inner_value) in inner {
                    if !value::is_empty(inner_value) {
                        entries.push((format!("{name}.{}", path_key(inner_key)), inner_value));
                    }
                }
            }
            _ => {
                if let Some(name) = created_name(kind, object, key) {
                    entries.push((name.to_string(), value));
                }
            }
        }
    }
    // Alphabetical like Terraform, documents last since they take many lines each.
    entries.sort_by(|(left, left_value), (right, right_value)| {
        (is_document(left_value), left).cmp(&(is_document(right_value), right))
    });
    entries
}

/// The name of a created object's field: [`display_field`], except that an aws-auth
/// `mapAccounts` entry holds an account, which access.yaml writes as `account`.
fn created_name<'a>(kind: Kind, object: &Map<String, Value>, key: &'a str) -> Option<&'a str> {
    let accounts = object.get("kind").and_then(Value::as_str) == Some("mapAccounts");
    if kind == Kind::AwsAuth && key == "arn" && accounts {
        return Some("account");
    }
    display_field(kind, key)
}

/// A map key inside a dotted path: plain keys stay as they are, like the planner's field paths
/// (`tags.managed-by`); only keys that would break the line are quoted.
fn path_key(key: &str) -> String {
    if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        key_text(key)
    } else {
        key.to_string()
    }
}

fn fields(lines: &mut Vec<Line>, kind: Kind, fields: &[FieldChange]) {
    let named: Vec<(String, &FieldChange)> = fields
        .iter()
        .filter_map(|field| Some((value::scrub(&display_path(kind, &field.path)?), field)))
        .collect();
    let column = column_width(
        named
            .iter()
            .filter(|(_, field)| {
                !field.before.as_ref().is_some_and(is_document)
                    && !field.after.as_ref().is_some_and(is_document)
            })
            .map(|(name, _)| name.as_str()),
    );
    for (name, field) in &named {
        emit_change(
            lines,
            0,
            name,
            column,
            field.before.as_ref(),
            field.after.as_ref(),
        );
    }
}

fn column_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names
        .map(|name| name.chars().count())
        .filter(|&width| width <= MAX_COLUMN)
        .max()
        .unwrap_or(0)
}

fn fits(depth: usize, text: &str) -> bool {
    // Body indent (6), nesting (4 a level) and the marker (2), as the text view lays it out.
    6 + 4 * depth + 2 + text.chars().count() <= WIDTH
}

fn prefix(name: Option<&str>, column: usize) -> String {
    name.map_or_else(String::new, |name| format!("{name:<column$} = "))
}

/// A document as pretty JSON under its name: all added, or all removed.
fn document(lines: &mut Vec<Line>, tag: Tag, depth: usize, name: &str, value: &Value) {
    lines.push(Line::text(tag, depth, name));
    for text in value::pretty(value).lines() {
        lines.push(Line::bare(tag, depth + 1, text));
    }
}

/// A value that is entirely added or removed, on one line when it fits.
fn emit_value(
    lines: &mut Vec<Line>,
    tag: Tag,
    depth: usize,
    name: Option<&str>,
    column: usize,
    value: &Value,
    trailing: &str,
) {
    if let (Some(name), true) = (name, is_document(value)) {
        document(lines, tag, depth, name, value);
        return;
    }
    let head = prefix(name, column);
    let one_line = format!("{head}{}{trailing}", inline(value));
    if !is_container(value) || fits(depth, &one_line) {
        lines.push(Line::text(tag, depth, one_line));
        return;
    }
    match value {
        Value::Array(items) => {
            lines.push(Line::text(tag, depth, format!("{head}[")));
            for item in items {
                emit_value(lines, tag, depth + 1, None, 0, item, ",");
            }
            lines.push(Line::bare(tag, depth, format!("]{trailing}")));
        }
        Value::Object(entries) => {
            lines.push(Line::text(tag, depth, format!("{head}{{")));
            let keys: Vec<String> = entries.keys().map(|key| key_text(key)).collect();
            let inner = column_width(keys.iter().map(String::as_str));
            for (key, item) in keys.iter().zip(entries.values()) {
                emit_value(lines, tag, depth + 1, Some(key), inner, item, "");
            }
            lines.push(Line::bare(tag, depth, format!("}}{trailing}")));
        }
        _ => lines.push(Line::text(tag, depth, one_line)),
    }
}

/// One field that differs: `name = before -> after` when it fits, a unified diff for
/// documents, and element- or key-level differences for long lists and maps.
fn emit_change(
    lines: &mut Vec<Line>,
    depth: usize,
    name: &str,
    column: usize,
    before: Option<&Value>,
    after: Option<&Value>,
) {
    let before = before.filter(|value| !value.is_null());
    let after = after.filter(|value| !value.is_null());
    if before == after {
        return;
    }
    if before.is_some_and(is_document) || after.is_some_and(is_document) {
        match (before, after) {
            (Some(before), Some(after)) => {
                lines.push(Line::text(Tag::Change, depth, name));
                document_diff(
                    lines,
                    depth + 1,
                    &value::pretty(before),
                    &value::pretty(after),
                );
            }
            (None, Some(after)) => document(lines, Tag::Add, depth, name, after),
            (Some(before), None) => document(lines, Tag::Remove, depth, name, before),
            (None, None) => {}
        }
        return;
    }
    let padded = format!("{name:<column$}");
    let before_text = inline_or_none(before);
    let after_text = inline_or_none(after);
    let one_line = format!("{padded} = {before_text} -> {after_text}");
    let change_line = Line {
        tag: Tag::Change,
        depth,
        bare: false,
        content: Content::Change {
            name: padded.clone(),
            before: before.map(|_| before_text),
            after: after.map(|_| after_text),
        },
    };
    if fits(depth, &one_line) {
        lines.push(change_line);
        return;
    }
    match (before, after) {
        (None, Some(after)) => emit_value(lines, Tag::Add, depth, Some(name), column, after, ""),
        (Some(before), None) => {
            emit_value(lines, Tag::Remove, depth, Some(name), column, before, "");
        }
        (Some(Value::Array(before)), Some(Value::Array(after))) => {
            nested(lines, depth, &padded, ("[", "]"), |lines| {
                list_diff(lines, depth + 1, before, after);
            });
        }
        (Some(Value::Object(before)), Some(Value::Object(after))) => {
            nested(lines, depth, &padded, ("{", "}"), |lines| {
                map_diff(lines, depth + 1, before, after);
            });
        }
        _ => lines.push(change_line),
    }
}

/// A changed list or map: `name = [` (or `{`), its differences one level deeper, the closing
/// bracket.
fn nested(
    lines: &mut Vec<Line>,
    depth: usize,
    padded_name: &str,
    (open, close): (&str, &str),
    inner: impl FnOnce(&mut Vec<Line>),
) {
    lines.push(Line::text(
        Tag::Change,
        depth,
        format!("{padded_name} = {open}"),
    ));
    inner(lines);
    lines.push(Line::bare(Tag::Keep, depth, close));
}

/// Element-level differences of two lists, unchanged runs summarised in place.
fn list_diff(lines: &mut Vec<Line>, depth: usize, before: &[Value], after: &[Value]) {
    let old: Vec<String> = before.iter().map(inline).collect();
    let new: Vec<String> = after.iter().map(inline).collect();
    for op in capture_diff_slices(Algorithm::Myers, &old, &new) {
        match op {
            DiffOp::Equal { len, .. } => lines.push(hidden(depth, len, "element")),
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                for item in &before[old_index..old_index + old_len] {
                    emit_value(lines, Tag::Remove, depth, None, 0, item, ",");
                }
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for item in &after[new_index..new_index + new_len] {
                    emit_value(lines, Tag::Add, depth, None, 0, item, ",");
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                for item in &before[old_index..old_index + old_len] {
                    emit_value(lines, Tag::Remove, depth, None, 0, item, ",");
                }
                for item in &after[new_index..new_index + new_len] {
                    emit_value(lines, Tag::Add, depth, None, 0, item, ",");
                }
            }
        }
    }
}

/// Key-level differences of two maps, in key order; unchanged keys are only counted.
fn map_diff(
    lines: &mut Vec<Line>,
    depth: usize,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let column = column_width(
        keys.iter()
            .filter(|key| before.get(key.as_str()) != after.get(key.as_str()))
            .map(|key| key.as_str()),
    );
    let mut unchanged = 0;
    for key in keys {
        let name = key_text(key);
        match (before.get(key), after.get(key)) {
            (Some(old), Some(new)) if old == new => unchanged += 1,
            (None, Some(new)) => emit_value(lines, Tag::Add, depth, Some(&name), column, new, ""),
            (Some(old), None) => {
                emit_value(lines, Tag::Remove, depth, Some(&name), column, old, "");
            }
            (old, new) => emit_change(lines, depth, &name, column, old, new),
        }
    }
    if unchanged > 0 {
        lines.push(hidden(depth, unchanged, "attribute"));
    }
}

fn hidden(depth: usize, count: usize, what: &str) -> Line {
    let plural = if count == 1 { "" } else { "s" };
    Line::bare(
        Tag::Keep,
        depth,
        format!("# ({count} unchanged {what}{plural} hidden)"),
    )
}

/// Only the changed parts of two pretty documents, with a few lines of context; separate
/// parts are divided by `...`.
fn document_diff(lines: &mut Vec<Line>, depth: usize, before: &str, after: &str) {
    // Both end with a newline, so the last line never shows as changed for lack of one.
    let before = format!("{before}\n");
    let after = format!("{after}\n");
    let diff = TextDiff::from_lines(before.as_str(), after.as_str());
    for (index, group) in diff.grouped_ops(CONTEXT).iter().enumerate() {
        if index > 0 {
            lines.push(Line::bare(Tag::Keep, depth, "..."));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let tag = match change.tag() {
                    ChangeTag::Equal => Tag::Keep,
                    ChangeTag::Delete => Tag::Remove,
                    ChangeTag::Insert => Tag::Add,
                };
                let text = change.value().trim_end_matches(['\n', '\r']);
                lines.push(Line::text(tag, depth, text));
            }
        }
    }
}
