use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::*;
use crate::core::time::WallMs;

fn t0() -> Now {
    Now {
        mono: Instant::ZERO,
        wall: WallMs(1_790_000_000_000),
    }
}

fn desk() -> ChatDesk {
    let mut d = ChatDesk::new(ChatConfig::default());
    let mut groups = BTreeMap::new();
    groups.insert(
        "support".to_owned(),
        vec!["1001".to_owned(), "1002".to_owned()],
    );
    groups.insert("sales".to_owned(), vec!["1003".to_owned()]);
    d.set_groups(groups, Some("support".into()));
    d
}

fn everyone(_: &str) -> bool {
    true
}

fn start(d: &mut ChatDesk, rng: &mut Rng, now: Now, ok: &dyn Fn(&str) -> bool) -> (String, String) {
    match d.handle(
        now,
        rng,
        ChatCommand::Start(StartChat {
            visitor: "v1".into(),
            ..StartChat::default()
        }),
        ok,
    ) {
        Ok(ChatReply::Started { view, token }) => (view.id, token),
        other => panic!("start failed: {other:?}"),
    }
}

fn kinds(d: &mut ChatDesk) -> Vec<(String, Option<String>)> {
    std::iter::from_fn(|| d.poll_event())
        .map(|e| (e.kind, e.agent))
        .collect()
}

#[test]
fn a_visitor_is_assigned_at_once_and_the_conversation_is_logged_as_an_interaction() {
    let (mut d, mut rng) = (desk(), Rng::seeded(1));
    let (id, token) = start(&mut d, &mut rng, t0(), &everyone);
    assert!(id.starts_with("chat-"));
    let later = t0().advance(Duration::from_secs(4));
    d.handle(
        later,
        &mut rng,
        ChatCommand::VisitorSend {
            session: id.clone(),
            token: token.clone(),
            text: " hello ".into(),
        },
        &everyone,
    )
    .expect("visitor message");
    d.handle(
        later,
        &mut rng,
        ChatCommand::AgentSend {
            session: id.clone(),
            agent: "1001".into(),
            text: "hi, how can I help?".into(),
        },
        &everyone,
    )
    .expect("agent message");
    d.handle(
        later,
        &mut rng,
        ChatCommand::AgentEnd {
            session: id.clone(),
            agent: Some("1001".into()),
        },
        &everyone,
    )
    .expect("end");
    let got = kinds(&mut d);
    let names: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "call.offered",
            "queue.entered",
            "call.answered",
            "chat.message",
            "chat.message",
            "agent.left",
            "call.ended"
        ]
    );
    // Once assigned, the visitor's messages name the serving agent too (EVENTS.md).
    assert_eq!(got[3].1.as_deref(), Some("1001"));
    assert_eq!(d.agent_load("1001"), 0);
}

#[test]
fn chats_go_to_the_least_loaded_member_up_to_the_limit_then_wait() {
    let (mut d, mut rng) = (desk(), Rng::seeded(2));
    d.set_limits(HashMap::from([
        ("1001".to_owned(), 1),
        ("1002".to_owned(), 2),
    ]));
    let mut now = t0();
    let mut ids = Vec::new();
    for _ in 0..4 {
        now = now.advance(Duration::from_secs(1));
        ids.push(start(&mut d, &mut rng, now, &everyone));
    }
    assert_eq!(d.agent_load("1001"), 1);
    assert_eq!(d.agent_load("1002"), 2);
    // The fourth waits, first in line.
    let Ok(ChatReply::Session(v)) = d.handle(
        now,
        &mut rng,
        ChatCommand::VisitorGet {
            session: ids[3].0.clone(),
            token: ids[3].1.clone(),
        },
        &everyone,
    ) else {
        panic!("get")
    };
    assert_eq!((v.phase, v.position), (Phase::Queued, Some(1)));
    // 1001 finishes a chat: the waiting one is theirs.
    let first_of_1001 = match d.handle(
        now,
        &mut rng,
        ChatCommand::List {
            agent: Some("1001".into()),
        },
        &everyone,
    ) {
        Ok(ChatReply::Sessions(l)) => l[0].id.clone(),
        other => panic!("{other:?}"),
    };
    d.handle(
        now,
        &mut rng,
        ChatCommand::AgentEnd {
            session: first_of_1001,
            agent: Some("1001".into()),
        },
        &everyone,
    )
    .expect("end");
    let Ok(ChatReply::Session(v)) = d.handle(
        now,
        &mut rng,
        ChatCommand::Get {
            session: ids[3].0.clone(),
        },
        &everyone,
    ) else {
        panic!("get")
    };
    assert_eq!((v.phase, v.agent.as_deref()), (Phase::Active, Some("1001")));
}

