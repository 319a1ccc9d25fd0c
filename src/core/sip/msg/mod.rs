//! Zero-copy SIP messages (RFC 3261 §7, grammar §25).
//!
//! `Message::parse` locates the start line and header lines, checks the syntax of the headers
//! every element depends on (To, From, Call-ID, CSeq, Via, Contact, Max-Forwards, Expires,
//! Content-Length, Content-Type, Date) and stores slices; typed values are rebuilt lazily on
//! access and borrow from the input unless folding or escaping forces a copy.
//! Outgoing messages are built with the owned `OutMessage`; `uas_checks` holds the RFC 3261 §8.2
//! checks a UAS runs before acting on a request.

mod build;
mod header;
mod lex;
mod parse;
mod refer;
mod semantics;
mod uri;

use std::borrow::Cow;
use std::fmt;

pub use build::{error_response, reason_phrase, response_to, OutMessage, OutStart};
pub use header::{canonical_name, media_type_essence, same_header, CSeq, Contacts, NameAddr, Via};
pub use refer::{sipfrag, ReferError, ReferTo, Replaces, SIPFRAG_TYPE};
pub use semantics::{uas_checks, Rejection};
pub use uri::{Params, Uri};

use header::Kind;
use lex::{parse_digits, CommaSplit, Text};

