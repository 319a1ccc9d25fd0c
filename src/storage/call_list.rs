//! The call records list (通话记录, SPEC §12 `GET /api/calls`): filters a call-centre user
//! expects (period, direction, skill group, agent, extension, numbers exact or by prefix,
//! disposition, least talk time), a data scope (everything, some groups, one extension) and
//! keyset pagination newest first. Each filter has an index of migration 0013 ending in
//! `started_at_ms`, walked backwards, so a page costs the same at any depth when paged by
//! cursor (docs/PERFORMANCE.md (k)); `page=` offsets stay for old clients.

use rusqlite::types::Value;
use rusqlite::Connection;

use super::cdr::{cdr_total, raw_cdr, CDR_COLUMNS};
use super::{Cdr, StorageError};

/// The extension a call belongs to: the one that answered it, else the one that placed it.
/// Must match the expression of index `cdrs_by_owner_start` (migration 0013) character for
/// character, or SQLite will not use the index.
pub const OWNER_EXPR: &str =
    "coalesce(agent_extension, CASE WHEN direction <> 'inbound' THEN caller END)";

/// A number filter: `1380000` matches exactly, `138*` every number starting with 138.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberMatch {
    /// The whole number.
    Exact(String),
    /// Numbers starting with this.
    Prefix(String),
}

impl NumberMatch {
    /// Parses a filter value: digits, `+`, `*`, `#`; a trailing `*` makes it a prefix.
    pub fn parse(raw: &str) -> Option<NumberMatch> {
        let raw = raw.trim();
        let (body, prefix) = match raw.strip_suffix('*') {
            Some(b) => (b, true),
            None => (raw, false),
        };
        let ok = !body.is_empty()
            && body.len() <= 64
            && body
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'*' | b'#'));
        match (ok, prefix) {
            (false, _) => None,
            (true, true) => Some(NumberMatch::Prefix(body.to_owned())),
            (true, false) => Some(NumberMatch::Exact(body.to_owned())),
        }
    }
}

/// How a call ended, as the list filters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Answered by an agent or the callee (接通).
    Answered,
    /// Never answered, whatever the cause (未接通).
    Unanswered,
    /// One hangup cause (`abandoned`, `no_answer`, `busy`, `failed`, `interrupted` …).
    Cause(String),
}

impl Disposition {
    /// Parses `answered`, `unanswered` or a hangup cause (lower-case letters and `_`).
    pub fn parse(raw: &str) -> Option<Disposition> {
        match raw.trim() {
            "answered" => Some(Disposition::Answered),
            "unanswered" => Some(Disposition::Unanswered),
            c if !c.is_empty()
                && c.len() <= 32
                && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                Some(Disposition::Cause(c.to_owned()))
            }
            _ => None,
        }
    }
}

/// The filters of one list request; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallFilter {
    /// Started at or after (UTC ms).
    pub from_ms: Option<i64>,
    /// Started before (UTC ms).
    pub to_ms: Option<i64>,
    /// `inbound`, `outbound` or `internal`.
    pub direction: Option<String>,
    /// The skill group that served the call.
    pub skill_group: Option<String>,
    /// The answering agent's username (the `agent` column).
    pub agent: Option<String>,
    /// The agent extension the call belongs to ([`OWNER_EXPR`]).
    pub extension: Option<String>,
    /// The calling number.
    pub caller: Option<NumberMatch>,
    /// The dialled number.
    pub callee: Option<NumberMatch>,
    /// Either number.
    pub number: Option<NumberMatch>,
    /// How the call ended.
    pub disposition: Option<Disposition>,
    /// At least this many seconds connected.
    pub min_talk_secs: Option<f64>,
}

impl CallFilter {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        *self == CallFilter::default()
    }
}

/// Whose calls a caller may list (web guard: SPEC §12 data isolation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallScope {
    /// Every call.
    All,
    /// Calls served by these skill groups, or belonging to these extensions.
    Groups {
        /// Skill group names.
        groups: Vec<String>,
        /// Member extensions.
        extensions: Vec<String>,
    },
    /// Calls belonging to one extension (none: no calls at all).
    Own(Option<String>),
}

