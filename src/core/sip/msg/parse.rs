//! Framing and parsing of whole messages (RFC 3261 §7, §18.3).

use std::borrow::Cow;
use std::ops::Range;

use super::header::{self, Kind, KINDS};
use super::lex::{self, at, is, is_ws, parse_digits, Text, TOKEN};
use super::{each_element, Header, Message, Method, ParseError, StartLine, Uri, NONE};

/// Largest head (start line + headers) a stream connection may send before we give up.
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest body a stream connection may announce.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Headers that may appear at most once (RFC 3261 §7.3.1, §20; RFC 4475 §3.3.8).
fn single_instance(k: Kind) -> bool {
    matches!(
        k,
        Kind::To
            | Kind::From
            | Kind::CallId
            | Kind::CSeq
            | Kind::MaxForwards
            | Kind::ContentLength
            | Kind::ContentType
            | Kind::Expires
    )
}

/// Number of leading CR/LF bytes (RFC 3261 §7.5 keep-alives before a start line).
fn leading_crlf(b: &[u8]) -> usize {
    b.iter().take_while(|&&c| c == b'\r' || c == b'\n').count()
}

/// Find the empty line ending the head: `(head_len, body_start)`, where the head includes the
/// line break of its last line. Accepts CRLF or bare LF line ends.
fn find_head_end(b: &[u8]) -> Option<(usize, usize)> {
    for nl in memchr::memchr_iter(b'\n', b) {
        let n = nl + 1;
        match at(b, n) {
            b'\n' => return Some((n, n + 1)),
            b'\r' if at(b, n + 1) == b'\n' => return Some((n, n + 2)),
            _ => {}
        }
    }
    None
}

/// One logical header line: name, trimmed value (still folded) and whether it was folded.
pub(crate) struct Line {
    /// Field name range.
    pub name: Range<usize>,
    /// Value range, trimmed.
    pub value: Range<usize>,
    /// True when continuation lines were joined (the value holds CRLF).
    pub folded: bool,
}

/// Logical header lines (continuations joined) of a head without its start line. Stops at the
/// empty line and remembers where the body starts.
pub(crate) struct HeaderLines<'b> {
    b: &'b [u8],
    pos: usize,
    /// Index just past the empty line, once it has been reached.
    pub body_start: Option<usize>,
}

impl<'b> HeaderLines<'b> {
    /// Iterate the header lines in `b`.
    pub fn new(b: &'b [u8]) -> Self {
        HeaderLines {
            b,
            pos: 0,
            body_start: None,
        }
    }

    /// End of the line starting at `p` (without CR) and the start of the next line.
    #[inline]
    fn line(&self, p: usize) -> (usize, usize) {
        let nl = lex::find1(self.b, p, self.b.len(), b'\n').unwrap_or(self.b.len());
        let mut le = nl;
        if le > p && at(self.b, le - 1) == b'\r' {
            le -= 1;
        }
        (le, nl + 1)
    }
}

impl Iterator for HeaderLines<'_> {
    type Item = Result<Line, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.b;
        let p = self.pos;
        if p >= b.len() || self.body_start.is_some() {
            return None;
        }
        let (le, next) = self.line(p);
        self.pos = next;
        if next > b.len() {
            // The head stops mid-line.
            self.pos = b.len();
            return Some(Err(ParseError::Incomplete));
        }
        if le == p {
            self.body_start = Some(next.min(b.len()));
            return None;
        }
        if is_ws(at(b, p)) {
            // RFC 3261 §7.3.1: a continuation line needs a header to continue.
            return Some(Err(ParseError::HeaderLine));
        }
        // RFC 3261 §7.3.1: field-name is a token, then optional whitespace, then ':'.
        let ne = lex::span(b, p, le, TOKEN);
        let colon = lex::skip_ws(b, ne, le);
        if ne == p || colon >= le || at(b, colon) != b':' {
            return Some(Err(ParseError::HeaderLine));
        }
        let mut vend = le;
        let mut folded = false;
        while self.pos < b.len() && is_ws(at(b, self.pos)) {
            let (le2, next2) = self.line(self.pos);
            if next2 > b.len() {
                self.pos = b.len();
                return Some(Err(ParseError::Incomplete));
            }
            vend = le2;
            self.pos = next2;
            folded = true;
        }
        let mut vs = colon + 1;
        while vs < vend && matches!(at(b, vs), b' ' | b'\t' | b'\r' | b'\n') {
            vs += 1;
        }
        while vend > vs && is_ws(at(b, vend - 1)) {
            vend -= 1;
        }
        let folded = folded && lex::find2(b, vs, vend, b'\r', b'\n').is_some();
        Some(Ok(Line {
            name: p..ne,
            value: vs..vend,
            folded,
        }))
    }
}

