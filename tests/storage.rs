//! Storage against a real SQLite file: migrations, the single writer, call records, crash
//! recovery and the seeded configuration.

use std::path::PathBuf;

use branchline::storage::{
    events_for_call, list_calls, load_pbx_config, recover_interrupted, seed_demo,
    seed_initial_admin, verify_user, Cdr, Db, DidRow, Event, ExtensionRow, MemberRow, Role,
    RouteRow, StorageWriter, TrunkRow, SCHEMA_VERSION,
};
use serde_json::json;

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("branchline.db");
    (dir, path)
}

fn cdr(call_id: &str, started_at_ms: i64) -> Cdr {
    Cdr {
        call_id: call_id.into(),
        direction: "inbound".into(),
        caller: "13800138000".into(),
        callee: "4001".into(),
        trunk: Some("pstn".into()),
        did: Some("4001".into()),
        skill_group: Some("support".into()),
        agent: Some("agent1".into()),
        agent_extension: Some("1001".into()),
        started_at_ms,
        answered_at_ms: Some(started_at_ms + 8_000),
        ended_at_ms: started_at_ms + 68_000,
        wait_secs: 6.0,
        ring_secs: 2.0,
        talk_secs: 60.0,
        hangup_cause: "normal".into(),
        hangup_by: "caller".into(),
        sip_code: Some(200),
        recording_path: Some(format!("recordings/{call_id}.wav")),
        legs: json!([{"leg": "a", "rtp": {"packets": 3000, "lost": 2, "jitter_ms": 1.5}}]),
    }
}

fn call_event(call_id: &str, at_ms: i64, kind: &str) -> Event {
    Event {
        call_id: Some(call_id.into()),
        ..Event::new(at_ms, kind)
    }
}

#[test]
fn migrations_create_a_new_file_in_wal_mode_and_are_idempotent_on_reopen() {
    let (_dir, path) = temp_db();
    {
        let db = Db::open(&path).unwrap();
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
        let mode: String = db
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = db
            .conn()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        db.conn()
            .execute(
                "INSERT INTO extensions (number, sip_password) VALUES ('2000', 'x')",
                [],
            )
            .unwrap();
    }
    let db = Db::open(&path).unwrap();
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    let n: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM extensions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "reopening must not re-run migrations or lose rows");
}

#[test]
fn readonly_open_reads_but_cannot_write_and_refuses_an_unmigrated_file() {
    let (_dir, path) = temp_db();
    drop(Db::open(&path).unwrap());
    let ro = Db::open_readonly(&path).unwrap();
    assert_eq!(ro.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(ro
        .conn()
        .execute("INSERT INTO settings (key, value) VALUES ('k', 'v')", [])
        .is_err());

    let (_dir2, blank) = temp_db();
    rusqlite::Connection::open(&blank)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    assert!(Db::open_readonly(&blank).is_err());
}

#[test]
fn finish_call_commits_events_and_cdr_together_and_they_survive_reopen() {
    let (_dir, path) = temp_db();
    let writer = StorageWriter::start(&path).unwrap();
    writer.append(Event {
        data: json!({"caller": "13800138000", "callee": "4001"}),
        ..call_event("call-1", 1_000, "call.offered")
    });
    writer.finish_call(
        vec![
            call_event("call-1", 9_000, "call.answered"),
            call_event("call-1", 69_000, "call.ended"),
        ],
        cdr("call-1", 1_000),
    );
    writer.shutdown().unwrap();

    let db = Db::open(&path).unwrap();
    let events = events_for_call(db.conn(), "call-1").unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["call.offered", "call.answered", "call.ended"]);
    assert_eq!(events[0].data["caller"], "13800138000");
    let (calls, total) = list_calls(db.conn(), 1, 10).unwrap();
    assert_eq!(total, 1);
    assert_eq!(calls[0], cdr("call-1", 1_000));
}

#[test]
fn a_duplicate_cdr_rolls_back_its_own_events_only_and_flush_reports_it() {
    let (_dir, path) = temp_db();
    let writer = StorageWriter::start(&path).unwrap();
    writer.finish_call(vec![call_event("dup", 1, "call.ended")], cdr("dup", 1));
    writer.flush().unwrap();
    // Same call id again, batched with a healthy call.
    writer.finish_call(vec![call_event("dup", 2, "call.ended")], cdr("dup", 2));
    writer.finish_call(vec![call_event("ok", 3, "call.ended")], cdr("ok", 3));
    let err = writer.flush().unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    // The failure is reported once.
    writer.flush().unwrap();

    let db = Db::open_readonly(&path).unwrap();
    assert_eq!(events_for_call(db.conn(), "dup").unwrap().len(), 1);
    assert_eq!(events_for_call(db.conn(), "ok").unwrap().len(), 1);
    let (_, total) = list_calls(db.conn(), 1, 10).unwrap();
    assert_eq!(total, 2);
    writer.shutdown().unwrap();
}

