//! A small `multipart/form-data` parser (RFC 7578 over RFC 2046 §5.1) for prompt uploads.
//!
//! The whole body is already in memory (the server bounds it), so parts borrow from it. Only what
//! form uploads need is understood: the boundary from the `Content-Type`, each part's
//! `Content-Disposition: form-data; name=…; filename=…` and `Content-Type`. Hostile input gets a
//! typed error, never a panic: every slice is taken with checked bounds.

use memchr::memmem;

/// Most parts accepted in one body; a form upload has two or three.
const MAX_PARTS: usize = 16;
/// Longest header block of one part.
const MAX_PART_HEADERS: usize = 8 * 1024;
/// RFC 2046 §5.1.1: a boundary is 1 to 70 characters.
const MAX_BOUNDARY: usize = 70;

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// The form field's name (`name=` of `Content-Disposition`).
    pub name: String,
    /// The uploaded file's name, if the part is a file.
    pub filename: Option<String>,
    /// The part's declared `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The part's bytes, exactly as sent.
    pub data: &'a [u8],
}

/// Why a body is not a usable `multipart/form-data` document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// The `Content-Type` is not `multipart/form-data`.
    #[error("Content-Type must be multipart/form-data, got {0:?}")]
    NotMultipart(String),
    /// The `Content-Type` has no usable `boundary` parameter.
    #[error("Content-Type has no valid boundary parameter (1 to 70 characters)")]
    NoBoundary,
    /// The body does not contain the first boundary.
    #[error("the body does not start with the boundary")]
    MissingStart,
    /// The body ends inside a part (no closing boundary): a truncated upload.
    #[error("the body ends before the closing boundary (truncated upload?)")]
    Truncated,
    /// A boundary line is not followed by CRLF or `--`.
    #[error("malformed boundary line")]
    BadBoundaryLine,
    /// A part's headers are malformed or too long.
    #[error("malformed part headers: {0}")]
    BadHeaders(&'static str),
    /// A part lacks `Content-Disposition: form-data; name=…`.
    #[error("a part has no Content-Disposition form-data name")]
    NoName,
    /// More parts than any form needs.
    #[error("more than {MAX_PARTS} parts")]
    TooManyParts,
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let mut params = split_params(content_type);
    let media = params.next().unwrap_or_default();
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::NotMultipart(content_type.to_owned()));
    }
    let b = params
        .filter_map(|p| parse_param(&p))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .ok_or(MultipartError::NoBoundary)?;
    let ok = (1..=MAX_BOUNDARY).contains(&b.len())
        && b.bytes().all(|c| c.is_ascii_graphic() || c == b' ')
        && !b.ends_with(' ');
    if ok {
        Ok(b)
    } else {
        Err(MultipartError::NoBoundary)
    }
}

/// Splits a header value at `;` outside quoted strings.
fn split_params(value: &str) -> impl Iterator<Item = String> + '_ {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => {
                cur.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
}

/// `key=value` or `key="quoted \" value"` (RFC 9110 §5.6.4 quoted-string) → (key, value).
fn parse_param(p: &str) -> Option<(String, String)> {
    let (k, v) = p.split_once('=')?;
    let k = k.trim();
    let v = v.trim();
    if k.is_empty() {
        return None;
    }
    let value = if let Some(inner) = v.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = inner.chars();
        let mut closed = false;
        while let Some(c) = chars.next() {
            match c {
                // Browsers do not escape `\` in file names (HTML's form-data encoding), so only
                // `\"` and `\\` are escapes; any other backslash is kept (`C:\dir\a.wav`).
                '\\' => match chars.next()? {
                    e @ ('"' | '\\') => out.push(e),
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                },
                '"' => {
                    closed = true;
                    break;
                }
                _ => out.push(c),
            }
        }
        if !closed {
            return None;
        }
        out
    } else {
        v.to_owned()
    };
    Some((k.to_owned(), value))
}

/// Parses a whole body with the boundary taken from `content_type`.
pub fn parse<'a>(content_type: &str, body: &'a [u8]) -> Result<Vec<Part<'a>>, MultipartError> {
    let boundary = boundary(content_type)?;
    // RFC 2046 §5.1.1: every boundary after the first is preceded by CRLF, which belongs to it.
    let delimiter = format!("\r\n--{boundary}");
    let delim = delimiter.as_bytes();
    let first = delim.get(2..).unwrap_or_default();
    // The first boundary may open the body or follow a preamble.
    let mut pos = if body.starts_with(first) {
        first.len()
    } else {
        memmem::find(body, delim)
            .map(|i| i + delim.len())
            .ok_or(MultipartError::MissingStart)?
    };
    let mut parts = Vec::new();
    loop {
        let rest = body.get(pos..).ok_or(MultipartError::Truncated)?;
        if rest.starts_with(b"--") {
            // The close delimiter; the epilogue is ignored.
            return Ok(parts);
        }
        // Transport padding (spaces, tabs) may follow a boundary before its CRLF.
        let pad = rest
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        let rest = rest.get(pad..).ok_or(MultipartError::Truncated)?;
        if rest.is_empty() {
            return Err(MultipartError::Truncated);
        }
        if !rest.starts_with(b"\r\n") {
            return Err(MultipartError::BadBoundaryLine);
        }
        pos += pad + 2;
        if parts.len() >= MAX_PARTS {
            return Err(MultipartError::TooManyParts);
        }
        let rest = body.get(pos..).ok_or(MultipartError::Truncated)?;
        // Headers end with an empty line; a part with no headers starts with that line.
        let (headers, body_start) = if rest.starts_with(b"\r\n") {
            (&b""[..], pos + 2)
        } else {
            let missing = if rest.len() > MAX_PART_HEADERS {
                MultipartError::BadHeaders("header block too long")
            } else {
                MultipartError::Truncated
            };
            let end = memmem::find(rest, b"\r\n\r\n").ok_or(missing)?;
            if end > MAX_PART_HEADERS {
                return Err(MultipartError::BadHeaders("header block too long"));
            }
            (rest.get(..end).unwrap_or_default(), pos + end + 4)
        };
        let content = body.get(body_start..).ok_or(MultipartError::Truncated)?;
        let len = memmem::find(content, delim).ok_or(MultipartError::Truncated)?;
        let data = content.get(..len).ok_or(MultipartError::Truncated)?;
        parts.push(part_from(headers, data)?);
        pos = body_start + len + delim.len();
    }
}

