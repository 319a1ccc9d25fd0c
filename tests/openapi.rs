//! docs/openapi.json against the router (SPEC §12: an OpenAPI document describes every
//! endpoint): the document is well formed, documents exactly the routes of
//! `branchline::web::route_table()` (plus the clearly marked planned ones), and a running demo
//! daemon answers every route with the method set and the authentication the document states.
// The shared harness reads real clocks for its deadlines.
#![allow(clippy::disallowed_methods)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

mod common;
use common::{request, Daemon, Workdir, BASIC_ADMIN};

/// Endpoints being added in parallel (config APIs, click-to-dial, reports, the monitor feed).
/// They are documented with `"x-branchline-planned": true` and may be missing from the router
/// until they land; once one is routed, its marker and its entry here must go.
const PLANNED: &[(&str, &str)] = &[];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn doc() -> Value {
    serde_json::from_str(include_str!("../docs/openapi.json")).expect("docs/openapi.json is JSON")
}

/// Every operation: (METHOD, path template) → the operation object.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut ops = BTreeMap::new();
    let paths = doc["paths"].as_object().expect("paths object");
    for (path, item) in paths {
        let item = item.as_object().expect("path item object");
        for (method, op) in item {
            assert!(
                METHODS.contains(&method.as_str()),
                "{path}: {method} is not an HTTP method"
            );
            ops.insert((method.to_uppercase(), path.clone()), op.clone());
        }
    }
    ops
}

fn is_planned(op: &Value) -> bool {
    op["x-branchline-planned"] == Value::Bool(true)
}

fn routed() -> BTreeSet<(String, String)> {
    branchline::web::route_table()
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect()
}

fn planned() -> BTreeSet<(String, String)> {
    PLANNED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect()
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let ptr = r.strip_prefix('#').expect("local $ref");
            doc.pointer(ptr)
                .unwrap_or_else(|| panic!("dangling $ref {r}"))
        }
        None => v,
    }
}

/// Every `$ref` anywhere in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// The `{name}`s of a path template.
fn template_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

/// The path with each parameter replaced by the example the document gives it.
fn concrete(doc: &Value, path: &str, op: &Value) -> String {
    let mut out = path.to_owned();
    for name in template_params(path) {
        let example = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| resolve(doc, p))
            .find(|p| p["in"] == "path" && p["name"] == name.as_str())
            .and_then(|p| p.get("example"))
            .unwrap_or_else(|| panic!("{path}: path parameter {name} has no example"));
        let text = match example {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out = out.replace(&format!("{{{name}}}"), &text);
    }
    // Required query parameters take their examples too.
    let query: Vec<String> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| resolve(doc, p))
        .filter(|p| p["in"] == "query" && p["required"] == true)
        .map(|p| {
            let example = p["example"]
                .as_str()
                .unwrap_or_else(|| panic!("{path}: required query {} has no example", p["name"]));
            format!("{}={example}", p["name"].as_str().unwrap_or_default())
        })
        .collect();
    if !query.is_empty() {
        out = format!("{out}?{}", query.join("&"));
    }
    out
}

/// Whether the operation needs no credentials (`security: []`).
fn is_public(op: &Value) -> bool {
    op.get("security")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
}

#[test]
fn the_document_is_openapi_3_1_with_resolvable_refs_and_complete_operations() {
    let doc = doc();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "openapi version: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    for scheme in ["session", "csrf", "basic", "bearer"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "security scheme {scheme}"
        );
    }
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(error["required"], serde_json::json!(["error", "message"]));
    assert!(error["properties"]["field"].is_object());

    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        let ptr = r.strip_prefix('#').expect("only local refs");
        assert!(doc.pointer(ptr).is_some(), "dangling $ref {r}");
    }

    let mut ids = BTreeSet::new();
    for ((method, path), op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        assert!(!id.is_empty(), "{method} {path}: no operationId");
        assert!(ids.insert(id.clone()), "duplicate operationId {id}");
        assert!(op["summary"].is_string(), "{method} {path}: no summary");
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|k| k.starts_with('2')),
            "{method} {path}: no success response"
        );
        for (code, r) in responses {
            let r = resolve(&doc, r);
            assert!(
                r["description"].is_string(),
                "{method} {path} {code}: no description"
            );
            // Every error answer has the {"error","message","field"} shape (SPEC §12).
            if code.starts_with('4') || code.starts_with('5') {
                let schema = resolve(&doc, &r["content"]["application/json"]["schema"]);
                assert!(
                    schema["properties"]["error"].is_object(),
                    "{method} {path} {code}: error body is not the Error shape"
                );
            }
        }
        // Each template parameter is declared, with an example the live test can use.
        for name in template_params(&path) {
            let declared = op["parameters"].as_array().into_iter().flatten().any(|p| {
                let p = resolve(&doc, p);
                p["in"] == "path" && p["name"] == name.as_str() && p["required"] == true
            });
            assert!(
                declared,
                "{method} {path}: path parameter {name} undeclared"
            );
        }
        if !is_public(&op) && method != "GET" {
            let needs_csrf = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|req| req.get("session").is_some() && req.get("csrf").is_some());
            assert!(
                needs_csrf,
                "{method} {path}: cookie writes must list the csrf requirement"
            );
        }
    }
}