/// A position in the list: the last row of the previous page, newest-first order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// That row's start time.
    pub started_at_ms: i64,
    /// That row's rowid (the tie-break among equal start times).
    pub rowid: i64,
}

impl Cursor {
    /// The opaque wire form (`c` + two hex numbers); clients pass it back unchanged.
    pub fn encode(&self) -> String {
        format!("c{:x}.{:x}", self.started_at_ms, self.rowid)
    }

    /// Parses [`Cursor::encode`]'s form.
    pub fn decode(s: &str) -> Option<Cursor> {
        let (a, b) = s.strip_prefix('c')?.split_once('.')?;
        if a.is_empty() || b.is_empty() || a.len() > 16 || b.len() > 16 {
            return None;
        }
        Some(Cursor {
            started_at_ms: i64::from_str_radix(a, 16).ok()?,
            rowid: i64::from_str_radix(b, 16).ok()?,
        })
    }
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAt {
    /// Skip this many rows (`page=`; cost grows with the offset).
    Offset(u64),
    /// Just after this row (`after=`; constant cost).
    After(Cursor),
}

/// One page of the list.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPage {
    /// The calls, newest first.
    pub items: Vec<Cdr>,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
    /// All calls, when cheap to know (no filter, no scope); else `None`.
    pub total: Option<u64>,
}

/// The SQL of a page and its parameters (also used by the plan test).
fn build(filter: &CallFilter, scope: &CallScope, at: PageAt, limit: u32) -> (String, Vec<Value>) {
    let (inner, args) = build_inner(filter, scope, at, limit);
    // The offset is skipped on index entries in the inner query; only the page's rows are
    // read whole (legs JSON and all), docs/PERFORMANCE.md (j). The outer ORDER BY sorts the
    // page's rows only.
    let sql = format!(
        "SELECT {CDR_COLUMNS}, rowid FROM cdrs WHERE rowid IN ({inner}) \
         ORDER BY started_at_ms DESC, rowid DESC"
    );
    (sql, args)
}

