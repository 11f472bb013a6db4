//! The aws-auth parse and the byte-preserving merge.

use std::collections::BTreeMap;

use super::*;

const NODE_ROLE: &str =
    "arn:aws:iam::111122223333:role/eksctl-demo-nodegroup-NodeInstanceRole-1ABC";
const CREATOR: &str = "arn:aws:iam::111122223333:user/ir-engine-eks";

/// A ConfigMap edited by hand over the years: comments, odd spacing, a template, extra keys,
/// an item without groups, quoted and unquoted values.
const HAND_EDITED_ROLES: &str = "# node groups, do not touch
- rolearn: arn:aws:iam::111122223333:role/eksctl-demo-nodegroup-NodeInstanceRole-1ABC
  username: system:node:{{EC2PrivateDNSName}}
  groups:
  - system:bootstrappers
  - system:nodes

# ops people assume this one
-   rolearn:   \"arn:aws:iam::111122223333:role/ops\"   # trailing comment
    username: 'ops:{{SessionName}}'
    extra-key: ignored
-   rolearn: arn:aws:iam::111122223333:role/no-groups
    username: nobody
";

const HAND_EDITED_USERS: &str = "  - userarn: arn:aws:iam::111122223333:user/ir-engine-eks
    username: ir-engine-eks
    groups: [system:masters]
";

fn data(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(key, value)| ((*key).to_string(), (*value).to_string()))
        .collect()
}

fn managed(arns: &[&str]) -> BTreeMap<String, String> {
    let set: BTreeSet<&str> = arns.iter().copied().collect();
    data(&[(
        AWS_AUTH_MANAGED_ANNOTATION,
        &serde_json::to_string(&set).expect("json"),
    )])
}

fn user(arn: &str, username: &str, groups: &[&str]) -> AwsAuthEntry {
    AwsAuthEntry {
        kind: MapKind::MapUsers,
        arn: arn.to_string(),
        username: Some(username.to_string()),
        groups: groups.iter().map(|g| (*g).to_string()).collect(),
    }
}

fn role(arn: &str, username: &str, groups: &[&str]) -> AwsAuthEntry {
    AwsAuthEntry {
        kind: MapKind::MapRoles,
        ..user(arn, username, groups)
    }
}

fn hand_edited() -> BTreeMap<String, String> {
    data(&[
        ("mapRoles", HAND_EDITED_ROLES),
        ("mapUsers", HAND_EDITED_USERS),
    ])
}

#[test]
fn parses_what_people_write() {
    let auth = parse(&hand_edited(), &BTreeMap::new(), Some("7".into())).expect("parses");
    assert_eq!(
        auth.entries,
        vec![
            role(
                NODE_ROLE,
                "system:node:{{EC2PrivateDNSName}}",
                &["system:bootstrappers", "system:nodes"]
            ),
            role(
                "arn:aws:iam::111122223333:role/ops",
                "ops:{{SessionName}}",
                &[]
            ),
            role("arn:aws:iam::111122223333:role/no-groups", "nobody", &[]),
            user(CREATOR, "ir-engine-eks", &["system:masters"]),
        ]
    );
    assert!(auth.entries[0].is_node_role());
    assert!(auth.managed.is_empty());
    assert_eq!(auth.resource_version.as_deref(), Some("7"));
}

#[test]
fn empty_values_and_flow_lists_parse() {
    for text in ["", "   \n", "[]", "# nothing yet\n", "null"] {
        let auth = parse(&data(&[("mapUsers", text)]), &BTreeMap::new(), None)
            .unwrap_or_else(|error| panic!("{text:?}: {error}"));
        assert!(auth.entries.is_empty(), "{text:?}");
    }
    let flow = "[{userarn: 'arn:aws:iam::1:user/a', username: a, groups: [g]}]";
    let auth = parse(&data(&[("mapUsers", flow)]), &BTreeMap::new(), None).expect("parses");
    assert_eq!(
        auth.entries,
        vec![user("arn:aws:iam::1:user/a", "a", &["g"])]
    );
}

#[test]
fn accounts_quoted_or_not() {
    let text = "- \"111122223333\"\n- 444455556666\n";
    let auth = parse(&data(&[("mapAccounts", text)]), &BTreeMap::new(), None).expect("parses");
    let accounts: Vec<&str> = auth.entries.iter().map(|e| e.arn.as_str()).collect();
    assert_eq!(accounts, vec!["111122223333", "444455556666"]);
    assert!(auth.entries.iter().all(|e| e.kind == MapKind::MapAccounts));
}

