//! IAM policy documents, normalized so that two documents compare equal exactly when IAM
//! treats them as the same policy.
//!
//! `from_value` validates (reporting every problem with its JSON path) and normalizes;
//! `parse_str` accepts raw JSON or IAM's URL-encoded form; `to_value` renders the canonical IAM
//! JSON; `PartialEq` is semantic equality. This module owns IAM's policy grammar and nothing
//! else: no I/O, no knowledge of accounts beyond what a document names.
//!
//! What normalization forgets, because IAM does: a string versus a one-element list, the order
//! and duplicates of statements and of every list, key order, an omitted `Version` (IAM's
//! default `2008-10-17`), an empty `Sid`, the case of action names and condition keys, the JSON
//! type of condition values (`true` is `"true"`), a bare 12-digit account principal versus its
//! `:root` ARN, and `Principal: "*"` versus `{"AWS": "*"}`.
//!
//! What it keeps: the spelling of actions, condition keys and principals as written, so a plan
//! shows what people wrote. Equality and ordering never look at that spelling.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The current policy language version.
pub const VERSION_2012: &str = "2012-10-17";
/// The old policy language version, and what IAM assumes when `Version` is omitted.
pub const VERSION_2008: &str = "2008-10-17";

const TOP_LEVEL_KEYS: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT_KEYS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
const PRINCIPAL_TYPES: [&str; 4] = ["AWS", "CanonicalUser", "Federated", "Service"];

/// A validation problem in a policy document, with the JSON path where it was found
/// (e.g. `["Statement", "0", "Effect"]`) so the spec loader can point at the YAML node.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyError {
    pub path: Vec<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// What a document is for: it decides which elements are required.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// Identity-based (managed or inline) policy: statements need `Resource`/`NotResource` and
    /// must not have `Principal`.
    Identity,
    /// Role trust policy: statements need `Principal`/`NotPrincipal` and must not have
    /// `Resource`.
    Trust,
    /// Whatever IAM returned (live state, snapshots): only the shape is checked.
    Any,
}

impl DocumentKind {
    /// Identity and trust documents are written by people and checked against IAM's grammar;
    /// live documents are taken as IAM holds them.
    fn is_strict(self) -> bool {
        !matches!(self, DocumentKind::Any)
    }
}

/// A normalized IAM policy document.
#[derive(Clone, Debug)]
pub struct PolicyDocument {
    version: String,
    id: Option<String>,
    /// Sorted by [`Statement`]'s semantic order, without semantic duplicates.
    statements: Vec<Statement>,
}

/// A string that compares by a normalized key but keeps its spelling for display.
#[derive(Clone, Debug)]
struct Spelled {
    key: String,
    text: String,
    /// Among spellings of one key, the lowest rank is displayed (e.g. a `:root` ARN over the
    /// bare account id IAM would rewrite anyway).
    rank: u8,
}

impl Spelled {
    fn action(text: &str) -> Self {
        Spelled {
            key: text.to_ascii_lowercase(),
            text: text.to_string(),
            rank: 0,
        }
    }

    fn condition_key(text: &str) -> Self {
        Spelled {
            key: text.to_ascii_lowercase(),
            text: text.to_string(),
            rank: 0,
        }
    }

    /// IAM rewrites a bare account id principal to `arn:PARTITION:iam::ID:root`. The key leaves
    /// the partition out: a document cannot name principals of another partition, and the
    /// partition is not known here.
    fn principal(text: &str) -> Self {
        if is_account_id(text) {
            return Spelled {
                key: format!("account-root:{text}"),
                text: text.to_string(),
                rank: 1,
            };
        }
        let key = account_root_id(text)
            .map(|id| format!("account-root:{id}"))
            .unwrap_or_else(|| text.to_string());
        Spelled {
            key,
            text: text.to_string(),
            rank: 0,
        }
    }
}

impl PartialEq for Spelled {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Spelled {}

impl PartialOrd for Spelled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Spelled {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `arn:PARTITION:iam::ID:root` → `ID`.
fn account_root_id(text: &str) -> Option<&str> {
    let arn = super::parse_arn(text)?;
    (arn.service == "iam" && arn.region.is_empty() && arn.resource == "root")
        .then_some(arn.account)
        .filter(|id| is_account_id(id))
}

/// A set of spellings where the displayed spelling of each key does not depend on input order.
fn spelled_set(mut items: Vec<Spelled>) -> BTreeSet<Spelled> {
    items.sort_by(|a, b| (&a.key, a.rank, &a.text).cmp(&(&b.key, b.rank, &b.text)));
    let mut set = BTreeSet::new();
    for item in items {
        // `insert` keeps the first of equal keys: the lowest rank, then the smallest text.
        set.insert(item);
    }
    set
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Effect {
    Allow,
    Deny,
}

impl Effect {
    fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// Principal type (`AWS`, `Service`, …) → principals.
type Principals = BTreeMap<String, BTreeSet<Spelled>>;
/// Operator → condition key → values (as strings).
type Conditions = BTreeMap<String, BTreeMap<Spelled, BTreeSet<String>>>;

/// One normalized statement. The derived order is semantic (it never looks at spellings), and
/// the field order makes statements sort by `Sid` first, which reads well.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Statement {
    sid: Option<String>,
    effect: Effect,
    principal: Option<Principals>,
    not_principal: Option<Principals>,
    action: Option<BTreeSet<Spelled>>,
    not_action: Option<BTreeSet<Spelled>>,
    resource: Option<BTreeSet<String>>,
    not_resource: Option<BTreeSet<String>>,
    /// `None` when there is no condition: an empty `Condition` block means the same.
    condition: Option<Conditions>,
}

impl Statement {
    fn to_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(sid) = &self.sid {
            map.insert("Sid".into(), Value::String(sid.clone()));
        }
        map.insert("Effect".into(), Value::String(self.effect.as_str().into()));
        if let Some(principals) = &self.principal {
            map.insert("Principal".into(), render_principals(principals));
        }
        if let Some(principals) = &self.not_principal {
            map.insert("NotPrincipal".into(), render_principals(principals));
        }
        if let Some(actions) = &self.action {
            map.insert("Action".into(), render_spelled(actions));
        }
        if let Some(actions) = &self.not_action {
            map.insert("NotAction".into(), render_spelled(actions));
        }
        if let Some(resources) = &self.resource {
            map.insert("Resource".into(), render_strings(resources.iter()));
        }
        if let Some(resources) = &self.not_resource {
            map.insert("NotResource".into(), render_strings(resources.iter()));
        }
        if let Some(conditions) = &self.condition {
            let operators = conditions
                .iter()
                .map(|(operator, keys)| {
                    let keys = keys
                        .iter()
                        .map(|(key, values)| (key.text.clone(), render_strings(values.iter())))
                        .collect::<Map<_, _>>();
                    (operator.clone(), Value::Object(keys))
                })
                .collect::<Map<_, _>>();
            map.insert("Condition".into(), Value::Object(operators));
        }
        Value::Object(map)
    }
}

/// One value as a string, several as a list (the set is already sorted).
fn render_strings<'a>(values: impl ExactSizeIterator<Item = &'a String>) -> Value {
    let mut values: Vec<Value> = values.map(|v| Value::String(v.clone())).collect();
    if values.len() == 1 {
        values.pop().unwrap_or(Value::Null)
    } else {
        Value::Array(values)
    }
}

fn render_spelled(values: &BTreeSet<Spelled>) -> Value {
    let texts: Vec<String> = values.iter().map(|v| v.text.clone()).collect();
    render_strings(texts.iter())
}

fn render_principals(principals: &Principals) -> Value {
    let everyone = principals.len() == 1
        && principals
            .get("AWS")
            .is_some_and(|set| set.len() == 1 && set.iter().all(|p| p.key == "*"));
    if everyone {
        return Value::String("*".into());
    }
    Value::Object(
        principals
            .iter()
            .map(|(kind, values)| (kind.clone(), render_spelled(values)))
            .collect(),
    )
}

impl PolicyDocument {
    /// Validates and normalizes a document given as JSON. Reports every problem found.
    pub fn from_value(value: &Value, kind: DocumentKind) -> Result<Self, Vec<PolicyError>> {
        let mut reader = Reader {
            kind,
            errors: Vec::new(),
        };
        let document = reader.document(value);
        match document {
            Some(document) if reader.errors.is_empty() => Ok(document),
            _ => Err(reader.errors),
        }
    }