#[test]
fn flush_makes_everything_sent_from_any_handle_visible_to_readers() {
    let (_dir, path) = temp_db();
    let writer = StorageWriter::start(&path).unwrap();
    let reader = Db::open_readonly(&path).unwrap();
    let other = writer.clone();
    let t = std::thread::spawn(move || {
        for i in 0..500 {
            other.append(call_event("bulk", i, "media.stats"));
        }
    });
    t.join().unwrap();
    for i in 500..1000 {
        writer.append(call_event("bulk", i, "media.stats"));
    }
    writer.flush().unwrap();
    let events = events_for_call(reader.conn(), "bulk").unwrap();
    assert_eq!(events.len(), 1000);
    writer.shutdown().unwrap();
}

#[test]
fn list_calls_is_newest_first_and_pages_without_overlap() {
    let (_dir, path) = temp_db();
    let writer = StorageWriter::start(&path).unwrap();
    // Written out of start-time order on purpose.
    for (i, start) in [30, 10, 50, 20, 40, 60, 70].iter().enumerate() {
        writer.finish_call(Vec::new(), cdr(&format!("c{i}"), *start * 1000));
    }
    writer.flush().unwrap();
    let db = Db::open_readonly(&path).unwrap();

    let starts = |page, per_page| {
        let (items, total) = list_calls(db.conn(), page, per_page).unwrap();
        assert_eq!(total, 7);
        items
            .iter()
            .map(|c| c.started_at_ms / 1000)
            .collect::<Vec<_>>()
    };
    assert_eq!(starts(1, 3), [70, 60, 50]);
    assert_eq!(starts(2, 3), [40, 30, 20]);
    assert_eq!(starts(3, 3), [10]);
    assert!(starts(4, 3).is_empty());
    assert_eq!(starts(1, 100).len(), 7);
    assert!(list_calls(db.conn(), 0, 3).is_err());
    assert!(list_calls(db.conn(), 1, 0).is_err());
    writer.shutdown().unwrap();
}

#[test]
fn recover_interrupted_closes_calls_without_an_end_exactly_once() {
    let (_dir, path) = temp_db();
    let writer = StorageWriter::start(&path).unwrap();
    // A call that was talking when the power went.
    writer.append(Event {
        data: json!({"caller": "13900000000", "callee": "4001", "did": "4001", "trunk": "pstn"}),
        ..call_event("live", 10_000, "call.offered")
    });
    writer.append(Event {
        group: Some("support".into()),
        ..call_event("live", 10_500, "queue.entered")
    });
    writer.append(Event {
        agent: Some("agent2".into()),
        data: json!({"extension": "1002"}),
        ..call_event("live", 14_500, "call.answered")
    });
    // A call that ended normally: not interrupted.
    writer.append(call_event("done", 1_000, "call.offered"));
    writer.finish_call(
        vec![call_event("done", 5_000, "call.ended")],
        cdr("done", 1_000),
    );
    // A call that only got offered.
    writer.append(call_event("early", 20_000, "call.offered"));
    writer.shutdown().unwrap();

    let mut db = Db::open(&path).unwrap();
    let recovered = recover_interrupted(db.conn_mut(), 99_000_000).unwrap();
    let ids: Vec<&str> = recovered.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(ids, ["live", "early"]);
    let live = &recovered[0];
    assert_eq!(live.hangup_cause, "interrupted");
    assert_eq!(live.hangup_by, "system");
    assert_eq!(live.skill_group.as_deref(), Some("support"));
    assert_eq!(live.agent.as_deref(), Some("agent2"));
    assert_eq!(live.answered_at_ms, Some(14_500));
    assert_eq!(live.wait_secs, 4.0);
    assert_eq!(live.ended_at_ms, 14_500, "downtime is not talk time");

    // Written as CDRs with a closing event, so a second start finds nothing.
    let (calls, total) = list_calls(db.conn(), 1, 10).unwrap();
    assert_eq!(total, 3);
    assert!(calls
        .iter()
        .any(|c| c.call_id == "early" && c.hangup_cause == "interrupted"));
    let live_events = events_for_call(db.conn(), "live").unwrap();
    let ended = live_events.last().unwrap();
    assert_eq!(ended.kind, "call.ended");
    assert_eq!(ended.data["recovered_at_ms"], 99_000_000);
    assert!(recover_interrupted(db.conn_mut(), 99_000_001)
        .unwrap()
        .is_empty());
}

