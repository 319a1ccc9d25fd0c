//! Fills a Branchline database with a year of call history through the storage layer, for the
//! panel API load bench (benches/load/api.sh, docs/PERFORMANCE.md (j)): CDRs and the events
//! each call would have logged, plus customers for the phone lookup.
//!
//! usage: cargo bench --bench cdr_fill -- DB [CALLS] [CUSTOMERS]
//! (defaults 1,000,000 calls and 100,000 customers; the database is created and migrated if
//! new; the calls end "now" and start a year earlier, weighted to business hours).
// A bench is a tool, not the daemon: it reads the wall clock once for "now".
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use branchline::core::time::WallMs;
use branchline::storage::crm::{create_customer, CustomerInput};
use branchline::storage::{insert_cdr, insert_event, Cdr, Db, Event};
use serde_json::json;

const DAY_MS: i64 = 86_400_000;
const GROUPS: &[&str] = &["support", "sales", "billing", "vip"];
const AGENTS_PER_GROUP: usize = 15;
const CAUSES_UNANSWERED: &[&str] = &["abandoned", "no_answer", "busy", "cancelled"];

/// xorshift64*: a seedable, dependency-free generator so two runs write the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One of 200,000 mobile numbers, so callers repeat as real customers do.
fn phone(rng: &mut Rng) -> String {
    format!("138{:08}", rng.below(200_000) * 37)
}

