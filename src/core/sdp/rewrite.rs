//! Rewriting an SDP so the audio flows through the relay (a B2BUA's media anchoring).

use super::{Line, Media, Sdp};
use std::fmt::Write as _;
use std::net::IpAddr;

fn connection_value(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => format!("IN IP4 {a}"),
        IpAddr::V6(a) => format!("IN IP6 {a}"),
    }
}

fn push_line(out: &mut String, kind: u8, value: &str) {
    if kind != 0 {
        out.push(kind as char);
        out.push('=');
    }
    out.push_str(value);
    // RFC 8866 §5: lines end with CRLF on output, whatever the input used.
    out.push_str("\r\n");
}

/// `o=` with the session version incremented (RFC 3264 §8: a changed SDP bumps the version).
fn bumped_origin(value: &str) -> String {
    let mut parts: Vec<&str> = value.split_ascii_whitespace().collect();
    let bumped;
    if let Some(v) = parts.get(2).and_then(|v| v.parse::<u64>().ok()) {
        bumped = v.wrapping_add(1).to_string();
        if let Some(slot) = parts.get_mut(2) {
            *slot = &bumped;
        }
        return parts.join(" ");
    }
    value.to_string()
}

impl Sdp {
    /// The SDP with audio pointed at `addr:audio_port`: session and audio `c=` replaced, the
    /// audio `m=` port replaced, the audio `a=rtcp` rewritten to `audio_port + 1` (where the
    /// relay listens for RTCP), optionally the `o=` version bumped; every other line kept.
    pub fn rewrite_for_relay(
        &self,
        addr: IpAddr,
        audio_port: u16,
        session_version_bump: bool,
    ) -> Vec<u8> {
        let ours = connection_value(addr);
        let original_session_c = self.session.iter().find(|l| l.kind == b'c');
        let audio_idx = self.audio_index();
        let mut out = String::with_capacity(512);
        let mut wrote_session_c = false;
        for l in &self.session {
            match l.kind {
                b'o' if session_version_bump => push_line(&mut out, b'o', &bumped_origin(&l.value)),
                b'c' if !wrote_session_c => {
                    push_line(&mut out, b'c', &ours);
                    wrote_session_c = true;
                }
                b'c' => {} // a duplicate session c= would contradict ours
                _ => push_line(&mut out, l.kind, &l.value),
            }
        }
        for (i, m) in self.media.iter().enumerate() {
            if Some(i) == audio_idx {
                self.write_audio(&mut out, m, &ours, audio_port, wrote_session_c);
            } else {
                write_other(&mut out, m, original_session_c, wrote_session_c);
            }
        }
        out.into_bytes()
    }

    fn write_audio(&self, out: &mut String, m: &Media, ours: &str, port: u16, session_c: bool) {
        // A rejected stream (port 0) stays rejected: the relay does not revive it.
        let port = if m.port == 0 { 0 } else { port };
        let mut mline = format!("{} {} {}", m.kind, port, m.proto);
        for f in &m.formats {
            let _ = write!(mline, " {f}");
        }
        push_line(out, b'm', &mline);
        let has_own_c = m.lines.iter().any(|l| l.kind == b'c');
        let mut c_done = false;
        for l in m.lines.iter().skip(1) {
            // RFC 8866 §5: c= comes after i=; insert ours there if the session had none.
            if !has_own_c && !session_c && !c_done && l.kind != b'i' {
                push_line(out, b'c', ours);
                c_done = true;
            }
            match (l.kind, l.attr()) {
                (b'c', _) if !c_done => {
                    push_line(out, b'c', ours);
                    c_done = true;
                }
                (b'c', _) => {}
                // RFC 3605: the relay's RTCP is on port + 1; another party's address must go.
                (_, Some(("rtcp", _))) => {
                    if port != 0 {
                        push_line(out, b'a', &format!("rtcp:{}", port.wrapping_add(1)));
                    }
                }
                _ => push_line(out, l.kind, &l.value),
            }
        }
        if !has_own_c && !session_c && !c_done {
            push_line(out, b'c', ours);
        }
    }
}

