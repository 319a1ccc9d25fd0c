//! Owned outgoing messages, responses to requests (RFC 3261 §8.2.6) and stateless error answers
//! for input that did not parse.

use std::io::Write as _;

use super::header::{same_header, Kind};
use super::lex::{at, is, TOKEN};
use super::parse::HeaderLines;
use super::ParseError;
use super::{Message, Method, StartLine};

/// Start line of an outgoing message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutStart {
    /// Request-Line.
    Request {
        /// Method.
        method: Method,
        /// Request-URI.
        uri: String,
    },
    /// Status-Line.
    Response {
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
}

/// Owned outgoing message (signalling path; allocation is fine here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutMessage {
    start: OutStart,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl OutMessage {
    /// New request with no headers.
    pub fn request(method: Method, uri: impl Into<String>) -> Self {
        OutMessage {
            start: OutStart::Request {
                method,
                uri: uri.into(),
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// New response with no headers.
    pub fn response(code: u16, reason: impl Into<String>) -> Self {
        OutMessage {
            start: OutStart::Response {
                code,
                reason: reason.into(),
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Copy of a parsed message: start line, every header (values unfolded) and the body.
    pub fn from_message(msg: &Message<'_>) -> Self {
        let start = match &msg.start {
            StartLine::Request { method, uri } => OutStart::Request {
                method: method.clone(),
                uri: (*uri).to_owned(),
            },
            StartLine::Response { code, reason } => OutStart::Response {
                code: *code,
                reason: (*reason).to_owned(),
            },
        };
        OutMessage {
            start,
            headers: msg
                .headers()
                .iter()
                .map(|h| (h.name.to_owned(), super::lex::unfold(h.value).into_owned()))
                .collect(),
            body: msg.body.to_vec(),
        }
    }

    /// Start line.
    pub fn start(&self) -> &OutStart {
        &self.start
    }

    /// Headers in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Request method, for requests.
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            OutStart::Request { method, .. } => Some(method),
            OutStart::Response { .. } => None,
        }
    }

    /// Status code, for responses.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            OutStart::Response { code, .. } => Some(*code),
            OutStart::Request { .. } => None,
        }
    }

    /// Append a header at the end.
    pub fn push_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.push((name.to_owned(), value.into()));
    }

    /// Insert before the first header of that name (Via/Record-Route insertion, RFC 3261
    /// §16.6), or first of all when there is none.
    pub fn prepend_header(&mut self, name: &str, value: impl Into<String>) {
        let at = self
            .headers
            .iter()
            .position(|(n, _)| same_header(n, name))
            .unwrap_or(0);
        self.headers.insert(at, (name.to_owned(), value.into()));
    }

    /// Replace every header of that name (compact forms too) with one value at the first one's
    /// position, or append.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.headers.iter().position(|(n, _)| same_header(n, name)) {
            Some(i) => {
                let mut k = 0;
                self.headers.retain(|(n, _)| {
                    let keep = k <= i || !same_header(n, name);
                    k += 1;
                    keep
                });
                if let Some(h) = self.headers.get_mut(i) {
                    *h = (name.to_owned(), value);
                }
            }
            None => self.headers.push((name.to_owned(), value)),
        }
    }

    /// Remove every header of that name (compact forms too).
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !same_header(n, name));
    }

    /// First value of that header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| same_header(n, name))
            .map(|(_, v)| v.as_str())
    }

    /// Replace the body; with `Some(content_type)` also set Content-Type.
    pub fn set_body(&mut self, content_type: Option<&str>, body: Vec<u8>) {
        if let Some(ct) = content_type {
            self.set_header("Content-Type", ct);
        }
        self.body = body;
    }

    /// Change the Request-URI (no effect on responses).
    pub fn set_request_uri(&mut self, new_uri: impl Into<String>) {
        if let OutStart::Request { uri, .. } = &mut self.start {
            *uri = new_uri.into();
        }
    }

    /// Serialise with CRLF line ends and a Content-Length that matches the body (any stored
    /// Content-Length is replaced). CR/LF inside names or values are written as SP so a value can
    /// never inject a header.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(64 + self.body.len() + self.headers.len() * 48);
        match &self.start {
            OutStart::Request { method, uri } => {
                out.extend_from_slice(method.as_str().as_bytes());
                out.push(b' ');
                put_clean(out, uri);
                out.extend_from_slice(b" SIP/2.0\r\n");
            }
            OutStart::Response { code, reason } => {
                let _ = write!(out, "SIP/2.0 {code} ");
                put_clean(out, reason);
                out.extend_from_slice(b"\r\n");
            }
        }
        for (n, v) in &self.headers {
            if Kind::of(n) == Kind::ContentLength {
                continue;
            }
            put_clean(out, n);
            out.extend_from_slice(b": ");
            put_clean(out, v);
            out.extend_from_slice(b"\r\n");
        }
        let _ = write!(out, "Content-Length: {}\r\n\r\n", self.body.len());
        out.extend_from_slice(&self.body);
    }

    /// Serialise into a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_to(&mut v);
        v
    }
}

