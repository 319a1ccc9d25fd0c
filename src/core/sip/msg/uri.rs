//! URIs (RFC 3261 §19.1, tel: RFC 3966, anything else opaque) and `;name=value` parameter lists.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use super::lex::{all_escaped, at, find1, find2, is, Text, HNV, HOST, PARAM, PASSWORD, USER};
use super::ParseError;

/// A `;name[=value]` parameter list, kept as validated text and walked on access (no allocation
/// on the parse path). Names compare case-insensitively; quoted values keep their quotes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Params<'a>(Cow<'a, str>);

impl<'a> Params<'a> {
    /// Wrap already validated parameter text (starting at the first ';', or empty).
    pub(crate) fn from_raw(raw: Cow<'a, str>) -> Self {
        Params(raw)
    }

    /// Value of parameter `name`: `None` if absent, `Some(None)` if present without a value.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// True when parameter `name` is present (with or without a value).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All parameters in wire order, names and values trimmed.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        ParamIter {
            s: self.0.as_ref(),
            pos: 0,
        }
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The parameter section as on the wire (starts with ';' unless empty).
    pub fn raw(&self) -> &str {
        &self.0
    }

    /// Detach from the input buffer.
    pub fn into_owned(self) -> Params<'static> {
        Params(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in self.iter() {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

struct ParamIter<'s> {
    s: &'s str,
    pos: usize,
}

impl<'s> Iterator for ParamIter<'s> {
    type Item = (&'s str, Option<&'s str>);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.s.as_bytes();
        loop {
            if self.pos >= b.len() {
                return None;
            }
            let start = self.pos;
            let mut i = start;
            let mut quoted = false;
            while i < b.len() {
                let c = at(b, i);
                if quoted {
                    if c == b'\\' {
                        i += 1;
                    } else if c == b'"' {
                        quoted = false;
                    }
                } else if c == b'"' {
                    quoted = true;
                } else if c == b';' {
                    break;
                }
                i += 1;
            }
            let end = i.min(b.len());
            self.pos = end + 1;
            let piece = self.s.get(start..end).unwrap_or_default().trim();
            if piece.is_empty() {
                continue;
            }
            return Some(match piece.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (piece, None),
            });
        }
    }
}

/// A SIP/SIPS, tel or opaque URI. For tel: `user` is `None` and `host` holds the number; for
/// other schemes `host` holds everything after the colon.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Uri<'a> {
    /// Scheme as written (compare case-insensitively).
    pub scheme: Cow<'a, str>,
    /// User part, still %-escaped.
    pub user: Option<Cow<'a, str>>,
    /// Password part, still %-escaped.
    pub password: Option<Cow<'a, str>>,
    /// Host name, IPv4 literal or bracketed IPv6 reference.
    pub host: Cow<'a, str>,
    /// Explicit port.
    pub port: Option<u16>,
    /// uri-parameters (`;transport=tcp;lr`).
    pub params: Params<'a>,
    /// The `?hname=hvalue&...` part without the '?'.
    pub headers: Option<Cow<'a, str>>,
}

impl<'a> Uri<'a> {
    /// Parse a URI borrowing from `s`.
    pub fn parse(s: &'a str) -> Result<Uri<'a>, ParseError> {
        parse_uri(Text::borrowed(s), 0..s.len())
    }

    /// User part with %HH escapes decoded (RFC 3261 §19.1.4); NULs are kept, never truncated.
    pub fn user_unescaped(&self) -> Option<String> {
        self.user.as_deref().map(percent_decode)
    }

    /// True for sip: and sips:.
    pub fn is_sip(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("sip") || self.scheme.eq_ignore_ascii_case("sips")
    }

    /// True for tel:.
    pub fn is_tel(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("tel")
    }

    /// `host[:port]`.
    pub fn host_port(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.to_string(),
        }
    }

    /// Detach from the input buffer.
    pub fn into_owned(self) -> Uri<'static> {
        Uri {
            scheme: Cow::Owned(self.scheme.into_owned()),
            user: self.user.map(|u| Cow::Owned(u.into_owned())),
            password: self.password.map(|p| Cow::Owned(p.into_owned())),
            host: Cow::Owned(self.host.into_owned()),
            port: self.port,
            params: self.params.into_owned(),
            headers: self.headers.map(|h| Cow::Owned(h.into_owned())),
        }
    }
}

impl fmt::Display for Uri<'_> {
    /// Canonical form: lower-case scheme, parameters re-joined without whitespace.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.to_ascii_lowercase())?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

