//! Web chat over real HTTP against a running demo daemon (SPEC §9, CHAT_API.md): a visitor opens
//! a session that goes to the signed-in agent 1001, both sides exchange messages (the visitor's
//! event stream delivers the agent's), the agent invites a rating, the visitor rates and ends;
//! the event log then holds the session in order and the session records list it with its first
//! response. Also: wrong tokens, agents who do not serve the chat, nobody online and the message
//! pool, validation, the per-address limits, the chat page's framing policy and `chat_limit`.
// The shared harness reads real clocks for its deadlines.
#![allow(clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{free_ports, register, request, Daemon, Reply, Workdir, BASIC_ADMIN};

const AGENT: &str = "Basic YWdlbnQxOmFnZW50"; // agent1:agent (extension 1001)
const AGENT2: &str = "Basic YWdlbnQyOmFnZW50"; // agent2:agent (extension 1002)

fn get(addr: SocketAddr, path: &str, auth: &str) -> Reply {
    request(addr, "GET", path, &[("Authorization", auth)], b"")
}

fn staff(addr: SocketAddr, path: &str, auth: &str, body: &Value) -> Reply {
    request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

fn visitor(addr: SocketAddr, path: &str, token: &str, body: &Value) -> Reply {
    request(
        addr,
        "POST",
        path,
        &[
            ("X-Chat-Token", token),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

/// Asserts a 400 naming `field`.
fn assert_refused(r: &Reply, field: &str) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["field"], field, "{}", r.text());
}

/// An open SSE stream read as text.
struct Stream {
    sock: TcpStream,
    seen: String,
}

impl Stream {
    fn open(addr: SocketAddr, path: &str, auth: Option<&str>) -> Stream {
        let mut sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let auth = auth.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
        write!(sock, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n").unwrap();
        let mut s = Stream {
            sock,
            seen: String::new(),
        };
        s.wait_for("event: stream.open", Duration::from_secs(5));
        s
    }

    /// Reads until `want` has been seen; panics after `limit`.
    fn wait_for(&mut self, want: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; 4096];
        while !self.seen.contains(want) {
            assert!(
                Instant::now() < deadline,
                "stream never carried {want:?}: {}",
                self.seen
            );
            match self.sock.read(&mut buf) {
                Ok(0) => panic!("stream closed before {want:?}: {}", self.seen),
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(_) => {} // read timeout: keep waiting
            }
        }
    }
}

/// Opens a session, counting the attempt against the per-address limit.
fn start(d: &Daemon, starts: &mut usize, body: &Value) -> Reply {
    *starts += 1;
    visitor(d.http(), "/chat/api/sessions", "", body)
}

/// The events of `call_id` in the SQLite file, once `last_kind` is there (the writer batches).
fn logged_events(d: &Daemon, call_id: &str, last_kind: &str) -> Vec<(String, Value)> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let conn = rusqlite::Connection::open(d.data.join("branchline.db")).unwrap();
        let mut stmt = conn
            .prepare("SELECT kind, data FROM events WHERE call_id = ?1 ORDER BY id")
            .unwrap();
        let rows: Vec<(String, Value)> = stmt
            .query_map([call_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    serde_json::from_str(&r.get::<_, String>(1)?).unwrap(),
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        if rows.iter().any(|(k, _)| k == last_kind) || Instant::now() > deadline {
            return rows;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn pool_rows(d: &Daemon) -> i64 {
    let conn = rusqlite::Connection::open(d.data.join("branchline.db")).unwrap();
    conn.query_row("SELECT count(*) FROM chat_leave_messages", [], |r| r.get(0))
        .unwrap()
}

/// Registers 1001's phone (the demo's members are signed in once their phone registers) and
/// waits until the chat config says support is online.
fn sign_in_agent1(d: &Daemon) {
    let port = free_ports(1);
    register(d, "1001", port);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = request(d.http(), "GET", "/chat/api/config?group=support", &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
        if r.json()["online"] == true {
            assert!(r.json()["groups"]
                .as_array()
                .unwrap()
                .contains(&json!("sales")));
            return;
        }
        assert!(Instant::now() < deadline, "1001 never came online");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_visitor_and_an_agent_chat_rate_and_the_session_is_logged_and_listed() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let a = d.http();
    let mut starts = 0;

    // Nobody online yet: the visitor is offered the message form.
    let r = start(
        &d,
        &mut starts,
        &json!({"visitor": "v-0", "group": "support"}),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["offline"], true);
    let r = request(a, "GET", "/chat/api/config?group=nope", &[], b"");
    assert_eq!(r.status, 404);

    sign_in_agent1(&d);
    let r = start(
        &d,
        &mut starts,
        &json!({"visitor": "v-1", "group": "support", "name": "李雷", "page": "https://example.com/p"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let opened = r.json();
    let token = opened["token"].as_str().unwrap().to_owned();
    let id = opened["session"]["id"].as_str().unwrap().to_owned();
    assert_eq!(opened["session"]["phase"], "active");
    assert_eq!(opened["session"]["agent"], "1001");
    let base = format!("/chat/api/sessions/{id}");

    let mut events = Stream::open(a, &format!("{base}/stream?token={token}"), None);
    let mut workspace = Stream::open(a, "/api/events/stream", Some(AGENT));

    let r = visitor(
        a,
        &format!("{base}/messages"),
        &token,
        &json!({"text": "你好"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["from"], "visitor");

    // The agent's workspace lists the chat; another agent may not write in it.
    let r = get(a, "/api/chats", AGENT);
    assert_eq!(r.status, 200, "{}", r.text());
    let mine = r.json()["sessions"].as_array().unwrap().clone();
    assert!(mine.iter().any(|s| s["id"] == id.as_str()), "{mine:?}");
    assert_eq!(get(a, "/api/chats", AGENT2).json()["sessions"], json!([]));
    let r = staff(
        a,
        &format!("/api/chats/{id}/messages"),
        AGENT2,
        &json!({"text": "x"}),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(get(a, &format!("/api/chats/{id}"), AGENT2).status, 404);

    std::thread::sleep(Duration::from_millis(300));
    let r = staff(
        a,
        &format!("/api/chats/{id}/messages"),
        AGENT,
        &json!({"text": "您好，请讲"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["agent"], "1001");
    // The visitor's stream delivers the agent's message.
    events.wait_for("您好，请讲", Duration::from_secs(5));
    assert!(events.seen.contains("event: chat.message"));
    assert!(
        events.seen.contains("你好"),
        "the visitor's own message too"
    );
    // The agent's live feed carries the session's events (they name the serving agent).
    workspace.wait_for("您好，请讲", Duration::from_secs(5));
    assert!(workspace.seen.contains("你好"));

    // A wrong token reads as no session; a message over 2,000 characters is refused.
    let r = request(a, "GET", &base, &[("X-Chat-Token", "wrong")], b"");
    assert_eq!(r.status, 404, "{}", r.text());
    let r = visitor(
        a,
        &format!("{base}/messages"),
        "wrong",
        &json!({"text": "hi"}),
    );
    assert_eq!(r.status, 404);
    let long = "字".repeat(2001);
    assert_refused(
        &visitor(
            a,
            &format!("{base}/messages"),
            &token,
            &json!({"text": long}),
        ),
        "text",
    );
    assert_refused(
        &visitor(a, &format!("{base}/messages"), &token, &json!({})),
        "text",
    );
    let r = request(
        a,
        "POST",
        &format!("{base}/messages"),
        &[("X-Chat-Token", &token)],
        b"{nope",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "bad_json");

    let r = staff(
        a,
        &format!("/api/chats/{id}/invite-rating"),
        AGENT,
        &json!({}),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    events.wait_for("event: rating.invited", Duration::from_secs(5));
    let r = request(a, "GET", &base, &[("X-Chat-Token", &token)], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["invited"], true);
    assert_eq!(r.json()["messages"].as_array().unwrap().len(), 2);

    assert_refused(
        &visitor(a, &format!("{base}/rating"), &token, &json!({"value": 6})),
        "value",
    );
    let r = visitor(
        a,
        &format!("{base}/rating"),
        &token,
        &json!({"value": 1, "comment": "很好"}),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let r = visitor(a, &format!("{base}/end"), &token, &json!({}));
    assert_eq!(r.status, 204, "{}", r.text());
    events.wait_for("event: call.ended", Duration::from_secs(5));
    let r = visitor(
        a,
        &format!("{base}/messages"),
        &token,
        &json!({"text": "还在吗"}),
    );
    assert_eq!(r.status, 409, "{}", r.text());

    // The log holds the session in order.
    let log = logged_events(&d, &id, "call.ended");
    let kinds: Vec<&str> = log.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"call.offered"), "{kinds:?}");
    assert_eq!(log[0].1["channel"], "chat");
    assert_eq!(kinds.last(), Some(&"call.ended"), "{kinds:?}");
    let pos = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("{k} in {kinds:?}"))
    };
    assert!(pos("queue.entered") < pos("call.answered"));
    assert!(pos("call.answered") < pos("chat.message"));
    assert!(pos("rating.invited") < pos("rating.given"));
    assert_eq!(kinds.iter().filter(|k| **k == "chat.message").count(), 2);

    // Session records: the agent's own, the admin's, none for another agent.
    let r = get(a, "/api/chat-records", AGENT);
    assert_eq!(r.status, 200, "{}", r.text());
    let rows = r.json()["rows"].as_array().unwrap().clone();
    let row = rows
        .iter()
        .find(|x| x["id"] == id.as_str())
        .expect("listed");
    assert_eq!(row["agents"], json!(["1001"]));
    assert_eq!(row["messages"], 2);
    assert_eq!(row["rating"], 1);
    assert_eq!(row["invited"], true);
    assert_eq!(row["name"], "李雷");
    assert_eq!(row["end_cause"], "visitor_left");
    let first = row["first_response_secs"].as_f64().expect("first response");
    assert!((0.2..30.0).contains(&first), "{first}");
    assert_eq!(
        get(a, "/api/chat-records", AGENT2).json()["rows"],
        json!([])
    );
    let r = get(a, "/api/chat-records?group=support&limit=1", BASIC_ADMIN);
    assert_eq!(r.json()["rows"].as_array().unwrap().len(), 1);
    assert_refused(
        &get(a, "/api/chat-records?from=yesterday", BASIC_ADMIN),
        "from",
    );
    let csv = get(a, "/api/chat-records?format=csv&lang=en", BASIC_ADMIN);
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with(b"\xEF\xBB\xBF"), "BOM");
    assert!(csv.text().contains("您好，请讲") && csv.text().contains("Transcript"));
    let xlsx = get(a, "/api/chat-records?format=xlsx", BASIC_ADMIN);
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.body.starts_with(b"PK"), "a zip workbook");
    // The ended session is read back from the log.
    let r = get(a, &format!("/api/chats/{id}"), AGENT);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["phase"], "ended");
    assert_eq!(r.json()["messages"].as_array().unwrap().len(), 2);

    // The agent hands a chat to another group; a supervisor ends it.
    let r = start(
        &d,
        &mut starts,
        &json!({"visitor": "v-4", "group": "support"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let (sid, tok) = (
        r.json()["session"]["id"].as_str().unwrap().to_owned(),
        r.json()["token"].as_str().unwrap().to_owned(),
    );
    let mut second = Stream::open(
        a,
        &format!("/chat/api/sessions/{sid}/stream?token={tok}"),
        None,
    );
    assert_refused(
        &staff(a, &format!("/api/chats/{sid}/transfer"), AGENT, &json!({})),
        "group",
    );
    let r = staff(a, &format!("/api/chats/{sid}/end"), AGENT2, &json!({}));
    assert_eq!(r.status, 403, "another agent's chat: {}", r.text());
    let r = staff(
        a,
        &format!("/api/chats/{sid}/transfer"),
        AGENT,
        &json!({"group": "sales"}),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    second.wait_for("event: call.transferred", Duration::from_secs(5));
    second.wait_for("event: queue.entered", Duration::from_secs(5));
    assert!(!second.seen.contains(&id), "only its own session's events");
    const SUPER: &str = "Basic c3VwZXI6c3VwZXI="; // super:super
    let r = get(a, "/api/chats", SUPER);
    assert!(r.text().contains(&sid), "{}", r.text());
    // Once queued again nobody serves it: an agent's end is refused as not assigned.
    let r = staff(a, &format!("/api/chats/{sid}/end"), AGENT2, &json!({}));
    assert_eq!(r.status, 409, "{}", r.text());
    let r = staff(a, &format!("/api/chats/{sid}/end"), SUPER, &json!({}));
    assert_eq!(r.status, 204, "{}", r.text());
    let r = request(
        a,
        "GET",
        &format!("/chat/api/sessions/{sid}"),
        &[("X-Chat-Token", &tok)],
        b"",
    );
    assert_eq!(r.json()["phase"], "ended");
    assert_eq!(r.json()["end_cause"], "agent_ended");

    // chat_limit reaches the desk on reload: with 0, a new session waits in the queue.
    assert_refused(
        &request(
            a,
            "PUT",
            "/api/users/agent1",
            &[("Authorization", BASIC_ADMIN)],
            json!({"display_name": "Agent 1", "role": "agent", "extension": "1001", "chat_limit": 21})
                .to_string()
                .as_bytes(),
        ),
        "chat_limit",
    );
    let r = request(
        a,
        "PUT",
        "/api/users/agent1",
        &[("Authorization", BASIC_ADMIN)],
        json!({"display_name": "Agent 1", "role": "agent", "extension": "1001", "chat_limit": 0})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["chat_limit"], 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = start(
            &d,
            &mut starts,
            &json!({"visitor": "v-2", "group": "support"}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let s = r.json();
        let (sid, tok) = (
            s["session"]["id"].as_str().unwrap(),
            s["token"].as_str().unwrap(),
        );
        let end = visitor(a, &format!("/chat/api/sessions/{sid}/end"), tok, &json!({}));
        assert_eq!(end.status, 204);
        if s["session"]["phase"] == "queued" {
            assert_eq!(s["session"]["position"], 1);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "chat_limit 0 never reached the desk"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let users = get(a, "/api/users/agent1", BASIC_ADMIN);
    assert_eq!(users.status, 200, "{}", users.text());
    assert!(
        users.text().contains("\"chat_limit\":0"),
        "{}",
        users.text()
    );

    // One address opens at most 20 sessions a minute.
    while starts < 20 {
        let r = start(
            &d,
            &mut starts,
            &json!({"visitor": "v-3", "group": "sales"}),
        );
        assert_eq!(r.status, 409, "{}", r.text());
    }
    let r = start(
        &d,
        &mut starts,
        &json!({"visitor": "v-3", "group": "sales"}),
    );
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
}

#[test]
fn nobody_online_leaves_a_message_that_is_pooled_assigned_and_done() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let a = d.http();

    let r = visitor(
        a,
        "/chat/api/sessions",
        "",
        &json!({"visitor": "v-9", "group": "sales"}),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["offline"], true);

    // Refused forms name the field and write nothing.
    let leave = |body: &Value| visitor(a, "/chat/api/leave-message", "", body);
    assert_refused(
        &leave(&json!({"phone": "13900000001", "text": "回电"})),
        "name",
    );
    assert_refused(&leave(&json!({"name": "王", "text": "回电"})), "phone");
    assert_refused(
        &leave(&json!({"name": "王", "email": "nope", "text": "回电"})),
        "email",
    );
    assert_refused(
        &leave(&json!({"name": "王", "phone": "13900000001", "text": "字".repeat(2001)})),
        "text",
    );
    assert_refused(
        &leave(&json!({"name": "王", "phone": "13900000001", "text": " "})),
        "text",
    );
    let r = request(a, "POST", "/chat/api/leave-message", &[], b"[1,2");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "bad_json");
    assert_eq!(pool_rows(&d), 0, "nothing half-written");

    let r = leave(
        &json!({"group": "sales", "name": "王", "phone": "13900000001",
                          "text": "请明天回电", "visitor": "v-9"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(pool_rows(&d), 1);
    let conn = rusqlite::Connection::open(d.data.join("branchline.db")).unwrap();
    let logged: String = conn
        .query_row(
            "SELECT data FROM events WHERE kind = 'chat.left_message'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(logged.contains(&format!("\"message_id\":{id}")), "{logged}");

    // The pool: admins see it; the agent sees it once assigned and marks it done.
    let r = get(a, "/api/chat-leave-messages?status=new", BASIC_ADMIN);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["messages"][0]["id"], id);
    assert_eq!(
        get(a, "/api/chat-leave-messages", AGENT).json()["messages"],
        json!([])
    );
    let r = staff(
        a,
        &format!("/api/chat-leave-messages/{id}/assign"),
        AGENT,
        &json!({"agent": "1001"}),
    );
    assert_eq!(r.status, 403, "agents do not assign: {}", r.text());
    assert_refused(
        &staff(
            a,
            &format!("/api/chat-leave-messages/{id}/assign"),
            BASIC_ADMIN,
            &json!({"agent": "9999"}),
        ),
        "agent",
    );
    let r = staff(
        a,
        &format!("/api/chat-leave-messages/{id}/assign"),
        BASIC_ADMIN,
        &json!({"agent": "1001"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "assigned");
    assert_eq!(r.json()["assigned_to"], "1001");
    let r = get(a, "/api/chat-leave-messages", AGENT);
    assert_eq!(r.json()["messages"][0]["id"], id);
    let r = staff(
        a,
        &format!("/api/chat-leave-messages/{id}/done"),
        AGENT2,
        &json!({}),
    );
    assert_eq!(r.status, 404, "not theirs: {}", r.text());
    let r = staff(
        a,
        &format!("/api/chat-leave-messages/{id}/done"),
        AGENT,
        &json!({"note": "已回电"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "done");
    assert_eq!(r.json()["note"], "已回电");
    let r = get(a, "/api/chat-leave-messages?status=done", BASIC_ADMIN);
    assert_eq!(r.json()["messages"].as_array().unwrap().len(), 1);

    // Five valid messages a minute from one address; the sixth waits.
    for i in 0..4 {
        let r = leave(&json!({"name": format!("访客{i}"), "email": "a@example.com", "text": "x"}));
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = leave(&json!({"name": "访客5", "email": "a@example.com", "text": "x"}));
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(pool_rows(&d), 5);
}

#[test]
fn the_chat_page_and_widget_are_public_frameable_and_the_panel_is_not() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let a = d.http();
    let page = request(a, "GET", "/chat/?group=support&lang=en", &[], b"");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"));
    assert!(!csp.contains("frame-ancestors 'none'"));
    assert!(page.header("x-frame-options").is_none());
    for (path, ty) in [
        ("/chat/widget.js", "text/javascript; charset=utf-8"),
        ("/chat/chat.js", "text/javascript; charset=utf-8"),
        ("/chat/chat.css", "text/css; charset=utf-8"),
    ] {
        let r = request(a, "GET", path, &[], b"");
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ty), "{path}");
    }
    assert_eq!(request(a, "GET", "/chat/nope.js", &[], b"").status, 404);
    let panel = request(a, "GET", "/", &[], b"");
    assert_eq!(panel.header("x-frame-options"), Some("DENY"));
    assert!(panel
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    // Bodies over the public limit are refused before they are read.
    let big = vec![b'a'; 20 * 1024];
    let r = request(a, "POST", "/chat/api/leave-message", &[], &big);
    assert_eq!(r.status, 413);
    // The staff side needs a login.
    assert_eq!(request(a, "GET", "/api/chats", &[], b"").status, 401);
    // A QA inspector reads session records like call records but serves no chat.
    let r = request(
        a,
        "PUT",
        "/api/users/qa1",
        &[("Authorization", BASIC_ADMIN)],
        json!({"display_name": "QA", "role": "qa", "password": "inspector1"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let qa = common::basic("qa1", "inspector1");
    assert_eq!(get(a, "/api/chat-records", &qa).status, 200);
    assert_eq!(get(a, "/api/chats", &qa).status, 403);
    assert_eq!(get(a, "/api/chat-leave-messages", &qa).status, 403);
}
