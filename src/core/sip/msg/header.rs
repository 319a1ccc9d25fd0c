//! Header names (compact forms, RFC 3261 §7.3.3) and the typed header grammars: Via, name-addr
//! (To/From/Contact), CSeq, Call-ID, Date, Content-Type (RFC 3261 §20, §25.1).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use super::lex::{
    at, find1, find3, is_ws, parse_digits, scan_header_params, scan_quoted, skip_ws, span,
    trim_range, Text, TOKEN, WORD,
};
use super::uri::{host_end, parse_port, parse_uri, Params, Uri};
use super::{Method, ParseError};

/// Compact forms registered with IANA (RFC 3261 §7.3.3 plus RFC 3515, 3841, 3892, 4028, 4474, 6665).
const COMPACT: [(u8, &str); 20] = [
    (b'a', "Accept-Contact"),
    (b'b', "Referred-By"),
    (b'c', "Content-Type"),
    (b'd', "Request-Disposition"),
    (b'e', "Content-Encoding"),
    (b'f', "From"),
    (b'i', "Call-ID"),
    (b'j', "Reject-Contact"),
    (b'k', "Supported"),
    (b'l', "Content-Length"),
    (b'm', "Contact"),
    (b'n', "Identity-Info"),
    (b'o', "Event"),
    (b'r', "Refer-To"),
    (b's', "Subject"),
    (b't', "To"),
    (b'u', "Allow-Events"),
    (b'v', "Via"),
    (b'x', "Session-Expires"),
    (b'y', "Identity"),
];

/// Long form of a header name (compact forms expanded; anything else unchanged).
pub fn canonical_name(name: &str) -> &str {
    if name.len() == 1 {
        let c = name
            .as_bytes()
            .first()
            .copied()
            .unwrap_or(0)
            .to_ascii_lowercase();
        if let Some((_, long)) = COMPACT.iter().find(|(k, _)| *k == c) {
            return long;
        }
    }
    name
}

/// True when two header names denote the same header (case-insensitive, compact = long).
pub fn same_header(a: &str, b: &str) -> bool {
    canonical_name(a).eq_ignore_ascii_case(canonical_name(b))
}

/// Headers the parser validates or indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    To = 0,
    From,
    CallId,
    CSeq,
    Via,
    MaxForwards,
    ContentLength,
    ContentType,
    Expires,
    Contact,
    Date,
    Other,
}

/// Number of indexed kinds (everything but `Other`).
pub(crate) const KINDS: usize = Kind::Other as usize;

impl Kind {
    /// Classify a header name.
    pub fn of(name: &str) -> Kind {
        let n = canonical_name(name);
        let eq = |s: &str| n.eq_ignore_ascii_case(s);
        match n.len() {
            2 if eq("To") => Kind::To,
            3 if eq("Via") => Kind::Via,
            4 if eq("From") => Kind::From,
            4 if eq("CSeq") => Kind::CSeq,
            4 if eq("Date") => Kind::Date,
            7 if eq("Call-ID") => Kind::CallId,
            7 if eq("Contact") => Kind::Contact,
            7 if eq("Expires") => Kind::Expires,
            12 if eq("Max-Forwards") => Kind::MaxForwards,
            12 if eq("Content-Type") => Kind::ContentType,
            14 if eq("Content-Length") => Kind::ContentLength,
            _ => Kind::Other,
        }
    }

    /// Display name used in errors.
    pub fn label(self) -> &'static str {
        match self {
            Kind::To => "To",
            Kind::From => "From",
            Kind::CallId => "Call-ID",
            Kind::CSeq => "CSeq",
            Kind::Via => "Via",
            Kind::MaxForwards => "Max-Forwards",
            Kind::ContentLength => "Content-Length",
            Kind::ContentType => "Content-Type",
            Kind::Expires => "Expires",
            Kind::Contact => "Contact",
            Kind::Date => "Date",
            Kind::Other => "extension",
        }
    }
}

