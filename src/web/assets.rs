//! The panel's static files, embedded in the binary (SPEC §1: no Node at runtime or to build;
//! plain HTML, CSS and JavaScript modules, no build step). Only files on the allowlist that
//! build.rs generates from `web/` are served; each with its content type, revalidated on every
//! load (`no-cache`: the files are small and unversioned), under a strict Content-Security-Policy
//! (no inline script or style).

use super::http::ResponseParts;

/// The panel's policy: only our own scripts, styles, media (the voice library's `<audio>`) and
/// connections; no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The embedded file at `path`, if it is on the allowlist.
pub fn get(path: &str) -> Option<ResponseParts> {
    let (_, content_type, bytes) = FILES.iter().find(|(p, _, _)| *p == path)?;
    Some(
        ResponseParts::new(200, content_type, bytes.to_vec())
            .with_header("Content-Security-Policy", CSP)
            .with_header("Cache-Control", "no-cache")
            .with_header("Referrer-Policy", "no-referrer")
            .with_header("X-Frame-Options", "DENY"),
    )
}

/// `GET /`: the panel's page.
pub fn index() -> ResponseParts {
    get("/").unwrap_or_else(|| ResponseParts::error(404, "not_found", "no panel", None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowlist_serves_typed_files_under_a_strict_policy_and_nothing_else() {
        let r = index();
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        let html = String::from_utf8(r.body).unwrap();
        assert!(html.contains("<html lang=\"zh-CN\">"));
        assert!(html.contains("src=\"/assets/app.js\""));
        let js = get("/assets/app.js").unwrap();
        assert_eq!(
            js.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert!(
            !String::from_utf8(js.body).unwrap().contains("innerHTML"),
            "text goes in via textContent"
        );
        assert_eq!(
            get("/assets/app.css").unwrap().header("content-type"),
            Some("text/css; charset=utf-8")
        );
        assert!(get("/assets/../Cargo.toml").is_none());
        assert!(get("/assets/missing.js").is_none());
    }

    #[test]
    fn both_dictionaries_carry_the_same_keys_and_the_seed_terms() {
        let js = String::from_utf8(get("/assets/i18n.js").unwrap().body).unwrap();
        for term in [
            "坐席工作台",
            "电话条",
            "来电弹屏",
            "服务小结",
            "工单",
            "联系计划",
            "技能组",
            "客服日志",
        ] {
            assert!(js.contains(term), "{term}");
        }
        let (zh, en) = js.split_once("\"en\": {").unwrap();
        let keys = |s: &str| s.matches("\": \"").count();
        assert_eq!(
            keys(zh.split_once("\"zh-CN\": {").unwrap().1),
            keys(en.split_once("},").unwrap().0)
        );
    }
}