#[test]
fn nobody_online_means_leave_a_message_and_a_break_holds_the_queue() {
    let (mut d, mut rng) = (desk(), Rng::seeded(3));
    let err = d
        .handle(
            t0(),
            &mut rng,
            ChatCommand::Start(StartChat {
                visitor: "v".into(),
                ..StartChat::default()
            }),
            &|_| false,
        )
        .expect_err("nobody online");
    assert_eq!(err, ChatError::NoAgents("support".into()));
    assert!(d.poll_event().is_none(), "a refused start logs nothing");
    // Online but at the limit: the visitor waits; after the queue timeout the session ends.
    d.set_limits(HashMap::from([
        ("1001".to_owned(), 0),
        ("1002".to_owned(), 0),
    ]));
    let (id, _) = start(&mut d, &mut rng, t0(), &everyone);
    let due = d.poll_timeout().expect("queue timer");
    assert_eq!(due, Instant::ZERO + Duration::from_secs(600));
    d.handle_timeout(t0().advance(Duration::from_secs(600)));
    let got = kinds(&mut d);
    assert_eq!(got.last().map(|k| k.0.as_str()), Some("call.ended"));
    assert!(
        !got.iter().any(|k| k.0 == "queue.abandoned"),
        "a timeout is no abandon"
    );
    let Ok(ChatReply::Session(v)) =
        d.handle(t0(), &mut rng, ChatCommand::Get { session: id }, &everyone)
    else {
        panic!("get")
    };
    assert_eq!(v.end_cause.as_deref(), Some("queue_timeout"));
}

#[test]
fn a_visitor_leaving_the_queue_abandons_it() {
    let (mut d, mut rng) = (desk(), Rng::seeded(4));
    d.set_limits(HashMap::from([
        ("1001".to_owned(), 0),
        ("1002".to_owned(), 0),
    ]));
    let (id, token) = start(&mut d, &mut rng, t0(), &everyone);
    d.handle(
        t0(),
        &mut rng,
        ChatCommand::VisitorEnd { session: id, token },
        &everyone,
    )
    .expect("leave");
    let got: Vec<String> = kinds(&mut d).into_iter().map(|k| k.0).collect();
    assert_eq!(
        got,
        [
            "call.offered",
            "queue.entered",
            "queue.abandoned",
            "call.ended"
        ]
    );
}

