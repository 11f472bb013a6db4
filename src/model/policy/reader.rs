//! Reading a written policy document: IAM's grammar checked (every problem reported with its
//! JSON path) and the document normalized into [`PolicyDocument`]. Also the two helpers that
//! look at a document before it is read (the spec loader's short forms in `Resource`, and the
//! plan renderer's "is this value a document").

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::{
    Conditions, DocumentKind, Effect, PolicyDocument, PolicyError, Principals, Spelled, Statement,
    VERSION_2008, VERSION_2012, spelled_set,
};

pub(super) const TOP_LEVEL_KEYS: [&str; 3] = ["Version", "Id", "Statement"];
pub(super) const STATEMENT_KEYS: [&str; 9] = [
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

/// Validation state: the kind decides what is checked, every problem is collected.
pub(super) struct Reader {
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
        let (statements, sources): (Vec<_>, Vec<_>) =
            self.statements(map.get("Statement"))?.into_iter().unzip();
        Some(PolicyDocument {
            version: version?,
            id,
            statements: statements.into(),
            sources: sources.into(),
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

    fn statements(&mut self, value: Option<&Value>) -> Option<Vec<(Statement, Vec<String>)>> {
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
        for (path, statement) in parsed {
            statements.push((statement?, path));
        }
        // Among semantically equal statements, keep the one whose display sorts first (then
        // the first written), so the rendering does not depend on the input order.
        statements.sort_by(|(a, _), (b, _)| {
            a.cmp(b)
                .then_with(|| a.to_value().to_string().cmp(&b.to_value().to_string()))
        });
        statements.dedup_by(|(later, _), (kept, _)| later == kept);
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
        self.one_or_list(
            value,
            path,
            &ListWords {
                read: |value| value.as_str().map(str::to_string),
                empty: format!("`{what}` is an empty list"),
                bad_item: &|found| format!("the items of `{what}` must be strings, not {found}"),
                bad_value: &|found| {
                    format!("`{what}` must be a string or a list of strings, not {found}")
                },
                hint: None,
            },
        )
    }

    /// One value or a list of values, as IAM allows for most elements: every item is read by
    /// `words.read`, and every item it cannot read is reported at its own index. An empty list
    /// is refused where it was written (strict kinds).
    fn one_or_list(
        &mut self,
        value: &Value,
        path: &[String],
        words: &ListWords<'_>,
    ) -> Option<Vec<String>> {
        let Value::Array(items) = value else {
            return match (words.read)(value) {
                Some(read) => Some(vec![read]),
                None => {
                    self.report(
                        path.to_vec(),
                        (words.bad_value)(json_type(value)),
                        words.hint.clone(),
                    );
                    None
                }
            };
        };
        if items.is_empty() && self.strict() {
            self.report(
                path.to_vec(),
                words.empty.clone(),
                Some("give at least one value, or remove the key".into()),
            );
        }
        let mut read = Vec::with_capacity(items.len());
        let mut valid = true;
        for (index, item) in items.iter().enumerate() {
            match (words.read)(item) {
                Some(text) => read.push(text),
                None => {
                    valid = false;
                    self.report(
                        extend(path, index.to_string()),
                        (words.bad_item)(json_type(item)),
                        words.hint.clone(),
                    );
                }
            }
        }
        valid.then_some(read)
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
        let values = self.one_or_list(
            value,
            path,
            &ListWords {
                read: |value| match value {
                    Value::String(text) => Some(text.clone()),
                    Value::Bool(flag) => Some(flag.to_string()),
                    Value::Number(number) => Some(number.to_string()),
                    _ => None,
                },
                empty: format!("the condition key `{key}` has an empty list of values"),
                bad_item: &|found| {
                    format!("a value of the condition key `{key}` cannot be {found}")
                },
                bad_value: &|found| {
                    format!("the value of the condition key `{key}` cannot be {found}")
                },
                hint: Some(
                    "a condition value is a string, number or boolean, or a list of them"
                        .to_string(),
                ),
            },
        )?;
        Some(values.into_iter().collect())
    }
}

/// What [`Reader::one_or_list`] reads from each item, and how it words what it cannot read
/// (`bad_item` and `bad_value` are given the JSON type found).
struct ListWords<'a> {
    read: fn(&Value) -> Option<String>,
    empty: String,
    bad_item: &'a dyn Fn(&str) -> String,
    bad_value: &'a dyn Fn(&str) -> String,
    hint: Option<String>,
}

/// Is `value` a policy document as written (an object with a `Statement`)? Plans show
/// documents as pretty JSON wherever they sit.
pub fn is_document(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|object| object.contains_key("Statement"))
}

/// Calls `each` with the JSON path and the text of every `Resource`/`NotResource` string of a
/// document as written, before it is read (the spec loader expands its short forms there).
pub fn rewrite_resources(value: &mut Value, mut each: impl FnMut(&[String], &mut String)) {
    let statements: Vec<(Vec<String>, &mut Value)> = match value.get_mut("Statement") {
        Some(Value::Array(items)) => items
            .iter_mut()
            .enumerate()
            .map(|(index, item)| (vec!["Statement".to_string(), index.to_string()], item))
            .collect(),
        Some(single @ Value::Object(_)) => vec![(vec!["Statement".to_string()], single)],
        _ => return,
    };
    for (path, statement) in statements {
        for key in ["Resource", "NotResource"] {
            let Some(resources) = statement.get_mut(key) else {
                continue;
            };
            let mut base = path.clone();
            base.push(key.to_string());
            match resources {
                Value::String(text) => each(&base, text),
                Value::Array(items) => {
                    for (index, item) in items.iter_mut().enumerate() {
                        if let Value::String(text) = item {
                            let mut item_path = base.clone();
                            item_path.push(index.to_string());
                            each(&item_path, text);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
