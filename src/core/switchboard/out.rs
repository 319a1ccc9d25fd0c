//! Requests the B2BUA originates: INVITE toward the B leg, CANCEL, ACK, BYE, and the SDP it
//! writes when it terminates media itself (queue music before an agent answers).

use std::net::{IpAddr, SocketAddr};

use super::Switchboard;
use crate::core::media::g711::Codec;
use crate::core::sip::msg::{Message, Method, OutMessage};
use crate::core::sip::transaction::Target;

/// One side of a dialog as the B2BUA needs it to send in-dialog requests.
#[derive(Debug, Clone)]
pub(super) struct Dialog {
    /// SIP Call-ID.
    pub call_id: String,
    /// Our From value (with our tag) for requests we send.
    pub local: String,
    /// Their address with their tag, our To value.
    pub remote: String,
    /// Request-URI for in-dialog requests (their Contact).
    pub remote_target: String,
    /// Where packets go (their transport source: symmetric signalling for NAT).
    pub target: Target,
    /// Our CSeq counter for this dialog.
    pub cseq: u32,
}

impl Switchboard {
    /// A new branch and our Via value for `target`'s transport.
    pub(super) fn new_via(&mut self, target: &Target) -> (String, String) {
        // RFC 3261 §8.1.1.7: branch starts with the magic cookie.
        let branch = format!("z9hG4bK{}", self.rng.token(16));
        let via = format!(
            "SIP/2.0/{} {};branch={};rport",
            Self::transport_name(target),
            self.sent_by(),
            branch
        );
        (branch, via)
    }

    /// Our Contact value.
    pub(super) fn contact(&self, target: &Target) -> String {
        match target.transport {
            crate::core::sip::transaction::Transport::Udp => {
                format!("<sip:branchline@{}>", self.cfg.sip_addr)
            }
            crate::core::sip::transaction::Transport::Tcp => {
                format!("<sip:branchline@{};transport=tcp>", self.cfg.sip_addr)
            }
        }
    }

    /// A SIP URI for `user` at our address (used in From of calls we originate).
    pub(super) fn local_uri(&self, user: &str) -> String {
        format!("sip:{}@{}", user, host_of(self.cfg.sip_addr))
    }

    /// Sends an in-dialog request (BYE, re-INVITE...) on `dialog`.
    pub(super) fn send_in_dialog(
        &mut self,
        now: crate::core::time::Now,
        dialog: &mut Dialog,
        method: Method,
    ) {
        dialog.cseq += 1;
        let (branch, via) = self.new_via(&dialog.target);
        let mut m = OutMessage::request(method.clone(), dialog.remote_target.clone());
        m.push_header("Via", via);
        m.push_header("Max-Forwards", "70");
        m.push_header("From", dialog.local.clone());
        m.push_header("To", dialog.remote.clone());
        m.push_header("Call-ID", dialog.call_id.clone());
        m.push_header("CSeq", format!("{} {}", dialog.cseq, method.as_str()));
        m.push_header("User-Agent", USER_AGENT);
        self.send_request(now, dialog.target.clone(), &branch, method.as_str(), m);
    }
}

/// User-Agent / Server header value.
pub(super) const USER_AGENT: &str = concat!("Branchline/", env!("CARGO_PKG_VERSION"));