#[test]
fn the_managed_annotation_is_read() {
    let auth = parse(&hand_edited(), &managed(&[CREATOR]), None).expect("parses");
    assert_eq!(auth.managed, BTreeSet::from([CREATOR.to_string()]));
    let broken = data(&[(AWS_AUTH_MANAGED_ANNOTATION, "not json")]);
    assert!(parse(&hand_edited(), &broken, None).is_err());
}

#[test]
fn invalid_yaml_is_an_error_naming_the_key() {
    let error = parse(
        &data(&[("mapRoles", "- rolearn: [unclosed\n")]),
        &BTreeMap::new(),
        None,
    )
    .expect_err("invalid");
    assert_eq!(error.key, "mapRoles");
}

/// The lines of `text` that belong to the entry with this ARN (and the comments above it).
fn block_of(kind: MapKind, text: &str, arn: &str) -> String {
    let list = ListText::cut(kind, text).expect("cut");
    assert!(list.block_style);
    list.blocks
        .into_iter()
        .find(|block| block.arn.as_deref() == Some(arn))
        .map(|block| block.text)
        .unwrap_or_else(|| panic!("no block for {arn}"))
}

#[test]
fn cutting_gives_back_the_text_exactly() {
    for (kind, text) in [
        (MapKind::MapRoles, HAND_EDITED_ROLES),
        (MapKind::MapUsers, HAND_EDITED_USERS),
        (MapKind::MapUsers, "- userarn: a\n  username: b"),
        (
            MapKind::MapAccounts,
            "# accounts\n- \"1\"\n\n- '2'  # two\n# end\n",
        ),
    ] {
        let list = ListText::cut(kind, text).expect("cut");
        assert!(list.block_style, "{text}");
        assert_eq!(list.render(), text);
    }
    let roles = ListText::cut(MapKind::MapRoles, HAND_EDITED_ROLES).expect("cut");
    assert_eq!(roles.blocks.len(), 3);
    assert!(roles.blocks[0].text.starts_with("# node groups"));
    assert!(roles.blocks[1].text.starts_with("# ops people"));
}

#[test]
fn adding_a_user_keeps_every_other_byte() {
    let new = user(
        "arn:aws:iam::111122223333:user/eksuser",
        "eksuser",
        &["system:masters"],
    );
    let merged = merge(
        &hand_edited(),
        &BTreeMap::new(),
        &[Edit::Upsert(new.clone())],
    )
    .expect("merges");
    assert_eq!(merged.data["mapRoles"], HAND_EDITED_ROLES);
    let users = &merged.data["mapUsers"];
    assert!(users.starts_with(HAND_EDITED_USERS), "{users}");
    // Written at the list's own indentation.
    assert_eq!(
        &users[HAND_EDITED_USERS.len()..],
        "  - userarn: arn:aws:iam::111122223333:user/eksuser\n    username: eksuser\n    groups:\n      - system:masters\n"
    );
    assert_eq!(
        merged.managed_annotation,
        r#"["arn:aws:iam::111122223333:user/eksuser"]"#
    );
    assert!(merged.rewritten.is_empty());
    let reparsed = parse(&merged.data, &BTreeMap::new(), None).expect("parses");
    assert!(reparsed.entries.contains(&new));
    assert_eq!(reparsed.entries.len(), 5);
}

#[test]
fn updating_a_managed_entry_rewrites_only_it() {
    let ops = "arn:aws:iam::111122223333:role/ops";
    let annotations = managed(&[ops]);
    let updated = role(ops, "ops", &["ops-group"]);
    let merged = merge(
        &hand_edited(),
        &annotations,
        &[Edit::Upsert(updated.clone())],
    )
    .expect("merges");
    let roles = &merged.data["mapRoles"];
    assert_eq!(
        block_of(MapKind::MapRoles, roles, NODE_ROLE),
        block_of(MapKind::MapRoles, HAND_EDITED_ROLES, NODE_ROLE)
    );
    assert_eq!(
        block_of(MapKind::MapRoles, roles, ops),
        "# ops people assume this one\n- rolearn: arn:aws:iam::111122223333:role/ops\n  username: ops\n  groups:\n    - ops-group\n"
    );
    // The entry after it is untouched, and the order is kept.
    assert!(roles.ends_with(
        "-   rolearn: arn:aws:iam::111122223333:role/no-groups\n    username: nobody\n"
    ));
    assert_eq!(merged.data["mapUsers"], HAND_EDITED_USERS);
    let reparsed = parse(&merged.data, &BTreeMap::new(), None).expect("parses");
    assert_eq!(reparsed.entries[1], updated);
}