/// SIP-Version check: SIP/2.0 (case-insensitive, RFC 3261 §7.1); another well-formed version is
/// a 505, anything else a syntax error.
fn check_version(v: &str) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let well_formed = v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        && v.get(4..)
            .and_then(|n| n.split_once('.'))
            .is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && b.bytes().all(|c| c.is_ascii_digit())
            });
    if well_formed {
        Err(ParseError::Version)
    } else {
        Err(ParseError::StartLine("bad SIP-Version"))
    }
}

/// Request-Line (RFC 3261 §7.1: single SP separators, no other whitespace) or Status-Line (§7.2).
fn parse_start_line(line: &str) -> Result<StartLine<'_>, ParseError> {
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        let (ver, rest) = line
            .split_once(' ')
            .ok_or(ParseError::StartLine("missing status code"))?;
        check_version(ver)?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::StatusCode);
        }
        let code: u16 = code.parse().map_err(|_| ParseError::StatusCode)?;
        if !(100..=699).contains(&code) {
            return Err(ParseError::StatusCode);
        }
        if reason.bytes().any(|c| c < 0x20 && c != b'\t') {
            return Err(ParseError::StartLine("control character in reason phrase"));
        }
        return Ok(StartLine::Response { code, reason });
    }
    // RFC 3261 §7.1: exactly single SPs; a tab or extra space makes a part fail its grammar.
    let b = line.as_bytes();
    let sp1 = lex::find1(b, 0, b.len(), b' ');
    let sp2 = sp1.and_then(|a| lex::find1(b, a + 1, b.len(), b' '));
    let (Some(sp1), Some(sp2)) = (sp1, sp2) else {
        return Err(ParseError::StartLine(
            "Request-Line is not METHOD SP Request-URI SP SIP-Version",
        ));
    };
    let m = line.get(..sp1).unwrap_or_default();
    let uri = line.get(sp1 + 1..sp2).unwrap_or_default();
    let ver = line.get(sp2 + 1..).unwrap_or_default();
    if uri.is_empty() || ver.contains(' ') {
        return Err(ParseError::StartLine(
            "Request-Line is not METHOD SP Request-URI SP SIP-Version",
        ));
    }
    if m.is_empty() || !m.bytes().all(|c| is(c, TOKEN)) {
        return Err(ParseError::StartLine("method is not a token"));
    }
    check_version(ver)?;
    if uri.starts_with('<') {
        // RFC 4475 §3.1.2.7: the Request-URI is never enclosed in <>.
        return Err(ParseError::StartLine("Request-URI enclosed in <>"));
    }
    let u = Uri::parse(uri)?;
    if u.is_sip() && u.headers.is_some() {
        // RFC 3261 §19.1.5 / RFC 4475 §3.1.2.11: headers are not allowed in a Request-URI.
        return Err(ParseError::StartLine("Request-URI carries headers"));
    }
    Ok(StartLine::Request {
        method: Method::parse(m),
        uri,
    })
}

fn bad(k: Kind, why: &'static str) -> ParseError {
    ParseError::BadHeader {
        header: k.label(),
        why,
    }
}

