//! Server-neutral request and response values, so routing does not depend on tiny_http and the
//! tier can move to another server (SPEC: axum is the sanctioned alternative) unchanged.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::json;

/// An HTTP request as the routes see it, fully read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestParts {
    /// The method, upper case (`GET`).
    pub method: String,
    /// The path without the query string (`/api/calls`).
    pub path: String,
    /// The raw query string without the `?` (may be empty).
    pub query: String,
    /// Header names and values as received.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// The peer's address, for login throttling.
    pub remote_ip: Option<IpAddr>,
}

impl RequestParts {
    /// A request with the given method and URL (`/path?query`), no headers and no body.
    pub fn new(method: &str, url: &str) -> RequestParts {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        RequestParts {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            query: query.to_owned(),
            ..RequestParts::default()
        }
    }

    /// Adds a header (builder style).
    pub fn with_header(mut self, name: &str, value: &str) -> RequestParts {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The first value of a header, by case-insensitive name (RFC 9110 §5.1).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The last value of a query parameter, percent-decoded (`None` if absent).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').rev().find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }

    /// The value of one cookie from the `Cookie` header(s) (RFC 6265 §5.4).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim_matches('"'))
    }
}

/// An HTTP response as the routes produce it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseParts {
    /// The status code.
    pub status: u16,
    /// Header names and values, `Content-Type` included.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// JSON content type used by every API answer.
pub const JSON: &str = "application/json; charset=utf-8";

impl ResponseParts {
    /// A response with a body of the given content type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> ResponseParts {
        ResponseParts {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// A JSON response; API answers are never cached (they carry per-user data).
    pub fn json(status: u16, value: &impl Serialize) -> ResponseParts {
        match serde_json::to_vec(value) {
            Ok(body) => {
                ResponseParts::new(status, JSON, body).with_header("Cache-Control", "no-store")
            }
            Err(e) => {
                tracing::error!(error = %e, "response not serialisable");
                ResponseParts::error(500, "internal", "response could not be encoded", None)
            }
        }
    }

    /// The error shape of SPEC §12: `{"error": code, "message": text, "field": optional}`.
    pub fn error(status: u16, code: &str, message: &str, field: Option<&str>) -> ResponseParts {
        let mut body = json!({"error": code, "message": message});
        if let (Some(f), Some(obj)) = (field, body.as_object_mut()) {
            obj.insert("field".into(), json!(f));
        }
        // Built by hand so this path cannot recurse into `json` on failure.
        let bytes =
            serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"error\":\"internal\"}".to_vec());
        ResponseParts::new(status, JSON, bytes).with_header("Cache-Control", "no-store")
    }

    /// Adds a header (builder style).
    pub fn with_header(mut self, name: &str, value: &str) -> ResponseParts {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes `%XX` escapes and `+` (form encoding) in a query component; malformed escapes are
/// kept literally rather than rejected, and invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
                let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_splits_into_path_and_query_and_params_decode() {
        let r = RequestParts::new("get", "/api/calls?page=2&per_page=%35%30&q=a+b&page=3");
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/api/calls");
        assert_eq!(r.query_param("page").as_deref(), Some("3"), "last wins");
        assert_eq!(r.query_param("per_page").as_deref(), Some("50"));
        assert_eq!(r.query_param("q").as_deref(), Some("a b"));
        assert_eq!(r.query_param("missing"), None);
    }

    #[test]
    fn malformed_percent_escapes_are_kept_not_panicked_on() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%E4%B8%AD"), "中");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn cookies_are_found_among_several_and_headers_are_case_insensitive() {
        let r = RequestParts::new("GET", "/")
            .with_header("cookie", "a=1; bl_session=abc; c=\"q\"")
            .with_header("X-Thing", "v");
        assert_eq!(r.cookie("bl_session"), Some("abc"));
        assert_eq!(r.cookie("c"), Some("q"));
        assert_eq!(r.cookie("d"), None);
        assert_eq!(r.header("x-thing"), Some("v"));
    }

    #[test]
    fn errors_carry_code_message_and_optional_field() {
        let r = ResponseParts::error(
            400,
            "bad_request",
            "per_page must be a number",
            Some("per_page"),
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["error"], "bad_request");
        assert_eq!(v["field"], "per_page");
        let r = ResponseParts::error(404, "not_found", "no such route", None);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(v.get("field").is_none());
        assert_eq!(r.header("content-type"), Some(JSON));
    }
}