/// CSeq: sequence number and method (RFC 3261 §20.16).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// Sequence number, at most 2^32-1.
    pub seq: u32,
    /// Method the sequence number belongs to.
    pub method: Method,
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// Split a CSeq value into number and method text (RFC 3261 §20.16: 1*DIGIT LWS Method).
pub(crate) fn split_cseq(v: &str) -> Result<(u32, &str), &'static str> {
    let d_end = v
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(v.len());
    let seq = parse_digits(v.get(..d_end).unwrap_or_default(), u64::from(u32::MAX))
        .ok_or("sequence number missing or larger than 2^32-1")?;
    let rest = v.get(d_end..).unwrap_or_default();
    let m = rest.trim_start_matches([' ', '\t']);
    if m.len() == rest.len() || m.is_empty() || !m.bytes().all(|c| super::lex::is(c, TOKEN)) {
        return Err("method missing or not a token");
    }
    Ok((
        u32::try_from(seq).map_err(|_| "sequence number too large")?,
        m,
    ))
}

/// Call-ID = word [ "@" word ] (RFC 3261 §25.1).
pub(crate) fn check_call_id(v: &str) -> Result<(), &'static str> {
    let mut parts = v.split('@');
    let ok = v.bytes().filter(|&c| c == b'@').count() <= 1
        && parts.all(|w| !w.is_empty() && w.bytes().all(|c| super::lex::is(c, WORD)));
    if ok {
        Ok(())
    } else {
        Err("not word [\"@\" word]")
    }
}

/// rfc1123-date in GMT (RFC 3261 §20.17): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn check_date(v: &str) -> Result<(), &'static str> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let f: Vec<&str> = v.split(' ').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|c| c.is_ascii_digit());
    let ok = match f.as_slice() {
        [wk, day, mon, year, time, zone] => {
            wk.strip_suffix(',').is_some_and(|d| DAYS.contains(&d))
                && digits(day, 2)
                && MONTHS.contains(mon)
                && digits(year, 4)
                && time.len() == 8
                && time.split(':').all(|p| digits(p, 2))
                && time.split(':').count() == 3
                && *zone == "GMT"
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err("not an RFC 1123 date in GMT")
    }
}

/// media-type = m-type SLASH m-subtype *(SEMI m-parameter) (RFC 3261 §20.15).
pub(crate) fn check_media_type(v: &str) -> Result<(), &'static str> {
    let b = v.as_bytes();
    let t = span(b, 0, b.len(), TOKEN);
    let s0 = skip_ws(b, t, b.len());
    if t == 0 || at(b, s0) != b'/' {
        return Err("missing type/subtype");
    }
    let s1 = skip_ws(b, s0 + 1, b.len());
    let st = span(b, s1, b.len(), TOKEN);
    if st == s1 {
        return Err("missing subtype");
    }
    scan_header_params(b, st, b.len()).map(|_| ())
}

/// Media type without parameters, e.g. `application/sdp` from `application/SDP; charset=x`.
pub fn media_type_essence(v: &str) -> String {
    let base = v.split(';').next().unwrap_or_default();
    base.split('/')
        .map(|p| p.trim().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("/")
}

/// One Via value (RFC 3261 §20.42).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Via<'a> {
    /// Transport token as written (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, or unknown).
    pub transport: Cow<'a, str>,
    /// Host; IPv6 keeps its brackets.
    pub host: Cow<'a, str>,
    /// Port, if given.
    pub port: Option<u16>,
    /// via-params (`branch`, `received`, `rport`, ...).
    pub params: Params<'a>,
}

impl Via<'_> {
    /// The `branch` parameter value.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// The `received` parameter value.
    pub fn received(&self) -> Option<&str> {
        self.params.get("received").flatten()
    }

    /// RFC 3581 `rport`: `Some(None)` when present without a value.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params.get("rport").map(|v| v.and_then(parse_port))
    }

    /// `host[:port]` as in the sent-by.
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.to_string(),
        }
    }

    /// Detach from the input buffer.
    pub fn into_owned(self) -> Via<'static> {
        Via {
            transport: Cow::Owned(self.transport.into_owned()),
            host: Cow::Owned(self.host.into_owned()),
            port: self.port,
            params: self.params.into_owned(),
        }
    }
}

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SIP/2.0/{} {}{}",
            self.transport.to_ascii_uppercase(),
            self.sent_by(),
            self.params
        )
    }
}

fn bad(header: &'static str, why: &'static str) -> ParseError {
    ParseError::BadHeader { header, why }
}