/// Decode %HH escapes; malformed escapes stay literal.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = at(b, i);
        if c == b'%' {
            let h = (at(b, i + 1) as char).to_digit(16);
            let l = (at(b, i + 2) as char).to_digit(16);
            if let (Some(h), Some(l)) = (h, l) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn err(why: &'static str) -> ParseError {
    ParseError::Uri(why)
}

/// Parse the URI in `r` of `t`.
pub(crate) fn parse_uri<'a>(t: Text<'_, 'a>, r: Range<usize>) -> Result<Uri<'a>, ParseError> {
    let b = t.bytes();
    let end = r.end.min(b.len());
    let start = r.start;
    let colon = find1(b, start, end, b':').ok_or(err("missing scheme"))?;
    // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    let scheme_ok = colon > start
        && at(b, start).is_ascii_alphabetic()
        && (start..colon).all(|i| {
            let c = at(b, i);
            c.is_ascii_alphanumeric() || c == b'+' || c == b'-' || c == b'.'
        });
    if !scheme_ok {
        return Err(err("bad scheme"));
    }
    let scheme = t.piece(start..colon);
    let rest = colon + 1..end;
    if rest.is_empty() {
        return Err(err("empty after scheme"));
    }
    if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        parse_sip(t, scheme, rest)
    } else if scheme.eq_ignore_ascii_case("tel") {
        parse_tel(t, scheme, rest)
    } else {
        // Opaque: anything printable without whitespace, quotes or angle brackets.
        let ok = rest.clone().all(|i| {
            let c = at(b, i);
            c > 0x20 && c != 0x7f && c != b'<' && c != b'>' && c != b'"'
        });
        if !ok {
            return Err(err("bad character in URI"));
        }
        Ok(Uri {
            scheme,
            user: None,
            password: None,
            host: t.piece(rest),
            port: None,
            params: Params::default(),
            headers: None,
        })
    }
}

fn parse_sip<'a>(
    t: Text<'_, 'a>,
    scheme: Cow<'a, str>,
    r: Range<usize>,
) -> Result<Uri<'a>, ParseError> {
    let b = t.bytes();
    let end = r.end;
    let mut i = r.start;
    let (mut user, mut password) = (None, None);
    // RFC 3261 §25.1: '@' may not appear unescaped in user, password, host, params or headers,
    // so the first one ends the userinfo (the user part itself may hold ';' '?' '/').
    if let Some(atpos) = find1(b, i, end, b'@') {
        let pw = find1(b, i, atpos, b':');
        let uend = pw.unwrap_or(atpos);
        if uend == i || !all_escaped(b.get(i..uend).unwrap_or_default(), USER) {
            return Err(err("bad user part"));
        }
        user = Some(t.piece(i..uend));
        if let Some(pw) = pw {
            if !all_escaped(b.get(pw + 1..atpos).unwrap_or_default(), PASSWORD) {
                return Err(err("bad password"));
            }
            password = Some(t.piece(pw + 1..atpos));
        }
        i = atpos + 1;
    }
    let hp_end = find2(b, i, end, b';', b'?').unwrap_or(end);
    let (host, port) = parse_hostport(t, i..hp_end).ok_or(err("bad host or port"))?;
    i = hp_end;
    let mut params = Params::default();
    if at(b, i) == b';' && i < end {
        let p_end = find1(b, i, end, b'?').unwrap_or(end);
        check_uri_params(b, i, p_end)?;
        params = Params::from_raw(t.piece(i..p_end));
        i = p_end;
    }
    let mut headers = None;
    if at(b, i) == b'?' && i < end {
        let h = b.get(i + 1..end).unwrap_or_default();
        if h.is_empty() || !all_escaped(h, HNV) {
            return Err(err("bad URI headers"));
        }
        headers = Some(t.piece(i + 1..end));
    }
    Ok(Uri {
        scheme,
        user,
        password,
        host,
        port,
        params,
        headers,
    })
}

/// RFC 3261 §19.1.1 uri-parameters: each `;pname[=pvalue]` non-empty paramchars.
fn check_uri_params(b: &[u8], mut i: usize, end: usize) -> Result<(), ParseError> {
    while i < end {
        // at ';'
        let next = find1(b, i + 1, end, b';').unwrap_or(end);
        let p = b.get(i + 1..next).unwrap_or_default();
        let (n, v) = match memchr::memchr(b'=', p) {
            Some(eq) => (
                p.get(..eq).unwrap_or_default(),
                Some(p.get(eq + 1..).unwrap_or_default()),
            ),
            None => (p, None),
        };
        if n.is_empty() || !all_escaped(n, PARAM) {
            return Err(err("bad URI parameter name"));
        }
        if let Some(v) = v {
            if v.is_empty() || !all_escaped(v, PARAM) {
                return Err(err("bad URI parameter value"));
            }
        }
        i = next;
    }
    Ok(())
}

