//! The aws-auth parse and the byte-preserving merge.

use std::collections::BTreeMap;

use super::*;
use crate::testing::assert_cases;

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

/// The authenticator's own fixtures (aws-iam-authenticator `pkg/mapper/configmap/yaml/*.yaml`,
/// checked by `pkg/mapper/configmap/yaml_test.go`): the `data` of each ConfigMap.
mod fixtures {
    pub const NODE: &str =
        "arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6";
    pub const ADMIN: &str = "arn:aws:iam::555555555555:user/admin";
    /// `aws-auth.yaml`, based on the one in the EKS documentation.
    pub const VALID: [(&str, &str); 3] = [
        (
            "mapRoles",
            "- rolearn: arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n",
        ),
        (
            "mapUsers",
            "- userarn: arn:aws:iam::555555555555:user/admin\n  username: admin\n  groups:\n    - system:masters\n",
        ),
        ("mapAccounts", "- 555555555555\n"),
    ];
    /// `aws-auth-crazy-case-keys.yaml`: `rOlEaRn`, `UsErNaMe`, `gRoUpS`, `uSeRaRn`.
    pub const CRAZY_CASE_KEYS: [(&str, &str); 3] = [
        (
            "mapRoles",
            "- rOlEaRn: arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6\n  UsErNaMe: system:node:{{EC2PrivateDNSName}}\n  gRoUpS:\n    - system:bootstrappers\n    - system:nodes\n",
        ),
        (
            "mapUsers",
            "- uSeRaRn: arn:aws:iam::555555555555:user/admin\n  UsErNaMe: admin\n  gRoUpS:\n    - system:masters\n",
        ),
        ("mapAccounts", "- 555555555555\n"),
    ];
    /// `aws-auth-open-source-case-keys.yaml`: `roleARN` and `userARN`, as the open-source
    /// authenticator's own config file spells them.
    pub const OPEN_SOURCE_CASE_KEYS: [(&str, &str); 3] = [
        (
            "mapRoles",
            "- roleARN: arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n",
        ),
        (
            "mapUsers",
            "- userARN: arn:aws:iam::555555555555:user/admin\n  username: admin\n  groups:\n    - system:masters\n",
        ),
        ("mapAccounts", "- 555555555555\n"),
    ];
    /// `aws-auth-space-out-of-place.yaml`: one space too many before `- system:nodes` makes
    /// it part of the group above.
    pub const SPACE_OUT_OF_PLACE: [(&str, &str); 3] = [
        (
            "mapRoles",
            "- rolearn: arn:aws:iam::555555555555:role/devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n     - system:nodes\n",
        ),
        VALID[1],
        VALID[2],
    ];
}

fn entries_of(data_entries: &[(&str, &str)]) -> AwsAuth {
    parse(&data(data_entries), &BTreeMap::new(), None).expect("parses")
}

#[test]
fn entry_keys_match_case_insensitively_as_the_authenticator_decodes_them() {
    let expected = vec![
        role(
            fixtures::NODE,
            "system:node:{{EC2PrivateDNSName}}",
            &["system:bootstrappers", "system:nodes"],
        ),
        user(fixtures::ADMIN, "admin", &["system:masters"]),
        AwsAuthEntry {
            kind: MapKind::MapAccounts,
            arn: "555555555555".to_string(),
            username: None,
            groups: Vec::new(),
        },
    ];
    for (name, fixture) in [
        ("aws-auth.yaml", fixtures::VALID),
        ("aws-auth-crazy-case-keys.yaml", fixtures::CRAZY_CASE_KEYS),
        (
            "aws-auth-open-source-case-keys.yaml",
            fixtures::OPEN_SOURCE_CASE_KEYS,
        ),
    ] {
        let auth = entries_of(&fixture);
        assert_eq!(auth.entries, expected, "{name}");
        assert_eq!(auth.warnings, Vec::<String>::new(), "{name}");
    }
}