/// Parse one via-parm in range `r` (already comma-split and trimmed).
pub(crate) fn parse_via<'a>(t: Text<'_, 'a>, r: Range<usize>) -> Result<Via<'a>, ParseError> {
    let b = t.bytes();
    let end = r.end;
    // sent-protocol = protocol-name SLASH protocol-version SLASH transport; SLASH = SWS "/" SWS
    let mut i = r.start;
    let mut transport = 0..0;
    for part in 0..3 {
        let e = span(b, i, end, TOKEN);
        if e == i {
            return Err(bad("Via", "bad sent-protocol"));
        }
        if part == 2 {
            transport = i..e;
            i = e;
            break;
        }
        i = skip_ws(b, e, end);
        if at(b, i) != b'/' || i >= end {
            return Err(bad("Via", "bad sent-protocol"));
        }
        i = skip_ws(b, i + 1, end);
    }
    let h = skip_ws(b, i, end);
    if h == i {
        return Err(bad("Via", "missing space before sent-by"));
    }
    let h_end = host_end(b, h, end).ok_or(bad("Via", "bad sent-by host"))?;
    i = skip_ws(b, h_end, end);
    let mut port = None;
    if at(b, i) == b':' && i < end {
        let p = skip_ws(b, i + 1, end);
        let pe = (p..end)
            .find(|&k| !at(b, k).is_ascii_digit())
            .unwrap_or(end);
        port = Some(parse_port(t.s.get(p..pe).unwrap_or_default()).ok_or(bad("Via", "bad port"))?);
        i = pe;
    }
    let pr = scan_header_params(b, i, end).map_err(|w| bad("Via", w))?;
    Ok(Via {
        transport: t.piece(transport),
        host: t.piece(h..h_end),
        port,
        params: Params::from_raw(t.piece(pr)),
    })
}

/// A name-addr or addr-spec with header parameters (To, From, Contact, Route ...).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NameAddr<'a> {
    /// Display name: quoted-string content with escapes resolved, or the token words.
    pub display: Option<Cow<'a, str>>,
    /// The URI.
    pub uri: Uri<'a>,
    /// Header parameters after the address (`tag`, `expires`, `q` ...).
    pub params: Params<'a>,
}

impl NameAddr<'_> {
    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }

    /// Detach from the input buffer.
    pub fn into_owned(self) -> NameAddr<'static> {
        NameAddr {
            display: self.display.map(|d| Cow::Owned(d.into_owned())),
            uri: self.uri.into_owned(),
            params: self.params.into_owned(),
        }
    }
}

impl fmt::Display for NameAddr<'_> {
    /// Always the `<...>` form, so URI parameters never turn into header parameters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            f.write_str("\"")?;
            for c in d.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// Contact header values (RFC 3261 §20.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contacts<'a> {
    /// `Contact: *` (REGISTER removal of all bindings).
    Star,
    /// Zero or more addresses.
    List(Vec<NameAddr<'a>>),
}

