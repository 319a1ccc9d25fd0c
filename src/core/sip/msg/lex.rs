//! Character classes and small scanners shared by the SIP parsers (RFC 3261 §25.1).
//!
//! Everything here works on bytes of already UTF-8-checked text and only ever splits at ASCII
//! delimiters, so every range it hands out lies on a char boundary.

use std::borrow::Cow;
use std::ops::Range;

/// RFC 3261 §25.1 `token`.
pub(crate) const TOKEN: u8 = 1;
/// RFC 3261 §25.1 `unreserved` (alphanum / mark).
pub(crate) const UNRESERVED: u8 = 2;
/// RFC 3261 §25.1 user part: unreserved / user-unreserved (escapes handled separately).
pub(crate) const USER: u8 = 4;
/// RFC 3261 §25.1 password: unreserved / "&" / "=" / "+" / "$" / "," (escapes separately).
pub(crate) const PASSWORD: u8 = 8;
/// RFC 3261 §25.1 `paramchar` without escapes: param-unreserved / unreserved.
pub(crate) const PARAM: u8 = 16;
/// RFC 3261 §25.1 `hname`/`hvalue` chars without escapes, plus the "=" and "&" separators.
pub(crate) const HNV: u8 = 32;
/// RFC 3261 §25.1 `word` (Call-ID).
pub(crate) const WORD: u8 = 64;
/// Host names and IPv4 literals: alphanum / "-" / "." (and "_", seen in the wild).
pub(crate) const HOST: u8 = 128;

const fn member(b: u8, set: &[u8]) -> bool {
    let mut i = 0;
    while i < set.len() {
        if set[i] == b {
            return true;
        }
        i += 1;
    }
    false
}

const fn build() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let mut f = 0u8;
        let alnum = b.is_ascii_alphanumeric();
        let mark = member(b, b"-_.!~*'()");
        if alnum || member(b, b"-.!%*_+`'~") {
            f |= TOKEN;
        }
        if alnum || mark {
            f |= UNRESERVED;
        }
        if alnum || mark || member(b, b"&=+$,;?/") {
            f |= USER;
        }
        if alnum || mark || member(b, b"&=+$,") {
            f |= PASSWORD;
        }
        if alnum || mark || member(b, b"[]/:&+$") {
            f |= PARAM;
        }
        if alnum || mark || member(b, b"[]/?:+$=&") {
            f |= HNV;
        }
        if alnum || member(b, b"-.!%*_+`'~()<>:\\\"/[]?{}") {
            f |= WORD;
        }
        if alnum || member(b, b"-._") {
            f |= HOST;
        }
        t[c] = f;
        c += 1;
    }
    t
}

static CLASSES: [u8; 256] = build();

/// True when byte `b` belongs to character class `class`.
#[inline]
pub(crate) fn is(b: u8, class: u8) -> bool {
    CLASSES[b as usize] & class != 0
}

/// Byte at `i`, or 0 past the end (0 never belongs to any class, so scanners simply stop).
#[inline]
pub(crate) fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// First `c` in `b[from..end]`, as an absolute index.
#[inline]
pub(crate) fn find1(b: &[u8], from: usize, end: usize, c: u8) -> Option<usize> {
    let h = b.get(from..end.min(b.len()))?;
    // Short slices (most URI pieces) are cheaper to scan than to dispatch to SIMD.
    if h.len() < 32 {
        return h.iter().position(|&x| x == c).map(|p| p + from);
    }
    memchr::memchr(c, h).map(|p| p + from)
}

/// First `c1` or `c2` in `b[from..end]`, as an absolute index.
#[inline]
pub(crate) fn find2(b: &[u8], from: usize, end: usize, c1: u8, c2: u8) -> Option<usize> {
    let h = b.get(from..end.min(b.len()))?;
    if h.len() < 32 {
        return h.iter().position(|&x| x == c1 || x == c2).map(|p| p + from);
    }
    memchr::memchr2(c1, c2, h).map(|p| p + from)
}

/// First `c1`, `c2` or `c3` in `b[from..end]`, as an absolute index.
#[inline]
pub(crate) fn find3(b: &[u8], from: usize, end: usize, c1: u8, c2: u8, c3: u8) -> Option<usize> {
    memchr::memchr3(c1, c2, c3, b.get(from..end.min(b.len()))?).map(|p| p + from)
}

/// SP or HTAB.
#[inline]
pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Index of the first byte at or after `i` (before `end`) that is not SP/HTAB.
#[inline]
pub(crate) fn skip_ws(b: &[u8], mut i: usize, end: usize) -> usize {
    while i < end && is_ws(at(b, i)) {
        i += 1;
    }
    i
}