#[test]
fn a_misplaced_space_makes_one_group_as_it_does_for_eks() {
    let auth = entries_of(&fixtures::SPACE_OUT_OF_PLACE);
    assert_eq!(
        auth.entries[0].groups,
        vec!["system:bootstrappers - system:nodes".to_string()]
    );
}

/// `aws-auth-lower-case-top-keys.yaml` and `aws-auth-crazy-case-top-keys.yaml`: the data keys
/// are case-sensitive, EKS reads nothing from them, and accessctl says so.
#[test]
fn top_level_keys_are_case_sensitive_and_a_near_miss_is_a_warning() {
    for (roles, users, accounts) in [
        ("maproles", "mapusers", "mapaccounts"),
        ("MaPrOlEs", "MaPuSeRs", "MaPaCcOuNtS"),
    ] {
        let fixture = [
            (roles, fixtures::VALID[0].1),
            (users, fixtures::VALID[1].1),
            (accounts, fixtures::VALID[2].1),
        ];
        let auth = entries_of(&fixture);
        assert_eq!(auth.entries, Vec::new(), "{roles}");
        let mut expected = vec![
            format!(
                "`{accounts}` is not a key EKS reads (data keys are case-sensitive): its entries grant nothing; did you mean `mapAccounts`?"
            ),
            format!(
                "`{roles}` is not a key EKS reads (data keys are case-sensitive): its entries grant nothing; did you mean `mapRoles`?"
            ),
            format!(
                "`{users}` is not a key EKS reads (data keys are case-sensitive): its entries grant nothing; did you mean `mapUsers`?"
            ),
        ];
        expected.sort();
        let mut warnings = auth.warnings.clone();
        warnings.sort();
        assert_eq!(warnings, expected);
    }
}

/// The authenticator parses each list on its own and keeps what parsed ("Only saving data that
/// was good"): a list that is not YAML grants nothing, the others still do.
#[test]
fn an_unparseable_list_grants_nothing_and_the_others_still_count() {
    let auth = entries_of(&[("mapRoles", "- rolearn: [unclosed\n"), fixtures::VALID[1]]);
    assert_eq!(
        auth.entries,
        vec![user(fixtures::ADMIN, "admin", &["system:masters"])]
    );
    assert_eq!(
        auth.warnings,
        [
            "`mapRoles` is not valid YAML (line 1 column 12: unclosed bracket '['), so EKS maps nothing from it"
        ]
    );
    assert_eq!(auth.unreadable, BTreeSet::from([MapKind::MapRoles]));
    // A list that is not a list is the same to EKS.
    let auth = entries_of(&[("mapUsers", "userarn: arn:aws:iam::1:user/a\nusername: a\n")]);
    assert_eq!(auth.entries, Vec::new());
    assert_eq!(
        auth.warnings,
        vec!["`mapUsers` is not a list, so EKS maps nothing from it".to_string()]
    );
    assert_eq!(auth.unreadable, BTreeSet::from([MapKind::MapUsers]));
}

/// encoding/json skips a field of the wrong type and keeps the rest of the item; an item the
/// authenticator's `Validate` rejects (no ARN) maps nothing.
#[test]
fn wrong_types_and_items_without_an_arn_follow_go() {
    let text = "- rolearn: arn:aws:iam::1:role/a\n  username: 42\n  groups: system:masters\n- username: orphan\n  groups: [system:masters]\n- just a string\n- rolearn: arn:aws:iam::1:role/b\n  groups: [g, 7]\n";
    let auth = entries_of(&[("mapRoles", text)]);
    assert_eq!(
        auth.entries,
        vec![
            AwsAuthEntry {
                kind: MapKind::MapRoles,
                arn: "arn:aws:iam::1:role/a".to_string(),
                username: None,
                groups: Vec::new(),
            },
            AwsAuthEntry {
                kind: MapKind::MapRoles,
                arn: "arn:aws:iam::1:role/b".to_string(),
                username: None,
                groups: vec!["g".to_string(), String::new()],
            },
        ]
    );
    assert_eq!(
        auth.warnings,
        vec![
            "`mapRoles` item 1: `username` is not a string; EKS ignores that field".to_string(),
            "`mapRoles` item 1: `groups` is not a list of strings; EKS ignores that field".to_string(),
            "`mapRoles` item 2 has no `rolearn`: EKS ignores it".to_string(),
            "`mapRoles` item 3 is not a mapping: EKS ignores it".to_string(),
            "`mapRoles` item 4: `groups` is not a list of strings; EKS ignores what is not a string".to_string(),
        ]
    );
}

