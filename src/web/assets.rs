//! Static pages embedded in the binary (SPEC §1: web assets ship inside the daemon).

use super::http::ResponseParts;

/// The placeholder start page (zh-CN and English) until the panel ships.
const INDEX_HTML: &str = include_str!("../../web/index.html");

/// `GET /`: the placeholder page, with headers that keep it from being framed or sniffed.
pub fn index() -> ResponseParts {
    ResponseParts::new(200, "text/html; charset=utf-8", INDEX_HTML)
        .with_header(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        )
        .with_header("Cache-Control", "no-cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_page_is_bilingual_html_linking_health() {
        let r = index();
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        let html = String::from_utf8(r.body).unwrap();
        assert!(html.contains("<html lang=\"zh-CN\">"));
        assert!(html.contains("即将上线"));
        assert!(html.contains("coming soon"));
        assert!(html.contains("href=\"/api/health\""));
    }
}
