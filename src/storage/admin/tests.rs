//! Storage tests of the admin configuration: every write checked field by field, nothing
//! half-saved, and the users table rebuild of migration 0009 keeping every row.

use rusqlite::Connection;

use super::*;
use crate::storage::{load_pbx_config, seed_demo, Db, DidRow, Role, TrunkRow};

fn demo() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(&dir.path().join("t.db")).unwrap();
    seed_demo(db.conn_mut()).unwrap();
    (dir, db)
}

fn field(e: Result<impl std::fmt::Debug, AdminError>) -> String {
    match e {
        Err(AdminError::Invalid { field, .. }) => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

fn group(number: &str, members: &[&str]) -> GroupInput {
    GroupInput {
        number: number.into(),
        strategy: "ring-all".into(),
        ring_timeout_secs: 20,
        wrap_up_secs: 10,
        max_no_answer: 3,
        max_queue: 5,
        max_wait_secs: 60,
        overflow_kind: "group".into(),
        overflow_target: "support".into(),
        service_level_secs: 15,
        record: true,
        telemarketing: false,
        survey: false,
        members: members
            .iter()
            .enumerate()
            .map(|(i, m)| MemberInput {
                extension: (*m).into(),
                priority: i as u32 + 1,
                skill_level: 5,
            })
            .collect(),
    }
}

#[test]
fn migration_0009_keeps_users_tokens_and_scopes_and_accepts_the_new_roles() {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::storage::configure(&conn).unwrap();
    let before = &crate::storage::MIGRATIONS[..8];
    crate::storage::migrate_with(&mut conn, before).unwrap();
    conn.execute_batch(
        "INSERT INTO extensions (number, sip_password) VALUES ('1001', 'p');
         INSERT INTO skill_groups (name, number, strategy, ring_timeout_secs, record, max_wait_secs)
             VALUES ('support', '6000', 'longest-idle', 15, 0, 0);
         INSERT INTO users (username, display_name, role, password_hash, extension, created_at_ms,
                            failed_logins, locked_at_ms)
             VALUES ('boss', 'Boss', 'supervisor', 'h1', NULL, 5, 2, NULL),
                    ('ann', 'Ann', 'agent', 'h2', '1001', 6, 10, 1234);
         INSERT INTO api_tokens (token_hash, username, created_at_ms) VALUES ('t', 'ann', 1);
         INSERT INTO user_groups (username, group_name) VALUES ('boss', 'support');",
    )
    .unwrap();
    crate::storage::migrate(&mut conn).unwrap();
    assert_eq!(
        crate::storage::user_version(&conn).unwrap(),
        crate::storage::SCHEMA_VERSION
    );
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1, "foreign keys are back on after the migration");
    let ann: (String, Option<String>, i64, i64, Option<i64>, String) = conn
        .query_row(
            "SELECT role, extension, created_at_ms, failed_logins, locked_at_ms, password_hash
             FROM users WHERE username = 'ann'",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        ann,
        (
            "agent".into(),
            Some("1001".into()),
            6,
            10,
            Some(1234),
            "h2".into()
        )
    );
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM api_tokens"),
        1,
        "tokens survive"
    );
    assert_eq!(
        count("SELECT count(*) FROM user_groups"),
        1,
        "scopes survive"
    );
    conn.execute(
        "UPDATE users SET role = 'tm_member' WHERE username = 'ann'",
        [],
    )
    .unwrap();
    assert!(conn
        .execute("UPDATE users SET role = 'root' WHERE username = 'ann'", [])
        .is_err());
    // The children still reference the rebuilt table: deleting cascades.
    conn.execute("DELETE FROM users WHERE username = 'ann'", [])
        .unwrap();
    assert_eq!(count("SELECT count(*) FROM api_tokens"), 0);
    assert!(conn
        .execute(
            "INSERT INTO user_groups (username, group_name) VALUES ('nobody', 'support')",
            []
        )
        .is_err());
}