/// The authenticator keys roles by their lower-cased ARN and users by their ARN, and the last
/// item wins: that is the entry EKS uses, and the only one that grants.
#[test]
fn a_duplicate_arn_resolves_to_the_last_entry_as_in_the_authenticator() {
    let roles = "- rolearn: arn:aws:iam::1:role/Admin\n  username: first\n  groups: [system:masters]\n- rolearn: arn:aws:iam::1:role/other\n  username: other\n- rolearn: arn:aws:iam::1:role/admin\n  username: last\n  groups: [viewers]\n";
    let users = "- userarn: arn:aws:iam::1:user/u\n  username: one\n- userarn: arn:aws:iam::1:user/u\n  username: two\n";
    let auth = entries_of(&[("mapRoles", roles), ("mapUsers", users)]);
    assert_eq!(auth.entries.len(), 5, "every item is kept for the merge");
    let effective: Vec<(&str, Option<&str>)> = auth
        .effective()
        .map(|entry| (entry.arn.as_str(), entry.username.as_deref()))
        .collect();
    assert_eq!(
        effective,
        vec![
            ("arn:aws:iam::1:role/other", Some("other")),
            ("arn:aws:iam::1:role/admin", Some("last")),
            ("arn:aws:iam::1:user/u", Some("two")),
        ]
    );
    assert_eq!(
        auth.warnings,
        vec![
            "`mapRoles` maps `arn:aws:iam::1:role/admin` 2 times (ARNs compared without case): EKS uses the last of them".to_string(),
            "`mapUsers` maps `arn:aws:iam::1:user/u` 2 times: EKS uses the last of them".to_string(),
        ]
    );
}

/// Found by the aws_auth fuzz target (fuzz/regressions/aws_auth/control-character-in-a-comment):
/// go-yaml rejects a control character anywhere in the text, a comment included, so a list
/// that is only such a comment maps nothing to EKS; accessctl read it as an empty list and
/// appended an entry, making a list that did not parse.
#[test]
fn a_control_character_even_in_a_comment_makes_the_list_unreadable() {
    let commented = "# node groups\u{6}\n";
    let auth = entries_of(&[("mapRoles", commented)]);
    assert_eq!(auth.unreadable, BTreeSet::from([MapKind::MapRoles]));
    assert_eq!(
        auth.warnings,
        [
            "`mapRoles` is not valid YAML (the control character U+0006 is not allowed, even in a comment), so EKS maps nothing from it"
        ]
    );
    let error = merge(
        &data(&[("mapRoles", commented)]),
        &BTreeMap::new(),
        &[Edit::Upsert(role("arn:aws:iam::1:role/new", "new", &["g"]))],
    )
    .expect_err("refused");
    assert_eq!(error.key, "mapRoles");
    // Found next (fuzz/regressions/aws_auth/next-line-character-only): a list of only a NEL
    // or a no-break space was read as empty (Rust trims them as white space), and the entry
    // appended after it did not read back. They are text to YAML: such a list is read, found
    // not to be a list, and not written into.
    for odd in ["\u{85}", "\u{a0}"] {
        let error = merge(
            &data(&[("mapAccounts", odd)]),
            &BTreeMap::new(),
            &[Edit::Upsert(AwsAuthEntry {
                kind: MapKind::MapAccounts,
                arn: "000000000000".to_string(),
                username: None,
                groups: Vec::new(),
            })],
        )
        .expect_err("refused");
        assert!(
            error.message.contains("does not parse"),
            "{odd:?}: {error:?}"
        );
    }
    // Tabs, line breaks and non-ASCII text are fine.
    let auth = entries_of(&[("mapRoles", "# r\u{e9}les\t\r\n")]);
    assert!(auth.unreadable.is_empty() && auth.warnings.is_empty());
}