#[test]
fn every_route_is_documented_and_every_documented_route_is_routed_or_planned() {
    let doc = doc();
    let ops = operations(&doc);
    let documented: BTreeSet<_> = ops.keys().cloned().collect();
    let routed = routed();
    let planned = planned();

    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from docs/openapi.json: {undocumented:?}"
    );
    let unknown: Vec<_> = documented
        .iter()
        .filter(|k| !routed.contains(*k) && !planned.contains(*k))
        .collect();
    assert!(
        unknown.is_empty(),
        "documented but neither routed nor planned: {unknown:?}"
    );
    for (key, op) in &ops {
        if routed.contains(key) {
            assert!(
                !is_planned(op),
                "{key:?} is routed now: drop its x-branchline-planned marker (and its PLANNED entry)"
            );
        } else {
            assert!(
                is_planned(op),
                "{key:?} is not routed yet, so it must carry x-branchline-planned"
            );
        }
    }
    for key in &planned {
        assert!(
            documented.contains(key),
            "planned {key:?} is not documented"
        );
    }
    // The table itself has no duplicates.
    assert_eq!(routed.len(), branchline::web::route_table().len());
}

#[test]
fn the_daemon_serves_every_documented_route_with_its_methods_and_authentication() {
    let doc = doc();
    let ops = operations(&doc);
    let w = Workdir::new();
    let d = Daemon::start(&w);

    // The document is served as is, without credentials.
    let r = request(d.http(), "GET", "/api/openapi.json", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json")));
    assert_eq!(r.json(), doc);

    let routed = routed();
    let mut methods_by_path: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, p) in &routed {
        methods_by_path
            .entry(p.clone())
            .or_default()
            .insert(m.clone());
    }
    for (method, path) in &routed {
        let op = &ops[&(method.clone(), path.clone())];
        let url = concrete(&doc, path, op);
        // Without credentials: a public route answers, any other asks for them (401), so a
        // stale route (404) or a wrong method (405) shows up, and so does a wrong security claim.
        let r = request(d.http(), method, &url, &[], b"");
        if is_public(op) {
            let expected: &[u16] = if path == "/api/login" {
                &[400] // no body: the route is there and says what it needs
            } else if path.starts_with("/chat/api/") && (method != "GET" || path.contains('{')) {
                // The visitor API without a body or a token: the route answers what it needs
                // (400 naming the body) or that the example session does not exist (404).
                &[400, 404]
            } else {
                &[200]
            };
            assert!(
                expected.contains(&r.status),
                "{method} {url} (public): {} {}",
                r.status,
                r.text()
            );
            assert!(
                !r.text().contains("no route for"),
                "{method} {url} (public) is not routed: {}",
                r.text()
            );
        } else {
            assert_eq!(
                r.status,
                401,
                "{method} {url} should ask for credentials: {}",
                r.text()
            );
            assert_eq!(r.json()["error"], "unauthorized", "{method} {url}");
        }
    }
    // A method no route accepts: 405 with an Allow that lists exactly the documented methods.
    for (path, methods) in &methods_by_path {
        let (m0, _) = routed.iter().find(|(_, p)| p == path).expect("a route");
        let url = concrete(&doc, path, &ops[&(m0.clone(), path.clone())]);
        let r = request(d.http(), "PATCH", &url, &[], b"{}");
        assert_eq!(r.status, 405, "PATCH {url}: {}", r.text());
        let allow: BTreeSet<String> = r
            .header("allow")
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        assert_eq!(&allow, methods, "Allow of {url}");
        assert_eq!(r.json()["error"], "method_not_allowed");
    }
    // Authenticated reads without parameters answer 200 with the documented required fields.
    for (method, path) in &routed {
        if method != "GET" || path.contains('{') || !path.starts_with("/api/") {
            continue;
        }
        if path == "/api/events/stream"
            || path == "/api/monitor/stream"
            || path == "/api/openapi.json"
        {
            continue; // endless stream; the document was compared above
        }
        let op = &ops[&(method.clone(), path.clone())];
        let url = concrete(&doc, path, op);
        let r = request(
            d.http(),
            "GET",
            &url,
            &[("Authorization", BASIC_ADMIN)],
            b"",
        );
        assert_eq!(r.status, 200, "GET {url}: {}", r.text());
        let schema = resolve(
            &doc,
            &op["responses"]["200"]["content"]["application/json"]["schema"],
        );
        let body = r.json();
        if schema["type"] == "array" {
            assert!(
                body.is_array(),
                "GET {path}: documented as an array: {body}"
            );
        } else if schema["type"] == "object" {
            assert!(
                body.is_object(),
                "GET {path}: documented as an object: {body}"
            );
        }
        for field in schema["required"].as_array().into_iter().flatten() {
            let field = field.as_str().expect("field name");
            assert!(
                body.get(field).is_some(),
                "GET {path}: documented field {field} missing from {body}"
            );
        }
    }
}
