//! The aws-auth ConfigMap: its parse into the model and the merge that apply writes back.
//!
//! `mapRoles`, `mapUsers` and `mapAccounts` are YAML documents inside string values, written by
//! eksctl, Terraform and by hand (`kubectl edit`). The parse is tolerant of what
//! aws-iam-authenticator accepts: missing groups, `{{EC2PrivateDNSName}}` / `{{SessionName}}`
//! templates, extra keys, odd spacing, comments, empty strings and `[]`.
//!
//! The merge never re-serializes what accessctl does not manage: each list is cut into entry
//! blocks (an entry's lines plus the comment lines directly above it, but not those indented
//! deeper than the items, which end the entry above), unmanaged blocks are
//! copied byte for byte, and only managed entries are rewritten, added or removed. A list that
//! is not in block style (a flow sequence like `[{rolearn: …}]`) cannot be cut; it is rewritten
//! whole only when one of its own entries changes, and [`Merged::rewritten`] says so.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::model::aws_auth::authenticator_key;
pub use crate::model::aws_auth::render_entry;
#[cfg(test)]
use crate::model::aws_auth::scalar;
pub use crate::model::aws_auth::{LISTS, data_key};
use crate::model::{AWS_AUTH_MANAGED_ANNOTATION, AwsAuth, AwsAuthEntry, MapKind};
use crate::plan::{Action, Change, Object};

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

/// What the authenticator maps from one list: its entries in order (repeats included: the
/// merge needs every item), and what it reads differently from what the text seems to say.
struct ListRead {
    entries: Vec<AwsAuthEntry>,
    warnings: Vec<String>,
}

/// Reads one list as aws-iam-authenticator does (`ParseMap` in
/// `pkg/mapper/configmap/configmap.go`): `mapRoles` / `mapUsers` go YAML → JSON
/// (`utilyaml.ToJSON`) → `encoding/json` into `[]RoleMapping` / `[]UserMapping`, so entry keys
/// match case-insensitively, a field of the wrong type is skipped and the rest of the item
/// kept, and `Validate` (`pkg/config/mapper.go`) drops an item without its ARN; `mapAccounts`
/// is `yaml.Unmarshal` into `[]string`. `Err` (why) when the text is not YAML, or not a list:
/// the authenticator then maps nothing from this list, and keeps the other lists.
fn read_list(kind: MapKind, text: &str) -> Result<ListRead, String> {
    let key = data_key(kind);
    let mut read = ListRead {
        entries: Vec::new(),
        warnings: Vec::new(),
    };
    // go-yaml's reader checks every character before it parses anything, comments included.
    if let Some(bad) = text.chars().find(|c| !yaml_allows(*c)) {
        return Err(format!(
            "not valid YAML (the control character U+{:04X} is not allowed, even in a comment)",
            u32::from(bad)
        ));
    }
    let text = first_document(text);
    // Lines as YAML counts them: a lone `\r` ends one too.
    if !crate::spec::diagnostic::source_lines(text).any(is_content) {
        return Ok(read);
    }
    if kind == MapKind::MapAccounts {
        let accounts: Option<Vec<Option<String>>> =
            serde_saphyr::from_str(text).map_err(not_yaml)?;
        read.entries = accounts
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .filter(|account| !account.is_empty())
            .map(|account| AwsAuthEntry {
                kind,
                arn: account,
                username: None,
                groups: Vec::new(),
            })
            .collect();
        return Ok(read);
    }
    let value: Value = serde_saphyr::from_str(text).map_err(not_yaml)?;
    let items = match value {
        Value::Null => return Ok(read),
        Value::Array(items) => items,
        _ => return Err("not a list".to_string()),
    };
    let arn_field = match kind {
        MapKind::MapRoles => "rolearn",
        _ => "userarn",
    };
    for (index, item) in items.into_iter().enumerate() {
        let item_name = format!("`{key}` item {}", index + 1);
        let fields = match item {
            Value::Object(fields) => fields,
            Value::Null => {
                read.warnings
                    .push(format!("{item_name} has no `{arn_field}`: EKS ignores it"));
                continue;
            }
            _ => {
                read.warnings
                    .push(format!("{item_name} is not a mapping: EKS ignores it"));
                continue;
            }
        };
        let mut arn = String::new();
        let mut username = String::new();
        let mut groups: Option<Vec<String>> = None;
        let mut sso = false;
        // In document order, as encoding/json stores them: of two spellings of one key, the
        // later wins; `null` leaves a string as it was and empties a list.
        for (name, value) in fields {
            let field = [arn_field, "username", "groups", "sso"]
                .into_iter()
                .find(|field| go_field_matches(&name, field));
            match (field, value) {
                (None, _) | (Some("username" | "rolearn" | "userarn"), Value::Null) => {}
                (Some("sso"), value) => sso = kind == MapKind::MapRoles && !value.is_null(),
                (Some("groups"), Value::Null) => groups = None,
                (Some("groups"), Value::Array(values)) => {
                    let mut skipped = false;
                    let list = values
                        .into_iter()
                        .map(|value| match value {
                            Value::String(group) => group,
                            _ => {
                                skipped = true;
                                String::new()
                            }
                        })
                        .collect();
                    if skipped {
                        read.warnings.push(format!(
                            "{item_name}: `{name}` is not a list of strings; EKS ignores what is not a string"
                        ));
                    }
                    groups = Some(list);
                }
                (Some("groups"), _) => read.warnings.push(format!(
                    "{item_name}: `{name}` is not a list of strings; EKS ignores that field"
                )),
                (Some(field), Value::String(text)) => {
                    if field == "username" {
                        username = text;
                    } else {
                        arn = text;
                    }
                }
                (Some(_), _) => read.warnings.push(format!(
                    "{item_name}: `{name}` is not a string; EKS ignores that field"
                )),
            }
        }
        if arn.is_empty() {
            read.warnings.push(if sso {
                format!(
                    "{item_name} maps an IAM Identity Center permission set (`sso`), which accessctl does not read; it is kept as it is"
                )
            } else {
                format!("{item_name} has no `{arn_field}`: EKS ignores it")
            });
            continue;
        }
        if sso {
            read.warnings.push(format!(
                "{item_name} has both `{arn_field}` and `sso`: EKS ignores it"
            ));
            continue;
        }
        read.entries.push(AwsAuthEntry {
            kind,
            arn,
            username: (!username.is_empty()).then_some(username),
            groups: groups.unwrap_or_default(),
        });
    }
    Ok(read)
}