/// Found by the aws_auth fuzz target (fuzz/regressions/aws_auth/document-end-marker): the
/// authenticator decodes the first YAML document of a list and ignores the rest, and an entry
/// accessctl appended after a `...` line was in the second one. The reader now reads the first
/// document only, and a list with a document marker is rewritten whole (its entries kept).
#[test]
fn only_the_first_yaml_document_of_a_list_counts() {
    let admin = role("arn:aws:iam::1:role/admin", "admin", &["system:masters"]);
    let ignored = "- rolearn: arn:aws:iam::1:role/admin\n  username: admin\n  groups: [system:masters]\n...\n- rolearn: arn:aws:iam::1:role/ignored\n";
    let second_start = "---\n- rolearn: arn:aws:iam::1:role/admin\n  username: admin\n  groups: [system:masters]\n--- # another\n- rolearn: arn:aws:iam::1:role/ignored\n";
    for text in [ignored, second_start] {
        assert_eq!(
            entries_of(&[("mapRoles", text)]).entries,
            vec![admin.clone()],
            "{text}"
        );
    }
    let new = role("arn:aws:iam::1:role/new", "new", &["g"]);
    let merged = merge(
        &data(&[("mapRoles", ignored)]),
        &BTreeMap::new(),
        &[Edit::Upsert(new.clone())],
    )
    .expect("merges");
    assert_eq!(merged.rewritten, vec![MapKind::MapRoles]);
    let after = parse(&merged.data, &BTreeMap::new(), None).expect("reads back");
    assert_eq!(after.entries, vec![admin, new]);
    // `---` and `...` inside a line, or as a value, are text.
    assert!(!is_document_marker("---x\n") && !is_document_marker("  ...\n"));
    assert!(is_document_marker("... # end\r\n") && is_document_marker("---"));
}

/// Found by the aws_auth fuzz target (fuzz/regressions/aws_auth/lone-carriage-return): YAML
/// ends a line at a lone `\r`, so `# note\r2a.` is a comment and then the text `2a.`, not one
/// comment: the list is a scalar, which EKS cannot read, not an empty list to append to. And a
/// list with lone `\r`s is rewritten whole rather than cut at `\n`.
#[test]
fn a_lone_carriage_return_ends_a_line_of_a_list_too() {
    let auth = entries_of(&[("mapRoles", "# note\r2a.\n")]);
    assert_eq!(auth.unreadable, BTreeSet::from([MapKind::MapRoles]));
    let admin = role("arn:aws:iam::1:role/admin", "admin", &["system:masters"]);
    let old_mac = "# ops\r- rolearn: arn:aws:iam::1:role/admin\r  username: admin\r  groups: [system:masters]\r";
    assert_eq!(
        entries_of(&[("mapRoles", old_mac)]).entries,
        vec![admin.clone()]
    );
    let new = role("arn:aws:iam::1:role/new", "new", &["g"]);
    let merged = merge(
        &data(&[("mapRoles", old_mac)]),
        &BTreeMap::new(),
        &[Edit::Upsert(new.clone())],
    )
    .expect("merges");
    assert_eq!(merged.rewritten, vec![MapKind::MapRoles]);
    let after = parse(&merged.data, &BTreeMap::new(), None).expect("reads back");
    assert_eq!(after.entries, vec![admin, new]);
}