    /// Parses a document as IAM returns it: raw JSON, or percent-encoded JSON (as in
    /// `GetRolePolicy`, `GetPolicyVersion`, `GetRole`). Percent-decoding is not form-decoding:
    /// a `+` stays a `+`.
    pub fn parse_str(text: &str, kind: DocumentKind) -> Result<Self, Vec<PolicyError>> {
        match serde_json::from_str::<Value>(text) {
            // A JSON string holding the document (e.g. a CLI `--query` result) is read once more.
            Ok(Value::String(inner)) => {
                let value = decode_json(&inner)?;
                Self::from_value(&value, kind)
            }
            Ok(value) => Self::from_value(&value, kind),
            Err(raw_error) => {
                // Text that starts as JSON is JSON with a mistake, not an encoded document.
                let looks_like_json = text.trim_start().starts_with(['{', '[', '"']);
                if looks_like_json || !text.contains('%') {
                    return Err(vec![json_error(&raw_error, None)]);
                }
                let value = decode_json(text)?;
                Self::from_value(&value, kind)
            }
        }
    }

    /// The canonical IAM JSON form (what apply sends and what plans show): `Version`, `Id`,
    /// then `Statement` as a list; statement keys in IAM's usual order; one value as a string,
    /// several as a sorted list.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("Version".into(), Value::String(self.version.clone()));
        if let Some(id) = &self.id {
            map.insert("Id".into(), Value::String(id.clone()));
        }
        map.insert(
            "Statement".into(),
            Value::Array(self.statements.iter().map(Statement::to_value).collect()),
        );
        Value::Object(map)
    }

    /// Pretty JSON with stable key order, for diffs.
    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(&self.to_value()).unwrap_or_default()
    }
}

/// Reads JSON, percent-decoding it first when it is not JSON as it stands.
fn decode_json(text: &str) -> Result<Value, Vec<PolicyError>> {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Ok(value);
    }
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map_err(|error| {
            vec![PolicyError {
                path: Vec::new(),
                message: format!("the URL-encoded policy document is not UTF-8: {error}"),
                hint: None,
            }]
        })?;
    serde_json::from_str(&decoded).map_err(|error| {
        vec![json_error(
            &error,
            Some("the text was percent-decoded as IAM's URL-encoded form first".into()),
        )]
    })
}

fn json_error(error: &serde_json::Error, hint: Option<String>) -> PolicyError {
    PolicyError {
        path: Vec::new(),
        message: format!("the policy document is not valid JSON: {error}"),
        hint: hint.or_else(|| {
            Some("give the document as JSON, or as IAM's URL-encoded JSON".to_string())
        }),
    }
}

impl PartialEq for PolicyDocument {
    fn eq(&self, other: &Self) -> bool {
        // Statements are sorted and deduplicated by their semantic order, so comparing the
        // lists compares the sets.
        self.version == other.version && self.id == other.id && self.statements == other.statements
    }
}

impl Serialize for PolicyDocument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PolicyDocument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let document = match &value {
            // Snapshots may carry IAM's URL-encoded string form.
            Value::String(text) => Self::parse_str(text, DocumentKind::Any),
            other => Self::from_value(other, DocumentKind::Any),
        };
        document.map_err(|errors| serde::de::Error::custom(describe_errors(&errors)))
    }
}

/// One line for all errors, for contexts (serde) that take a single message.
fn describe_errors(errors: &[PolicyError]) -> String {
    let messages: Vec<String> = errors
        .iter()
        .map(|error| {
            if error.path.is_empty() {
                format!("policy document: {}", error.message)
            } else {
                format!(
                    "policy document at {}: {}",
                    error.path.join("."),
                    error.message
                )
            }
        })
        .collect();
    messages.join("; ")
}

/// Validation state: the kind decides what is checked, every problem is collected.
struct Reader {
    kind: DocumentKind,
    errors: Vec<PolicyError>,
}

fn extend(path: &[String], part: impl Into<String>) -> Vec<String> {
    let mut path = path.to_vec();
    path.push(part.into());
    path
}

/// A did-you-mean hint: a known key differing by case or at most two edits.
fn suggest(unknown: &str, known: &[&str]) -> String {
    let lowered = unknown.to_ascii_lowercase();
    let best = known
        .iter()
        .map(|candidate| {
            (
                edit_distance(&lowered, &candidate.to_ascii_lowercase()),
                candidate,
            )
        })
        .min_by_key(|(distance, _)| *distance);
    match best {
        Some((distance, candidate)) if distance <= 2 => {
            format!("did you mean `{candidate}`? (keys are case-sensitive)")
        }
        _ => {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!("known keys: {}", list.join(", "))
        }
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            let insertion = current[j] + 1;
            let deletion = previous[j + 1] + 1;
            current.push(substitution.min(insertion).min(deletion));
        }
        previous = current;
    }
    previous[b.len()]
}

