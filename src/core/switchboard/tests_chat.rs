//! Web-chat sessions through the switchboard, checked against the seed's definitions (seed 002
//! §2.2 人工客服日统计: 平均首次响应时长, 30秒响应率, 平均回复时长; SPEC §11 rules 1–8 for the
//! visits). Chats go through the same public API the web tier uses (`Switchboard::chat`), the
//! events are fed to the reports and the live monitor, and every figure is worked out by hand.

use crate::core::chat::{ChatCommand, ChatReply, StartChat};

use super::*;

impl Sim {
    fn chat(&mut self, cmd: ChatCommand) -> Result<ChatReply, crate::core::chat::ChatError> {
        let now = self.now;
        let r = self.sb.chat(now, cmd);
        self.drain();
        r
    }

    /// A visitor opens a session in `group`: (session id, token).
    fn visitor(&mut self, group: &str) -> (String, String) {
        match self.chat(ChatCommand::Start(StartChat {
            group: Some(group.into()),
            visitor: format!("v{}", self.clock()),
            ..StartChat::default()
        })) {
            Ok(ChatReply::Started { view, token }) => (view.id, token),
            other => panic!("a session: {other:?}"),
        }
    }

    fn says(&mut self, (id, token): &(String, String), text: &str) {
        self.chat(ChatCommand::VisitorSend {
            session: id.clone(),
            token: token.clone(),
            text: text.into(),
        })
        .expect("visitor message");
    }

    fn replies(&mut self, agent: &str, (id, _): &(String, String), text: &str) {
        self.chat(ChatCommand::AgentSend {
            session: id.clone(),
            agent: agent.into(),
            text: text.into(),
        })
        .expect("agent message");
    }

    fn ends(&mut self, agent: &str, (id, _): &(String, String)) {
        self.chat(ChatCommand::AgentEnd {
            session: id.clone(),
            agent: Some(agent.into()),
        })
        .expect("end");
    }

    /// Moves the clock to local 09:00 + `secs`.
    fn at(&mut self, secs: i64) {
        let d = 9 * H + secs * S - self.clock();
        assert!(d >= 0, "time runs forward");
        self.advance(Duration::from_millis(d as u64));
    }

    fn serving(&self, id: &str) -> Option<String> {
        self.log()
            .iter()
            .rev()
            .find(|e| e.call_id.as_deref() == Some(id) && e.kind == "call.answered")
            .and_then(|e| e.agent.clone())
    }
}