/// Non-audio sections are copied; one that relied on the session `c=` (now ours) and is
/// enabled gets the original address as its own `c=`, so T.38 or video is not misdirected.
fn write_other(
    out: &mut String,
    m: &Media,
    original_session_c: Option<&Line>,
    session_c_replaced: bool,
) {
    let needs_c = session_c_replaced && m.port != 0 && !m.lines.iter().any(|l| l.kind == b'c');
    let mut inserted = false;
    for (j, l) in m.lines.iter().enumerate() {
        if needs_c && !inserted && j > 0 && l.kind != b'i' {
            if let Some(c) = original_session_c {
                push_line(out, b'c', &c.value);
            }
            inserted = true;
        }
        push_line(out, l.kind, &l.value);
    }
    if needs_c && !inserted {
        if let Some(c) = original_session_c {
            push_line(out, b'c', &c.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;

    fn relay() -> IpAddr {
        "198.51.100.5".parse().unwrap()
    }

    fn lines(b: &[u8]) -> Vec<String> {
        let s = std::str::from_utf8(b).unwrap();
        assert!(s.ends_with("\r\n"));
        s.split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn carrier_offer_points_audio_at_relay_and_keeps_the_rest() {
        let sdp = Sdp::parse(CARRIER.as_bytes()).unwrap();
        let out = sdp.rewrite_for_relay(relay(), 20000, true);
        let l = lines(&out);
        assert!(l.contains(&"o=SBC 1630412 1630414 IN IP4 203.0.113.10".to_string()));
        assert!(l.contains(&"c=IN IP4 198.51.100.5".to_string()));
        assert!(l.contains(&"m=audio 20000 RTP/AVP 8 0 96".to_string()));
        assert!(l.contains(&"a=rtcp:20001".to_string()));
        assert_eq!(
            l.iter().filter(|x| x.contains("203.0.113.10")).count(),
            1,
            "only o= keeps it"
        );
        for kept in [
            "b=AS:80",
            "a=maxptime:40",
            "m=image 0 udptl t38",
            "a=T38FaxVersion:0",
            "a=fmtp:96 0-15",
        ] {
            assert!(l.iter().any(|x| x == kept), "{kept} kept");
        }
        let again = Sdp::parse(&out).unwrap();
        assert_eq!(
            again.audio_rtp_addr(),
            Some("198.51.100.5:20000".parse().unwrap())
        );
        assert_eq!(again.media().len(), 2);
        assert_eq!(again.origin_version(), Some((1630412, 1630414)));
    }

    #[test]
    fn without_bump_the_origin_is_unchanged() {
        let sdp = Sdp::parse(DESK_PHONE.as_bytes()).unwrap();
        let out = sdp.rewrite_for_relay(relay(), 20002, false);
        let again = Sdp::parse(&out).unwrap();
        assert_eq!(again.origin_version(), Some((20045, 20045)));
        assert_eq!(again.audio().unwrap().port(), 20002);
        assert_eq!(
            again.audio().unwrap().find_payload("telephone-event", 8000),
            Some(101)
        );
    }

    #[test]
    fn media_level_connection_is_replaced_in_lf_offer() {
        let sdp = Sdp::parse(MINIMAL_LF.as_bytes()).unwrap();
        let out = sdp.rewrite_for_relay("2001:db8::1".parse().unwrap(), 20004, true);
        let l = lines(&out);
        assert!(l.contains(&"c=IN IP6 2001:db8::1".to_string()));
        assert!(l.contains(&"a=sendonly".to_string()));
        let again = Sdp::parse(&out).unwrap();
        assert_eq!(
            again.audio_rtp_addr(),
            Some("[2001:db8::1]:20004".parse().unwrap())
        );
    }

    #[test]
    fn enabled_t38_keeps_the_original_address_when_session_c_is_replaced() {
        let body = CARRIER.replace("m=image 0 udptl t38", "m=image 40000 udptl t38");
        let sdp = Sdp::parse(body.as_bytes()).unwrap();
        let out = Sdp::parse(&sdp.rewrite_for_relay(relay(), 20000, false)).unwrap();
        let image = &out.media()[1];
        assert_eq!(
            out.connection_for(image),
            Some("203.0.113.10".parse().unwrap())
        );
        assert_eq!(
            out.audio_rtp_addr(),
            Some("198.51.100.5:20000".parse().unwrap())
        );
    }

    #[test]
    fn rejected_audio_stays_rejected() {
        let sdp =
            Sdp::parse(b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 0 RTP/AVP 0\r\na=rtcp:9\r\n").unwrap();
        let out = Sdp::parse(&sdp.rewrite_for_relay(relay(), 20000, false)).unwrap();
        assert_eq!(out.audio().unwrap().port(), 0);
        assert_eq!(out.audio().unwrap().attribute("rtcp"), None);
    }
}