/// Why bytes are not a well-formed SIP message (each maps to a status code, see `status_code`).
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing but whitespace.
    #[error("empty message")]
    Empty,
    /// The head stops in the middle of a line.
    #[error("message is incomplete")]
    Incomplete,
    /// Start line or headers are not UTF-8 (RFC 3261 §7.3.1 TEXT-UTF8).
    #[error("message head is not valid UTF-8")]
    NotUtf8,
    /// Head or body beyond what a stream connection accepts.
    #[error("message larger than {0} bytes")]
    TooLarge(usize),
    /// Request-Line or Status-Line does not follow RFC 3261 §7.1/§7.2.
    #[error("malformed start line: {0}")]
    StartLine(&'static str),
    /// A SIP version other than 2.0 (answered with 505).
    #[error("SIP version not supported")]
    Version,
    /// Status code not three digits in 100..=699.
    #[error("malformed status code")]
    StatusCode,
    /// A header line without a token name and ':'.
    #[error("malformed header line")]
    HeaderLine,
    /// A header every message must carry is absent (RFC 3261 §8.1.1).
    #[error("missing mandatory header {0}")]
    MissingHeader(&'static str),
    /// A header that may appear once appears again (RFC 3261 §7.3.1).
    #[error("header {0} appears more than once")]
    DuplicateHeader(&'static str),
    /// A header value violates its grammar.
    #[error("malformed {header} header: {why}")]
    BadHeader {
        /// Header name.
        header: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// A URI violates RFC 3261 §25.1.
    #[error("malformed URI: {0}")]
    Uri(&'static str),
    /// Content-Length missing (stream), negative, non-numeric or conflicting.
    #[error("bad Content-Length: {0}")]
    ContentLength(&'static str),
    /// The datagram holds fewer body bytes than Content-Length says (RFC 3261 §18.3).
    #[error("body shorter than Content-Length ({declared} declared, {available} present)")]
    BodyTruncated {
        /// Content-Length value.
        declared: usize,
        /// Bytes present after the head.
        available: usize,
    },
    /// CSeq method differs from the request method (RFC 4475 §3.1.2.17).
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
}

impl ParseError {
    /// Status code of the answer: 505 for an unsupported version, otherwise 400.
    pub fn status_code(&self) -> u16 {
        match self {
            ParseError::Version => 505,
            _ => 400,
        }
    }
}

/// SIP request method (RFC 3261 §7.1, case-sensitive).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// REGISTER (RFC 3261).
    Register,
    /// OPTIONS (RFC 3261).
    Options,
    /// INFO (RFC 6086).
    Info,
    /// UPDATE (RFC 3311).
    Update,
    /// REFER (RFC 3515).
    Refer,
    /// NOTIFY (RFC 6665).
    Notify,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// MESSAGE (RFC 3428).
    Message,
    /// PRACK (RFC 3262).
    Prack,
    /// PUBLISH (RFC 3903).
    Publish,
    /// Any other token.
    Other(String),
}

impl Method {
    /// Method from its token (exact, case-sensitive match for the known ones).
    pub fn parse(s: &str) -> Method {
        match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "REFER" => Method::Refer,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "MESSAGE" => Method::Message,
            "PRACK" => Method::Prack,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The method token.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Refer => "REFER",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Message => "MESSAGE",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }

    /// False for `Other`.
    pub fn is_known(&self) -> bool {
        !matches!(self, Method::Other(_))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Method {
    fn from(s: &str) -> Self {
        Method::parse(s)
    }
}

/// Request-Line or Status-Line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `METHOD SP Request-URI SP SIP/2.0`.
    Request {
        /// Method.
        method: Method,
        /// Request-URI text (validated; parse it with `Message::request_uri`).
        uri: &'a str,
    },
    /// `SIP/2.0 SP code SP reason`.
    Response {
        /// Status code, 100..=699.
        code: u16,
        /// Reason phrase (UTF-8, may be empty).
        reason: &'a str,
    },
}

/// One header line as on the wire: name without trailing whitespace, value trimmed at both ends
/// but otherwise raw (it may still contain CRLF folding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// Name as written (may be a compact form).
    pub name: &'a str,
    /// Raw value.
    pub value: &'a str,
}

/// A parsed SIP message borrowing from its input.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    /// Start line.
    pub start: StartLine<'a>,
    /// Body, framed by Content-Length.
    pub body: &'a [u8],
    headers: Vec<Header<'a>>,
    /// Index of the first header of each indexed kind (usize::MAX = absent).
    first: [usize; header::KINDS],
}

const NONE: usize = usize::MAX;

impl<'a> Message<'a> {
    /// True for requests.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// Request method.
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// Response status code.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// Parsed Request-URI (requests only).
    pub fn request_uri(&self) -> Option<Result<Uri<'a>, ParseError>> {
        match self.start {
            StartLine::Request { uri, .. } => Some(Uri::parse(uri)),
            StartLine::Response { .. } => None,
        }
    }

    /// All header lines in wire order.
    pub fn headers(&self) -> &[Header<'a>] {
        &self.headers
    }

    fn raw_first(&self, name: &str) -> Option<&'a str> {
        let k = Kind::of(name);
        if k != Kind::Other {
            let i = self.first.get(k as usize).copied().unwrap_or(NONE);
            return self.headers.get(i).map(|h| h.value);
        }
        self.headers
            .iter()
            .find(|h| same_header(h.name, name))
            .map(|h| h.value)
    }

    fn raw_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |h| same_header(h.name, name))
            .map(|h| h.value)
    }

    /// First occurrence of `name` (case-insensitive, compact forms equivalent), unfolded and trimmed.
    pub fn header(&self, name: &str) -> Option<Cow<'a, str>> {
        self.raw_first(name).map(lex::unfold)
    }

    /// Every comma-separated value of every `name` header (commas in quotes or `<>` do not split),
    /// unfolded and trimmed; empty elements are skipped.
    pub fn header_values(&self, name: &str) -> Vec<Cow<'a, str>> {
        let mut out = Vec::new();
        for raw in self.raw_all(name) {
            let v = lex::unfold(raw);
            let t = Text::of(&v);
            for r in CommaSplit::new(t.s) {
                if !r.is_empty() {
                    out.push(t.piece(r));
                }
            }
        }
        out
    }

    fn required(&self, k: Kind) -> Result<Cow<'a, str>, ParseError> {
        self.header(k.label())
            .ok_or(ParseError::MissingHeader(k.label()))
    }

    /// Call-ID value.
    pub fn call_id(&self) -> Result<Cow<'a, str>, ParseError> {
        self.required(Kind::CallId)
    }

    /// CSeq number and method.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        let v = self.required(Kind::CSeq)?;
        let (seq, m) = header::split_cseq(&v).map_err(|why| ParseError::BadHeader {
            header: "CSeq",
            why,
        })?;
        Ok(CSeq {
            seq,
            method: Method::parse(m),
        })
    }

    fn name_addr(&self, k: Kind) -> Result<NameAddr<'a>, ParseError> {
        let v = self.required(k)?;
        let t = Text::of(&v);
        header::parse_name_addr(t, 0..t.s.len(), k.label())
    }

    /// From header.
    pub fn from(&self) -> Result<NameAddr<'a>, ParseError> {
        self.name_addr(Kind::From)
    }

    /// To header.
    pub fn to(&self) -> Result<NameAddr<'a>, ParseError> {
        self.name_addr(Kind::To)
    }

    /// Every Via value, topmost first.
    pub fn vias(&self) -> Result<Vec<Via<'a>>, ParseError> {
        let mut out = Vec::new();
        for raw in self.raw_all("Via") {
            each_element(lex::unfold(raw), "Via", |t, r| {
                out.push(header::parse_via(t, r)?);
                Ok(())
            })?;
        }
        Ok(out)
    }

    /// The topmost Via value.
    pub fn top_via(&self) -> Result<Via<'a>, ParseError> {
        let raw = self
            .raw_first("Via")
            .ok_or(ParseError::MissingHeader("Via"))?;
        let v = lex::unfold(raw);
        let t = Text::of(&v);
        let r = CommaSplit::new(t.s).next().unwrap_or(0..0);
        header::parse_via(t, r)
    }

    /// Contact values: `Star`, or a list (empty when there is no Contact).
    pub fn contacts(&self) -> Result<Contacts<'a>, ParseError> {
        let mut list = Vec::new();
        let mut star = false;
        for raw in self.raw_all("Contact") {
            each_element(lex::unfold(raw), "Contact", |t, r| {
                if t.s.get(r.clone()) == Some("*") {
                    star = true;
                } else {
                    list.push(header::parse_name_addr(t, r, "Contact")?);
                }
                Ok(())
            })?;
        }
        match (star, list.is_empty()) {
            (false, _) => Ok(Contacts::List(list)),
            (true, true) => Ok(Contacts::Star),
            (true, false) => Err(ParseError::BadHeader {
                header: "Contact",
                why: "'*' mixed with addresses",
            }),
        }
    }

    fn number(&self, k: Kind) -> Result<Option<u32>, ParseError> {
        match self.header(k.label()) {
            None => Ok(None),
            Some(v) => parse_digits(&v, u64::from(u32::MAX))
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or(ParseError::BadHeader {
                    header: k.label(),
                    why: "not a number below 2^32",
                }),
        }
    }

    /// Max-Forwards value, if present.
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        self.number(Kind::MaxForwards)
    }

    /// Expires value, if present.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.number(Kind::Expires)
    }

    /// Content-Type value, if present.
    pub fn content_type(&self) -> Option<Cow<'a, str>> {
        self.header("Content-Type")
    }
}

/// Unfold `raw`, split it at commas and hand each (non-empty) element to `f`; an empty element
/// (`a,,b`) is a syntax error for the list headers this is used on.
fn each_element<'a>(
    v: Cow<'a, str>,
    header: &'static str,
    mut f: impl FnMut(Text<'_, 'a>, std::ops::Range<usize>) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let t = Text::of(&v);
    for r in CommaSplit::new(t.s) {
        if r.is_empty() {
            return Err(ParseError::BadHeader {
                header,
                why: "empty list element",
            });
        }
        f(t, r)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
