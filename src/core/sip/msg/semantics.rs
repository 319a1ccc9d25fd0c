//! RFC 3261 §8.2 checks a UAS runs on a well-formed request before acting on it.

use super::build::{reason_phrase, response_to, OutMessage};
use super::header::media_type_essence;
use super::{Message, Method};

/// Why a well-formed request is refused: status, reason and the headers the answer must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Status code.
    pub code: u16,
    /// Reason phrase.
    pub reason: &'static str,
    /// Extra headers for the answer (Unsupported, Accept, Allow).
    pub headers: Vec<(String, String)>,
}

impl Rejection {
    fn new(code: u16, headers: Vec<(String, String)>) -> Self {
        Rejection {
            code,
            reason: reason_phrase(code),
            headers,
        }
    }

    /// The answer to `req` (§8.2.6 copies plus this rejection's headers).
    pub fn to_response(&self, req: &Message<'_>, to_tag: Option<&str>) -> OutMessage {
        let mut out = response_to(req, self.code, self.reason, to_tag);
        for (n, v) in &self.headers {
            out.push_header(n, v.clone());
        }
        out
    }
}

/// RFC 3261 §8.2 UAS checks, in this order: Request-URI scheme (416 unless sip/sips/tel),
/// To scheme of a REGISTER (400, §10.3 step 3), Require/Proxy-Require tags outside `supported`
/// (420 + Unsupported, §8.2.2.3), a body whose Content-Type is not in `accepted_types` (415 +
/// Accept, §8.2.3), an INVITE whose Accept lacks application/sdp (406), a method outside
/// `allowed` (405 + Allow, or 501 + Allow for a method this box has never heard of, §8.2.1).
/// ACK is never refused (it gets no response). Max-Forwards is the caller's business.
pub fn uas_checks(
    msg: &Message<'_>,
    allowed: &[Method],
    supported: &[&str],
    accepted_types: &[&str],
) -> Result<(), Rejection> {
    let Some(method) = msg.method() else {
        return Ok(());
    };
    if *method == Method::Ack {
        return Ok(());
    }
    let allow = || {
        let list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        vec![("Allow".to_owned(), list.join(", "))]
    };

    // §8.2.2.1: a scheme we do not understand is 416.
    let scheme_ok = match msg.request_uri() {
        Some(Ok(u)) => u.is_sip() || u.is_tel(),
        _ => false,
    };
    if !scheme_ok {
        return Err(Rejection::new(416, Vec::new()));
    }

    // §10.3 step 3 / RFC 4475 §3.3.4: a REGISTER's To must be a SIP or SIPS AOR.
    if *method == Method::Register && !msg.to().is_ok_and(|t| t.uri.is_sip()) {
        return Err(Rejection::new(400, Vec::new()));
    }

    // §8.2.2.3: every option tag in Require (and, for this B2BUA acting as the next hop,
    // Proxy-Require) must be supported; CANCEL is exempt.
    if *method != Method::Cancel {
        let mut unsupported: Vec<String> = Vec::new();
        for name in ["Require", "Proxy-Require"] {
            for tag in msg.header_values(name) {
                let known = supported.iter().any(|s| s.eq_ignore_ascii_case(&tag));
                if !known && !unsupported.iter().any(|u| u.eq_ignore_ascii_case(&tag)) {
                    unsupported.push(tag.into_owned());
                }
            }
        }
        if !unsupported.is_empty() {
            return Err(Rejection::new(
                420,
                vec![("Unsupported".to_owned(), unsupported.join(", "))],
            ));
        }
    }

    // §8.2.3: a body must be of a type we accept (a body without Content-Type is refused too).
    if !msg.body.is_empty() {
        let ok = msg.content_type().is_some_and(|ct| {
            let essence = media_type_essence(&ct);
            accepted_types
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&essence))
        });
        if !ok {
            return Err(Rejection::new(
                415,
                vec![("Accept".to_owned(), accepted_types.join(", "))],
            ));
        }
    }

    // RFC 4475 §3.3.15: an INVITE whose Accept excludes SDP cannot be answered with an SDP body.
    if *method == Method::Invite && msg.header("Accept").is_some() {
        let sdp_ok = msg.header_values("Accept").iter().any(|a| {
            let e = media_type_essence(a);
            e == "application/sdp" || e == "application/*" || e == "*/*"
        });
        if !sdp_ok {
            return Err(Rejection::new(406, Vec::new()));
        }
    }

    // §8.2.1: 405 for a method we know but do not allow here, 501 for one we have never heard of.
    if !allowed.contains(method) {
        let code = if method.is_known() { 405 } else { 501 };
        return Err(Rejection::new(code, allow()));
    }
    Ok(())
}