/// Check the grammar of one indexed header value; returns the Content-Length when `k` is that.
fn validate(
    k: Kind,
    raw: &str,
    folded: bool,
    method: Option<&Method>,
) -> Result<Option<usize>, ParseError> {
    // Only folded values need the unfolding copy.
    let unfold = |raw| {
        if folded {
            lex::unfold(raw)
        } else {
            Cow::Borrowed(raw)
        }
    };
    match k {
        Kind::To | Kind::From => {
            let v = unfold(raw);
            let t = Text::of(&v);
            header::parse_name_addr(t, 0..t.s.len(), k.label())?;
        }
        Kind::Contact => each_element(unfold(raw), "Contact", |t, r| {
            if t.s.get(r.clone()) != Some("*") {
                header::parse_name_addr(t, r, "Contact")?;
            }
            Ok(())
        })?,
        Kind::Via => each_element(unfold(raw), "Via", |t, r| {
            header::parse_via(t, r).map(|_| ())
        })?,
        Kind::CSeq => {
            let v = unfold(raw);
            let (_, m) = header::split_cseq(&v).map_err(|w| bad(k, w))?;
            if let Some(req) = method {
                // RFC 3261 §8.1.1.5: the CSeq method matches the request's.
                if m != req.as_str() {
                    return Err(ParseError::CSeqMismatch);
                }
            }
        }
        Kind::CallId => header::check_call_id(&unfold(raw)).map_err(|w| bad(k, w))?,
        Kind::MaxForwards | Kind::Expires => {
            parse_digits(&unfold(raw), u64::from(u32::MAX))
                .ok_or(bad(k, "not a number below 2^32"))?;
        }
        Kind::ContentLength => {
            let v = unfold(raw);
            if v.starts_with('-') {
                return Err(ParseError::ContentLength("negative"));
            }
            let n = parse_digits(&v, MAX_BODY as u64 * 1024)
                .ok_or(ParseError::ContentLength("not a number"))?;
            return Ok(Some(
                usize::try_from(n).map_err(|_| ParseError::ContentLength("too large"))?,
            ));
        }
        Kind::ContentType => header::check_media_type(&unfold(raw)).map_err(|w| bad(k, w))?,
        Kind::Date => header::check_date(&unfold(raw)).map_err(|w| bad(k, w))?,
        Kind::Other => {}
    }
    Ok(None)
}

impl<'a> Message<'a> {
    /// Parse one datagram. Content-Length frames the body and trailing bytes are ignored
    /// (RFC 4475 §3.1.1.8); fewer body bytes than announced is an error (RFC 3261 §18.3); without
    /// Content-Length the body is the rest of the datagram.
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>, ParseError> {
        let rest = buf.get(leading_crlf(buf)..).unwrap_or_default();
        if rest.is_empty() {
            return Err(ParseError::Empty);
        }
        // One UTF-8 pass: the head must lie inside the valid prefix (a body may be binary).
        let text = match std::str::from_utf8(rest) {
            Ok(t) => t,
            Err(e) => std::str::from_utf8(rest.get(..e.valid_up_to()).unwrap_or_default())
                .map_err(|_| ParseError::NotUtf8)?,
        };
        let tb = text.as_bytes();
        let sl_end = lex::find1(tb, 0, tb.len(), b'\n').ok_or(if text.len() < rest.len() {
            ParseError::NotUtf8
        } else {
            ParseError::Incomplete
        })?;
        let sl = text.get(..sl_end).unwrap_or_default();
        let sl = sl.strip_suffix('\r').unwrap_or(sl);
        let start = parse_start_line(sl)?;
        let method = match &start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        };