/// A list EKS cannot read is kept byte for byte when the edits are elsewhere; an edit into it
/// is refused rather than guessed.
#[test]
fn an_unparseable_list_is_kept_as_is_and_not_written_into() {
    let broken = "- rolearn: [unclosed\n";
    let live = data(&[("mapRoles", broken), ("mapUsers", HAND_EDITED_USERS)]);
    let merged = merge(
        &live,
        &BTreeMap::new(),
        &[Edit::Upsert(user("arn:aws:iam::1:user/new", "new", &["g"]))],
    )
    .expect("merges");
    assert_eq!(merged.data["mapRoles"], broken);
    let error = merge(
        &live,
        &BTreeMap::new(),
        &[Edit::Upsert(role("arn:aws:iam::1:role/new", "new", &["g"]))],
    )
    .expect_err("refused");
    assert_eq!(error.key, "mapRoles");
    // Nor into one that is not a list: its text would be lost.
    let mapping = "userarn: arn:aws:iam::1:user/a\nusername: a\n";
    let error = merge(
        &data(&[("mapUsers", mapping)]),
        &BTreeMap::new(),
        &[Edit::Upsert(user("arn:aws:iam::1:user/new", "new", &["g"]))],
    )
    .expect_err("refused");
    assert_eq!(
        error.message,
        "not a list; accessctl does not write into a list that does not parse"
    );
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

/// A comment indented as part of an entry (its last line) belongs to that entry, not to the
/// one below: removing or rewriting the managed entry below keeps it (found by the aws-auth
/// campaign, tests/support/aws_auth_campaign.rs). A comment at the items' indent directly above
/// an item still goes with that item.
#[test]
fn a_comment_indented_inside_an_entry_stays_with_it() {
    let managed_arn = "arn:aws:iam::1:role/managed";
    let hand = "- rolearn: arn:aws:iam::1:role/hand\n  username: hand\n  groups:\n  - viewers\n  # hand: keep until OPS-13 is closed\n";
    let below =
        "# managed by accessctl\n- rolearn: arn:aws:iam::1:role/managed\n  username: managed\n";
    for indent in ["", "  "] {
        let pad = |text: &str| -> String {
            text.split_inclusive('\n')
                .map(|line| format!("{indent}{line}"))
                .collect()
        };
        let text = format!("{}{}", pad(hand), pad(below));
        let live = data(&[("mapRoles", &text)]);
        let removed = merge(
            &live,
            &managed(&[managed_arn]),
            &[Edit::Remove(managed_arn.to_string())],
        )
        .expect("merges");
        assert_eq!(removed.data["mapRoles"], pad(hand), "indent {indent:?}");
        let updated = merge(
            &live,
            &managed(&[managed_arn]),
            &[Edit::Upsert(role(managed_arn, "managed", &["editors"]))],
        )
        .expect("merges");
        let updated = &updated.data["mapRoles"];
        assert!(
            updated.starts_with(&pad(hand)),
            "indent {indent:?}:\n{updated}"
        );
        assert!(
            updated.contains(&pad("# managed by accessctl\n")),
            "indent {indent:?}:\n{updated}"
        );
        // Last in its list, it keeps its comment when an entry is added after it.
        let live = data(&[("mapRoles", &pad(hand))]);
        let added = merge(
            &live,
            &managed(&[]),
            &[Edit::Upsert(role(managed_arn, "managed", &["editors"]))],
        )
        .expect("merges");
        let added = &added.data["mapRoles"];
        assert!(added.starts_with(&pad(hand)), "indent {indent:?}:\n{added}");
    }
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
    assert_cases(
        scalar,
        &[
            ("system:masters", "system:masters"),
            (
                "system:node:{{EC2PrivateDNSName}}",
                "system:node:{{EC2PrivateDNSName}}",
            ),
            ("{{SessionName}}", "\"{{SessionName}}\""),
            ("yes", "\"yes\""),
            ("123", "\"123\""),
            ("a b # c", "\"a b # c\""),
            ("", "\"\""),
        ],
    );
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