fn put_clean(out: &mut Vec<u8>, s: &str) {
    out.extend(
        s.bytes()
            .map(|c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
    );
}

/// RFC 3261 §8.2.6: a response copying every Via, From, To, Call-ID, CSeq of the request
/// (adding `;tag=to_tag` to To when it has none and `to_tag` is given), plus Content-Length: 0.
/// A 100 Trying also copies Timestamp (§8.2.6.1).
pub fn response_to(req: &Message<'_>, code: u16, reason: &str, to_tag: Option<&str>) -> OutMessage {
    let mut out = OutMessage::response(code, reason);
    for h in req.headers() {
        let k = Kind::of(h.name);
        let copy = matches!(k, Kind::Via | Kind::From | Kind::CallId | Kind::CSeq)
            || (code == 100 && same_header(h.name, "Timestamp"));
        if copy {
            out.push_header(
                canonical_label(k, h.name),
                super::lex::unfold(h.value).into_owned(),
            );
        } else if k == Kind::To {
            let mut v = super::lex::unfold(h.value).into_owned();
            let has_tag = req.to().map(|t| t.tag().is_some()).unwrap_or(true);
            if let (Some(tag), false) = (to_tag, has_tag) {
                v.push_str(";tag=");
                v.push_str(tag);
            }
            out.push_header("To", v);
        }
    }
    out.push_header("Content-Length", "0");
    out
}

fn canonical_label(k: Kind, name: &str) -> &str {
    match k {
        Kind::Other => name,
        _ => k.label(),
    }
}

/// Standard reason phrase for a status code (RFC 3261 §21 and extensions); a generic class
/// phrase for unknown codes.
pub fn reason_phrase(code: u16) -> &'static str {
    known_reason(code).unwrap_or(match code {
        100..=199 => "Provisional",
        200..=299 => "Success",
        300..=399 => "Redirection",
        400..=499 => "Client Error",
        500..=599 => "Server Error",
        _ => "Global Failure",
    })
}

fn known_reason(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Unknown Resource-Priority",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        433 => "Anonymity Disallowed",
        436 => "Bad Identity-Info",
        437 => "Unsupported Certificate",
        438 => "Invalid Identity Header",
        439 => "First Hop Lacks Outbound Support",
        440 => "Max-Breadth Exceeded",
        469 => "Bad Info Package",
        470 => "Consent Needed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        608 => "Rejected",
        _ => return None,
    })
}

/// FNV-1a, used to derive a stable To tag for stateless error answers.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &c in *p {
            h ^= u64::from(c);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// For input that failed to parse: when it looks like a request and its Via, From, To, Call-ID
/// and CSeq lines can be found, a stateless 400 (505 for a bad version, RFC 3261 §8.2.6) copying
/// them raw, with a To tag derived from Call-ID and CSeq if To has none. `None` for responses and
/// unrecognisable input.
pub fn error_response(buf: &[u8], err: &ParseError) -> Option<Vec<u8>> {
    let skip = buf
        .iter()
        .take_while(|&&c| c == b'\r' || c == b'\n')
        .count();
    let b = buf.get(skip..)?;
    let sl_end = memchr::memchr(b'\n', b)?;
    let sl = b.get(..sl_end)?;
    if sl.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/")) {
        return None;
    }
    // A request starts with a method token and a space.
    let m_end = sl.iter().position(|&c| !is(c, TOKEN))?;
    if m_end == 0 || at(sl, m_end) != b' ' {
        return None;
    }
    let head_end = memchr::memmem::find(b, b"\r\n\r\n")
        .map(|p| p + 2)
        .or_else(|| memchr::memmem::find(b, b"\n\n").map(|p| p + 1))
        .unwrap_or(b.len());
    let hdrs = b.get(sl_end + 1..head_end.max(sl_end + 1))?;
    let mut vias: Vec<&[u8]> = Vec::new();
    let mut from = None;
    let mut to = None;
    let mut call_id = None;
    let mut cseq = None;
    for super::parse::Line {
        name: n, value: v, ..
    } in HeaderLines::new(hdrs).flatten()
    {
        let name = std::str::from_utf8(hdrs.get(n)?).ok()?;
        let value = hdrs.get(v)?;
        match Kind::of(name) {
            Kind::Via => vias.push(value),
            Kind::From => from = from.or(Some(value)),
            Kind::To => to = to.or(Some(value)),
            Kind::CallId => call_id = call_id.or(Some(value)),
            Kind::CSeq => cseq = cseq.or(Some(value)),
            _ => {}
        }
    }
    let (from, to, call_id, cseq) = (from?, to?, call_id?, cseq?);
    if vias.is_empty() {
        return None;
    }
    let code = err.status_code();
    let mut out = Vec::with_capacity(512);
    let _ = write!(out, "SIP/2.0 {code} {}\r\n", reason_phrase(code));
    for v in vias {
        put_raw(&mut out, "Via", v, b"");
    }
    put_raw(&mut out, "From", from, b"");
    let tag = if memchr::memmem::find(&to.to_ascii_lowercase(), b"tag=").is_none() {
        format!(";tag={:016x}", fnv1a(&[call_id, cseq]))
    } else {
        String::new()
    };
    put_raw(&mut out, "To", to, tag.as_bytes());
    put_raw(&mut out, "Call-ID", call_id, b"");
    put_raw(&mut out, "CSeq", cseq, b"");
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    Some(out)
}

/// `name: value suffix CRLF`, with CR/LF inside the raw value turned into SP.
fn put_raw(out: &mut Vec<u8>, name: &str, v: &[u8], suffix: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend(
        v.iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
    );
    out.extend_from_slice(suffix);
    out.extend_from_slice(b"\r\n");
}