fn parse_tel<'a>(
    t: Text<'_, 'a>,
    scheme: Cow<'a, str>,
    r: Range<usize>,
) -> Result<Uri<'a>, ParseError> {
    let b = t.bytes();
    let n_end = find1(b, r.start, r.end, b';').unwrap_or(r.end);
    // RFC 3966 §3: global or local number, hex digits, '*', '#' and visual separators.
    let ok = n_end > r.start
        && (r.start..n_end).all(|k| {
            let c = at(b, k);
            c.is_ascii_hexdigit() || matches!(c, b'+' | b'*' | b'#' | b'-' | b'.' | b'(' | b')')
        });
    if !ok {
        return Err(err("bad telephone number"));
    }
    let mut params = Params::default();
    if n_end < r.end {
        check_uri_params(b, n_end, r.end)?;
        params = Params::from_raw(t.piece(n_end..r.end));
    }
    Ok(Uri {
        scheme,
        user: None,
        password: None,
        host: t.piece(r.start..n_end),
        port: None,
        params,
        headers: None,
    })
}

/// `host [":" port]` over exactly range `r` (RFC 3261 §25.1 hostport); IPv6 keeps brackets.
pub(crate) fn parse_hostport<'a>(
    t: Text<'_, 'a>,
    r: Range<usize>,
) -> Option<(Cow<'a, str>, Option<u16>)> {
    let b = t.bytes();
    let h_end = host_end(b, r.start, r.end)?;
    let port = if h_end == r.end {
        None
    } else if at(b, h_end) == b':' {
        Some(parse_port(t.s.get(h_end + 1..r.end)?)?)
    } else {
        return None;
    };
    Some((t.piece(r.start..h_end), port))
}

/// End of a host starting at `i`: a bracketed IPv6 reference or a run of host characters.
pub(crate) fn host_end(b: &[u8], i: usize, end: usize) -> Option<usize> {
    if at(b, i) == b'[' {
        let close = find1(b, i + 1, end, b']')?;
        let inner = b.get(i + 1..close)?;
        let ok = !inner.is_empty()
            && inner.contains(&b':')
            && inner
                .iter()
                .all(|c| c.is_ascii_hexdigit() || *c == b':' || *c == b'.');
        ok.then_some(close + 1)
    } else {
        let mut k = i;
        while k < end && is(at(b, k), HOST) {
            k += 1;
        }
        (k > i).then_some(k)
    }
}

/// 1*DIGIT port that fits u16.
pub(crate) fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_uri_with_everything_splits_into_parts() {
        let u = Uri::parse("sips:al%69ce:pw@[2001:db8::1]:5061;transport=tcp;lr?subject=x&h=y")
            .expect("parses");
        assert!(u.is_sip());
        assert_eq!(u.user.as_deref(), Some("al%69ce"));
        assert_eq!(u.user_unescaped().as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("pw"));
        assert_eq!(u.host, "[2001:db8::1]");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.params.get("TRANSPORT"), Some(Some("tcp")));
        assert_eq!(u.params.get("lr"), Some(None));
        assert_eq!(u.headers.as_deref(), Some("subject=x&h=y"));
        assert_eq!(
            u.to_string(),
            "sips:al%69ce:pw@[2001:db8::1]:5061;transport=tcp;lr?subject=x&h=y"
        );
    }

    #[test]
    fn tel_uri_keeps_number_in_host() {
        let u = Uri::parse("tel:+1-201-555-0123;phone-context=example.com").expect("parses");
        assert!(!u.is_sip());
        assert!(u.is_tel());
        assert_eq!(u.user, None);
        assert_eq!(u.host, "+1-201-555-0123");
        assert_eq!(u.params.get("phone-context"), Some(Some("example.com")));
        assert_eq!(
            u.to_string(),
            "tel:+1-201-555-0123;phone-context=example.com"
        );
    }

    #[test]
    fn user_part_may_hold_semicolons_and_escaped_nul() {
        let u = Uri::parse("sip:user;par=u%40example.net@example.com").expect("parses");
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(u.host, "example.com");
        let n = Uri::parse("sip:null-%00-null@example.com").expect("parses");
        assert_eq!(n.user_unescaped().as_deref(), Some("null-\0-null"));
    }

    #[test]
    fn malformed_uris_are_rejected() {
        for bad in [
            "sip:",
            "sip:user@",
            "sip:host:99999",
            "sip:host:",
            "sip:a b@host",
            "sip:host;;lr",
            "sip:host?",
            "sip:[zz]",
            "1sip:host",
            "nocolon",
            "sip:%4@host",
            "tel:",
            "x: y",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn unknown_schemes_are_opaque() {
        let u = Uri::parse("soap.beep://192.0.2.103:3002").expect("parses");
        assert_eq!(u.scheme, "soap.beep");
        assert_eq!(u.host, "//192.0.2.103:3002");
        assert!(!u.is_sip());
    }
}
