//! Call transfer vocabulary: the Refer-To header (RFC 3515 §2.1), the Replaces header
//! (RFC 3891 §6.1), also carried as a header of the Refer-To URI, and the `message/sipfrag`
//! body of the NOTIFYs that report a transfer's progress (RFC 3515 §2.4.5, RFC 3420).

use super::uri::{percent_decode, Uri};

/// Why a Refer-To or Replaces value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferError {
    /// The value is not a name-addr or addr-spec with a SIP URI.
    #[error("Refer-To is not a SIP URI")]
    NotSipUri,
    /// The URI names no user (no number or extension to transfer to).
    #[error("Refer-To names no user")]
    NoUser,
    /// A Replaces value without a Call-ID or without both tags.
    #[error("Replaces needs a Call-ID, to-tag and from-tag")]
    BadReplaces,
}

impl ReferError {
    /// The SIP status that answers a REFER carrying this error (RFC 3515 §2.4.2: 400).
    pub fn status_code(&self) -> u16 {
        400
    }
}

/// The dialog an attended transfer replaces (RFC 3891 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    /// Call-ID of the dialog.
    pub call_id: String,
    /// `to-tag` as the sender of the Replaces sees the dialog.
    pub to_tag: String,
    /// `from-tag` as the sender of the Replaces sees the dialog.
    pub from_tag: String,
    /// `early-only`: replace only a dialog that is not yet confirmed.
    pub early_only: bool,
}

impl Replaces {
    /// Parses a Replaces header value: `call-id;to-tag=x;from-tag=y[;early-only]`.
    pub fn parse(value: &str) -> Result<Replaces, ReferError> {
        let mut parts = value.split(';').map(str::trim);
        let call_id = parts.next().unwrap_or_default().to_owned();
        if call_id.is_empty() {
            return Err(ReferError::BadReplaces);
        }
        let (mut to_tag, mut from_tag, mut early_only) = (None, None, false);
        for p in parts {
            let (name, val) = p.split_once('=').unwrap_or((p, ""));
            match name.trim().to_ascii_lowercase().as_str() {
                "to-tag" => to_tag = Some(val.trim().to_owned()),
                "from-tag" => from_tag = Some(val.trim().to_owned()),
                "early-only" => early_only = true,
                _ => {}
            }
        }
        match (to_tag, from_tag) {
            (Some(to_tag), Some(from_tag)) if !to_tag.is_empty() && !from_tag.is_empty() => {
                Ok(Replaces {
                    call_id,
                    to_tag,
                    from_tag,
                    early_only,
                })
            }
            _ => Err(ReferError::BadReplaces),
        }
    }

    /// Whether this names the dialog with `call_id` and the two tags, in either order: the
    /// transferor may write the tags from its side of the dialog or from ours.
    pub fn matches(&self, call_id: &str, tag_a: &str, tag_b: &str) -> bool {
        self.call_id == call_id
            && ((self.to_tag == tag_a && self.from_tag == tag_b)
                || (self.to_tag == tag_b && self.from_tag == tag_a))
    }
}

/// A parsed Refer-To: who to transfer to and, for an attended transfer, which dialog the
/// new call replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferTo {
    /// The user part, unescaped (an extension, a queue number, an external number).
    pub user: String,
    /// The `Replaces` header of the URI (RFC 3891 §6.1 via RFC 3515 §2.1), if any.
    pub replaces: Option<Replaces>,
}

impl ReferTo {
    /// Parses a Refer-To value: `<sip:1002@box?Replaces=...>` or a bare `sip:1002@box`.
    pub fn parse(value: &str) -> Result<ReferTo, ReferError> {
        let v = value.trim();
        // RFC 3261 §20: a URI with headers must be in angle brackets; a bare one ends at ';'.
        let uri_text = match (v.find('<'), v.rfind('>')) {
            (Some(open), Some(close)) if open < close => v.get(open + 1..close).unwrap_or(""),
            _ => v.split(';').next().unwrap_or(""),
        };
        let uri = Uri::parse(uri_text.trim()).map_err(|_| ReferError::NotSipUri)?;
        if !uri.is_sip() && !uri.is_tel() {
            return Err(ReferError::NotSipUri);
        }
        let user = if uri.is_tel() {
            uri.host.to_string()
        } else {
            uri.user_unescaped().unwrap_or_default()
        };
        if user.is_empty() {
            return Err(ReferError::NoUser);
        }
        let replaces = match uri.headers.as_deref() {
            Some(h) => uri_header(h, "Replaces")
                .map(|v| Replaces::parse(&v))
                .transpose()?,
            None => None,
        };
        Ok(ReferTo { user, replaces })
    }
}

/// The value of one `?name=value&...` URI header, %-decoded (RFC 3261 §19.1.1).
fn uri_header(headers: &str, name: &str) -> Option<String> {
    headers.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| percent_decode(v.trim()))
    })
}

/// The `message/sipfrag` body of a NOTIFY for a REFER (RFC 3515 §2.4.5): the status line of
/// the transfer's outcome so far, e.g. `SIP/2.0 100 Trying`.
pub fn sipfrag(code: u16, reason: &str) -> Vec<u8> {
    format!("SIP/2.0 {code} {reason}\r\n").into_bytes()
}

/// Content-Type of a sipfrag NOTIFY body (RFC 3420 §2).
pub const SIPFRAG_TYPE: &str = "message/sipfrag;version=2.0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blind_refer_to_names_the_extension_rfc3515() {
        let r = ReferTo::parse("<sip:1002@127.0.0.1:5060>").unwrap();
        assert_eq!(r.user, "1002");
        assert_eq!(r.replaces, None);
        let bare = ReferTo::parse("sip:6000@box;transport=udp").unwrap();
        assert_eq!(bare.user, "6000");
        let named = ReferTo::parse("\"Support\" <sip:913800138000@box>;foo=bar").unwrap();
        assert_eq!(named.user, "913800138000");
    }

    #[test]
    fn attended_refer_to_carries_an_escaped_replaces_rfc3891() {
        let r = ReferTo::parse(
            "<sip:1002@box?Replaces=abc%40host%3Bto-tag%3Dt1%3Bfrom-tag%3Df1&Require=replaces>",
        )
        .unwrap();
        let rep = r.replaces.unwrap();
        assert_eq!(rep.call_id, "abc@host");
        assert_eq!((rep.to_tag.as_str(), rep.from_tag.as_str()), ("t1", "f1"));
        assert!(rep.matches("abc@host", "f1", "t1"), "either tag order");
        assert!(!rep.matches("abc@host", "f1", "zz"));
    }

    #[test]
    fn malformed_values_are_errors_not_panics() {
        for bad in [
            "",
            "<>",
            "<sip:@box>",
            "mailto:a@b",
            "<sip:1002@box?Replaces=x>",
        ] {
            assert!(ReferTo::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Replaces::parse(";to-tag=a;from-tag=b"),
            Err(ReferError::BadReplaces)
        );
        let early = Replaces::parse("c1;to-tag=a;from-tag=b;early-only").unwrap();
        assert!(early.early_only);
    }

    #[test]
    fn sipfrag_is_a_status_line() {
        assert_eq!(sipfrag(100, "Trying"), b"SIP/2.0 100 Trying\r\n".to_vec());
    }
}