        let hdr_text = text.get(sl_end + 1..).unwrap_or_default();
        let mut headers = Vec::with_capacity(24);
        let mut first = [NONE; KINDS];
        let mut content_length = None;
        let mut lines = HeaderLines::new(hdr_text.as_bytes());
        let truncated_utf8 = text.len() < rest.len();
        for item in lines.by_ref() {
            let line = item.map_err(|e| match e {
                ParseError::Incomplete if truncated_utf8 => ParseError::NotUtf8,
                e => e,
            })?;
            let name = hdr_text.get(line.name).unwrap_or_default();
            let value = hdr_text.get(line.value).unwrap_or_default();
            let k = Kind::of(name);
            if k != Kind::Other {
                let slot = &mut first[k as usize];
                if *slot == NONE {
                    *slot = headers.len();
                } else if single_instance(k) {
                    return Err(ParseError::DuplicateHeader(k.label()));
                }
                if let Some(cl) = validate(k, value, line.folded, method)? {
                    content_length = Some(cl);
                }
            }
            headers.push(Header { name, value });
        }
        let body_start = match lines.body_start {
            Some(b) => sl_end + 1 + b,
            // The head ran into invalid UTF-8 before its empty line.
            None if truncated_utf8 => return Err(ParseError::NotUtf8),
            // Tolerate a datagram whose last header line ends without the empty line.
            None if text.ends_with('\n') => rest.len(),
            None => return Err(ParseError::Incomplete),
        };
        // RFC 3261 §8.1.1: To, From, CSeq, Call-ID and Via are mandatory (Max-Forwards is not
        // required, for RFC 2543 peers — RFC 4475 §3.4.1); responses need them for matching.
        for k in [Kind::To, Kind::From, Kind::CallId, Kind::CSeq, Kind::Via] {
            if first[k as usize] == NONE {
                return Err(ParseError::MissingHeader(k.label()));
            }
        }
        let avail = rest.get(body_start..).unwrap_or_default();
        let body = match content_length {
            None => avail,
            Some(cl) => avail.get(..cl).ok_or(ParseError::BodyTruncated {
                declared: cl,
                available: avail.len(),
            })?,
        };
        Ok(Message {
            start,
            body,
            headers,
            first,
        })
    }

    /// Stream (TCP/TLS) framing, RFC 3261 §18.3: `Ok(Some(n))` when the first `n` bytes hold one
    /// complete message (leading CRLF keep-alives included), `Ok(None)` when more bytes are
    /// needed, `Err` when the stream cannot be framed (missing, negative, non-numeric or
    /// conflicting Content-Length, oversized head/body): close the connection.
    pub fn frame(stream: &[u8]) -> Result<Option<usize>, ParseError> {
        let skip = leading_crlf(stream);
        let rest = stream.get(skip..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(None);
        }
        let Some((head_len, body_start)) = find_head_end(rest) else {
            return if rest.len() > MAX_HEAD {
                Err(ParseError::TooLarge(MAX_HEAD))
            } else {
                Ok(None)
            };
        };
        if head_len > MAX_HEAD {
            return Err(ParseError::TooLarge(MAX_HEAD));
        }
        let head = rest.get(..head_len).unwrap_or_default();
        let sl_end = memchr::memchr(b'\n', head).unwrap_or(head.len());
        let hdrs = head.get(sl_end + 1..).unwrap_or_default();
        let mut cl: Option<usize> = None;
        for Line {
            name: n, value: v, ..
        } in HeaderLines::new(hdrs).flatten()
        {
            let name = hdrs.get(n).unwrap_or_default();
            if !(name.eq_ignore_ascii_case(b"Content-Length") || name.eq_ignore_ascii_case(b"l")) {
                continue;
            }
            let value = hdrs.get(v).unwrap_or_default();
            let value = std::str::from_utf8(value).map_err(|_| ParseError::NotUtf8)?;
            let value = lex::trim_lws(value);
            if value.starts_with('-') {
                return Err(ParseError::ContentLength("negative"));
            }
            let n = parse_digits(value, MAX_BODY as u64)
                .ok_or(ParseError::ContentLength("not a number or too large"))?;
            let n = usize::try_from(n).map_err(|_| ParseError::ContentLength("too large"))?;
            if cl.is_some_and(|c| c != n) {
                return Err(ParseError::ContentLength("conflicting values"));
            }
            cl = Some(n);
        }
        let cl = cl.ok_or(ParseError::ContentLength("missing on a stream transport"))?;
        let total = skip + body_start + cl;
        Ok((stream.len() >= total).then_some(total))
    }

    /// Number of leading CR/LF bytes in a stream: RFC 5626 §4.4.1 keep-alive pings a stream
    /// reader consumes (and may answer) on its own when no message follows yet.
    pub fn keepalive_len(stream: &[u8]) -> usize {
        leading_crlf(stream)
    }
}