/// The inner query: the rowids of one page, in list order.
fn build_inner(
    filter: &CallFilter,
    scope: &CallScope,
    at: PageAt,
    limit: u32,
) -> (String, Vec<Value>) {
    let mut wh: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    fn arg(args: &mut Vec<Value>, v: Value) -> String {
        args.push(v);
        format!("?{}", args.len())
    }
    match scope {
        CallScope::All => {}
        CallScope::Own(ext) => {
            let p = arg(&mut args, Value::from(ext.clone().unwrap_or_default()));
            wh.push(format!("{OWNER_EXPR} = {p}"));
        }
        CallScope::Groups { groups, extensions } => {
            // Unary `+` keeps these terms off the indexes: the list walks the start-time (or a
            // filter's) index and tests each row, instead of collecting every row of the groups
            // and sorting them.
            let g: Vec<String> = groups
                .iter()
                .map(|x| arg(&mut args, Value::from(x.clone())))
                .collect();
            let e: Vec<String> = extensions
                .iter()
                .map(|x| arg(&mut args, Value::from(x.clone())))
                .collect();
            wh.push(format!(
                "(+skill_group IN ({}) OR +agent_extension IN ({}) \
                 OR (direction <> 'inbound' AND +caller IN ({})))",
                g.join(","),
                e.join(","),
                e.join(",")
            ));
        }
    }
    if let Some(v) = filter.from_ms {
        let p = arg(&mut args, Value::from(v));
        wh.push(format!("started_at_ms >= {p}"));
    }
    if let Some(v) = filter.to_ms {
        let p = arg(&mut args, Value::from(v));
        wh.push(format!("started_at_ms < {p}"));
    }
    if let Some(v) = &filter.direction {
        let p = arg(&mut args, Value::from(v.clone()));
        wh.push(format!("+direction = {p}"));
    }
    if let Some(v) = &filter.skill_group {
        let p = arg(&mut args, Value::from(v.clone()));
        wh.push(format!("skill_group = {p}"));
    }
    if let Some(v) = &filter.agent {
        let p = arg(&mut args, Value::from(v.clone()));
        wh.push(format!("agent = {p}"));
    }
    if let Some(v) = &filter.extension {
        let p = arg(&mut args, Value::from(v.clone()));
        wh.push(format!("{OWNER_EXPR} = {p}"));
    }
    let number = |col: &str, m: &NumberMatch, args: &mut Vec<Value>| match m {
        NumberMatch::Exact(n) => {
            let p = arg(args, Value::from(n.clone()));
            format!("{col} = {p}")
        }
        NumberMatch::Prefix(n) => {
            // Allowed characters sort below 0x7f: [n, n + 0x7f) holds exactly the extensions.
            let lo = arg(args, Value::from(n.clone()));
            let hi = arg(args, Value::from(format!("{n}\u{7f}")));
            format!("({col} >= {lo} AND {col} < {hi})")
        }
    };
    if let Some(m) = &filter.caller {
        wh.push(number("caller", m, &mut args));
    }
    if let Some(m) = &filter.callee {
        wh.push(number("callee", m, &mut args));
    }
    if let Some(m) = &filter.number {
        let a = number("caller", m, &mut args);
        let b = number("callee", m, &mut args);
        wh.push(format!("({a} OR {b})"));
    }
    match &filter.disposition {
        None => {}
        Some(Disposition::Answered) => wh.push("answered_at_ms IS NOT NULL".into()),
        Some(Disposition::Unanswered) => wh.push("answered_at_ms IS NULL".into()),
        Some(Disposition::Cause(c)) => {
            let p = arg(&mut args, Value::from(c.clone()));
            wh.push(format!("hangup_cause = {p}"));
        }
    }
    if let Some(v) = filter.min_talk_secs {
        let p = arg(&mut args, Value::from(v));
        wh.push(format!("talk_secs >= {p}"));
    }
    let mut offset = 0u64;
    match at {
        PageAt::Offset(n) => offset = n,
        PageAt::After(c) => {
            // Newest first: rows strictly before (start, rowid). The first term bounds the
            // index range; the second settles ties on the same millisecond.
            let s = arg(&mut args, Value::from(c.started_at_ms));
            let r = arg(&mut args, Value::from(c.rowid));
            wh.push(format!(
                "started_at_ms <= {s} AND (started_at_ms < {s} OR rowid < {r})"
            ));
        }
    }
    let where_sql = if wh.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", wh.join(" AND "))
    };
    let l = arg(&mut args, Value::from(i64::from(limit)));
    let o = arg(
        &mut args,
        Value::from(i64::try_from(offset).unwrap_or(i64::MAX)),
    );
    let sql = format!(
        "SELECT rowid FROM cdrs {where_sql} \
         ORDER BY started_at_ms DESC, rowid DESC LIMIT {l} OFFSET {o}"
    );
    (sql, args)
}

/// One page of calls matching `filter` within `scope`, newest first, `per_page` rows at most.
pub fn list_calls_page(
    conn: &Connection,
    filter: &CallFilter,
    scope: &CallScope,
    at: PageAt,
    per_page: u32,
) -> Result<CallPage, StorageError> {
    if per_page == 0 {
        return Err(StorageError::InvalidArgument {
            name: "per_page",
            reason: "must be at least 1",
        });
    }
    if let CallScope::Own(None) = scope {
        return Ok(CallPage {
            items: Vec::new(),
            next: None,
            total: Some(0),
        });
    }
    // One row more than asked tells whether a next page exists.
    let (sql, args) = build(filter, scope, at, per_page.saturating_add(1));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |row| {
        Ok((raw_cdr(row)?, row.get::<_, i64>(20)?))
    })?;
    let mut items = Vec::new();
    let mut last = None;
    for row in rows {
        let (raw, rowid) = row?;
        if items.len() == per_page as usize {
            // The extra row exists: the page's last row is where the next one starts.
            let next = last;
            return finish(conn, filter, scope, items, next);
        }
        let cdr = raw.decode()?;
        last = Some(Cursor {
            started_at_ms: cdr.started_at_ms,
            rowid,
        });
        items.push(cdr);
    }
    finish(conn, filter, scope, items, None)
}

