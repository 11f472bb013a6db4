//! The aws-auth ConfigMap: its parse into the model and the merge that apply writes back.
//!
//! `mapRoles`, `mapUsers` and `mapAccounts` are YAML documents inside string values, written by
//! eksctl, Terraform and by hand (`kubectl edit`). The parse is tolerant of what
//! aws-iam-authenticator accepts: missing groups, `{{EC2PrivateDNSName}}` / `{{SessionName}}`
//! templates, extra keys, odd spacing, comments, empty strings and `[]`.
//!
//! The merge never re-serializes what accessctl does not manage: each list is cut into entry
//! blocks (an entry's lines plus the comment lines directly above it), unmanaged blocks are
//! copied byte for byte, and only managed entries are rewritten, added or removed. A list that
//! is not in block style (a flow sequence like `[{rolearn: …}]`) cannot be cut; it is rewritten
//! whole only when one of its own entries changes, and [`Merged::rewritten`] says so.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

pub use crate::model::aws_auth::render_entry;
#[cfg(test)]
use crate::model::aws_auth::scalar;
use crate::model::{AWS_AUTH_MANAGED_ANNOTATION, AwsAuth, AwsAuthEntry, MapKind};
use crate::plan::{Action, Change, Object};

/// The three lists, in the order they are read and written.
pub const LISTS: [MapKind; 3] = [MapKind::MapRoles, MapKind::MapUsers, MapKind::MapAccounts];

/// The ConfigMap data key of a list.
pub fn data_key(kind: MapKind) -> &'static str {
    match kind {
        MapKind::MapRoles => "mapRoles",
        MapKind::MapUsers => "mapUsers",
        MapKind::MapAccounts => "mapAccounts",
    }
}

/// aws-auth content accessctl cannot understand.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("aws-auth `{key}`: {message}")]
pub struct AwsAuthError {
    pub key: String,
    pub message: String,
}

impl AwsAuthError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        AwsAuthError {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// One `mapRoles` / `mapUsers` item as written; unknown keys are ignored, as the
/// authenticator ignores them.
#[derive(Debug, Default, Deserialize, PartialEq)]
struct RawIdentity {
    #[serde(default)]
    rolearn: Option<String>,
    #[serde(default)]
    userarn: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    groups: Option<Vec<String>>,
}

/// The entries of one list, in order. Items without their ARN key are skipped (the
/// authenticator cannot use them either), but their text is kept by the merge.
fn parse_list(kind: MapKind, text: &str) -> Result<Vec<AwsAuthEntry>, AwsAuthError> {
    let key = data_key(kind);
    if !text.lines().any(is_content) {
        return Ok(Vec::new());
    }
    let invalid =
        |error: serde_saphyr::Error| AwsAuthError::new(key, format!("not valid YAML: {error}"));
    let entries = match kind {
        MapKind::MapAccounts => {
            let accounts: Option<Vec<String>> = serde_saphyr::from_str(text).map_err(invalid)?;
            accounts
                .unwrap_or_default()
                .into_iter()
                .map(|account| AwsAuthEntry {
                    kind,
                    arn: account.trim().to_string(),
                    username: None,
                    groups: Vec::new(),
                })
                .collect()
        }
        MapKind::MapRoles | MapKind::MapUsers => {
            let items: Option<Vec<Option<RawIdentity>>> =
                serde_saphyr::from_str(text).map_err(invalid)?;
            items
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .filter_map(|item| {
                    let arn = match kind {
                        MapKind::MapRoles => item.rolearn,
                        _ => item.userarn,
                    }?;
                    let arn = arn.trim().to_string();
                    (!arn.is_empty()).then(|| AwsAuthEntry {
                        kind,
                        arn,
                        username: item.username.filter(|name| !name.is_empty()),
                        groups: item.groups.unwrap_or_default(),
                    })
                })
                .collect()
        }
    };
    Ok(entries)
}

/// The ARNs (or account ids) the annotation lists as managed.
fn parse_managed(annotations: &BTreeMap<String, String>) -> Result<BTreeSet<String>, AwsAuthError> {
    match annotations.get(AWS_AUTH_MANAGED_ANNOTATION) {
        None => Ok(BTreeSet::new()),
        Some(text) if text.trim().is_empty() => Ok(BTreeSet::new()),
        Some(text) => serde_json::from_str(text).map_err(|error| {
            AwsAuthError::new(
                AWS_AUTH_MANAGED_ANNOTATION,
                format!("the annotation is not a JSON array of strings ({error}); fix or remove it by hand"),
            )
        }),
    }
}

/// The model of a live aws-auth ConfigMap.
pub fn parse(
    data: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    resource_version: Option<String>,
) -> Result<AwsAuth, AwsAuthError> {
    let mut entries = Vec::new();
    for kind in LISTS {
        if let Some(text) = data.get(data_key(kind)) {
            entries.extend(parse_list(kind, text)?);
        }
    }
    Ok(AwsAuth {
        entries,
        managed: parse_managed(annotations)?,
        resource_version,
    })
}

/// One edit of the aws-auth unit of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Create, update or adopt: afterwards the list holds exactly this entry for its ARN, and
    /// the ARN is managed.
    Upsert(AwsAuthEntry),
    /// Delete: no entry for the ARN is left in any list, and it is no longer managed.
    Remove(String),
}