/// Why a list is not YAML, on one line (the parser's message without its snippet).
/// The characters a YAML stream may hold (YAML 1.1 `c-printable`, as go-yaml's reader checks
/// them: `yaml_parser_update_buffer`, "control characters are not allowed").
fn yaml_allows(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}'
    ) || c >= '\u{10000}'
}

fn not_yaml(error: serde_saphyr::Error) -> String {
    let message = error.to_string();
    let first = message.lines().next().unwrap_or_default();
    format!(
        "not valid YAML ({})",
        first.strip_prefix("error: ").unwrap_or(first)
    )
}

/// Whether a JSON object key decodes into the struct field tagged `field`: encoding/json
/// takes an exact match or, failing that, one equal under Unicode case folding.
fn go_field_matches(key: &str, field: &str) -> bool {
    let fold = |text: &str| -> String {
        text.chars()
            .flat_map(char::to_lowercase)
            .flat_map(char::to_uppercase)
            .collect()
    };
    key == field || fold(key) == fold(field)
}

/// The entries of one list, in order, for the merge; an error when the list is not YAML.
fn parse_list(kind: MapKind, text: &str) -> Result<Vec<AwsAuthEntry>, AwsAuthError> {
    read_list(kind, text)
        .map(|read| read.entries)
        .map_err(|why| AwsAuthError::new(data_key(kind), why))
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

/// The model of a live aws-auth ConfigMap, as EKS reads it: a list that is not YAML maps
/// nothing (and the others still do), a data key in another case than `mapRoles` /
/// `mapUsers` / `mapAccounts` is not read, and each is a warning. Only the managed annotation,
/// accessctl's own, is an error when it cannot be read.
pub fn parse(
    data: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
    resource_version: Option<String>,
) -> Result<AwsAuth, AwsAuthError> {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    let mut unreadable = BTreeSet::new();
    for kind in LISTS {
        let key = data_key(kind);
        if let Some(text) = data.get(key) {
            match read_list(kind, text) {
                Ok(read) => {
                    entries.extend(read.entries);
                    warnings.extend(read.warnings);
                }
                Err(why) => {
                    unreadable.insert(kind);
                    warnings.push(format!("`{key}` is {why}, so EKS maps nothing from it"));
                }
            }
        }
        for near in data
            .keys()
            .filter(|name| name.as_str() != key && name.eq_ignore_ascii_case(key))
        {
            warnings.push(format!(
                "`{near}` is not a key EKS reads (data keys are case-sensitive): its entries grant nothing; did you mean `{key}`?"
            ));
        }
    }
    warnings.extend(repeated_arns(&entries));
    Ok(AwsAuth {
        entries,
        managed: parse_managed(annotations)?,
        resource_version,
        warnings,
        unreadable,
    })
}

/// A warning for each ARN (or account) that several items map: the authenticator keeps the
/// last ([`crate::model::aws_auth::authenticator_key`]).
fn repeated_arns(entries: &[AwsAuthEntry]) -> Vec<String> {
    let mut repeats: BTreeMap<(MapKind, String), Vec<&AwsAuthEntry>> = BTreeMap::new();
    for entry in entries {
        repeats
            .entry(authenticator_key(entry))
            .or_default()
            .push(entry);
    }
    repeats
        .into_iter()
        .filter_map(|((kind, _), items)| {
            let last = items.last().filter(|_| items.len() > 1)?;
            let cased = items.iter().any(|other| other.arn != last.arn);
            Some(format!(
                "`{}` maps `{}` {} times{}: EKS uses the last of them",
                data_key(kind),
                last.arn,
                items.len(),
                if cased {
                    " (ARNs compared without case)"
                } else {
                    ""
                }
            ))
        })
        .collect()
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
        let mut list = match ListText::cut(kind, original) {
            Ok(list) => list,
            // A list EKS cannot read maps nothing, so no removal concerns it: it stays byte
            // for byte, and accessctl does not guess where to write into it.
            Err(error) => {
                let writes_here = edits
                    .iter()
                    .any(|edit| matches!(edit, Edit::Upsert(entry) if entry.kind == kind));
                if writes_here {
                    return Err(AwsAuthError::new(
                        key,
                        format!(
                            "{}; accessctl does not write into a list that does not parse",
                            error.message
                        ),
                    ));
                }
                continue;
            }
        };
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
        // The cut and the render keep every byte they do not own, so what they write reads
        // back; should some input ever prove otherwise, nothing EKS cannot read is written.
        if let Err(why) = read_list(kind, &text) {
            return Err(AwsAuthError::new(
                key,
                format!(
                    "after the edit the list would be {why}; accessctl does not write a list \
                     EKS could not read (fix the list by hand, then plan again)"
                ),
            ));
        }
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

/// `---` or `...` at the start of a line, alone or before white space: a YAML document marker.
fn is_document_marker(line: &str) -> bool {
    let line = line.trim_end_matches(['\n', '\r']);
    ["---", "..."].iter().any(|marker| {
        line.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    })
}

/// The text of the first YAML document: the authenticator's decoder (`yaml.Unmarshal`) reads
/// that one and ignores the rest, so what follows `...` (or a second `---`) maps nothing.
fn first_document(text: &str) -> &str {
    let mut content = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if is_document_marker(line) {
            if line.starts_with("...") || content {
                return &text[..offset];
            }
        } else if is_content(line) {
            content = true;
        }
        offset += line.len();
    }
    text
}

/// A line holding more than YAML's white space (space and tab; not Unicode's: a no-break
/// space or a NEL is text to a YAML 1.2 reader) and not only a comment.
fn is_content(line: &str) -> bool {
    let trimmed = line.trim_matches([' ', '\t', '\r', '\n']);
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

fn is_comment(line: &str) -> bool {
    line.trim_start_matches([' ', '\t']).starts_with('#')
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
        // Entries added after a document marker would be in a document EKS does not read; and
        // the blocks are cut at `\n`, while YAML also ends a line at a lone `\r`.
        let lone_cr = text.split("\r\n").any(|part| part.contains('\r'));
        if lone_cr || lines.iter().any(|line| is_document_marker(line)) {
            return None;
        }
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
        // A comment directly above an item (no blank line between) belongs to it, unless it
        // is indented deeper than the items: then it is the last line of the item above.
        let leading: Vec<usize> = starts
            .iter()
            .enumerate()
            .map(|(k, &start)| {
                let floor = if k == 0 { 0 } else { starts[k - 1] + 1 };
                let mut top = start;
                while top > floor
                    && is_comment(lines[top - 1])
                    && (k == 0 || indent_of(lines[top - 1]) <= indent)
                {
                    top -= 1;
                }
                top
            })
            .collect();
        let mut end_of_items = lines.iter().rposition(|line| is_content(line))? + 1;
        // Comments indented deeper than the items right after the last one end that item.
        while end_of_items < lines.len()
            && is_comment(lines[end_of_items])
            && indent_of(lines[end_of_items]) > indent
        {
            end_of_items += 1;
        }
        let mut blocks = Vec::new();
        let mut parsed = Vec::new();
        for (k, &top) in leading.iter().enumerate() {
            let end = leading.get(k + 1).copied().unwrap_or(end_of_items);
            let block_text: String = lines[top..end].concat();
            let block_entries = parse_list(kind, &block_text).ok()?;
            let item_count = count_items(&block_text)?;
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
            epilogue: lines[end_of_items..].concat(),
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
fn count_items(text: &str) -> Option<usize> {
    let items: Option<Vec<Value>> = serde_saphyr::from_str(text).ok()?;
    Some(items.map_or(0, |items| items.len()))
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