/// How many calls match `filter` within `scope`, counted up to `cap` at most: the walk over the
/// filter's index stops there, so an export can refuse an unbounded request cheaply.
pub fn count_calls_capped(
    conn: &Connection,
    filter: &CallFilter,
    scope: &CallScope,
    cap: u32,
) -> Result<u64, StorageError> {
    if let CallScope::Own(None) = scope {
        return Ok(0);
    }
    let (inner, args) = build_inner(filter, scope, PageAt::Offset(0), cap);
    let n: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM ({inner})"))?
        .query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn finish(
    conn: &Connection,
    filter: &CallFilter,
    scope: &CallScope,
    items: Vec<Cdr>,
    next: Option<Cursor>,
) -> Result<CallPage, StorageError> {
    // The unfiltered total is kept incrementally (cdr.rs); a filtered count would cost a walk
    // over every matching row, so it is not given.
    let total = if filter.is_empty() && *scope == CallScope::All {
        Some(u64::try_from(cdr_total(conn)?).unwrap_or(0))
    } else {
        None
    };
    Ok(CallPage { items, next, total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{insert_cdr, Db};

    fn cdr(i: i64, group: &str, agent: &str, ext: &str, caller: &str) -> Cdr {
        Cdr {
            call_id: format!("c{i}"),
            direction: "inbound".into(),
            caller: caller.into(),
            callee: "4001".into(),
            trunk: None,
            did: None,
            skill_group: Some(group.into()),
            agent: Some(agent.into()),
            agent_extension: Some(ext.into()),
            // Pairs of calls share a start time, so the rowid tie-break is exercised.
            started_at_ms: 1_000 + i / 2,
            answered_at_ms: (i % 3 != 0).then_some(1_000 + i / 2 + 1),
            ended_at_ms: 2_000 + i,
            wait_secs: 0.0,
            ring_secs: 0.0,
            talk_secs: (i % 50) as f64,
            hangup_cause: if i % 3 == 0 { "abandoned" } else { "normal" }.into(),
            hangup_by: "caller".into(),
            sip_code: None,
            recording_path: None,
            legs: serde_json::json!([]),
        }
    }

    fn filled() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("c.db")).unwrap();
        for i in 0..300 {
            let (g, a, e) = if i % 2 == 0 {
                ("support", "agent1", "1001")
            } else {
                ("sales", "agent3", "1003")
            };
            insert_cdr(
                db.conn(),
                &cdr(i, g, a, e, &format!("1380000{:04}", i % 40)),
            )
            .unwrap();
        }
        (dir, db)
    }

    /// Every page by cursor, concatenated.
    fn walk(db: &Db, f: &CallFilter, s: &CallScope, per: u32) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = PageAt::Offset(0);
        loop {
            let page = list_calls_page(db.conn(), f, s, at, per).unwrap();
            assert!(page.items.len() <= per as usize);
            out.extend(page.items.into_iter().map(|c| c.call_id));
            match page.next {
                Some(c) => at = PageAt::After(Cursor::decode(&c.encode()).unwrap()),
                None => return out,
            }
        }
    }

    #[test]
    fn a_capped_count_stops_at_the_cap_and_honours_filters_and_scope() {
        let (_d, db) = filled();
        let all = CallFilter::default();
        assert_eq!(
            count_calls_capped(db.conn(), &all, &CallScope::All, 1_000).unwrap(),
            300
        );
        assert_eq!(
            count_calls_capped(db.conn(), &all, &CallScope::All, 10).unwrap(),
            10
        );
        let own = CallScope::Own(Some("1001".into()));
        assert_eq!(
            count_calls_capped(db.conn(), &all, &own, 1_000).unwrap(),
            150
        );
        assert_eq!(
            count_calls_capped(db.conn(), &all, &CallScope::Own(None), 1_000).unwrap(),
            0
        );
        let f = CallFilter {
            caller: NumberMatch::parse("13800000001"),
            ..CallFilter::default()
        };
        assert_eq!(
            count_calls_capped(db.conn(), &f, &CallScope::All, 1_000).unwrap(),
            walk(&db, &f, &CallScope::All, 50).len() as u64
        );
    }

    #[test]
    fn cursor_pages_cover_every_match_once_in_newest_first_order() {
        let (_d, db) = filled();
        let all = walk(&db, &CallFilter::default(), &CallScope::All, 7);
        assert_eq!(all.len(), 300);
        let mut want: Vec<i64> = (0..300).collect();
        want.sort_by_key(|i| std::cmp::Reverse((1_000 + i / 2, *i)));
        let want: Vec<String> = want.iter().map(|i| format!("c{i}")).collect();
        assert_eq!(all, want);
        // Offsets give the same rows.
        let p3 = list_calls_page(
            db.conn(),
            &CallFilter::default(),
            &CallScope::All,
            PageAt::Offset(14),
            7,
        )
        .unwrap();
        let ids: Vec<&str> = p3.items.iter().map(|c| c.call_id.as_str()).collect();
        assert_eq!(
            ids,
            want[14..21].iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert_eq!(p3.total, Some(300));
    }

    #[test]
    fn filters_and_scopes_select_exactly_the_matching_calls() {
        let (_d, db) = filled();
        let count = |f: &CallFilter, s: &CallScope| walk(&db, f, s, 13).len();
        let f = |g: &dyn Fn(&mut CallFilter)| {
            let mut f = CallFilter::default();
            g(&mut f);
            f
        };
        assert_eq!(
            count(&f(&|f| f.agent = Some("agent1".into())), &CallScope::All),
            150
        );
        assert_eq!(
            count(
                &f(&|f| f.skill_group = Some("sales".into())),
                &CallScope::All
            ),
            150
        );
        assert_eq!(
            count(&f(&|f| f.extension = Some("1003".into())), &CallScope::All),
            150
        );
        // 300 calls over 40 numbers: 7 or 8 each; 13800000001 is i = 1, 41, ... 281.
        let one = f(&|f| f.caller = NumberMatch::parse("13800000001"));
        assert_eq!(count(&one, &CallScope::All), 8);
        let either = f(&|f| f.number = NumberMatch::parse("13800000001"));
        assert_eq!(count(&either, &CallScope::All), 8);
        let prefix = f(&|f| f.caller = NumberMatch::parse("1380000001*"));
        assert_eq!(count(&prefix, &CallScope::All), 80, "numbers 0010..0019");
        let abandoned = f(&|f| f.disposition = Disposition::parse("abandoned"));
        assert_eq!(count(&abandoned, &CallScope::All), 100);
        let answered = f(&|f| f.disposition = Disposition::parse("answered"));
        assert_eq!(count(&answered, &CallScope::All), 200);
        let long = f(&|f| f.min_talk_secs = Some(45.0));
        assert_eq!(count(&long, &CallScope::All), 30);
        let period = f(&|f| {
            f.from_ms = Some(1_010);
            f.to_ms = Some(1_020);
        });
        assert_eq!(count(&period, &CallScope::All), 20);
        let support = CallScope::Groups {
            groups: vec!["support".into()],
            extensions: vec!["1001".into(), "1002".into()],
        };
        assert_eq!(count(&CallFilter::default(), &support), 150);
        assert_eq!(count(&f(&|f| f.agent = Some("agent3".into())), &support), 0);
        let own = CallScope::Own(Some("1003".into()));
        assert_eq!(count(&CallFilter::default(), &own), 150);
        assert_eq!(count(&CallFilter::default(), &CallScope::Own(None)), 0);
        let page = list_calls_page(db.conn(), &one, &CallScope::All, PageAt::Offset(0), 5).unwrap();
        assert_eq!(page.total, None, "no total for a filtered list");
    }

    #[test]
    fn bad_cursors_and_filter_values_are_rejected() {
        for bad in [
            "",
            "c",
            "c.1",
            "x1.2",
            "c1.",
            "czz.1",
            "c11111111111111111.1",
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
        let c = Cursor {
            started_at_ms: 1_700_000_000_000,
            rowid: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(NumberMatch::parse("abc"), None);
        assert_eq!(NumberMatch::parse("*"), None);
        assert_eq!(NumberMatch::parse("13'--"), None);
        assert_eq!(Disposition::parse("Robert'); DROP"), None);
    }

    /// EXPLAIN QUERY PLAN of one page's inner query (the subquery that picks the rowids).
    fn plan(db: &Db, f: &CallFilter, s: &CallScope, at: PageAt) -> String {
        let (sql, args) = build_inner(f, s, at, 51);
        let mut stmt = db
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                r.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn every_filter_walks_its_index_in_list_order_without_a_temp_btree() {
        let after = PageAt::After(Cursor {
            started_at_ms: 1_100,
            rowid: 200,
        });
        let mut cases: Vec<(CallFilter, CallScope, &str)> = vec![
            (CallFilter::default(), CallScope::All, "cdrs_by_start_asc"),
            (
                CallFilter {
                    agent: Some("agent1".into()),
                    ..Default::default()
                },
                CallScope::All,
                "cdrs_by_agent_start",
            ),
            (
                CallFilter {
                    skill_group: Some("sales".into()),
                    ..Default::default()
                },
                CallScope::All,
                "cdrs_by_group_start",
            ),
            (
                CallFilter {
                    extension: Some("1001".into()),
                    ..Default::default()
                },
                CallScope::All,
                "cdrs_by_owner_start",
            ),
            (
                CallFilter {
                    caller: NumberMatch::parse("13800000001"),
                    ..Default::default()
                },
                CallScope::All,
                "cdrs_by_caller_start",
            ),
            (
                CallFilter {
                    callee: NumberMatch::parse("4001"),
                    ..Default::default()
                },
                CallScope::All,
                "cdrs_by_callee_start",
            ),
            (
                CallFilter {
                    from_ms: Some(1_000),
                    to_ms: Some(1_100),
                    direction: Some("inbound".into()),
                    disposition: Some(Disposition::Answered),
                    min_talk_secs: Some(10.0),
                    ..Default::default()
                },
                CallScope::All,
                "cdrs_by_start_asc",
            ),
            (
                CallFilter::default(),
                CallScope::Own(Some("1001".into())),
                "cdrs_by_owner_start",
            ),
            (
                CallFilter::default(),
                CallScope::Groups {
                    groups: vec!["support".into()],
                    extensions: vec!["1001".into()],
                },
                "cdrs_by_start_asc",
            ),
            (
                CallFilter {
                    agent: Some("agent1".into()),
                    ..Default::default()
                },
                CallScope::Groups {
                    groups: vec!["support".into()],
                    extensions: vec!["1001".into()],
                },
                "cdrs_by_agent_start",
            ),
        ];
        // The same with a date range (the panel always sends one).
        let ranged: Vec<_> = cases
            .iter()
            .map(|(f, s, i)| {
                let mut f = f.clone();
                f.from_ms = Some(1_000);
                f.to_ms = Some(1_200);
                (f, s.clone(), *i)
            })
            .collect();
        cases.extend(ranged);
        let (_d, db) = filled();
        for (f, s, index) in &cases {
            for at in [PageAt::Offset(0), PageAt::Offset(100), after] {
                let p = plan(&db, f, s, at);
                assert!(
                    p.contains(&format!("INDEX {index}")),
                    "{f:?} {s:?} {at:?} should use {index}:\n{p}"
                );
                assert!(!p.contains("TEMP B-TREE"), "{f:?} {s:?} {at:?} sorts:\n{p}");
            }
        }
    }
}