#[test]
fn seed_demo_creates_exactly_the_spec_profile_once() {
    let (_dir, path) = temp_db();
    let mut db = Db::open(&path).unwrap();
    assert!(seed_demo(db.conn_mut()).unwrap());
    assert!(!seed_demo(db.conn_mut()).unwrap(), "second run is a no-op");

    let cfg = load_pbx_config(db.conn()).unwrap();
    assert_eq!(cfg.realm, "branchline");
    let numbers: Vec<&str> = cfg.extensions.iter().map(|e| e.number.as_str()).collect();
    assert_eq!(
        numbers,
        ["1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009", "1010"]
    );
    assert!(cfg
        .extensions
        .iter()
        .all(|e: &ExtensionRow| e.password == format!("pass{}", e.number)));

    assert_eq!(cfg.skill_groups.len(), 2);
    let sales = &cfg.skill_groups[0];
    let support = &cfg.skill_groups[1];
    assert_eq!(
        (sales.name.as_str(), sales.number.as_str()),
        ("sales", "6001")
    );
    assert_eq!(
        (support.name.as_str(), support.number.as_str()),
        ("support", "6000")
    );
    for g in &cfg.skill_groups {
        assert_eq!(g.strategy, "longest-idle");
        assert_eq!(g.ring_timeout_secs, 15);
        assert!(g.record);
    }
    let members = |g: &branchline::storage::SkillGroupRow| -> Vec<MemberRow> { g.members.clone() };
    assert_eq!(
        members(support),
        [
            MemberRow {
                extension: "1001".into(),
                priority: 1
            },
            MemberRow {
                extension: "1002".into(),
                priority: 1
            }
        ]
    );
    assert_eq!(
        members(sales)
            .iter()
            .map(|m| m.extension.as_str())
            .collect::<Vec<_>>(),
        ["1003", "1004"]
    );
    assert_eq!(
        cfg.trunks,
        [TrunkRow {
            name: "pstn".into(),
            host: "127.0.0.1".into(),
            port: 5080
        }]
    );
    assert_eq!(
        cfg.dids,
        [
            DidRow {
                number: "4000".into(),
                target_kind: "ivr".into(),
                target: "main".into()
            },
            DidRow {
                number: "4001".into(),
                target_kind: "group".into(),
                target: "support".into()
            },
            DidRow {
                number: "7000".into(),
                target_kind: "ivr".into(),
                target: "main".into(),
            },
        ]
    );
    assert_eq!(
        cfg.outbound_routes,
        [RouteRow {
            prefix: "9".into(),
            strip: 1,
            trunk: "pstn".into(),
            prepend: String::new(),
            caller_id: String::new(),
            allow: String::new(),
            deny: "00".into(),
            min_digits: 3,
            max_digits: 20,
            max_per_hour: 0,
            max_per_hour_per_extension: 0,
        }]
    );

    // Users: the demo passwords work, with the right roles and extensions.
    let user_count: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(user_count, 6);
    let admin = verify_user(db.conn(), "admin", "admin").unwrap().unwrap();
    assert_eq!(admin.role, Role::Admin);
    let sup = verify_user(db.conn(), "super", "super").unwrap().unwrap();
    assert_eq!(sup.role, Role::Supervisor);
    for n in 1..=4 {
        let name = format!("agent{n}");
        let u = verify_user(db.conn(), &name, "agent").unwrap().unwrap();
        assert_eq!(u.role, Role::Agent);
        let ext: String = db
            .conn()
            .query_row(
                "SELECT extension FROM users WHERE username = ?1",
                [&name],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(ext, format!("100{n}"));
    }
    assert!(verify_user(db.conn(), "admin", "wrong").unwrap().is_none());
    assert!(verify_user(db.conn(), "nobody", "admin").unwrap().is_none());
}

#[test]
fn seed_initial_admin_creates_a_random_working_password_once() {
    let (_dir, path) = temp_db();
    let mut db = Db::open(&path).unwrap();
    let password = seed_initial_admin(db.conn_mut()).unwrap().unwrap();
    assert_ne!(password, "admin");
    assert!(password.len() >= 16);
    let admin = verify_user(db.conn(), "admin", &password).unwrap().unwrap();
    assert_eq!(admin.role, Role::Admin);
    assert!(verify_user(db.conn(), "admin", "admin").unwrap().is_none());
    assert_eq!(seed_initial_admin(db.conn_mut()).unwrap(), None);
    assert!(
        !seed_demo(db.conn_mut()).unwrap(),
        "an existing box is never demo-seeded"
    );
}