#[test]
fn a_transfer_moves_the_chat_to_the_other_groups_agent() {
    let (mut d, mut rng) = (desk(), Rng::seeded(5));
    let (id, token) = start(&mut d, &mut rng, t0(), &everyone);
    let _ = kinds(&mut d);
    d.handle(
        t0(),
        &mut rng,
        ChatCommand::Transfer {
            session: id.clone(),
            agent: "1001".into(),
            group: "sales".into(),
        },
        &everyone,
    )
    .expect("transfer");
    let got = kinds(&mut d);
    let names: Vec<&str> = got.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "call.transferred",
            "agent.left",
            "queue.entered",
            "call.answered"
        ]
    );
    assert_eq!(got[3].1.as_deref(), Some("1003"));
    // The old agent can no longer write; the visitor can rate the new one.
    let err = d
        .handle(
            t0(),
            &mut rng,
            ChatCommand::AgentSend {
                session: id.clone(),
                agent: "1001".into(),
                text: "x".into(),
            },
            &everyone,
        )
        .expect_err("not serving");
    assert_eq!(err, ChatError::NotServing("1001".into()));
    d.handle(
        t0(),
        &mut rng,
        ChatCommand::Rate {
            session: id,
            token,
            value: 1,
            comment: None,
        },
        &everyone,
    )
    .expect("rate");
    let rated = kinds(&mut d);
    assert_eq!(rated[0].0, "rating.given");
    assert_eq!(rated[0].1.as_deref(), Some("1003"));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (mut d, mut rng) = (desk(), Rng::seeded(6));
    let (id, token) = start(&mut d, &mut rng, t0(), &everyone);
    let _ = kinds(&mut d);
    let cases = [
        ChatCommand::VisitorSend {
            session: id.clone(),
            token: "wrong".into(),
            text: "hi".into(),
        },
        ChatCommand::VisitorSend {
            session: id.clone(),
            token: token.clone(),
            text: "   ".into(),
        },
        ChatCommand::VisitorSend {
            session: id.clone(),
            token: token.clone(),
            text: "x".repeat(2001),
        },
        ChatCommand::Rate {
            session: id.clone(),
            token: token.clone(),
            value: 6,
            comment: None,
        },
        ChatCommand::Transfer {
            session: id.clone(),
            agent: "1001".into(),
            group: "nowhere".into(),
        },
        ChatCommand::Start(StartChat {
            group: Some("nowhere".into()),
            visitor: "v".into(),
            ..StartChat::default()
        }),
        ChatCommand::Start(StartChat {
            visitor: "v".into(),
            name: Some("a\u{7}b".into()),
            ..StartChat::default()
        }),
    ];
    for c in cases {
        assert!(
            d.handle(t0(), &mut rng, c.clone(), &everyone).is_err(),
            "{c:?}"
        );
    }
    assert!(d.poll_event().is_none(), "refusals log nothing");
}

#[test]
fn an_idle_conversation_ends_and_the_session_is_forgotten_after_the_linger() {
    let (mut d, mut rng) = (desk(), Rng::seeded(7));
    let (id, token) = start(&mut d, &mut rng, t0(), &everyone);
    d.handle_timeout(t0().advance(Duration::from_secs(900)));
    assert_eq!(d.agent_load("1001"), 0);
    let ended = t0().advance(Duration::from_secs(900));
    assert_eq!(
        d.poll_timeout(),
        Some(ended.mono + Duration::from_secs(600))
    );
    d.handle_timeout(ended.advance(Duration::from_secs(600)));
    let err = d
        .handle(
            ended,
            &mut rng,
            ChatCommand::VisitorGet {
                session: id.clone(),
                token,
            },
            &everyone,
        )
        .expect_err("forgotten");
    assert_eq!(err, ChatError::NotFound(id));
}

#[test]
fn the_next_timer_follows_every_change_of_a_session() {
    let (mut d, mut rng) = (desk(), Rng::seeded(8));
    assert_eq!(d.poll_timeout(), None);
    let (id, token) = start(&mut d, &mut rng, t0(), &everyone);
    // Assigned at once: the idle timer runs from the start.
    assert_eq!(
        d.poll_timeout(),
        Some(Instant::ZERO + Duration::from_secs(900))
    );
    let later = t0().advance(Duration::from_secs(100));
    d.handle(
        later,
        &mut rng,
        ChatCommand::VisitorSend {
            session: id.clone(),
            token: token.clone(),
            text: "still there?".into(),
        },
        &everyone,
    )
    .expect("message");
    assert_eq!(
        d.poll_timeout(),
        Some(Instant::ZERO + Duration::from_secs(1000))
    );
    d.handle(
        later,
        &mut rng,
        ChatCommand::VisitorEnd { session: id, token },
        &everyone,
    )
    .expect("end");
    // Ended: only the linger remains, then nothing.
    assert_eq!(
        d.poll_timeout(),
        Some(Instant::ZERO + Duration::from_secs(700))
    );
    d.handle_timeout(t0().advance(Duration::from_secs(700)));
    assert_eq!(d.poll_timeout(), None);
}