#[test]
fn extensions_are_created_updated_and_refused_by_field() {
    let (_d, mut db) = demo();
    let input = ExtensionInput {
        sip_password: Some("longenough".into()),
        display_name: "Reception".into(),
    };
    assert!(save_extension(db.conn_mut(), "1020", &input).unwrap());
    let keep = ExtensionInput {
        sip_password: None,
        display_name: "Front desk".into(),
    };
    assert!(!save_extension(db.conn_mut(), "1020", &keep).unwrap());
    let pbx = load_pbx_config(db.conn()).unwrap();
    let e = pbx.extensions.iter().find(|e| e.number == "1020").unwrap();
    assert_eq!(
        (e.password.as_str(), e.display_name.as_str()),
        ("longenough", "Front desk")
    );

    let short = ExtensionInput {
        sip_password: Some("short".into()),
        ..input.clone()
    };
    assert_eq!(
        field(save_extension(db.conn_mut(), "1021", &short)),
        "sip_password"
    );
    assert_eq!(field(save_extension(db.conn_mut(), "1", &input)), "number");
    assert_eq!(
        field(save_extension(db.conn_mut(), "10a1", &input)),
        "number"
    );
    assert_eq!(
        field(save_extension(db.conn_mut(), "123456789", &input)),
        "number"
    );
    assert_eq!(
        field(save_extension(db.conn_mut(), "6000", &input)),
        "number",
        "the support queue's number"
    );
    let no_password = ExtensionInput {
        sip_password: None,
        display_name: String::new(),
    };
    assert_eq!(
        field(save_extension(db.conn_mut(), "1022", &no_password)),
        "sip_password"
    );
    let list = list_extensions(db.conn(), false).unwrap();
    assert!(list.iter().all(|e| e.sip_password.is_none()));
    assert!(!list
        .iter()
        .any(|e| ["1021", "1022", "6000"].contains(&e.number.as_str())));
    let e1001 = list.iter().find(|e| e.number == "1001").unwrap();
    assert_eq!(e1001.user.as_deref(), Some("agent1"));
    assert_eq!(e1001.groups, ["support"]);
}