/// The edits a unit of aws-auth changes asks for. They are idempotent, so they can be
/// re-applied to a ConfigMap re-read after a conflict.
pub fn edits(unit: &[Change]) -> Result<Vec<Edit>, String> {
    unit.iter()
        .map(|change| match (change.action, &change.after) {
            (Action::Delete, _) => Ok(Edit::Remove(change.address.name.clone())),
            (_, Some(Object::AwsAuthEntry(entry))) => Ok(Edit::Upsert(entry.clone())),
            _ => Err(format!(
                "`{}`: a {:?} change without the aws-auth entry to write",
                change.address, change.action
            )),
        })
        .collect()
}

/// The new data and managed annotation of the ConfigMap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    pub data: BTreeMap<String, String>,
    /// The JSON array for [`AWS_AUTH_MANAGED_ANNOTATION`].
    pub managed_annotation: String,
    /// Lists that were not in block style and had to be rewritten whole.
    pub rewritten: Vec<MapKind>,
}

/// Applies `edits` to the live data; see the module comment for what is kept byte for byte.
pub fn merge(
    data: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    edits: &[Edit],
) -> Result<Merged, AwsAuthError> {
    let mut managed = parse_managed(annotations)?;
    let mut merged = data.clone();
    let mut rewritten = Vec::new();
    for kind in LISTS {
        let key = data_key(kind);
        let original = data.get(key).map(String::as_str).unwrap_or_default();
        let mut list = ListText::cut(kind, original)?;
        let mut touched = false;
        for edit in edits {
            touched |= list.apply(kind, edit);
        }
        if !touched {
            continue;
        }
        if !list.block_style {
            rewritten.push(kind);
        }
        let text = list.render();
        if text.is_empty() && !data.contains_key(key) {
            merged.remove(key);
        } else {
            merged.insert(key.to_string(), text);
        }
    }
    for edit in edits {
        match edit {
            Edit::Upsert(entry) => {
                managed.insert(entry.arn.clone());
            }
            Edit::Remove(arn) => {
                managed.remove(arn);
            }
        }
    }
    let managed_annotation = serde_json::to_string(&managed)
        .map_err(|error| AwsAuthError::new(AWS_AUTH_MANAGED_ANNOTATION, error.to_string()))?;
    Ok(Merged {
        data: merged,
        managed_annotation,
        rewritten,
    })
}

