//! Report downloads over real HTTP from a running daemon (SPEC §11 "exportable"): the CSV and
//! .xlsx header rows carry the column labels in the requested language (the seeds' terms in
//! zh-CN), the JSON answer maps every column to its label, raw keys stay available for
//! scripts, and a bad `lang` is refused naming the parameter.
// The shared harness reads real clocks for its deadlines.
#![allow(clippy::disallowed_methods)]

use std::io::{Cursor, Read};

mod common;
use common::{request, Daemon, Reply, Workdir, BASIC_ADMIN};

const Q: &str = "from=2024-05-01&to=2024-05-07";
const BOM: &str = "\u{feff}";

fn get(d: &Daemon, path: &str) -> Reply {
    request(
        d.http(),
        "GET",
        path,
        &[("Authorization", BASIC_ADMIN)],
        b"",
    )
}

/// The first line of a CSV body, which must start with the UTF-8 byte-order mark.
fn csv_header(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = String::from_utf8(r.body.clone()).expect("CSV is UTF-8");
    let rest = text
        .strip_prefix(BOM)
        .unwrap_or_else(|| panic!("no byte-order mark: {text:?}"));
    rest.lines().next().unwrap_or_default().to_owned()
}

/// One file of an .xlsx workbook (a zip container) as text.
fn xlsx_part(body: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(body)).expect("xlsx is a zip container");
    let mut part = zip
        .by_name(name)
        .unwrap_or_else(|e| panic!("{name} in the workbook: {e}"));
    let mut s = String::new();
    part.read_to_string(&mut s).expect("UTF-8 XML");
    s
}

#[test]
fn csv_header_rows_follow_lang_and_keys_stay_available() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let cols = "columns=date,group,inflow,answered,connect_rate,lost,transfer_to_human_failures";
    let zh = csv_header(&get(
        &d,
        &format!("/api/reports/skill-groups/daily?{Q}&{cols}&format=csv&lang=zh-CN"),
    ));
    assert_eq!(zh, "日期,技能组,流入量,应答量,接通率,呼损量,转人工失败量");
    let en = csv_header(&get(
        &d,
        &format!("/api/reports/skill-groups/daily?{Q}&{cols}&format=csv&lang=en"),
    ));
    assert_eq!(
        en,
        "Date,Skill group,Inflow,Answered,Connect rate,Lost,Transfer-to-agent failures"
    );
    // No lang: zh-CN; every column of the family is labelled, none left as a raw key.
    let all = csv_header(&get(
        &d,
        &format!("/api/reports/skill-groups/daily?{Q}&format=csv"),
    ));
    assert!(
        all.starts_with("日期,技能组,流入量,应答量,接通率,呼损量,"),
        "{all}"
    );
    assert!(!all.contains('_'), "a raw key in {all}");
    let keys = csv_header(&get(
        &d,
        &format!("/api/reports/skill-groups/daily?{Q}&{cols}&format=csv&header=keys"),
    ));
    assert_eq!(
        keys,
        "date,group,inflow,answered,connect_rate,lost,transfer_to_human_failures"
    );
    let tickets = csv_header(&get(
        &d,
        &format!("/api/reports/tickets?{Q}&view=type&format=csv"),
    ));
    assert_eq!(
        tickets,
        "工单类型,工单总数,正常完结,超时完结,未完结,超时未完结"
    );
}

#[test]
fn xlsx_header_rows_hold_the_labels_in_bold() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let cols = "columns=date,inflow,connect_rate_20s";
    for (lang, want) in [
        ("zh-CN", ["日期", "流入量", "20秒接通率"]),
        ("en", ["Date", "Inflow", "20 s connect rate"]),
    ] {
        let r = get(
            &d,
            &format!("/api/reports/skill-groups/hourly?{Q}&{cols}&format=xlsx&lang={lang}"),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let strings = xlsx_part(&r.body, "xl/sharedStrings.xml");
        for w in want {
            assert!(
                strings.contains(&format!(">{w}<")),
                "{lang}: {w} missing in {strings}"
            );
        }
        assert!(
            !strings.contains(">inflow<"),
            "{lang}: raw key in {strings}"
        );
        let styles = xlsx_part(&r.body, "xl/styles.xml");
        assert!(styles.contains("<b/>"), "the header font is bold: {styles}");
    }
}

#[test]
fn json_carries_labels_and_formats_and_a_bad_lang_is_400() {
    let w = Workdir::new();
    let d = Daemon::start(&w);
    let b = d.api(&format!(
        "/api/reports/agents/daily?{Q}&columns=agent,online_secs,utilisation,break_secs.用餐&lang=en"
    ));
    assert_eq!(b["lang"], "en");
    assert_eq!(b["labels"]["agent"], "Agent");
    assert_eq!(b["labels"]["online_secs"], "Online time (s)");
    assert_eq!(b["labels"]["break_secs.用餐"], "Break: 用餐 (s)");
    assert_eq!(b["formats"]["utilisation"], "rate");
    assert_eq!(b["formats"]["online_secs"], "duration");
    let b = d.api(&format!(
        "/api/reports/agents/daily?{Q}&columns=break_secs.用餐"
    ));
    assert_eq!(b["labels"]["break_secs.用餐"], "用餐时长(秒)");
    for (q, field) in [("lang=de", "lang"), ("header=fancy", "header")] {
        let r = get(&d, &format!("/api/reports/traffic?{Q}&{q}&format=csv"));
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{q}");
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{q}: {}",
            r.text()
        );
    }
}