#[test]
fn removing_a_managed_entry_removes_exactly_its_block() {
    let ops = "arn:aws:iam::111122223333:role/ops";
    let merged = merge(
        &hand_edited(),
        &managed(&[ops]),
        &[Edit::Remove(ops.to_string())],
    )
    .expect("merges");
    let expected = HAND_EDITED_ROLES.replace(
        "# ops people assume this one\n-   rolearn:   \"arn:aws:iam::111122223333:role/ops\"   # trailing comment\n    username: 'ops:{{SessionName}}'\n    extra-key: ignored\n",
        "",
    );
    assert_ne!(expected, HAND_EDITED_ROLES);
    assert_eq!(merged.data["mapRoles"], expected);
    assert_eq!(merged.managed_annotation, "[]");
}

#[test]
fn duplicates_of_a_managed_arn_merge_into_one() {
    let text = "- userarn: arn:aws:iam::1:user/a\n  username: a\n- userarn: arn:aws:iam::1:user/b\n  username: b\n- userarn: arn:aws:iam::1:user/a\n  username: a2\n";
    let merged = merge(
        &data(&[("mapUsers", text)]),
        &managed(&["arn:aws:iam::1:user/a"]),
        &[Edit::Upsert(user("arn:aws:iam::1:user/a", "a", &[]))],
    )
    .expect("merges");
    assert_eq!(
        merged.data["mapUsers"],
        "- userarn: arn:aws:iam::1:user/a\n  username: a\n- userarn: arn:aws:iam::1:user/b\n  username: b\n"
    );
}

#[test]
fn edits_are_idempotent() {
    let new = user("arn:aws:iam::1:user/new", "new", &["g"]);
    let edits = [
        Edit::Upsert(new),
        Edit::Remove("arn:aws:iam::111122223333:role/no-groups".to_string()),
    ];
    let once = merge(&hand_edited(), &BTreeMap::new(), &edits).expect("merges");
    let annotations = data(&[(AWS_AUTH_MANAGED_ANNOTATION, &once.managed_annotation)]);
    let twice = merge(&once.data, &annotations, &edits).expect("merges");
    assert_eq!(once, twice);
}

#[test]
fn a_missing_list_is_created_and_an_empty_one_filled() {
    let new = role("arn:aws:iam::1:role/admin", "admin", &["system:masters"]);
    let merged = merge(
        &BTreeMap::new(),
        &BTreeMap::new(),
        &[Edit::Upsert(new.clone())],
    )
    .expect("merges");
    assert_eq!(
        merged.data,
        data(&[(
            "mapRoles",
            "- rolearn: arn:aws:iam::1:role/admin\n  username: admin\n  groups:\n    - system:masters\n"
        )])
    );
    assert!(!merged.data.contains_key("mapUsers"));
    for empty in ["[]", ""] {
        let merged = merge(
            &data(&[("mapRoles", empty), ("mapUsers", "[]")]),
            &BTreeMap::new(),
            &[Edit::Upsert(new.clone())],
        )
        .expect("merges");
        assert_eq!(
            parse(&merged.data, &BTreeMap::new(), None)
                .expect("parses")
                .entries,
            vec![new.clone()]
        );
        assert_eq!(merged.data["mapUsers"], "[]", "untouched lists stay");
    }
}

#[test]
fn a_flow_list_is_rewritten_only_when_its_entries_change() {
    let flow = "[{userarn: 'arn:aws:iam::1:user/a', username: a}]";
    let source = data(&[("mapUsers", flow), ("mapRoles", HAND_EDITED_ROLES)]);
    let new_role = role("arn:aws:iam::1:role/r", "r", &[]);
    let merged = merge(&source, &BTreeMap::new(), &[Edit::Upsert(new_role)]).expect("merges");
    assert_eq!(merged.data["mapUsers"], flow);
    assert!(merged.rewritten.is_empty());
    let new_user = user("arn:aws:iam::1:user/b", "b", &[]);
    let merged = merge(&source, &BTreeMap::new(), &[Edit::Upsert(new_user)]).expect("merges");
    assert_eq!(merged.rewritten, vec![MapKind::MapUsers]);
    let entries = parse(&merged.data, &BTreeMap::new(), None)
        .expect("parses")
        .entries;
    assert_eq!(entries.len(), 5);
}