fn is_content(line: &str) -> bool {
    let trimmed = line.trim();
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// `- …` or a lone `-` at exactly `indent` spaces.
fn is_item_start(line: &str, indent: usize) -> bool {
    if indent_of(line) != indent {
        return false;
    }
    let rest = &line[indent..];
    let Some(after) = rest.strip_prefix('-') else {
        return false;
    };
    after.is_empty() || after.starts_with([' ', '\n', '\r'])
}

/// One entry's text, with the entry it holds (`None` for items the model skips).
#[derive(Clone, Debug)]
struct Block {
    text: String,
    arn: Option<String>,
}

/// One list cut into blocks. In block style, `preamble + blocks + epilogue` is the original
/// text exactly.
#[derive(Clone, Debug)]
struct ListText {
    block_style: bool,
    indent: usize,
    preamble: String,
    blocks: Vec<Block>,
    epilogue: String,
}

impl ListText {
    fn cut(kind: MapKind, text: &str) -> Result<Self, AwsAuthError> {
        let entries = parse_list(kind, text)?;
        if let Some(list) = Self::cut_blocks(kind, text, &entries) {
            return Ok(list);
        }
        // Not block style (`[]`, a flow sequence, …): held as rendered blocks, used only when
        // an edit touches this list.
        Ok(ListText {
            block_style: false,
            indent: 0,
            preamble: String::new(),
            blocks: entries
                .iter()
                .map(|entry| Block {
                    text: render_entry(entry, 0),
                    arn: Some(entry.arn.clone()),
                })
                .collect(),
            epilogue: String::new(),
        })
    }

    /// The blocks of a block-style list; `None` when the text is not one, or when cutting it
    /// would not give back exactly the parsed entries.
    fn cut_blocks(kind: MapKind, text: &str, entries: &[AwsAuthEntry]) -> Option<Self> {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let Some(first) = lines.iter().position(|line| is_content(line)) else {
            return Some(ListText {
                block_style: true,
                indent: 0,
                preamble: text.to_string(),
                blocks: Vec::new(),
                epilogue: String::new(),
            });
        };
        let indent = indent_of(lines[first]);
        if !is_item_start(lines[first], indent) {
            return None;
        }
        if lines
            .iter()
            .any(|line| is_content(line) && indent_of(line) < indent)
        {
            return None;
        }
        let starts: Vec<usize> = (first..lines.len())
            .filter(|&index| is_item_start(lines[index], indent))
            .collect();
        // A comment directly above an item (no blank line between) belongs to it.
        let leading: Vec<usize> = starts
            .iter()
            .enumerate()
            .map(|(k, &start)| {
                let floor = if k == 0 { 0 } else { starts[k - 1] + 1 };
                let mut top = start;
                while top > floor && is_comment(lines[top - 1]) {
                    top -= 1;
                }
                top
            })
            .collect();
        let last_content = lines.iter().rposition(|line| is_content(line))?;
        let mut blocks = Vec::new();
        let mut parsed = Vec::new();
        for (k, &top) in leading.iter().enumerate() {
            let end = leading.get(k + 1).copied().unwrap_or(last_content + 1);
            let block_text: String = lines[top..end].concat();
            let block_entries = parse_list(kind, &block_text).ok()?;
            let item_count = count_items(kind, &block_text)?;
            if item_count != 1 || block_entries.len() > 1 {
                return None;
            }
            let arn = block_entries.first().map(|entry| entry.arn.clone());
            parsed.extend(block_entries);
            blocks.push(Block {
                text: block_text,
                arn,
            });
        }
        if parsed != entries {
            return None;
        }
        Some(ListText {
            block_style: true,
            indent,
            preamble: lines[..leading[0]].concat(),
            blocks,
            epilogue: lines[last_content + 1..].concat(),
        })
    }

    /// Applies one edit; `true` when this list changed.
    fn apply(&mut self, kind: MapKind, edit: &Edit) -> bool {
        match edit {
            Edit::Remove(arn) => {
                let before = self.blocks.len();
                self.blocks
                    .retain(|block| block.arn.as_deref() != Some(arn));
                self.blocks.len() != before
            }
            Edit::Upsert(entry) if entry.kind == kind => {
                let rendered = render_entry(entry, self.indent);
                let mut matching = self
                    .blocks
                    .iter()
                    .enumerate()
                    .filter(|(_, block)| block.arn.as_deref() == Some(entry.arn.as_str()))
                    .map(|(index, _)| index);
                match matching.next() {
                    None => {
                        // A comment that ends a list without items is someone's note, not the
                        // new entry's: a blank line keeps it from being read as the comment
                        // above the entry (and removed with it).
                        let after_note = self.blocks.is_empty()
                            && self.preamble.lines().next_back().is_some_and(is_comment);
                        let text = if after_note {
                            format!("\n{rendered}")
                        } else {
                            rendered
                        };
                        self.blocks.push(Block {
                            text,
                            arn: Some(entry.arn.clone()),
                        });
                        true
                    }
                    Some(first) => {
                        let duplicates: Vec<usize> = matching.collect();
                        let block = &mut self.blocks[first];
                        // The comment lines above the entry stay: they are someone's notes.
                        let (comments, body) = split_leading_comments(&block.text);
                        let mut text = comments.to_string();
                        text.push_str(&rendered);
                        let changed = body != rendered || !duplicates.is_empty();
                        block.text = text;
                        for index in duplicates.into_iter().rev() {
                            self.blocks.remove(index);
                        }
                        changed
                    }
                }
            }
            Edit::Upsert(_) => false,
        }
    }

    fn render(&self) -> String {
        let mut text = self.preamble.clone();
        for block in &self.blocks {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&block.text);
        }
        if !self.epilogue.is_empty() && !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&self.epilogue);
        text
    }
}

/// How many items a one-block text holds, counting items the model skips (no ARN).
fn count_items(kind: MapKind, text: &str) -> Option<usize> {
    match kind {
        MapKind::MapAccounts => {
            let items: Option<Vec<String>> = serde_saphyr::from_str(text).ok()?;
            Some(items.map_or(0, |items| items.len()))
        }
        _ => {
            let items: Option<Vec<Option<RawIdentity>>> = serde_saphyr::from_str(text).ok()?;
            Some(items.map_or(0, |items| items.len()))
        }
    }
}

/// `(comment lines above the item, the item)`.
fn split_leading_comments(text: &str) -> (&str, &str) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if !is_comment(line) {
            break;
        }
        offset += line.len();
    }
    text.split_at(offset)
}

#[cfg(test)]
mod tests;