#[test]
fn chat_sessions_give_the_seed_response_figures_and_leave_the_voice_figures_alone() {
    let mut sim = sim_at(9 * H, |_| {});
    for (ext, port) in [("1001", 7001), ("1002", 7002), ("1003", 7003)] {
        sim.register(ext, port);
    }
    // 1003 of sales stays off chats until B is transferred to sales.
    sim.agent_to("1003", "break", Some("小休"));
    sim.at(0);
    // A: 1001 (both idle with no chats: the first member). Visitor writes at 2 and 5 s, 1001
    // answers at 12 s (first response 12 s; the visitor's run started at 2 s: reply 10 s).
    let a = sim.visitor("support");
    assert_eq!(sim.serving(&a.0).as_deref(), Some("1001"));
    sim.at(2);
    sim.says(&a, "hello");
    sim.at(5);
    sim.says(&a, "anyone there?");
    sim.at(12);
    sim.replies("1001", &a, "Hello, how can I help?");
    // B at 20 s: 1002 has fewer chats than 1001. The visitor writes at 25 s; 1002 never
    // answers and hands it to sales at 50 s, where 1003 (back from break) takes it at once
    // and answers at 55 s: 1003's first response 5 s, reply 5 s (the run began before 1003
    // had the chat, so it counts from the assignment).
    sim.at(20);
    let b = sim.visitor("support");
    assert_eq!(sim.serving(&b.0).as_deref(), Some("1002"));
    sim.at(25);
    sim.says(&b, "I want to buy");
    sim.at(40);
    sim.says(&a, "my order is late");
    sim.at(50);
    sim.agent_to("1003", "idle", None);
    sim.chat(ChatCommand::Transfer {
        session: b.0.clone(),
        agent: "1002".into(),
        group: "sales".into(),
    })
    .expect("transfer");
    assert_eq!(sim.serving(&b.0).as_deref(), Some("1003"));
    sim.at(55);
    sim.replies("1003", &b, "Sales here");
    sim.at(80);
    sim.chat(ChatCommand::VisitorEnd {
        session: b.0.clone(),
        token: b.1.clone(),
    })
    .expect("visitor leaves");
    // A goes on: 1001 replies to the 40 s message at 95 s (reply 55 s), invites a rating at
    // 100 s, the visitor rates 2 (满意) at 105 s and 1001 ends at 110 s.
    sim.at(95);
    sim.replies("1001", &a, "It ships today");
    sim.at(100);
    sim.chat(ChatCommand::InviteRating {
        session: a.0.clone(),
        agent: "1001".into(),
    })
    .expect("invite");
    sim.at(105);
    sim.chat(ChatCommand::Rate {
        session: a.0.clone(),
        token: a.1.clone(),
        value: 2,
        comment: Some("quick".into()),
    })
    .expect("rating");
    sim.at(110);
    sim.ends("1001", &a);
    // 1001 and 1002 now take one chat each: D → 1001 at 130 s, E → 1002 at 131 s, C waits
    // at 132 s and leaves at 150 s (排队放弃). 1001 never writes in D and ends it at 200 s;
    // 1002 answers E at 161 s — exactly 30 s — and ends at 170 s.
    sim.sb.plan.chat_limits = [("1001".to_owned(), 1), ("1002".to_owned(), 1)].into();
    sim.sb.configure_chat();
    sim.at(130);
    let d = sim.visitor("support");
    sim.at(131);
    let e = sim.visitor("support");
    sim.at(132);
    let c = sim.visitor("support");
    assert_eq!(sim.serving(&d.0).as_deref(), Some("1001"));
    assert_eq!(sim.serving(&e.0).as_deref(), Some("1002"));
    assert_eq!(
        sim.serving(&c.0),
        None,
        "C waits: both agents are at their limit"
    );
    sim.at(150);
    sim.chat(ChatCommand::VisitorEnd {
        session: c.0.clone(),
        token: c.1.clone(),
    })
    .expect("leaves the queue");
    sim.at(161);
    sim.replies("1002", &e, "Hi");
    sim.at(170);
    sim.ends("1002", &e);
    sim.at(200);
    sim.ends("1001", &d);

    let log = sim.log();
    let day = reports_of(&log, day(), MIDNIGHT + sim.clock());
    // Support: A, C, D, E stayed (B left by transfer): inflow 4, answered A, D, E = 3,
    // transfer-out 1, abandoned 1 (C). Sales: B by transfer, answered by 1003.
    let s = day.group("support");
    assert_eq!(
        (s.inflow, s.answered, s.lost, s.transfer_out, s.abandoned),
        (4, 3, 1, 1, 1)
    );
    assert_eq!((s.direct_inflow, s.direct_answered), (4, 3));
    assert_eq!((s.rated, s.satisfied, s.invitations), (1, 1, 1));
    let sales = day.group("sales");
    assert_eq!(
        (sales.inflow, sales.answered, sales.direct_inflow),
        (1, 1, 0)
    );

    // 1001: A and D. First responses: A 12 s, D none. 30 s responses 1 of 2 answered.
    // Replies in A: 10 s and 55 s → 32.5 s.
    let r1 = day.agent("1001");
    assert_eq!((r1.answered, r1.sessions, r1.transfer_out), (2, 2, 0));
    assert_eq!(r1.responded_30s, 1);
    assert_rate!(r1.response_30s_rate.expect("a rate"), 0.5);
    // The average first response is over the sessions that had one (A): 12 s.
    assert_rate!(r1.first_response_avg_secs.expect("1001 responded"), 12.0);
    assert_rate!(r1.avg_reply_secs.expect("1001 replied"), 32.5);
    assert_eq!((r1.rated, r1.satisfied, r1.invitations), (1, 1, 1));
    // 1002: B (transferred out without a word) and E (30 s: within 30 s). No visitor message
    // of E, and B's was never answered by 1002: no reply time.
    let r2 = day.agent("1002");
    assert_eq!((r2.answered, r2.sessions, r2.transfer_out), (2, 2, 1));
    assert_eq!(r2.responded_30s, 1);
    assert_rate!(r2.response_30s_rate.expect("a rate"), 0.5);
    assert_rate!(r2.first_response_avg_secs.expect("1002 responded"), 30.0);
    assert_eq!(r2.avg_reply_secs, None);
    // 1003: B from 50 s, first response 5 s, reply 5 s.
    let r3 = day.agent("1003");
    assert_eq!((r3.answered, r3.sessions, r3.responded_30s), (1, 1, 1));
    assert_rate!(r3.first_response_avg_secs.expect("1003 responded"), 5.0);
    assert_rate!(r3.avg_reply_secs.expect("1003 replied"), 5.0);

    // Chats are not calls: no voice traffic, no voice figure in the monitor; its chat
    // figures are the chat rows' sums (SPEC §11: monitor and reports agree).
    assert!(day
        .traffic
        .iter()
        .all(|t| t.inbound == 0 && t.answered == 0));
    let snap = &day.snap;
    assert_eq!(
        (snap.inflow, snap.answered, snap.calls_in_progress),
        (0, 0, 0)
    );
    assert_eq!(
        (
            snap.chat_inflow,
            snap.chat_answered,
            snap.chat_abandoned,
            snap.chats_in_progress,
            snap.chats_queued
        ),
        (5, 4, 1, 0, 0)
    );
    for row in &day.agents {
        let p = day.panel(&row.agent);
        assert_eq!(
            (p.sessions, p.first_response_avg_secs, p.avg_reply_secs),
            (
                row.sessions,
                row.first_response_avg_secs,
                row.avg_reply_secs
            ),
            "monitor = report for agent {}",
            row.agent
        );
    }
    // Nothing is left open: every session ended.
    assert_eq!(sim.sb.open_chats(), 0);
    assert_eq!(
        log.iter().filter(|e| e.kind == "call.ended").count(),
        5,
        "A, B, C, D, E ended"
    );
}