#[test]
fn the_last_entry_without_a_newline_gets_one_before_an_addition() {
    let text = "- userarn: arn:aws:iam::1:user/a\n  username: a";
    let merged = merge(
        &data(&[("mapUsers", text)]),
        &BTreeMap::new(),
        &[Edit::Upsert(user("arn:aws:iam::1:user/b", "b", &[]))],
    )
    .expect("merges");
    assert_eq!(
        merged.data["mapUsers"],
        "- userarn: arn:aws:iam::1:user/a\n  username: a\n- userarn: arn:aws:iam::1:user/b\n  username: b\n"
    );
}

#[test]
fn scalars_are_quoted_when_plain_would_mean_something_else() {
    assert_eq!(scalar("system:masters"), "system:masters");
    assert_eq!(
        scalar("system:node:{{EC2PrivateDNSName}}"),
        "system:node:{{EC2PrivateDNSName}}"
    );
    assert_eq!(scalar("{{SessionName}}"), "\"{{SessionName}}\"");
    assert_eq!(scalar("yes"), "\"yes\"");
    assert_eq!(scalar("123"), "\"123\"");
    assert_eq!(scalar("a b # c"), "\"a b # c\"");
    assert_eq!(scalar(""), "\"\"");
    let tricky = user(
        "arn:aws:iam::1:user/x",
        "{{SessionName}}",
        &["yes", "a: b", "#c"],
    );
    let text = render_entry(&tricky, 2);
    let entries = parse_list(MapKind::MapUsers, &text).expect("parses");
    assert_eq!(entries, vec![tricky]);
}

#[test]
fn edits_come_from_the_plan_unit() {
    use crate::plan::{Address, Kind};
    let entry = user("arn:aws:iam::1:user/a", "a", &[]);
    let address = |arn: &str| Address::cluster(Kind::AwsAuth, "demo", arn);
    let unit = vec![
        Change {
            address: address("arn:aws:iam::1:user/a"),
            action: Action::Create,
            reason: None,
            before: None,
            after: Some(Object::AwsAuthEntry(entry.clone())),
            fields: Vec::new(),
        },
        Change {
            address: address("arn:aws:iam::1:user/old"),
            action: Action::Delete,
            reason: None,
            before: Some(Object::AwsAuthEntry(user(
                "arn:aws:iam::1:user/old",
                "o",
                &[],
            ))),
            after: None,
            fields: Vec::new(),
        },
    ];
    assert_eq!(
        edits(&unit),
        Ok(vec![
            Edit::Upsert(entry),
            Edit::Remove("arn:aws:iam::1:user/old".to_string())
        ])
    );
}

/// Found by the aws-auth fuzz target (fuzz/regressions/aws_auth/username-with-del-and-nel): a
/// username or group holding a character YAML does not allow raw (DEL, C1 controls, line
/// separators) was written unescaped, and the merged list no longer parsed: the authenticator
/// would have lost every mapping of that list.
#[test]
fn names_with_unprintable_characters_are_written_so_they_read_back() {
    for odd in [
        "a\u{7f}b",
        "g\u{85}h",
        "x\u{2028}y",
        "\u{feff}bom",
        "c1\u{9b}",
        "tab\tand\u{1}",
    ] {
        let entry = role("arn:aws:iam::1:role/odd", odd, &[odd, "plain"]);
        let merged = merge(
            &BTreeMap::new(),
            &BTreeMap::new(),
            &[Edit::Upsert(entry.clone())],
        )
        .expect("merges");
        let parsed = parse(&merged.data, &BTreeMap::new(), None)
            .unwrap_or_else(|error| panic!("{odd:?} does not read back: {error}"));
        assert_eq!(parsed.entries, vec![entry], "{odd:?}");
    }
}

/// Found by the aws-auth fuzz target (fuzz/regressions/aws_auth/comment-only-list): a comment
/// that was all a list held became the comment above the entry accessctl added, and went with
/// it when the entry was removed.
#[test]
fn a_note_in_a_list_without_items_survives_an_entry_added_and_removed() {
    let entry = role("arn:aws:iam::1:role/admin", "admin", &["system:masters"]);
    let before = data(&[("mapRoles", "# node groups, do not touch")]);
    let added = merge(&before, &BTreeMap::new(), &[Edit::Upsert(entry.clone())]).expect("adds");
    assert_eq!(
        added.data["mapRoles"],
        "# node groups, do not touch\n\n- rolearn: arn:aws:iam::1:role/admin\n  username: admin\n  groups:\n    - system:masters\n"
    );
    let removed = merge(
        &added.data,
        &managed(&[&entry.arn]),
        &[Edit::Remove(entry.arn.clone())],
    )
    .expect("removes");
    assert_eq!(removed.data["mapRoles"], "# node groups, do not touch\n\n");
}
