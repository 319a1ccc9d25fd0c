//! The CRM over real HTTP against a running demo daemon: custom fields, customers found by any
//! spelling of their phones with the number's location, a service summary of a call, a ticket
//! walked through its nodes and closed, contact plans visible to their owner only, the customer
//! timeline, and the access and validation rules (SPEC §5, §8, §12).
// The shared harness reads real clocks for its deadlines.
#![allow(clippy::disallowed_methods)]

use std::net::SocketAddr;

use branchline::storage::{insert_cdr, Cdr, Db};
use serde_json::{json, Value};

mod common;
use common::{request, Daemon, Reply, Workdir};

const ADMIN: &str = "Basic YWRtaW46YWRtaW4="; // admin:admin
const AGENT: &str = "Basic YWdlbnQxOmFnZW50"; // agent1:agent
const AGENT2: &str = "Basic YWdlbnQyOmFnZW50"; // agent2:agent
const SUPER: &str = "Basic c3VwZXI6c3VwZXI="; // super:super

fn get(addr: SocketAddr, path: &str, auth: &str) -> Reply {
    request(addr, "GET", path, &[("Authorization", auth)], b"")
}

fn send(addr: SocketAddr, method: &str, path: &str, auth: &str, body: &Value) -> Reply {
    request(
        addr,
        method,
        path,
        &[
            ("Authorization", auth),
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

fn customer_fields() -> Value {
    json!({"items": [
        {"key": "level", "label_zh": "会员等级", "label_en": "Level", "type": "select",
         "options": ["普通", "金卡"], "required": true},
        {"key": "city", "label_zh": "城市", "label_en": "City", "type": "text", "order": 1}
    ]})
}

/// Writes a finished inbound call from `caller` straight into the daemon's database, as the
/// engine would at hang-up.
fn record_call(d: &Daemon, call_id: &str, caller: &str) {
    let db = Db::open(&d.data.join("branchline.db")).unwrap();
    let cdr = Cdr {
        call_id: call_id.into(),
        direction: "inbound".into(),
        caller: caller.into(),
        callee: "4001".into(),
        trunk: Some("pstn".into()),
        did: Some("4001".into()),
        skill_group: Some("support".into()),
        agent: Some("agent1".into()),
        agent_extension: Some("1001".into()),
        started_at_ms: 1_700_000_000_000,
        answered_at_ms: Some(1_700_000_003_000),
        ended_at_ms: 1_700_000_060_000,
        wait_secs: 1.0,
        ring_secs: 2.0,
        talk_secs: 57.0,
        hangup_cause: "normal".into(),
        hangup_by: "caller".into(),
        sip_code: Some(200),
        recording_path: None,
        legs: json!([]),
    };
    insert_cdr(db.conn(), &cdr).unwrap();
}

#[test]
fn a_customer_is_found_by_phone_served_ticketed_planned_and_their_timeline_shows_it_all() {
    let work = Workdir::new();
    let d = Daemon::start(&work);
    let a = d.http();

    let r = send(a, "PUT", "/api/customer-fields", ADMIN, &customer_fields());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["items"][0]["key"], "level");

    // A customer with two phones, written by an agent.
    let r = send(
        a,
        "POST",
        "/api/customers",
        AGENT,
        &json!({"name": "陈静", "phones": ["139 0000 1111", "+86 21 6123 4567"],
                "company": "静安贸易", "fields": {"level": "金卡", "city": "上海"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let customer = r.json();
    let cid = customer["id"].as_i64().unwrap();
    assert_eq!(customer["phones"], json!(["13900001111", "+862161234567"]));
    assert_eq!(customer["created_by"], "agent1");

    // Screen pop: found by another spelling of each number, with the number's location.
    let r = get(a, "/api/customers?phone=013900001111", AGENT);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["items"][0]["id"], cid);
    assert_eq!(v["items"][0]["fields"]["level"], "金卡");
    assert_eq!(v["location"]["kind"], "mobile");
    assert_eq!(v["location"]["carrier"], "中国移动");
    let v = get(a, "/api/customers?phone=021-6123-4567", AGENT).json();
    assert_eq!(v["items"][0]["id"], cid);
    assert_eq!(v["location"]["city"], "上海");
    // An unknown number answers no customer but still its location.
    let v = get(a, "/api/customers?phone=%2B8618612345678", AGENT).json();
    assert_eq!(v["items"], json!([]));
    assert_eq!(v["location"]["carrier"], "中国联通");
    // The demo customer called by the SIPp trunk tests.
    let v = get(a, "/api/customers?phone=13800138000", AGENT).json();
    assert_eq!(v["items"][0]["name"], "张伟");
    // Search by name.
    let v = get(a, "/api/customers?q=%E9%99%88", AGENT).json(); // 陈
    assert_eq!(v["total"], 1);

    // A service summary of a call from the customer; the source comes from the call record.
    record_call(&d, "crm-call-1", "+8613900001111");
    let cats = get(a, "/api/summary-categories", AGENT).json();
    let cat = cats["items"][0]["children"][0]["id"].as_i64().unwrap();
    let r = send(
        a,
        "POST",
        "/api/calls/crm-call-1/summary",
        AGENT,
        &json!({"category_id": cat, "customer_id": cid, "fields": {"resolved": "已解决"},
                "note": "询问产品"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["source"], "inbound_call");
    assert_eq!(r.json()["agent"], "agent1");
    let v = get(a, "/api/summaries?from=0", SUPER).json();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(get(a, "/api/summaries", AGENT).status, 403);

    // A complaint ticket: three nodes, 48 h SLA; advanced, handed over and closed in time.
    let types = get(a, "/api/ticket-types", AGENT).json();
    let complaint = types["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "投诉")
        .unwrap()
        .clone();
    let r = send(
        a,
        "POST",
        "/api/tickets",
        AGENT,
        &json!({"type_id": complaint["id"], "title": "投诉配送延迟", "customer_id": cid,
                "call_id": "crm-call-1"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let t = r.json();
    let tid = t["id"].as_i64().unwrap();
    assert_eq!(t["node"], "一级处理");
    assert_eq!(t["sla"], "open_within_sla");
    assert_eq!(
        t["due_at_ms"].as_i64().unwrap() - t["created_at_ms"].as_i64().unwrap(),
        48 * 3_600_000
    );
    let path = format!("/api/tickets/{tid}");
    let r = send(
        a,
        "PUT",
        &path,
        AGENT,
        &json!({"advance": true, "assignee": "agent2"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["node"], "二级处理");
    // The assignee may work on it now.
    let r = send(a, "PUT", &path, AGENT2, &json!({"advance": true}));
    assert_eq!(r.json()["node"], "三级处理");
    let r = send(a, "PUT", &path, AGENT2, &json!({"advance": true}));
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["field"], "advance");
    let r = send(
        a,
        "PUT",
        &path,
        AGENT2,
        &json!({"comment": "已补发", "close": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.json();
    assert_eq!(t["state"], "closed");
    assert_eq!(t["sla"], "closed_on_time");
    let actions: Vec<&str> = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "assigned",
            "advanced",
            "advanced",
            "commented",
            "closed"
        ]
    );
    let mine = get(a, "/api/tickets?mine=1&state=closed", AGENT).json();
    assert_eq!(mine["total"], 1);

    // A contact plan, already due: its owner sees it, another agent does not.
    let r = send(
        a,
        "POST",
        "/api/contact-plans",
        AGENT,
        &json!({"customer_id": cid, "due_at": "2024-01-01T09:00:00+08:00", "note": "回访满意度"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let plan = r.json();
    let pid = plan["id"].as_i64().unwrap();
    assert_eq!(plan["number"], "13900001111");
    assert_eq!(plan["owner"], "agent1");
    assert_eq!(plan["overdue"], true);
    let due = get(
        a,
        "/api/contact-plans?mine=1&due_before=2024-01-02T00:00:00Z",
        AGENT,
    )
    .json();
    assert_eq!(due["items"].as_array().unwrap().len(), 1);
    let other = get(a, "/api/contact-plans", AGENT2).json();
    assert_eq!(other["items"], json!([]));
    let plan_path = format!("/api/contact-plans/{pid}");
    assert_eq!(get(a, &plan_path, AGENT2).status, 404);
    assert_eq!(
        send(a, "PUT", &plan_path, AGENT2, &json!({"done": true})).status,
        404
    );
    assert_eq!(
        get(a, "/api/contact-plans", ADMIN).json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = send(a, "PUT", &plan_path, AGENT, &json!({"done": true}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["done"], true);

    // The timeline: the call, its summary, the ticket and (for its owner) the plan.
    let tl = get(a, &format!("/api/customers/{cid}/timeline"), AGENT).json();
    let mut kinds: Vec<&str> = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["call", "contact_plan", "summary", "ticket"]);
    let tl2 = get(a, &format!("/api/customers/{cid}/timeline"), AGENT2).json();
    assert_eq!(tl2["total"], 3, "agent2 does not see agent1's plan: {tl2}");
    let page = get(
        a,
        &format!("/api/customers/{cid}/timeline?page=2&per_page=3"),
        AGENT,
    )
    .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[test]
fn agents_cannot_configure_and_bad_input_is_refused_by_field_without_a_trace() {
    let work = Workdir::new();
    let d = Daemon::start(&work);
    let a = d.http();

    // Configuration is the administrator's (SPEC §12).
    for (path, body) in [
        ("/api/customer-fields", customer_fields()),
        ("/api/summary-fields", json!({"items": []})),
        ("/api/summary-categories", json!({"items": []})),
        ("/api/ticket-types", json!({"items": []})),
    ] {
        let r = send(a, "PUT", path, AGENT, &body);
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert_eq!(send(a, "PUT", path, SUPER, &body).status, 403, "{path}");
    }
    assert_eq!(get(a, "/api/customers", "").status, 401);
    let before = get(a, "/api/customer-fields", AGENT).json();
    assert_eq!(
        before["items"].as_array().unwrap().len(),
        2,
        "demo fields unchanged"
    );

    // A custom value outside the select's options names the field; nothing is stored.
    let total = |who| {
        get(a, "/api/customers", who).json()["total"]
            .as_i64()
            .unwrap()
    };
    let n = total(ADMIN);
    let r = send(
        a,
        "POST",
        "/api/customers",
        AGENT,
        &json!({"name": "坏数据", "phones": ["13700001111"], "fields": {"level": "钻石"}}),
    );
    assert_refused(&r, "fields.level");
    let r = send(
        a,
        "POST",
        "/api/customers",
        AGENT,
        &json!({"name": "坏号码", "phones": ["13700001111", "1370000abcd"]}),
    );
    assert_refused(&r, "phones[1]");
    let r = send(
        a,
        "POST",
        "/api/customers",
        AGENT,
        &json!({"name": "未知字段", "fields": {"vip": 1}}),
    );
    assert_refused(&r, "fields.vip");
    assert_eq!(total(ADMIN), n);
    assert_eq!(
        get(a, "/api/customers?phone=13700001111", AGENT).json()["items"],
        json!([])
    );
    let r = send(
        a,
        "POST",
        "/api/customers",
        AGENT,
        &json!({"name": "x", "age": 3}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "bad_json");
    assert_refused(&get(a, "/api/customers?phone=abc", AGENT), "phone");

    // A bad ticket type list is refused whole; the demo types stay.
    let r = send(
        a,
        "PUT",
        "/api/ticket-types",
        ADMIN,
        &json!({"items": [{"name": "退换", "sla_hours": 0, "nodes": ["一级处理"]}]}),
    );
    assert_refused(&r, "types[0].sla_hours");
    assert_eq!(
        get(a, "/api/ticket-types", AGENT).json()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Another agent's ticket is out of reach; a summary without a category is refused.
    let ty = get(a, "/api/ticket-types", AGENT).json()["items"][0]["id"].clone();
    let t = send(
        a,
        "POST",
        "/api/tickets",
        AGENT,
        &json!({"type_id": ty, "title": "咨询发票"}),
    )
    .json();
    let path = format!("/api/tickets/{}", t["id"]);
    assert_eq!(get(a, &path, AGENT2).status, 403);
    assert_eq!(
        send(a, "PUT", &path, AGENT2, &json!({"close": true})).status,
        403
    );
    assert_eq!(get(a, &path, SUPER).status, 200);
    assert_eq!(get(a, "/api/tickets", AGENT2).json()["total"], 0);
    let r = send(
        a,
        "POST",
        "/api/calls/nope-1/summary",
        AGENT,
        &json!({"source": "chat"}),
    );
    assert_refused(&r, "category_id");
    let r = send(
        a,
        "POST",
        "/api/calls/nope-1/summary",
        AGENT,
        &json!({"category_id": 1, "source": "fax"}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        get(a, "/api/calls/nope-1/summary", AGENT).json()["items"],
        json!([])
    );
    // Agents plan only for themselves.
    let r = send(
        a,
        "POST",
        "/api/contact-plans",
        AGENT,
        &json!({"number": "13800138000", "due_at": 1, "owner": "agent2"}),
    );
    assert_eq!(r.status, 403);
    let r = send(
        a,
        "POST",
        "/api/contact-plans",
        AGENT,
        &json!({"number": "13800138000"}),
    );
    assert_refused(&r, "due_at");
}