/// Index just past the run of `class` bytes starting at `i`.
#[inline]
pub(crate) fn span(b: &[u8], mut i: usize, end: usize, class: u8) -> usize {
    while i < end && is(at(b, i), class) {
        i += 1;
    }
    i
}

/// True when all bytes are in `class` or are a well-formed `%HH` escape (RFC 3261 §25.1 `escaped`).
pub(crate) fn all_escaped(s: &[u8], class: u8) -> bool {
    let mut i = 0;
    while i < s.len() {
        let c = at(s, i);
        if c == b'%' {
            if !(at(s, i + 1).is_ascii_hexdigit() && at(s, i + 2).is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
        } else if is(c, class) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Range `r` with SP/HTAB trimmed from both ends.
pub(crate) fn trim_range(b: &[u8], r: Range<usize>) -> Range<usize> {
    let mut s = r.start;
    let mut e = r.end.min(b.len());
    while s < e && is_ws(at(b, s)) {
        s += 1;
    }
    while e > s && is_ws(at(b, e - 1)) {
        e -= 1;
    }
    s..e
}

/// Trim SP, HTAB, CR and LF from both ends.
pub(crate) fn trim_lws(s: &str) -> &str {
    let b = s.as_bytes();
    let lws = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = b.iter().position(|&c| !lws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !lws(c)).map_or(start, |p| p + 1);
    s.get(start..end.max(start)).unwrap_or_default()
}

/// Scan a quoted-string starting at the opening quote `i`; returns the index just past the
/// closing quote. RFC 3261 §25.1: qdtext excludes raw controls; quoted-pair excludes CR/LF.
pub(crate) fn scan_quoted(b: &[u8], i: usize, end: usize) -> Option<usize> {
    if at(b, i) != b'"' {
        return None;
    }
    let mut j = i + 1;
    while j < end {
        match at(b, j) {
            b'"' => return Some(j + 1),
            b'\\' => {
                let n = at(b, j + 1);
                if j + 1 >= end || n == b'\r' || n == b'\n' {
                    return None;
                }
                j += 2;
            }
            c if (c < 0x20 && c != b'\t') || c == 0x7f => return None,
            _ => j += 1,
        }
    }
    None
}

/// RFC 3261 §7.3.1 folding: each CRLF followed by whitespace (and whitespace before it) becomes
/// one SP; the result is trimmed. Borrows unless a fold was present.
pub(crate) fn unfold(raw: &str) -> Cow<'_, str> {
    let t = trim_lws(raw);
    if memchr::memchr2(b'\r', b'\n', t.as_bytes()).is_none() {
        return Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(t.len());
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' || c == '\n' {
            while out.ends_with([' ', '\t']) {
                out.pop();
            }
            while matches!(chars.peek(), Some(' ' | '\t' | '\r' | '\n')) {
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text being parsed plus, when it is borrowed from the wire, the long-lived original so that
/// pieces can be handed out without copying.
#[derive(Clone, Copy)]
pub(crate) struct Text<'s, 'a> {
    /// The text itself.
    pub s: &'s str,
    base: Option<&'a str>,
}

impl<'s, 'a> Text<'s, 'a> {
    /// Text that borrows from the wire for `'a`.
    pub fn borrowed(s: &'a str) -> Text<'a, 'a> {
        Text { s, base: Some(s) }
    }

    /// View of a possibly owned value (owned pieces are copied out).
    pub fn of(v: &'s Cow<'a, str>) -> Text<'s, 'a> {
        match v {
            Cow::Borrowed(b) => Text {
                s: b,
                base: Some(b),
            },
            Cow::Owned(o) => Text {
                s: o.as_str(),
                base: None,
            },
        }
    }

    /// Bytes of the text.
    pub fn bytes(&self) -> &'s [u8] {
        self.s.as_bytes()
    }

    /// Sub-slice as a Cow: borrowed from the wire when possible.
    pub fn piece(&self, r: Range<usize>) -> Cow<'a, str> {
        match self.base {
            Some(b) => Cow::Borrowed(b.get(r).unwrap_or_default()),
            None => Cow::Owned(self.s.get(r).unwrap_or_default().to_owned()),
        }
    }
}

/// Splits a header value at commas outside quoted strings and `<...>` (RFC 3261 §7.3.1);
/// yields trimmed ranges, including empty ones so callers can reject `a,,b` where it matters.
pub(crate) struct CommaSplit<'s> {
    b: &'s [u8],
    pos: usize,
    done: bool,
}

impl<'s> CommaSplit<'s> {
    /// Splitter over `s`.
    pub fn new(s: &'s str) -> Self {
        CommaSplit {
            b: s.as_bytes(),
            pos: 0,
            done: false,
        }
    }
}

impl Iterator for CommaSplit<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        if self.done {
            return None;
        }
        let start = self.pos;
        // Fast path: no comma left means one element (the common single-value header).
        if memchr::memchr(b',', self.b.get(start..).unwrap_or_default()).is_none() {
            self.done = true;
            return Some(trim_range(self.b, start..self.b.len()));
        }
        let mut i = start;
        let mut quoted = false;
        let mut angle = 0usize;
        while i < self.b.len() {
            let c = at(self.b, i);
            if quoted {
                if c == b'\\' {
                    i += 1;
                } else if c == b'"' {
                    quoted = false;
                }
            } else {
                match c {
                    b'"' => quoted = true,
                    b'<' => angle += 1,
                    b'>' => angle = angle.saturating_sub(1),
                    b',' if angle == 0 => {
                        self.pos = i + 1;
                        return Some(trim_range(self.b, start..i));
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        self.done = true;
        Some(trim_range(self.b, start..self.b.len()))
    }
}

/// Parse 1*DIGIT into a u64-bounded value; None on empty, non-digit or overflow past `max`.
pub(crate) fn parse_digits(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for c in s.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        if v > max {
            return None;
        }
    }
    Some(v)
}

/// Value chars of a generic parameter: token / host (incl. IPv6 literals) — RFC 3261 §25.1 gen-value.
fn is_genval(c: u8) -> bool {
    is(c, TOKEN) || c == b':' || c == b'[' || c == b']'
}

/// Validate `*( SEMI generic-param )` from `i` to `end` (RFC 3261 §25.1). Returns the range of
/// the parameter section (starting at the first ';', empty if none) or a reason.
pub(crate) fn scan_header_params(
    b: &[u8],
    i: usize,
    end: usize,
) -> Result<Range<usize>, &'static str> {
    let mut i = skip_ws(b, i, end);
    let first = i;
    while i < end {
        if at(b, i) != b';' {
            return Err("unexpected text after value");
        }
        i = skip_ws(b, i + 1, end);
        let n = span(b, i, end, TOKEN);
        if n == i {
            return Err("empty parameter name");
        }
        i = skip_ws(b, n, end);
        if at(b, i) == b'=' && i < end {
            i = skip_ws(b, i + 1, end);
            if at(b, i) == b'"' {
                i = scan_quoted(b, i, end).ok_or("unterminated quoted parameter value")?;
            } else {
                let v = i;
                while i < end && is_genval(at(b, i)) {
                    i += 1;
                }
                if v == i {
                    return Err("empty parameter value");
                }
            }
            i = skip_ws(b, i, end);
        }
    }
    Ok(first..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfold_collapses_crlf_whitespace_to_one_space() {
        assert_eq!(unfold("  a \r\n   b\r\n\tc "), "a b c");
        assert!(matches!(unfold(" plain "), Cow::Borrowed("plain")));
    }

    #[test]
    fn comma_split_respects_quotes_and_angles() {
        let s = r#""a,b" <sip:x,y@h>;p=1 , c,,"#;
        let parts: Vec<&str> = CommaSplit::new(s).map(|r| &s[r]).collect();
        assert_eq!(parts, vec![r#""a,b" <sip:x,y@h>;p=1"#, "c", "", ""]);
    }

    #[test]
    fn quoted_string_rejects_raw_controls_and_unterminated() {
        assert_eq!(scan_quoted(b"\"a\\\"b\" x", 0, 8), Some(6));
        assert_eq!(scan_quoted(b"\"abc", 0, 4), None);
        assert_eq!(scan_quoted(b"\"a\x07\"", 0, 4), None);
    }

    #[test]
    fn header_params_reject_empty_elements() {
        let ok = b" ; tag = 12 ;x; q=\"a;b\"";
        assert_eq!(scan_header_params(ok, 0, ok.len()), Ok(1..ok.len()));
        assert!(scan_header_params(b";;", 0, 2).is_err());
        assert!(scan_header_params(b";a=", 0, 3).is_err());
        assert!(scan_header_params(b" x", 0, 2).is_err());
    }

    #[test]
    fn digits_overflow_is_rejected() {
        assert_eq!(parse_digits("0009", u64::from(u32::MAX)), Some(9));
        assert_eq!(parse_digits("4294967296", u64::from(u32::MAX)), None);
        assert_eq!(parse_digits("-1", u64::MAX), None);
    }
}