/// Milliseconds into a day, weighted to 08:00–20:00 (nine calls in ten).
fn time_of_day(rng: &mut Rng) -> i64 {
    let hour = if rng.chance(90) {
        8 + rng.below(12)
    } else {
        rng.below(24)
    } as i64;
    hour * 3_600_000 + rng.below(3_600_000) as i64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // cargo passes `--bench`; positional arguments are the database, calls and customers.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(db_path) = args.first().map(PathBuf::from) else {
        eprintln!("usage: cargo bench --bench cdr_fill -- DB [CALLS] [CUSTOMERS]");
        std::process::exit(2);
    };
    let calls: u64 = args.get(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let customers: u64 = args.get(2).map_or(Ok(100_000), |s| s.parse())?;
    let now_ms = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let year_start = now_ms - 365 * DAY_MS;

    let mut db = Db::open(&db_path)?;
    let started = Instant::now();
    // Bulk load: one writer, no concurrent readers while it runs.
    db.conn()
        .execute_batch("PRAGMA synchronous=OFF; PRAGMA cache_size=-200000;")?;

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..customers {
        let input = CustomerInput {
            name: format!("客户{i:06}"),
            phones: vec![format!("138{:08}", i * 2 * 37)],
            company: format!("Company {}", i % 5_000),
            notes: String::new(),
            fields: serde_json::Map::new(),
        };
        create_customer(db.conn_mut(), &input, "admin", WallMs(year_start))?;
    }
    eprintln!(
        "{customers} customers in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Start times ascending over the year, one sorted batch per day.
    let per_day = calls / 365;
    let mut written = 0u64;
    let mut events = 0u64;
    for day in 0..365u64 {
        let n = if day == 364 { calls - written } else { per_day };
        let mut starts: Vec<i64> = (0..n)
            .map(|_| year_start + day as i64 * DAY_MS + time_of_day(&mut rng))
            .collect();
        starts.sort_unstable();
        let tx = db.conn_mut().transaction()?;
        for start in starts {
            let (cdr, evs) = one_call(&mut rng, written, start);
            insert_cdr(&tx, &cdr)?;
            for e in &evs {
                insert_event(&tx, e)?;
            }
            events += evs.len() as u64;
            written += 1;
        }
        tx.commit()?;
    }
    db.conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")?;
    eprintln!(
        "{written} calls and {events} events in {:.1} s into {}",
        started.elapsed().as_secs_f64(),
        db_path.display()
    );
    Ok(())
}

/// One call's CDR and the events it logged (docs/EVENTS.md), shaped by a few odds: 70 %
/// inbound queue calls (10 % of those abandoned), 25 % outbound, 5 % internal.
fn one_call(rng: &mut Rng, n: u64, start: i64) -> (Cdr, Vec<Event>) {
    let call_id = format!("f{n:08}");
    let roll = rng.below(100);
    let group_i = rng.below(GROUPS.len() as u64) as usize;
    let agent_i = rng.below(AGENTS_PER_GROUP as u64) as usize;
    let agent_no = group_i * AGENTS_PER_GROUP + agent_i + 1;
    let agent = format!("agent{agent_no}");
    let ext = format!("{}", 1000 + agent_no);
    let group = GROUPS[group_i].to_owned();
    let ev = |at: i64, kind: &str, agent: Option<&str>, grp: Option<&str>, data| Event {
        at_ms: at,
        kind: kind.to_owned(),
        call_id: Some(call_id.clone()),
        agent: agent.map(str::to_owned),
        group: grp.map(str::to_owned),
        data,
    };
    let talk = 20 + rng.below(400) as i64;
    let ring = 2 + rng.below(12) as i64;
    let mut evs = Vec::new();
    let (direction, caller, callee, trunk, did, skill_group, answered, cause, by);
    if roll < 70 {
        direction = "inbound";
        caller = phone(rng);
        callee = "4001".to_owned();
        trunk = Some("pstn".to_owned());
        did = Some("4001".to_owned());
        skill_group = Some(group.clone());
        let wait = rng.below(60) as i64;
        evs.push(ev(
            start,
            "call.offered",
            None,
            None,
            json!({"caller": caller, "dialled": callee, "trunk": "pstn", "direction": "inbound"}),
        ));
        evs.push(ev(
            start + 200,
            "queue.entered",
            None,
            Some(&group),
            json!({"position": 1 + rng.below(5)}),
        ));
        if rng.chance(90) {
            let at = start + 200 + wait * 1000;
            evs.push(ev(
                at,
                "agent.ringing",
                Some(&agent),
                Some(&group),
                json!({"agent": agent}),
            ));
            let ans = at + ring * 1000;
            evs.push(ev(
                ans,
                "call.answered",
                Some(&agent),
                Some(&group),
                json!({"agent": agent, "group": group, "wait_secs": wait + ring}),
            ));
            evs.push(ev(
                ans + talk * 1000,
                "agent.left",
                Some(&agent),
                Some(&group),
                json!({"reason": "hangup", "talk_secs": talk}),
            ));
            answered = Some(ans);
            cause = "normal";
            by = if rng.chance(60) { "caller" } else { "callee" };
        } else {
            evs.push(ev(
                start + 200 + wait * 1000,
                "queue.abandoned",
                None,
                Some(&group),
                json!({}),
            ));
            answered = None;
            cause = "abandoned";
            by = "caller";
        }
    } else if roll < 95 {
        direction = "outbound";
        caller = ext.clone();
        callee = phone(rng);
        trunk = Some("pstn".to_owned());
        did = None;
        skill_group = None;
        evs.push(ev(
            start,
            "call.offered",
            Some(&agent),
            None,
            json!({"caller": caller, "dialled": format!("9{callee}"), "trunk": "pstn", "direction": "outbound"}),
        ));
        if rng.chance(65) {
            let ans = start + ring * 1000;
            evs.push(ev(
                ans,
                "call.answered",
                Some(&agent),
                None,
                json!({"agent": agent, "group": null, "wait_secs": 0}),
            ));
            answered = Some(ans);
            cause = "normal";
            by = if rng.chance(50) { "caller" } else { "callee" };
        } else {
            answered = None;
            cause = CAUSES_UNANSWERED[1 + rng.below(3) as usize];
            by = "callee";
        }
    } else {
        direction = "internal";
        caller = ext.clone();
        callee = format!("{}", 1001 + rng.below(60));
        trunk = None;
        did = None;
        skill_group = None;
        evs.push(ev(
            start,
            "call.offered",
            None,
            None,
            json!({"caller": caller, "dialled": callee, "trunk": null, "direction": "internal"}),
        ));
        answered = rng.chance(80).then_some(start + ring * 1000);
        cause = if answered.is_some() {
            "normal"
        } else {
            "no_answer"
        };
        by = "caller";
    }
    let end = answered.map_or(start + ring * 1000, |a| a + talk * 1000);
    let sip_code = if answered.is_some() { 200 } else { 487 };
    evs.push(ev(
        end,
        "call.ended",
        None,
        None,
        json!({"cause": cause, "by": by, "sip_code": sip_code}),
    ));
    let talk_secs = answered.map_or(0.0, |_| talk as f64);
    let has_agent = answered.is_some() && direction != "internal";
    let cdr = Cdr {
        call_id: call_id.clone(),
        direction: direction.to_owned(),
        caller,
        callee,
        trunk,
        did,
        skill_group,
        agent: has_agent.then(|| agent.clone()),
        agent_extension: has_agent.then(|| ext.clone()),
        started_at_ms: start,
        answered_at_ms: answered,
        ended_at_ms: end,
        wait_secs: ((answered.unwrap_or(end) - start) as f64 / 1000.0).max(0.0),
        ring_secs: ring as f64,
        talk_secs,
        hangup_cause: cause.to_owned(),
        hangup_by: by.to_owned(),
        sip_code: Some(sip_code),
        recording_path: has_agent.then(|| format!("recordings/{call_id}.wav")),
        legs: json!([
            {"leg": "a", "codec": "PCMA", "rtp": {"rx": talk * 33, "tx": talk * 33, "lost": 0, "jitter_ms": 1.2}},
            {"leg": "b", "codec": "PCMA", "rtp": {"rx": talk * 33, "tx": talk * 33, "lost": 0, "jitter_ms": 0.8}}
        ]),
    };
    (cdr, evs)
}