fn part_from<'a>(headers: &[u8], data: &'a [u8]) -> Result<Part<'a>, MultipartError> {
    let text = std::str::from_utf8(headers)
        .map_err(|_| MultipartError::BadHeaders("headers are not UTF-8"))?;
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in text.split("\r\n") {
        let (h, v) = line
            .split_once(':')
            .ok_or(MultipartError::BadHeaders("a header line has no colon"))?;
        let h = h.trim();
        if h.eq_ignore_ascii_case("content-disposition") {
            let mut params = split_params(v);
            let kind = params.next().unwrap_or_default();
            if !kind.trim().eq_ignore_ascii_case("form-data") {
                return Err(MultipartError::NoName);
            }
            for (k, val) in params.filter_map(|p| parse_param(&p)) {
                if k.eq_ignore_ascii_case("name") {
                    name = Some(val);
                } else if k.eq_ignore_ascii_case("filename") {
                    filename = Some(val);
                }
            }
        } else if h.eq_ignore_ascii_case("content-type") {
            content_type = Some(v.trim().to_owned());
        }
    }
    Ok(Part {
        name: name.ok_or(MultipartError::NoName)?,
        filename,
        content_type,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        for (name, file, data) in parts {
            b.extend_from_slice(b"--XyZ\r\n");
            match file {
                Some(f) => b.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: audio/wav\r\n\r\n").as_bytes(),
                ),
                None => b.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            b.extend_from_slice(data);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(b"--XyZ--\r\n");
        b
    }

    #[test]
    fn fields_and_files_are_split_with_their_bytes_intact() {
        let data = b"RIFF\r\n--Xy\r\n\x00\xff";
        let b = body(&[("name", None, b"hello"), ("file", Some("a.wav"), data)]);
        let parts = parse(CT, &b).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "name");
        assert_eq!(parts[0].data, b"hello");
        assert_eq!(parts[1].filename.as_deref(), Some("a.wav"));
        assert_eq!(parts[1].content_type.as_deref(), Some("audio/wav"));
        assert_eq!(parts[1].data, data);
    }

    #[test]
    fn quoted_boundaries_and_names_with_escapes_and_semicolons_parse() {
        assert_eq!(
            boundary("multipart/form-data; charset=x; boundary=\"a b;c\"").unwrap(),
            "a b;c"
        );
        let b = b"preamble\r\n--B\r\nContent-Disposition: form-data; name=\"we\\\"ird;n\"\r\n\r\nv\r\n--B--";
        let parts = parse("Multipart/Form-Data; boundary=B", b).unwrap();
        assert_eq!(parts[0].name, "we\"ird;n");
        assert_eq!(parts[0].data, b"v");
    }

    #[test]
    fn wrong_types_and_missing_boundaries_are_named() {
        assert!(matches!(
            parse("application/json", b"{}"),
            Err(MultipartError::NotMultipart(_))
        ));
        assert_eq!(
            parse("multipart/form-data", b""),
            Err(MultipartError::NoBoundary)
        );
        let long = format!("multipart/form-data; boundary={}", "a".repeat(71));
        assert_eq!(parse(&long, b""), Err(MultipartError::NoBoundary));
        assert_eq!(
            parse(CT, b"no boundary here"),
            Err(MultipartError::MissingStart)
        );
    }

    #[test]
    fn a_cut_off_body_is_truncated_at_every_length_and_never_panics() {
        let b = body(&[("name", None, b"n"), ("file", Some("f.wav"), b"0123456789")]);
        for cut in 0..b.len() - 2 {
            let r = parse(CT, &b[..cut]);
            assert!(r.is_err(), "cut at {cut} parsed: {r:?}");
        }
        // Arbitrary garbage after a valid start.
        for junk in [
            &b"--XyZ"[..],
            b"--XyZx",
            b"--XyZ\r\nnocolon\r\n\r\n",
            b"--XyZ\r\n\r\n",
        ] {
            assert!(parse(CT, junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn a_part_without_a_form_data_name_is_refused() {
        let b = b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--";
        assert_eq!(parse(CT, b), Err(MultipartError::NoName));
        let b = b"--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--XyZ--";
        assert_eq!(parse(CT, b), Err(MultipartError::NoName));
    }

    #[test]
    fn too_many_parts_are_refused() {
        let many: Vec<(&str, Option<&str>, &[u8])> =
            (0..20).map(|_| ("a", None, &b"x"[..])).collect();
        assert_eq!(parse(CT, &body(&many)), Err(MultipartError::TooManyParts));
    }
}