/// Resolve quoted-pairs inside a quoted-string's content.
fn unquote<'a>(t: Text<'_, 'a>, r: Range<usize>) -> Cow<'a, str> {
    let inner = t.s.get(r.clone()).unwrap_or_default();
    if !inner.contains('\\') {
        return t.piece(r);
    }
    let mut out = String::with_capacity(inner.len());
    let mut esc = false;
    for c in inner.chars() {
        if esc {
            out.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Parse `( name-addr / addr-spec ) *( SEMI generic-param )` in range `r` (RFC 3261 §20.10/§20.20).
pub(crate) fn parse_name_addr<'a>(
    t: Text<'_, 'a>,
    r: Range<usize>,
    header: &'static str,
) -> Result<NameAddr<'a>, ParseError> {
    let b = t.bytes();
    let r = trim_range(b, r);
    let end = r.end;
    let mut i = r.start;
    let mut display = None;
    let lt = if at(b, i) == b'"' {
        let q = scan_quoted(b, i, end).ok_or(bad(header, "unterminated quoted display name"))?;
        display = Some(unquote(t, i + 1..q - 1));
        i = skip_ws(b, q, end);
        if at(b, i) != b'<' || i >= end {
            return Err(bad(header, "quoted display name without <URI>"));
        }
        Some(i)
    } else {
        find1(b, i, end, b'<')
    };
    let Some(lt) = lt else {
        // addr-spec: RFC 3261 §20.10 — a URI with ',', ';' or '?' must be in <>, so the URI ends
        // at the first ';' or whitespace and may not carry headers.
        let ue = find3(b, i, end, b';', b' ', b'\t').unwrap_or(end);
        let uri = parse_uri(t, i..ue)?;
        if uri.headers.is_some() {
            return Err(bad(header, "URI with headers must be enclosed in <>"));
        }
        let pr = scan_header_params(b, ue, end).map_err(|w| bad(header, w))?;
        return Ok(NameAddr {
            display: None,
            uri,
            params: Params::from_raw(t.piece(pr)),
        });
    };
    if display.is_none() {
        // display-name = *(token LWS): words of token characters only.
        let d = trim_range(b, i..lt);
        if !(d.start..d.end).all(|k| super::lex::is(at(b, k), TOKEN) || is_ws(at(b, k))) {
            return Err(bad(
                header,
                "display name is neither token words nor quoted",
            ));
        }
        if !d.is_empty() {
            display = Some(t.piece(d));
        }
    }
    let gt = find1(b, lt + 1, end, b'>').ok_or(bad(header, "missing '>'"))?;
    // RFC 4475 §3.1.2.14: no whitespace inside the brackets.
    if is_ws(at(b, lt + 1)) || is_ws(at(b, gt.saturating_sub(1))) {
        return Err(bad(header, "whitespace inside <>"));
    }
    let uri = parse_uri(t, lt + 1..gt)?;
    let pr = scan_header_params(b, gt + 1, end).map_err(|w| bad(header, w))?;
    Ok(NameAddr {
        display,
        uri,
        params: Params::from_raw(t.piece(pr)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn na(s: &str) -> Result<NameAddr<'_>, ParseError> {
        parse_name_addr(Text::borrowed(s), 0..s.len(), "To")
    }

    #[test]
    fn name_addr_forms() {
        let a = na(r#""J Rosenberg \\\""  <sip:jdrosen@example.com> ; tag = 98asjd8"#).unwrap();
        assert_eq!(a.display.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(a.tag(), Some("98asjd8"));
        let b = na("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(b.display.as_deref(), Some("caller"));
        let c = na("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(c.uri.host, "chair-dnrc.example.com");
        assert_eq!(c.tag(), Some("1918181833n"));
        let d = na("sip:+19725552222@gw1.example.net;unknownparam").unwrap();
        assert!(d.params.has("unknownparam"));
        assert!(d.uri.params.is_empty());
        let e = na("<sip:+19725552222@gw1.example.net;unknownparam>").unwrap();
        assert!(e.uri.params.has("unknownparam"));
        assert!(e.params.is_empty());
    }

    #[test]
    fn broken_name_addrs_are_rejected() {
        for bad in [
            r#""Mr. J. User <sip:j.user@example.com>"#,
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            r#""Watson, Thomas" < sip:t.watson@example.org >"#,
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            r#""Joe" <sip:joe@example.org>;;;;"#,
            "<sip:joe@example.org",
            "sip:a@b c",
        ] {
            assert!(na(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn via_with_spaces_and_ipv6() {
        let s = "SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw";
        let v = parse_via(Text::borrowed(s), 0..s.len()).unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "192.0.2.2");
        assert_eq!(v.branch(), Some("390skdjuw"));
        let s = "SIP/2.0/TCP [2001:db8::9] : 5070 ;rport;received=2001:db8::1";
        let v = parse_via(Text::borrowed(s), 0..s.len()).unwrap();
        assert_eq!(v.host, "[2001:db8::9]");
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), Some("2001:db8::1"));
        assert_eq!(v.sent_by(), "[2001:db8::9]:5070");
        let s = "SIP/2.0/UDP 192.0.2.15;;";
        assert!(parse_via(Text::borrowed(s), 0..s.len()).is_err());
    }

    #[test]
    fn cseq_date_and_call_id_rules() {
        assert_eq!(split_cseq("0009 INVITE"), Ok((9, "INVITE")));
        assert!(split_cseq("36893488147419103232 REGISTER").is_err());
        assert!(split_cseq("9INVITE").is_err());
        assert!(check_date("Sat, 15 Oct 2005 04:44:56 GMT").is_ok());
        assert!(check_date("Fri, 01 Jan 2010 16:00:00 EST").is_err());
        assert!(check_call_id("a@b@c").is_err());
        assert!(check_call_id("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_ok());
    }
}