#[test]
fn an_extension_in_use_is_not_deleted_and_the_answer_names_who() {
    let (_d, mut db) = demo();
    match delete_extension(db.conn_mut(), "1001") {
        Err(AdminError::InUse(m)) => {
            assert!(m.contains("agent1") && m.contains("support"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    delete_extension(db.conn_mut(), "1009").unwrap();
    assert!(matches!(
        delete_extension(db.conn_mut(), "1009"),
        Err(AdminError::NotFound { .. })
    ));
}

#[test]
fn users_never_show_hashes_and_scopes_only_supervisors() {
    let (_d, mut db) = demo();
    let input = UserInput {
        display_name: "Telesales".into(),
        role: "tm_member".into(),
        extension: Some("1005".into()),
        password: Some("correct horse".into()),
        groups: vec![],
    };
    let (view, created) = save_user(db.conn_mut(), "tm1", &input).unwrap();
    assert!(created);
    assert_eq!(view.role, Role::TmMember);
    let json = serde_json::to_string(&list_users(db.conn()).unwrap()).unwrap();
    assert!(
        !json.contains("argon2") && !json.contains("password"),
        "{json}"
    );
    assert!(
        crate::storage::verify_user(db.conn(), "tm1", "correct horse")
            .unwrap()
            .is_some()
    );
    // An update without a password keeps it.
    let again = UserInput {
        password: None,
        display_name: "TS".into(),
        ..input.clone()
    };
    assert!(!save_user(db.conn_mut(), "tm1", &again).unwrap().1);
    assert!(
        crate::storage::verify_user(db.conn(), "tm1", "correct horse")
            .unwrap()
            .is_some()
    );

    let bad = |f: &dyn Fn(&mut UserInput)| {
        let mut i = input.clone();
        f(&mut i);
        i
    };
    let mut conn = db.into_conn();
    for (i, want) in [
        (bad(&|i| i.role = "root".into()), "role"),
        (bad(&|i| i.password = Some("short".into())), "password"),
        (bad(&|i| i.extension = Some("1001".into())), "extension"),
        (bad(&|i| i.extension = Some("1999".into())), "extension"),
        (bad(&|i| i.groups = vec!["support".into()]), "groups"),
        (
            bad(&|i| {
                i.role = "supervisor".into();
                i.extension = None;
                i.groups = vec!["nowhere".into()];
            }),
            "groups",
        ),
    ] {
        assert_eq!(field(save_user(&mut conn, "new1", &i)), want, "{i:?}");
    }
    assert_eq!(field(save_user(&mut conn, "bad name", &input)), "username");
    let users = list_users(&conn).unwrap();
    assert!(
        !users.iter().any(|u| u.username == "new1"),
        "nothing stored"
    );
    let scoped = bad(&|i| {
        i.role = "supervisor".into();
        i.extension = None;
        i.groups = vec!["sales".into(), "support".into()];
    });
    save_user(&mut conn, "boss2", &scoped).unwrap();
    let boss = list_users(&conn)
        .unwrap()
        .into_iter()
        .find(|u| u.username == "boss2")
        .unwrap();
    assert_eq!(boss.groups, ["sales", "support"]);
}

#[test]
fn the_last_administrator_stays() {
    let (_d, mut db) = demo();
    assert!(matches!(
        delete_user(db.conn_mut(), "admin", "someone"),
        Err(AdminError::InUse(_))
    ));
    assert!(matches!(
        delete_user(db.conn_mut(), "agent1", "agent1"),
        Err(AdminError::InUse(_))
    ));
    let demote = UserInput {
        display_name: String::new(),
        role: "agent".into(),
        extension: None,
        password: None,
        groups: vec![],
    };
    assert_eq!(field(save_user(db.conn_mut(), "admin", &demote)), "role");
    delete_user(db.conn_mut(), "agent4", "admin").unwrap();
    assert!(matches!(
        delete_user(db.conn_mut(), "agent4", "admin"),
        Err(AdminError::NotFound { .. })
    ));
}

#[test]
fn a_group_is_stored_with_every_setting_and_its_members() {
    let (_d, mut db) = demo();
    let (view, created) =
        save_group(db.conn_mut(), "vip", &group("6002", &["1005", "1006"])).unwrap();
    assert!(created);
    let listed = list_groups(db.conn()).unwrap();
    let got = listed.iter().find(|g| g.name == "vip").unwrap();
    assert_eq!(got, &view);
    assert_eq!(got.settings, group("6002", &["1005", "1006"]));
    // The daemon's own loader accepts it with the same values.
    let pbx = load_pbx_config(db.conn()).unwrap();
    let specs = crate::storage::group_specs(&pbx.skill_groups).unwrap();
    let vip = specs.iter().find(|s| s.name == "vip").unwrap();
    assert_eq!(vip.members, ["1005", "1006"]);
    assert_eq!(vip.max_queue, Some(5));
    assert_eq!(vip.skill_levels.get("1006"), Some(&5));
    // Replacing drops old members.
    save_group(db.conn_mut(), "vip", &group("6002", &["1007"])).unwrap();
    let vip = list_groups(db.conn())
        .unwrap()
        .into_iter()
        .find(|g| g.name == "vip")
        .unwrap();
    assert_eq!(vip.settings.members.len(), 1);
}

#[test]
fn the_survey_setting_is_off_by_default_and_round_trips_to_the_loader() {
    let (_d, mut db) = demo();
    // A body without the field (an older panel) leaves the survey off.
    let body = serde_json::json!({ "number": "6003", "members": [] });
    let input: GroupInput = serde_json::from_value(body).unwrap();
    assert!(!input.survey);
    save_group(db.conn_mut(), "plain", &input).unwrap();
    let on = GroupInput {
        survey: true,
        ..group("6002", &["1005"])
    };
    save_group(db.conn_mut(), "vip", &on).unwrap();
    let listed = list_groups(db.conn()).unwrap();
    let flag = |name: &str| {
        listed
            .iter()
            .find(|g| g.name == name)
            .unwrap()
            .settings
            .survey
    };
    assert!(flag("vip"));
    assert!(!flag("plain"));
    let pbx = load_pbx_config(db.conn()).unwrap();
    let row = pbx.skill_groups.iter().find(|g| g.name == "vip").unwrap();
    assert!(
        row.survey,
        "the daemon's loader reads the column (migration 0016)"
    );
    // Turning it off again is stored too.
    save_group(
        db.conn_mut(),
        "vip",
        &GroupInput {
            survey: false,
            ..on
        },
    )
    .unwrap();
    let pbx = load_pbx_config(db.conn()).unwrap();
    assert!(!pbx.skill_groups.iter().any(|g| g.survey));
}

#[test]
fn group_errors_name_the_field_and_store_nothing() {
    let (_d, mut db) = demo();
    let base = group("6002", &["1005"]);
    let with = |f: &dyn Fn(&mut GroupInput)| {
        let mut g = base.clone();
        f(&mut g);
        g
    };
    let cases: Vec<(GroupInput, &str)> = vec![
        (with(&|g| g.ring_timeout_secs = 0), "ring_timeout_secs"),
        (with(&|g| g.wrap_up_secs = 5000), "wrap_up_secs"),
        (with(&|g| g.service_level_secs = 0), "service_level_secs"),
        (with(&|g| g.max_no_answer = 101), "max_no_answer"),
        (with(&|g| g.strategy = "loudest".into()), "strategy"),
        (
            with(&|g| g.overflow_kind = "elsewhere".into()),
            "overflow_kind",
        ),
        (
            with(&|g| g.overflow_target = "nowhere".into()),
            "overflow_target",
        ),
        (
            with(&|g| g.overflow_target = String::new()),
            "overflow_target",
        ),
        (
            with(&|g| {
                g.overflow_kind = "ivr".into();
                g.overflow_target = "missing".into();
            }),
            "overflow_target",
        ),
        (with(&|g| g.number = "6000".into()), "number"),
        (with(&|g| g.number = "x".into()), "number"),
        (with(&|g| g.members[0].extension = "1999".into()), "members"),
        (with(&|g| g.members[0].skill_level = 11), "members"),
        (with(&|g| g.members.push(g.members[0].clone())), "members"),
    ];
    for (g, want) in cases {
        assert_eq!(field(save_group(db.conn_mut(), "vip", &g)), want, "{g:?}");
    }
    assert_eq!(field(save_group(db.conn_mut(), "bad/name", &base)), "name");
    assert!(list_groups(db.conn())
        .unwrap()
        .iter()
        .all(|g| g.name != "vip"));
}

#[test]
fn an_agent_in_two_telemarketing_groups_is_refused_by_the_acd_rule() {
    let (_d, mut db) = demo();
    let tm = |number: &str| GroupInput {
        telemarketing: true,
        overflow_kind: "hangup".into(),
        overflow_target: String::new(),
        ..group(number, &["1005"])
    };
    save_group(db.conn_mut(), "tm1", &tm("6010")).unwrap();
    let err = save_group(db.conn_mut(), "tm2", &tm("6011"));
    match err {
        Err(AdminError::Invalid { field, message }) => {
            assert_eq!(field, "members");
            assert!(message.contains("telemarketing"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(list_groups(db.conn())
        .unwrap()
        .iter()
        .all(|g| g.name != "tm2"));
}

#[test]
fn a_group_behind_a_did_or_an_overflow_is_not_deleted() {
    let (_d, mut db) = demo();
    match delete_group(db.conn_mut(), "support") {
        Err(AdminError::InUse(m)) => assert!(m.contains("4001"), "{m}"),
        other => panic!("{other:?}"),
    }
    save_group(db.conn_mut(), "vip", &group("6002", &[])).unwrap();
    delete_did(db.conn(), "4001").unwrap();
    match delete_group(db.conn_mut(), "support") {
        Err(AdminError::InUse(m)) => assert!(m.contains("vip"), "{m}"),
        other => panic!("{other:?}"),
    }
    delete_group(db.conn_mut(), "sales").unwrap();
    assert!(list_groups(db.conn())
        .unwrap()
        .iter()
        .all(|g| g.name != "sales"));
}

#[test]
fn trunks_and_dids_check_addresses_and_targets() {
    let (_d, mut db) = demo();
    let trunk = TrunkRow {
        name: "carrier2".into(),
        host: "127.0.0.2".into(),
        port: 5070,
    };
    assert!(save_trunk(db.conn_mut(), &trunk).unwrap());
    let named = TrunkRow {
        host: "sip.example.com".into(),
        ..trunk.clone()
    };
    assert_eq!(field(save_trunk(db.conn_mut(), &named)), "host");
    let zero = TrunkRow {
        port: 0,
        ..trunk.clone()
    };
    assert_eq!(field(save_trunk(db.conn_mut(), &zero)), "port");
    assert!(matches!(
        delete_trunk(db.conn_mut(), "pstn"),
        Err(AdminError::InUse(m)) if m.contains("route 9")
    ));
    delete_trunk(db.conn_mut(), "carrier2").unwrap();

    let did = |kind: &str, target: &str| DidRow {
        number: "4002".into(),
        target_kind: kind.into(),
        target: target.into(),
    };
    assert!(save_did(db.conn_mut(), &did("group", "sales")).unwrap());
    assert!(!save_did(db.conn_mut(), &did("extension", "1003")).unwrap());
    assert!(save_did(db.conn_mut(), &did("ivr", "nope")).is_err());
    assert_eq!(
        field(save_did(db.conn_mut(), &did("group", "nope"))),
        "target"
    );
    assert_eq!(
        field(save_did(db.conn_mut(), &did("queue", "sales"))),
        "target_kind"
    );
    let dids = list_dids(db.conn()).unwrap();
    let d = dids.iter().find(|d| d.number == "4002").unwrap();
    assert_eq!(
        (d.target_kind.as_str(), d.target.as_str()),
        ("extension", "1003")
    );
}

#[test]
fn the_agent_policy_round_trips_and_refuses_system_states() {
    let (_d, db) = demo();
    assert_eq!(
        load_agent_policy(db.conn()).unwrap(),
        AgentPolicy::default()
    );
    let p = AgentPolicy {
        selectable: vec!["idle".into(), "break".into(), "offline".into()],
        break_reasons: vec![" 用餐 ".into(), "会议".into()],
    };
    let stored = save_agent_policy(db.conn(), &p).unwrap();
    assert_eq!(stored.break_reasons, ["用餐", "会议"]);
    assert_eq!(load_agent_policy(db.conn()).unwrap(), stored);
    let core = stored.to_policy().unwrap();
    assert!(!core
        .selectable
        .contains(&crate::core::acd::StateKind::Invisible));
    for (bad, want) in [
        (
            AgentPolicy {
                selectable: vec!["talking".into()],
                ..p.clone()
            },
            "selectable",
        ),
        (
            AgentPolicy {
                break_reasons: vec![],
                ..p.clone()
            },
            "break_reasons",
        ),
        (
            AgentPolicy {
                break_reasons: vec!["a:b".into()],
                ..p.clone()
            },
            "break_reasons",
        ),
        (
            AgentPolicy {
                break_reasons: vec!["会议".into(), "会议".into()],
                ..p.clone()
            },
            "break_reasons",
        ),
    ] {
        assert_eq!(field(save_agent_policy(db.conn(), &bad)), want, "{bad:?}");
    }
    assert_eq!(load_agent_policy(db.conn()).unwrap(), stored, "unchanged");
}