/// `host:port` with IPv6 brackets, for URIs.
pub(super) fn host_of(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

/// The ACK for a non-2xx final response to our INVITE (RFC 3261 §17.1.1.3): same branch
/// (the response's top Via), Request-URI of the INVITE, To from the response.
pub(super) fn ack_for_non2xx(resp: &Message<'_>, request_uri: &str) -> Option<Vec<u8>> {
    let mut m = OutMessage::request(Method::Ack, request_uri.to_owned());
    m.push_header(
        "Via",
        resp.header("Via")?.split(',').next()?.trim().to_owned(),
    );
    m.push_header("Max-Forwards", "70");
    m.push_header("From", resp.header("From")?.into_owned());
    m.push_header("To", resp.header("To")?.into_owned());
    m.push_header("Call-ID", resp.call_id().ok()?.into_owned());
    m.push_header("CSeq", format!("{} ACK", resp.cseq().ok()?.seq));
    Some(m.to_bytes())
}

/// SDP for media Branchline terminates or relays with one negotiated codec (RFC 4566/3264).
pub(super) fn local_sdp(
    ip: IpAddr,
    port: u16,
    codec: Codec,
    pt: u8,
    te: Option<u8>,
    session: u64,
) -> Vec<u8> {
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let name = match codec {
        Codec::Pcmu => "PCMU",
        Codec::Pcma => "PCMA",
    };
    let mut s = format!(
        "v=0\r\no=branchline {session} {session} IN {family} {ip}\r\ns=Branchline\r\nc=IN {family} {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {pt}"
    );
    if let Some(te) = te {
        s.push_str(&format!(" {te}"));
    }
    s.push_str(&format!("\r\na=rtpmap:{pt} {name}/8000\r\n"));
    if let Some(te) = te {
        s.push_str(&format!(
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
        ));
    }
    s.push_str("a=ptime:20\r\na=sendrecv\r\n");
    s.into_bytes()
}

/// RFC 3581 §4 / RFC 3261 §18.2.1: the top Via of a response records where the request
/// really came from (`received`), and the source port when the client asked (`rport`), so
/// that phones behind NAT get their answers.
pub(super) fn stamp_via(resp: &mut OutMessage, src: &Target) {
    let vias: Vec<String> = resp
        .headers()
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("via") || n.eq_ignore_ascii_case("v"))
        .map(|(_, v)| v.clone())
        .collect();
    let Some(first) = vias.first() else {
        return;
    };
    let (top, rest) = match first.split_once(',') {
        Some((t, r)) => (t.to_owned(), Some(r.to_owned())),
        None => (first.clone(), None),
    };
    let mut params: Vec<String> = top.split(';').map(|p| p.trim().to_owned()).collect();
    let mut changed = false;
    for p in params.iter_mut().skip(1) {
        if p.eq_ignore_ascii_case("rport") {
            *p = format!("rport={}", src.addr.port());
            changed = true;
        }
    }
    let sent_host = params
        .first()
        .and_then(|sp| sp.split_whitespace().nth(1))
        .map(|hp| {
            let h = hp.rsplit_once(':').map_or(hp, |(h, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    hp
                }
            });
            h.trim_start_matches('[').trim_end_matches(']').to_owned()
        })
        .unwrap_or_default();
    let has_received = params
        .iter()
        .skip(1)
        .any(|p| p.to_ascii_lowercase().starts_with("received="));
    if !has_received && (changed || sent_host != src.addr.ip().to_string()) {
        params.push(format!("received={}", src.addr.ip()));
        changed = true;
    }
    if !changed {
        return;
    }
    let mut joined = params.join(";");
    if let Some(r) = rest {
        joined.push(',');
        joined.push_str(&r);
    }
    for v in vias.iter().skip(1) {
        joined.push_str(", ");
        joined.push_str(v);
    }
    resp.set_header("Via", joined);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sip::transaction::Transport;

    fn target(addr: &str) -> Target {
        Target {
            transport: Transport::Udp,
            addr: addr.parse().unwrap(),
            conn: None,
        }
    }

    #[test]
    fn rport_is_filled_and_received_added_rfc3581() {
        let mut r = OutMessage::response(200, "OK");
        r.push_header("Via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa;rport");
        r.push_header("Via", "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKb");
        stamp_via(&mut r, &target("127.0.0.1:40000"));
        let v = r.header("Via").unwrap();
        assert!(
            v.starts_with(
                "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa;rport=40000;received=127.0.0.1"
            ),
            "{v}"
        );
        assert!(v.ends_with("SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKb"), "{v}");
    }

    #[test]
    fn via_matching_the_source_is_left_alone() {
        let mut r = OutMessage::response(200, "OK");
        r.push_header("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa");
        stamp_via(&mut r, &target("127.0.0.1:5070"));
        assert_eq!(
            r.header("Via"),
            Some("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa")
        );
    }
}