/// `service:Action` with wildcards in the action part, or `*`.
fn is_valid_action(action: &str) -> bool {
    if action == "*" {
        return true;
    }
    let Some((service, name)) = action.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?')
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Reader {
    fn report(&mut self, path: Vec<String>, message: impl Into<String>, hint: Option<String>) {
        self.errors.push(PolicyError {
            path,
            message: message.into(),
            hint,
        });
    }

    fn strict(&self) -> bool {
        self.kind.is_strict()
    }

    fn document(&mut self, value: &Value) -> Option<PolicyDocument> {
        let Value::Object(map) = value else {
            self.report(
                Vec::new(),
                format!(
                    "a policy document must be an object, not {}",
                    json_type(value)
                ),
                Some("write `{\"Version\": \"2012-10-17\", \"Statement\": [...]}`".to_string()),
            );
            return None;
        };
        for key in map.keys() {
            if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
                self.report(
                    vec![key.clone()],
                    format!("unknown policy document key `{key}`"),
                    Some(suggest(key, &TOP_LEVEL_KEYS)),
                );
            }
        }
        let version = self.version(map.get("Version"));
        let id = self.optional_string(map, &[], "Id");
        let statements = self.statements(map.get("Statement"));
        Some(PolicyDocument {
            version: version?,
            id,
            statements: statements?,
        })
    }

    fn version(&mut self, value: Option<&Value>) -> Option<String> {
        let path = vec!["Version".to_string()];
        match value {
            None => Some(VERSION_2008.to_string()),
            Some(Value::String(version)) => {
                if self.strict() && version != VERSION_2012 && version != VERSION_2008 {
                    self.report(
                        path,
                        format!("`Version` must be `{VERSION_2012}` or `{VERSION_2008}`, not `{version}`"),
                        Some(format!(
                            "`Version` is the policy language version, not a date you choose: write `{VERSION_2012}`"
                        )),
                    );
                }
                Some(version.clone())
            }
            Some(other) => {
                self.report(
                    path,
                    format!("`Version` must be a string, not {}", json_type(other)),
                    Some(format!("write `\"Version\": \"{VERSION_2012}\"`")),
                );
                None
            }
        }
    }

    fn optional_string(
        &mut self,
        map: &Map<String, Value>,
        path: &[String],
        key: &str,
    ) -> Option<String> {
        match map.get(key)? {
            Value::String(text) => Some(text.clone()),
            other => {
                self.report(
                    extend(path, key),
                    format!("`{key}` must be a string, not {}", json_type(other)),
                    None,
                );
                None
            }
        }
    }

    fn statements(&mut self, value: Option<&Value>) -> Option<Vec<Statement>> {
        let path = vec!["Statement".to_string()];
        let parsed: Vec<(Vec<String>, Option<Statement>)> = match value {
            None => {
                self.report(
                    Vec::new(),
                    "the policy document has no `Statement`",
                    Some("add `\"Statement\": [{\"Effect\": ..., \"Action\": ..., ...}]`".into()),
                );
                return None;
            }
            Some(Value::Array(items)) => {
                if items.is_empty() && self.strict() {
                    self.report(
                        path.clone(),
                        "`Statement` is an empty list",
                        Some("a policy needs at least one statement".into()),
                    );
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| {
                        let item_path = extend(&path, index.to_string());
                        let statement = self.statement(item, &item_path);
                        (item_path, statement)
                    })
                    .collect()
            }
            Some(item @ Value::Object(_)) => vec![(path.clone(), self.statement(item, &path))],
            Some(other) => {
                self.report(
                    path,
                    format!(
                        "`Statement` must be a list of statements or one statement, not {}",
                        json_type(other)
                    ),
                    None,
                );
                return None;
            }
        };
        if self.strict() {
            self.check_unique_sids(&parsed);
        }
        let mut statements = Vec::with_capacity(parsed.len());
        for (_, statement) in parsed {
            statements.push(statement?);
        }
        // Among semantically equal statements, keep the one whose display sorts first, so the
        // rendering does not depend on the input order.
        statements.sort_by(|a, b| {
            a.cmp(b)
                .then_with(|| a.to_value().to_string().cmp(&b.to_value().to_string()))
        });
        statements.dedup();
        Some(statements)
    }

    /// IAM requires each `Sid` to be unique within a policy. Exact duplicates are allowed here:
    /// normalization drops them before anything reaches IAM.
    fn check_unique_sids(&mut self, parsed: &[(Vec<String>, Option<Statement>)]) {
        let mut seen: BTreeMap<&str, (&Vec<String>, &Statement)> = BTreeMap::new();
        for (path, statement) in parsed {
            let Some(statement) = statement else { continue };
            let Some(sid) = statement.sid.as_deref() else {
                continue;
            };
            match seen.get(sid) {
                Some((first_path, first)) if *first != statement => {
                    self.report(
                        extend(path, "Sid"),
                        format!(
                            "`Sid` `{sid}` is also used by the statement at {}",
                            first_path.join(".")
                        ),
                        Some("IAM requires each `Sid` to be unique within a policy".into()),
                    );
                }
                Some(_) => {}
                None => {
                    seen.insert(sid, (path, statement));
                }
            }
        }
    }

    fn statement(&mut self, value: &Value, path: &[String]) -> Option<Statement> {
        let Value::Object(map) = value else {
            self.report(
                path.to_vec(),
                format!("a statement must be an object, not {}", json_type(value)),
                Some("write `{\"Effect\": \"Allow\", \"Action\": ..., \"Resource\": ...}`".into()),
            );
            return None;
        };
        let errors_before = self.errors.len();
        for key in map.keys() {
            if !STATEMENT_KEYS.contains(&key.as_str()) {
                self.report(
                    extend(path, key.as_str()),
                    format!("unknown statement key `{key}`"),
                    Some(suggest(key, &STATEMENT_KEYS)),
                );
            }
        }
        let sid = self.sid(map, path);
        let effect = self.effect(map.get("Effect"), path);
        let principal = self.principals(map, path, "Principal");
        let not_principal = self.principals(map, path, "NotPrincipal");
        let action = self.actions(map, path, "Action");
        let not_action = self.actions(map, path, "NotAction");
        let resource = self
            .string_list(map, path, "Resource")
            .map(|list| list.into_iter().collect());
        let not_resource = self
            .string_list(map, path, "NotResource")
            .map(|list| list.into_iter().collect());
        let condition = self.conditions(map.get("Condition"), path);
        if self.strict() {
            self.check_elements(map, path);
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Statement {
            sid,
            effect: effect?,
            principal,
            not_principal,
            action,
            not_action,
            resource,
            not_resource,
            condition,
        })
    }

    /// Which elements a statement must have and must not have, by document kind.
    fn check_elements(&mut self, map: &Map<String, Value>, path: &[String]) {
        let has = |key: &str| map.contains_key(key);
        self.exactly_one(
            map,
            path,
            "Action",
            "NotAction",
            "what the statement allows or denies",
        );
        match self.kind {
            DocumentKind::Identity => {
                self.exactly_one(map, path, "Resource", "NotResource", "what it applies to");
                for key in ["Principal", "NotPrincipal"] {
                    if has(key) {
                        self.report(
                            extend(path, key),
                            format!("an identity policy statement cannot have `{key}`"),
                            Some("the principal of an identity policy is whoever it is attached to; `Principal` belongs in a role's trust policy".into()),
                        );
                    }
                }
            }
            DocumentKind::Trust => {
                self.exactly_one(
                    map,
                    path,
                    "Principal",
                    "NotPrincipal",
                    "who may assume the role",
                );
                for key in ["Resource", "NotResource"] {
                    if has(key) {
                        self.report(
                            extend(path, key),
                            format!("a trust policy statement cannot have `{key}`"),
                            Some(
                                "the resource of a trust policy is the role itself; remove it"
                                    .into(),
                            ),
                        );
                    }
                }
            }
            DocumentKind::Any => {}
        }
    }

    fn exactly_one(
        &mut self,
        map: &Map<String, Value>,
        path: &[String],
        key: &str,
        not_key: &str,
        meaning: &str,
    ) {
        match (map.contains_key(key), map.contains_key(not_key)) {
            (false, false) => self.report(
                path.to_vec(),
                format!("the statement has neither `{key}` nor `{not_key}`"),
                Some(format!("add `{key}`: {meaning}")),
            ),
            (true, true) => self.report(
                extend(path, not_key),
                format!("the statement has both `{key}` and `{not_key}`"),
                Some(format!("use only one of `{key}` and `{not_key}`")),
            ),
            _ => {}
        }
    }

    fn sid(&mut self, map: &Map<String, Value>, path: &[String]) -> Option<String> {
        let sid = self.optional_string(map, path, "Sid")?;
        if sid.is_empty() {
            // The console writes `"Sid": ""`; IAM treats it as no Sid.
            return None;
        }
        if self.strict() && !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            self.report(
                extend(path, "Sid"),
                format!("`Sid` `{sid}` has characters IAM does not accept"),
                Some("IAM accepts only letters A-Z, a-z and digits 0-9 in a `Sid`".into()),
            );
        }
        Some(sid)
    }

    fn effect(&mut self, value: Option<&Value>, path: &[String]) -> Option<Effect> {
        let hint = Some("write `\"Effect\": \"Allow\"` or `\"Effect\": \"Deny\"`".to_string());
        match value {
            Some(Value::String(effect)) if effect == "Allow" => Some(Effect::Allow),
            Some(Value::String(effect)) if effect == "Deny" => Some(Effect::Deny),
            Some(Value::String(effect)) => {
                self.report(
                    extend(path, "Effect"),
                    format!("`Effect` must be `Allow` or `Deny`, not `{effect}`"),
                    hint,
                );
                None
            }
            Some(other) => {
                self.report(
                    extend(path, "Effect"),
                    format!(
                        "`Effect` must be `Allow` or `Deny`, not {}",
                        json_type(other)
                    ),
                    hint,
                );
                None
            }
            None => {
                self.report(path.to_vec(), "the statement has no `Effect`", hint);
                None
            }
        }
    }

    /// A string or a list of strings, as IAM allows for most elements.
    fn string_list(
        &mut self,
        map: &Map<String, Value>,
        path: &[String],
        key: &str,
    ) -> Option<Vec<String>> {
        let value = map.get(key)?;
        self.strings(value, &extend(path, key), key)
    }

    fn strings(&mut self, value: &Value, path: &[String], what: &str) -> Option<Vec<String>> {
        match value {
            Value::String(text) => Some(vec![text.clone()]),
            Value::Array(items) => {
                if items.is_empty() && self.strict() {
                    self.report(
                        path.to_vec(),
                        format!("`{what}` is an empty list"),
                        Some("give at least one value, or remove the key".into()),
                    );
                }
                let mut strings = Vec::with_capacity(items.len());
                let mut valid = true;
                for (index, item) in items.iter().enumerate() {
                    match item {
                        Value::String(text) => strings.push(text.clone()),
                        other => {
                            valid = false;
                            self.report(
                                extend(path, index.to_string()),
                                format!(
                                    "the items of `{what}` must be strings, not {}",
                                    json_type(other)
                                ),
                                None,
                            );
                        }
                    }
                }
                valid.then_some(strings)
            }
            other => {
                self.report(
                    path.to_vec(),
                    format!(
                        "`{what}` must be a string or a list of strings, not {}",
                        json_type(other)
                    ),
                    None,
                );
                None
            }
        }
    }

    fn actions(
        &mut self,
        map: &Map<String, Value>,
        path: &[String],
        key: &str,
    ) -> Option<BTreeSet<Spelled>> {
        let actions = self.string_list(map, path, key)?;
        if self.strict() {
            let listed = matches!(map.get(key), Some(Value::Array(_)));
            for (index, action) in actions.iter().enumerate() {
                if !is_valid_action(action) {
                    let action_path = if listed {
                        extend(&extend(path, key), index.to_string())
                    } else {
                        extend(path, key)
                    };
                    self.report(
                        action_path,
                        format!("`{action}` is not an IAM action"),
                        Some(
                            "write `service:Action` (e.g. `s3:GetObject`, `eks:Describe*`) or `*`"
                                .into(),
                        ),
                    );
                }
            }
        }
        Some(spelled_set(
            actions
                .iter()
                .map(|action| Spelled::action(action))
                .collect(),
        ))
    }

    fn principals(
        &mut self,
        map: &Map<String, Value>,
        path: &[String],
        key: &str,
    ) -> Option<Principals> {
        let value = map.get(key)?;
        let path = extend(path, key);
        match value {
            // IAM reads `"*"` as `{"AWS": "*"}`: everyone.
            Value::String(text) if text == "*" => Some(BTreeMap::from([(
                "AWS".to_string(),
                spelled_set(vec![Spelled::principal("*")]),
            )])),
            Value::String(text) => {
                self.report(
                    path,
                    format!("`{key}` must be `*` or an object of principal types, not the string `{text}`"),
                    Some(format!("write e.g. `\"{key}\": {{\"AWS\": \"{text}\"}}`")),
                );
                None
            }
            Value::Object(types) => {
                if types.is_empty() && self.strict() {
                    self.report(
                        path.clone(),
                        format!("`{key}` is empty"),
                        Some("name at least one principal, e.g. `{\"Service\": \"ec2.amazonaws.com\"}`".into()),
                    );
                }
                let mut principals = BTreeMap::new();
                let mut valid = true;
                for (principal_type, values) in types {
                    let type_path = extend(&path, principal_type.as_str());
                    if self.strict() && !PRINCIPAL_TYPES.contains(&principal_type.as_str()) {
                        self.report(
                            type_path.clone(),
                            format!("unknown principal type `{principal_type}`"),
                            Some(suggest(principal_type, &PRINCIPAL_TYPES)),
                        );
                    }
                    match self.strings(values, &type_path, principal_type) {
                        Some(values) => {
                            principals.insert(
                                principal_type.clone(),
                                spelled_set(values.iter().map(|v| Spelled::principal(v)).collect()),
                            );
                        }
                        None => valid = false,
                    }
                }
                valid.then_some(principals)
            }
            other => {
                self.report(
                    path,
                    format!(
                        "`{key}` must be `*` or an object of principal types, not {}",
                        json_type(other)
                    ),
                    None,
                );
                None
            }
        }
    }

    fn conditions(&mut self, value: Option<&Value>, path: &[String]) -> Option<Conditions> {
        let path = extend(path, "Condition");
        let shape_hint = || {
            Some("write `\"Condition\": {\"StringEquals\": {\"aws:PrincipalTag/team\": \"platform\"}}` (operator → key → value or values)".to_string())
        };
        let operators = match value? {
            Value::Object(operators) => operators,
            other => {
                self.report(
                    path,
                    format!(
                        "`Condition` must be an object of operators, not {}",
                        json_type(other)
                    ),
                    shape_hint(),
                );
                return None;
            }
        };
        let mut conditions = Conditions::new();
        for (operator, keys) in operators {
            let operator_path = extend(&path, operator.as_str());
            let Value::Object(keys) = keys else {
                self.report(
                    operator_path,
                    format!(
                        "the condition operator `{operator}` must map condition keys to values, not be {}",
                        json_type(keys)
                    ),
                    shape_hint(),
                );
                continue;
            };
            let mut by_key: BTreeMap<Spelled, BTreeSet<String>> = BTreeMap::new();
            for (key, values) in keys {
                let key_path = extend(&operator_path, key.as_str());
                let Some(values) = self.condition_values(values, &key_path, key) else {
                    continue;
                };
                let spelled = Spelled::condition_key(key);
                if let Some((existing, _)) = by_key.get_key_value(&spelled) {
                    self.report(
                        key_path,
                        format!(
                            "the condition keys `{}` and `{key}` are the same key (condition keys are case-insensitive)",
                            existing.text
                        ),
                        Some("merge them into one key".into()),
                    );
                    continue;
                }
                by_key.insert(spelled, values);
            }
            // An operator with no keys constrains nothing, as IAM reads it.
            if !by_key.is_empty() {
                conditions.insert(operator.clone(), by_key);
            }
        }
        (!conditions.is_empty()).then_some(conditions)
    }

    /// Condition values compare as strings: IAM reads `true` as `"true"` and `3` as `"3"`.
    fn condition_values(
        &mut self,
        value: &Value,
        path: &[String],
        key: &str,
    ) -> Option<BTreeSet<String>> {
        let scalar = |value: &Value| match value {
            Value::String(text) => Some(text.clone()),
            Value::Bool(flag) => Some(flag.to_string()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        };
        let hint = || {
            Some("a condition value is a string, number or boolean, or a list of them".to_string())
        };
        match value {
            Value::Array(items) => {
                if items.is_empty() && self.strict() {
                    self.report(
                        path.to_vec(),
                        format!("the condition key `{key}` has an empty list of values"),
                        Some("give at least one value, or remove the key".into()),
                    );
                }
                let mut values = BTreeSet::new();
                let mut valid = true;
                for (index, item) in items.iter().enumerate() {
                    match scalar(item) {
                        Some(text) => {
                            values.insert(text);
                        }
                        None => {
                            valid = false;
                            self.report(
                                extend(path, index.to_string()),
                                format!(
                                    "a value of the condition key `{key}` cannot be {}",
                                    json_type(item)
                                ),
                                hint(),
                            );
                        }
                    }
                }
                valid.then_some(values)
            }
            other => match scalar(other) {
                Some(text) => Some(BTreeSet::from([text])),
                None => {
                    self.report(
                        path.to_vec(),
                        format!(
                            "the value of the condition key `{key}` cannot be {}",
                            json_type(other)
                        ),
                        hint(),
                    );
                    None
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn parse(value: Value, kind: DocumentKind) -> PolicyDocument {
        match PolicyDocument::from_value(&value, kind) {
            Ok(document) => document,
            Err(errors) => panic!("{value} should be valid: {errors:?}"),
        }
    }

    fn assert_same(a: Value, b: Value, kind: DocumentKind) {
        let (first, second) = (parse(a, kind), parse(b, kind));
        assert_eq!(
            first,
            second,
            "{}\n!=\n{}",
            first.to_pretty_json(),
            second.to_pretty_json()
        );
        // Equal documents render the same, up to the spelling of actions and keys.
        assert_eq!(
            first.to_value().to_string().to_ascii_lowercase(),
            second.to_value().to_string().to_ascii_lowercase()
        );
    }

    fn assert_different(a: Value, b: Value, kind: DocumentKind) {
        let (first, second) = (parse(a, kind), parse(b, kind));
        assert_ne!(first, second, "{}", first.to_pretty_json());
    }

    fn errors(value: Value, kind: DocumentKind) -> Vec<PolicyError> {
        match PolicyDocument::from_value(&value, kind) {
            Ok(document) => panic!(
                "{value} should be refused, got {}",
                document.to_pretty_json()
            ),
            Err(errors) => errors,
        }
    }

    fn paths(errors: &[PolicyError]) -> Vec<String> {
        errors.iter().map(|error| error.path.join(".")).collect()
    }

    /// The eks-admin policy of the seed runbook, as written there.
    fn eks_admin_policy() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["eks:*"], "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}}
                }
            ]
        })
    }

    // Equivalent pairs.

    #[test]
    fn string_action_equals_one_element_list() {
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::424432388155:role/eks-admin"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": ["arn:aws:iam::424432388155:role/eks-admin"]}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn single_statement_object_equals_one_element_list() {
        assert_same(
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn statement_order_does_not_matter() {
        let mut reversed = eks_admin_policy();
        if let Some(Value::Array(statements)) = reversed.get_mut("Statement") {
            statements.reverse();
        }
        assert_same(eks_admin_policy(), reversed, DocumentKind::Identity);
    }

    #[test]
    fn action_order_and_duplicates_do_not_matter() {
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                "eks:DescribeNodegroup", "eks:ListNodegroups", "eks:DescribeCluster", "eks:ListClusters",
                "eks:AccessKubernetesApi", "ssm:GetParameter", "eks:ListUpdates", "eks:ListFargateProfiles"]}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                "eks:AccessKubernetesApi", "eks:DescribeCluster", "eks:DescribeNodegroup", "eks:ListClusters",
                "eks:ListFargateProfiles", "eks:ListNodegroups", "eks:ListUpdates", "ssm:GetParameter",
                "eks:ListClusters"]}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn resource_order_and_duplicates_do_not_matter() {
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                "Resource": ["arn:aws:s3:::cinchy-connections/*", "arn:aws:s3:::cinchy-connections"]}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                "Resource": ["arn:aws:s3:::cinchy-connections", "arn:aws:s3:::cinchy-connections/*", "arn:aws:s3:::cinchy-connections"]}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn key_order_does_not_matter() {
        let text_a = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;
        let text_b = r#"{"Statement":[{"Resource":"*","Action":"s3:ListBucket","Effect":"Allow","Sid":"Read"}],"Version":"2012-10-17"}"#;
        let a = PolicyDocument::parse_str(text_a, DocumentKind::Identity);
        let b = PolicyDocument::parse_str(text_b, DocumentKind::Identity);
        assert_eq!(a, b);
        let rendered = b.map(|document| document.to_value().to_string());
        assert_eq!(rendered.as_deref(), Ok(text_a), "canonical key order");
    }

    #[test]
    fn omitted_version_is_2008() {
        assert_same(
            json!({"Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]}),
            json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn url_encoded_inline_policy_from_get_role_policy() {
        // `aws iam get-role-policy` (without the CLI's decoding) returns the document like this.
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%5B%22eks%3A%2A%22%5D%2C%22Resource%22%3A%22%2A%22%7D%2C%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22iam%3APassRole%22%2C%22Resource%22%3A%22%2A%22%2C%22Condition%22%3A%7B%22StringEquals%22%3A%7B%22iam%3APassedToService%22%3A%22eks.amazonaws.com%22%7D%7D%7D%5D%7D";
        let live = PolicyDocument::parse_str(encoded, DocumentKind::Any);
        let desired = PolicyDocument::from_value(&eks_admin_policy(), DocumentKind::Identity);
        assert!(live.is_ok());
        assert_eq!(live, desired);
    }

    #[test]
    fn url_encoded_trust_policy_keeps_plus_signs() {
        // Percent-decoding, not form-decoding: `+` in a value stays `+`.
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22arn%3Aaws%3Aiam%3A%3A424432388155%3Auser%2Fci+deploy%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        let live = PolicyDocument::parse_str(encoded, DocumentKind::Any);
        let written = PolicyDocument::from_value(
            &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::424432388155:user/ci+deploy"}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
        );
        assert!(written.is_ok());
        assert_eq!(live, written);
    }

    #[test]
    fn url_encoded_document_inside_a_json_string() {
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        let quoted = serde_json::to_string(encoded).unwrap_or_default();
        let live = PolicyDocument::parse_str(&quoted, DocumentKind::Any);
        let written = PolicyDocument::from_value(
            &json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
        assert!(written.is_ok());
        assert_eq!(live, written);
    }

    #[test]
    fn action_names_are_case_insensitive() {
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "S3:PutObject"], "Resource": "*"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["S3:getobject", "s3:putobject"], "Resource": "*"}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn condition_keys_are_case_insensitive_and_values_are_strings() {
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": false}, "NumericLessThan": {"s3:TlsVersion": 1.2}}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                "Condition": {"Bool": {"AWS:securetransport": "false"}, "NumericLessThan": {"S3:TLSVERSION": ["1.2"]}}}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn condition_value_order_and_duplicates_do_not_matter() {
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1", "eu-west-1"]}}}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn account_id_principal_equals_root_arn() {
        // What people write for "another AWS account", and what IAM stores instead. The bare id
        // is kept as written (the partition is not known here; IAM rewrites it on write).
        let written = parse(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "424432388155"}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
        );
        let stored = parse(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::424432388155:root"}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
        );
        assert_eq!(written, stored);
        let china = parse(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws-cn:iam::424432388155:root"}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
        );
        assert_eq!(written, china);
    }

    #[test]
    fn principal_star_equals_aws_star() {
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": "sts:AssumeRole",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}]}),
            DocumentKind::Trust,
        );
    }

    #[test]
    fn principal_values_string_or_list_order_and_duplicates() {
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"Service": ["ec2.amazonaws.com", "eks.amazonaws.com"], "AWS": "arn:aws:iam::424432388155:role/eks-admin"}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"AWS": ["arn:aws:iam::424432388155:role/eks-admin"], "Service": ["eks.amazonaws.com", "ec2.amazonaws.com", "eks.amazonaws.com"]}}]}),
            DocumentKind::Trust,
        );
    }

    #[test]
    fn duplicate_statements_do_not_matter() {
        let statement =
            json!({"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"});
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [statement.clone()]}),
            json!({"Version": "2012-10-17", "Statement": [statement.clone(), statement]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn empty_sid_equals_no_sid() {
        // The console writes `"Sid": ""` in the trust policies it generates.
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
        );
    }

    #[test]
    fn irsa_trust_as_written_equals_as_iam_returns_it() {
        let issuer = "oidc.eks.ca-central-1.amazonaws.com/id/8A024CF24ADD3925BEFA224C4BDD005B";
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Federated": format!("arn:aws:iam::204393242335:oidc-provider/{issuer}")},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    format!("{issuer}:aud"): "sts.amazonaws.com",
                    format!("{issuer}:sub"): "system:serviceaccount:devops-aurora-1:connections-serviceaccount-s3"}}}]}),
            json!({"Statement": [{"Condition": {"StringEquals": {
                    format!("{issuer}:sub"): ["system:serviceaccount:devops-aurora-1:connections-serviceaccount-s3"],
                    format!("{issuer}:aud"): ["sts.amazonaws.com"]}},
                "Action": ["sts:AssumeRoleWithWebIdentity"],
                "Principal": {"Federated": [format!("arn:aws:iam::204393242335:oidc-provider/{issuer}")]},
                "Effect": "Allow"}], "Version": "2012-10-17"}),
            DocumentKind::Trust,
        );
    }

    #[test]
    fn empty_condition_equals_no_condition() {
        assert_same(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:ListClusters", "Resource": "*", "Condition": {}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:ListClusters", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
    }

    // Different documents.

    #[test]
    fn allow_differs_from_deny() {
        assert_different(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "eks:*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn different_resources_differ() {
        assert_different(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::424432388155:role/eks-admin"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::424432388155:role/EKS-Admin"}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn condition_difference_matters() {
        assert_different(
            eks_admin_policy(),
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "eks:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                 "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}]}),
            DocumentKind::Identity,
        );
        // Condition values are case-sensitive even though keys are not.
        assert_different(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "platform"}}}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "Platform"}}}]}),
            DocumentKind::Identity,
        );
        // A condition removed.
        assert_different(
            eks_admin_policy(),
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "eks:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn versions_differ() {
        assert_different(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn action_differs_from_not_action_and_sid_matters() {
        assert_different(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
        assert_different(
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "B", "Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
    }

    #[test]
    fn different_principal_types_differ() {
        assert_different(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "*"}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
        );
        assert_different(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "424432388155"}, "Action": "sts:AssumeRole"}]}),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::424432388155:user/root"}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
        );
    }

    // Canonical form.

    #[test]
    fn canonical_form_orders_keys_and_renders_single_values_as_strings() {
        let document = parse(
            json!({"Statement": [
                {"Condition": {"StringLike": {"s3:prefix": ["home/", "home/*"]}}, "Resource": ["arn:aws:s3:::b"],
                 "Action": ["s3:ListBucket"], "Effect": "Allow", "Sid": "List"},
                {"Resource": "arn:aws:s3:::b/home/*", "Action": ["s3:PutObject", "s3:GetObject"], "Effect": "Allow", "Sid": "Home"}
            ], "Id": "home-dirs", "Version": "2012-10-17"}),
            DocumentKind::Identity,
        );
        let expected = r#"{
  "Version": "2012-10-17",
  "Id": "home-dirs",
  "Statement": [
    {
      "Sid": "Home",
      "Effect": "Allow",
      "Action": [
        "s3:GetObject",
        "s3:PutObject"
      ],
      "Resource": "arn:aws:s3:::b/home/*"
    },
    {
      "Sid": "List",
      "Effect": "Allow",
      "Action": "s3:ListBucket",
      "Resource": "arn:aws:s3:::b",
      "Condition": {
        "StringLike": {
          "s3:prefix": [
            "home/",
            "home/*"
          ]
        }
      }
    }
  ]
}"#;
        assert_eq!(document.to_pretty_json(), expected);
    }

    #[test]
    fn canonical_form_keeps_spellings_and_renders_everyone_as_star() {
        let document = parse(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["*"]},
                "NotPrincipal": {"AWS": ["424432388155", "arn:aws:iam::424432388155:root"]},
                "Action": "STS:assumeRole"}]}),
            DocumentKind::Any,
        );
        let value = document.to_value();
        assert_eq!(value["Statement"][0]["Principal"], json!("*"));
        assert_eq!(
            value["Statement"][0]["NotPrincipal"],
            json!({"AWS": "arn:aws:iam::424432388155:root"})
        );
        assert_eq!(value["Statement"][0]["Action"], json!("STS:assumeRole"));
    }

    #[test]
    fn serde_reads_objects_and_url_encoded_strings() {
        let from_object: Result<PolicyDocument, _> = serde_json::from_value(eks_admin_policy());
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22eks%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        let from_string: Result<PolicyDocument, _> = serde_json::from_value(json!(encoded));
        let expected = parse(
            json!({"Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}]}),
            DocumentKind::Any,
        );
        assert_eq!(from_string.ok(), Some(expected));
        let document = from_object.ok();
        assert_eq!(
            document
                .as_ref()
                .map(serde_json::to_value)
                .and_then(Result::ok),
            document.as_ref().map(PolicyDocument::to_value)
        );
        let bad: Result<PolicyDocument, _> =
            serde_json::from_value(json!({"Statement": [{"Effect": "allow", "Action": "*"}]}));
        let message = bad.err().map(|error| error.to_string()).unwrap_or_default();
        assert!(message.contains("Statement.0.Effect"), "{message}");
    }

    #[test]
    fn parse_str_reports_bad_json() {
        let errors = PolicyDocument::parse_str("{\"Version\": ", DocumentKind::Any).err();
        assert!(errors.is_some_and(
            |errors| errors.len() == 1 && errors[0].message.contains("not valid JSON")
        ));
        let errors = PolicyDocument::parse_str("{\"Version\": \"100%\"", DocumentKind::Any).err();
        assert!(errors.is_some_and(|errors| {
            errors[0]
                .hint
                .as_deref()
                .is_some_and(|h| !h.contains("percent-decoded"))
        }));
        let errors = PolicyDocument::parse_str("%7B%22Version", DocumentKind::Any).err();
        assert!(errors.is_some_and(|errors| {
            errors[0]
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("percent-decoded"))
        }));
    }

    // Validation.

    #[test]
    fn not_an_object() {
        let errors = errors(json!(["Statement"]), DocumentKind::Any);
        assert_eq!(paths(&errors), [""]);
        assert!(errors[0].message.contains("must be an object, not a list"));
    }

    #[test]
    fn unknown_keys_get_a_did_you_mean() {
        let errors = errors(
            json!({"Version": "2012-10-17", "Statment": [], "Statement": [{"effect": "Allow", "Effect": "Allow", "Actions": "s3:*", "Action": "s3:*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
        assert_eq!(
            paths(&errors),
            ["Statment", "Statement.0.effect", "Statement.0.Actions"]
        );
        let hints: Vec<&str> = errors.iter().filter_map(|e| e.hint.as_deref()).collect();
        assert!(hints[0].contains("`Statement`"), "{hints:?}");
        assert!(hints[1].contains("`Effect`"), "{hints:?}");
        assert!(hints[2].contains("`Action`"), "{hints:?}");
        let errors = super::tests::errors(
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Banana": 1}]}),
            DocumentKind::Any,
        );
        assert!(
            errors[0]
                .hint
                .as_deref()
                .is_some_and(|h| h.starts_with("known keys:"))
        );
    }

    #[test]
    fn version_must_be_known() {
        let errors = errors(
            json!({"Version": "2024-01-01", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
        assert_eq!(paths(&errors), ["Version"]);
        let errors = super::tests::errors(
            json!({"Version": 2012, "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
            DocumentKind::Any,
        );
        assert_eq!(paths(&errors), ["Version"]);
    }

    #[test]
    fn statement_missing_or_of_the_wrong_type() {
        assert_eq!(
            paths(&errors(
                json!({"Version": "2012-10-17"}),
                DocumentKind::Identity
            )),
            [""]
        );
        assert_eq!(
            paths(&errors(
                json!({"Version": "2012-10-17", "Statement": "Allow"}),
                DocumentKind::Any
            )),
            ["Statement"]
        );
        assert_eq!(
            paths(&errors(
                json!({"Version": "2012-10-17", "Statement": []}),
                DocumentKind::Identity
            )),
            ["Statement"]
        );
        assert_eq!(
            paths(&errors(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, "Deny"]}),
                DocumentKind::Any
            )),
            ["Statement.1"]
        );
    }

    #[test]
    fn effect_missing_or_misspelled() {
        let errors = errors(
            json!({"Version": "2012-10-17", "Statement": [
                {"Action": "s3:*", "Resource": "*"},
                {"Effect": "allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": true, "Action": "s3:*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
        assert_eq!(
            paths(&errors),
            ["Statement.0", "Statement.1.Effect", "Statement.2.Effect"]
        );
        assert!(errors[1].message.contains("not `allow`"));
    }

    #[test]
    fn action_and_not_action() {
        let errors = errors(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
        assert_eq!(paths(&errors), ["Statement.0", "Statement.1.NotAction"]);
        assert!(
            errors[0]
                .message
                .contains("neither `Action` nor `NotAction`")
        );
        assert!(errors[1].message.contains("both"));
    }

    #[test]
    fn identity_statements_need_a_resource_and_no_principal() {
        let errors = errors(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*"},
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
        assert_eq!(paths(&errors), ["Statement.0", "Statement.1.Principal"]);
    }

    #[test]
    fn trust_statements_need_a_principal_and_no_resource() {
        let errors = errors(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole", "Resource": "*"}]}),
            DocumentKind::Trust,
        );
        assert_eq!(paths(&errors), ["Statement.0", "Statement.1.Resource"]);
    }

    #[test]
    fn actions_must_be_service_colon_action() {
        let errors = errors(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3GetObject", "s3:", "ec2:Describe*"], "Resource": "*"},
                {"Effect": "Allow", "NotAction": "iam: PassRole", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
        assert_eq!(
            paths(&errors),
            [
                "Statement.0.Action.1",
                "Statement.0.Action.2",
                "Statement.1.NotAction"
            ]
        );
        assert!(
            errors[0]
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("service:Action"))
        );
    }

    #[test]
    fn empty_lists_are_refused_when_written() {
        let document = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": [], "Resource": []},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": []}}}]});
        let errors = errors(document.clone(), DocumentKind::Identity);
        assert_eq!(
            paths(&errors),
            [
                "Statement.0.Action",
                "Statement.0.Resource",
                "Statement.1.Condition.StringEquals.aws:PrincipalTag/team"
            ]
        );
        // Live documents are taken as they are.
        assert!(PolicyDocument::from_value(&document, DocumentKind::Any).is_ok());
    }

    #[test]
    fn condition_must_be_operator_key_values() {
        let errors = errors(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": ["StringEquals"]},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": "aws:username"}},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"aws:username": {"x": 1}}}},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"aws:username": ["a", null]}}},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"aws:username": "a", "AWS:UserName": "b"}}}]}),
            DocumentKind::Any,
        );
        assert_eq!(
            paths(&errors),
            [
                "Statement.0.Condition",
                "Statement.1.Condition.StringEquals",
                "Statement.2.Condition.StringEquals.aws:username",
                "Statement.3.Condition.StringEquals.aws:username.1",
                "Statement.4.Condition.StringEquals.AWS:UserName"
            ]
        );
    }

    #[test]
    fn principals_must_be_star_or_typed() {
        let errors = errors(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": "arn:aws:iam::424432388155:root", "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"Services": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"AWS": [1]}, "Action": "sts:AssumeRole"}]}),
            DocumentKind::Trust,
        );
        assert_eq!(
            paths(&errors),
            [
                "Statement.0.Principal",
                "Statement.1.Principal.Services",
                "Statement.2.Principal.AWS.0"
            ]
        );
        assert!(
            errors[1]
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("`Service`"))
        );
    }

    #[test]
    fn sids_must_be_alphanumeric_and_unique() {
        let errors = errors(
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "read-only", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
                {"Sid": "Write", "Effect": "Allow", "Action": "s3:Put*", "Resource": "*"},
                {"Sid": "Write", "Effect": "Allow", "Action": "s3:Delete*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
        assert_eq!(paths(&errors), ["Statement.0.Sid", "Statement.2.Sid"]);
        assert!(errors[1].message.contains("Statement.1"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = errors(
            json!({"Version": "2012-10-18", "Extra": 1, "Statement": [
                {"Effect": "Permit", "Action": "s3GetObject"},
                {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}),
            DocumentKind::Identity,
        );
        assert_eq!(
            paths(&errors),
            [
                "Extra",
                "Version",
                "Statement.0.Effect",
                "Statement.0.Action",
                "Statement.0",
                "Statement.1.Principal"
            ]
        );
    }

    #[test]
    fn any_kind_checks_only_shape() {
        // A trust policy and an identity policy are both fine as live documents.
        for document in [
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            eks_admin_policy(),
        ] {
            assert!(PolicyDocument::from_value(&document, DocumentKind::Any).is_ok());
        }
        assert!(PolicyDocument::from_value(&eks_admin_policy(), DocumentKind::Trust).is_err());
    }

    // Properties.

    const ACTIONS: [&str; 6] = [
        "s3:GetObject",
        "s3:PutObject",
        "eks:Describe*",
        "iam:PassRole",
        "sts:AssumeRole",
        "*",
    ];
    const RESOURCES: [&str; 4] = [
        "*",
        "arn:aws:s3:::bucket/a+b",
        "arn:aws:iam::424432388155:role/eks-admin",
        "arn:aws:eks:us-east-1:424432388155:cluster/demo",
    ];
    const PRINCIPALS: [&str; 4] = [
        "424432388155",
        "arn:aws:iam::111122223333:root",
        "arn:aws:iam::424432388155:user/developer",
        "*",
    ];
    const CONDITION_KEYS: [&str; 3] = ["aws:SourceIp", "aws:SecureTransport", "s3:prefix"];

    fn subset(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<Value>> {
        proptest::sample::subsequence(pool, 1..=pool.len())
            .prop_map(|items| items.into_iter().map(|item| json!(item)).collect())
    }

    fn arb_condition() -> impl Strategy<Value = Value> {
        let value = prop_oneof![
            Just(json!(true)),
            Just(json!(3)),
            Just(json!("10.0.0.0/8")),
            Just(json!(["home/", "home/*"])),
        ];
        let keys = proptest::collection::btree_map(
            proptest::sample::select(&CONDITION_KEYS[..]),
            value,
            1..3,
        );
        proptest::collection::btree_map(
            proptest::sample::select(&["StringEquals", "Bool", "IpAddress"][..]),
            keys,
            1..3,
        )
        .prop_map(|operators| {
            Value::Object(
                operators
                    .into_iter()
                    .map(|(operator, keys)| {
                        let keys = keys.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                        (operator.to_string(), Value::Object(keys))
                    })
                    .collect(),
            )
        })
    }

    fn arb_statement() -> impl Strategy<Value = Value> {
        (
            proptest::option::of(proptest::sample::select(&["Read", "Write", "Admin1"][..])),
            any::<bool>(),
            proptest::option::of(subset(&PRINCIPALS)),
            any::<bool>(),
            subset(&ACTIONS),
            proptest::option::of(subset(&RESOURCES)),
            proptest::option::of(arb_condition()),
        )
            .prop_map(
                |(sid, allow, principals, not_action, actions, resources, condition)| {
                    let mut map = Map::new();
                    if let Some(sid) = sid {
                        map.insert("Sid".into(), json!(sid));
                    }
                    map.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
                    if let Some(principals) = principals {
                        map.insert("Principal".into(), json!({"AWS": principals}));
                    }
                    let action_key = if not_action { "NotAction" } else { "Action" };
                    map.insert(action_key.into(), Value::Array(actions));
                    if let Some(resources) = resources {
                        map.insert("Resource".into(), Value::Array(resources));
                    }
                    if let Some(condition) = condition {
                        map.insert("Condition".into(), condition);
                    }
                    Value::Object(map)
                },
            )
    }

    fn arb_document() -> impl Strategy<Value = Value> {
        (
            proptest::option::of(proptest::sample::select(&[VERSION_2012, VERSION_2008][..])),
            proptest::option::of(Just("doc-1")),
            proptest::collection::vec(arb_statement(), 1..5),
        )
            .prop_map(|(version, id, statements)| {
                let mut map = Map::new();
                if let Some(version) = version {
                    map.insert("Version".into(), json!(version));
                }
                if let Some(id) = id {
                    map.insert("Id".into(), json!(id));
                }
                map.insert("Statement".into(), Value::Array(statements));
                Value::Object(map)
            })
    }

    /// splitmix64: a small deterministic generator driven by the proptest seed.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn flip_case(text: &str, state: &mut u64) -> String {
        text.chars()
            .map(|c| {
                if next(state).is_multiple_of(2) {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    }

    /// Rewrites a document the way IAM and people do without changing its meaning: lists
    /// shuffled, an item duplicated, one-element lists written as their item, keys reordered,
    /// action names and condition keys re-cased, account root ARNs written as bare ids.
    fn scramble(value: &Value, parent: &str, state: &mut u64) -> Value {
        match value {
            Value::Array(items) => {
                let mut items: Vec<Value> = items
                    .iter()
                    .map(|item| scramble(item, parent, state))
                    .collect();
                for index in (1..items.len()).rev() {
                    let other = usize::try_from(next(state) % (index as u64 + 1)).unwrap_or(0);
                    items.swap(index, other);
                }
                if let Some(first) = items
                    .first()
                    .cloned()
                    .filter(|_| next(state).is_multiple_of(3))
                {
                    items.push(first);
                }
                if items.len() == 1 && next(state).is_multiple_of(2) {
                    return items.pop().unwrap_or(Value::Null);
                }
                Value::Array(items)
            }
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> = map
                    .iter()
                    .map(|(key, item)| {
                        let key = if parent == "Condition.operator" {
                            flip_case(key, state)
                        } else {
                            key.clone()
                        };
                        let child = match parent {
                            "Condition" => "Condition.operator",
                            _ => key.as_str(),
                        };
                        let item = scramble(item, child, state);
                        (key, item)
                    })
                    .collect();
                let length = entries.len().max(1);
                let shift = usize::try_from(next(state) % length as u64).unwrap_or(0);
                entries.rotate_left(shift);
                Value::Object(entries.into_iter().collect())
            }
            Value::String(text) if parent == "Action" || parent == "NotAction" => {
                json!(flip_case(text, state))
            }
            Value::String(text)
                if parent == "AWS"
                    && text == "arn:aws:iam::111122223333:root"
                    && next(state).is_multiple_of(2) =>
            {
                json!("111122223333")
            }
            Value::Bool(flag) if next(state).is_multiple_of(2) => json!(flag.to_string()),
            Value::Number(number) if next(state).is_multiple_of(2) => json!(number.to_string()),
            other => other.clone(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn canonical_form_round_trips(value in arb_document()) {
            let document = PolicyDocument::from_value(&value, DocumentKind::Any);
            prop_assert!(document.is_ok(), "{value}");
            let document = parse(value, DocumentKind::Any);
            let canonical = document.to_value();
            let again = parse(canonical.clone(), DocumentKind::Any);
            prop_assert_eq!(&again, &document);
            prop_assert_eq!(again.to_value(), canonical);
            let text = serde_json::to_string(&document).unwrap_or_default();
            let read: Result<PolicyDocument, _> = serde_json::from_str(&text);
            prop_assert_eq!(read.ok(), Some(document));
        }

        #[test]
        fn rewritten_documents_stay_equal(value in arb_document(), seed in any::<u64>()) {
            let mut state = seed;
            let scrambled = scramble(&value, "", &mut state);
            let original = parse(value, DocumentKind::Any);
            let rewritten = parse(scrambled.clone(), DocumentKind::Any);
            prop_assert_eq!(&original, &rewritten, "{}", scrambled);
            let encoded = percent_encoding::utf8_percent_encode(
                &scrambled.to_string(),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string();
            let decoded = PolicyDocument::parse_str(&encoded, DocumentKind::Any);
            prop_assert_eq!(decoded.ok(), Some(original));
        }

        #[test]
        fn changing_the_effect_changes_the_document(value in arb_document()) {
            let original = parse(value.clone(), DocumentKind::Any);
            let mut flipped = value;
            if let Some(Value::Array(statements)) = flipped.get_mut("Statement")
                && let Some(Value::Object(first)) = statements.first_mut()
            {
                let effect = if first.get("Effect") == Some(&json!("Allow")) { "Deny" } else { "Allow" };
                first.insert("Effect".into(), json!(effect));
            }
            let flipped = parse(flipped, DocumentKind::Any);
            // Another statement may make the flipped one a duplicate of it, so compare sets of
            // effects only when the documents have one statement each.
            if original.statements.len() == 1 && flipped.statements.len() == 1 {
                prop_assert_ne!(original, flipped);
            }
        }
    }
}
