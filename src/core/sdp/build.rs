//! SDP for a local media endpoint (music on hold, ringback early media, prompts) and codec
//! negotiation (RFC 3264 §5–6).

use super::{Direction, Sdp};
use crate::core::media::g711::Codec;
use std::fmt::Write as _;
use std::net::IpAddr;

/// Payload type Branchline offers for telephone-event (dynamic range, RFC 3551 §6).
const LOCAL_TE_PT: u8 = 101;

fn head(out: &mut String, addr: IpAddr, session_id: u64, version: u64) {
    let fam = if addr.is_ipv4() { "IP4" } else { "IP6" };
    let _ = write!(
        out,
        "v=0\r\no=branchline {session_id} {version} IN {fam} {addr}\r\ns=branchline\r\nc=IN {fam} {addr}\r\nt=0 0\r\n"
    );
}

/// An offer for a local endpoint at `addr:port`: PCMU, PCMA, telephone-event/8000 on 101,
/// 20 ms packets, the given direction.
pub fn build_offer(
    addr: IpAddr,
    port: u16,
    session_id: u64,
    version: u64,
    direction: Direction,
) -> Vec<u8> {
    let mut s = String::with_capacity(320);
    head(&mut s, addr, session_id, version);
    let _ = write!(
        s,
        "m=audio {port} RTP/AVP 0 8 {te}\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:{te} telephone-event/8000\r\n\
         a=fmtp:{te} 0-16\r\n\
         a=ptime:20\r\n\
         a={dir}\r\n",
        te = LOCAL_TE_PT,
        dir = direction.as_str()
    );
    s.into_bytes()
}

/// Chooses the first of PCMU/PCMA in the offer's order on its first enabled audio stream,
/// returning the codec, the offer's payload type for it and its telephone-event/8000 type.
pub fn negotiate(offer: &Sdp) -> Option<(Codec, u8, Option<u8>)> {
    let audio = offer.audio().filter(|a| a.port() != 0)?;
    let (codec, pt) = audio.payload_types().find_map(|pt| {
        let map = audio.rtpmap(pt)?;
        if map.rate != 8000 {
            return None;
        }
        [Codec::Pcmu, Codec::Pcma]
            .into_iter()
            .find(|c| map.name.eq_ignore_ascii_case(c.name()))
            .map(|c| (c, pt))
    })?;
    Some((codec, pt, audio.find_payload("telephone-event", 8000)))
}

/// An answer from a local endpoint at `addr:port`, or `None` when nothing acceptable was
/// offered (the caller answers 488). RFC 3264 §6: one m-line per offered m-line, the offer's
/// payload type numbers, other streams rejected with port 0, the mirrored direction.
pub fn build_answer(
    offer: &Sdp,
    addr: IpAddr,
    port: u16,
    session_id: u64,
    version: u64,
) -> Option<Vec<u8>> {
    let (codec, pt, te) = negotiate(offer)?;
    let audio_idx = offer.audio_index()?;
    let mut s = String::with_capacity(320);
    head(&mut s, addr, session_id, version);
    for (i, m) in offer.media().iter().enumerate() {
        if i != audio_idx {
            let _ = write!(s, "m={} 0 {}", m.kind(), m.proto());
            for f in &m.formats {
                let _ = write!(s, " {f}");
            }
            s.push_str("\r\n");
            continue;
        }
        let _ = write!(s, "m=audio {port} RTP/AVP {pt}");
        if let Some(te) = te {
            let _ = write!(s, " {te}");
        }
        let _ = write!(s, "\r\na=rtpmap:{pt} {}/8000\r\n", codec.name());
        if let Some(te) = te {
            let _ = write!(
                s,
                "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
            );
        }
        let _ = write!(
            s,
            "a=ptime:20\r\na={}\r\n",
            offer.audio_direction().answer().as_str()
        );
    }
    Some(s.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn local() -> IpAddr {
        "192.0.2.9".parse().unwrap()
    }

    #[test]
    fn desk_phone_negotiates_pcmu_before_pcma_and_skips_g722() {
        let sdp = Sdp::parse(DESK_PHONE.as_bytes()).unwrap();
        assert_eq!(negotiate(&sdp), Some((Codec::Pcmu, 0, Some(101))));
    }

    #[test]
    fn carrier_negotiates_pcma_with_its_dynamic_event_type() {
        let sdp = Sdp::parse(CARRIER.as_bytes()).unwrap();
        assert_eq!(negotiate(&sdp), Some((Codec::Pcma, 8, Some(96))));
    }

    #[test]
    fn minimal_offer_negotiates_static_pcmu_without_events() {
        let sdp = Sdp::parse(MINIMAL_LF.as_bytes()).unwrap();
        assert_eq!(negotiate(&sdp), Some((Codec::Pcmu, 0, None)));
    }

    #[test]
    fn offer_without_g711_or_with_rejected_audio_does_not_negotiate() {
        let g729 = Sdp::parse(b"v=0\nc=IN IP4 1.1.1.1\nm=audio 5000 RTP/AVP 18\n").unwrap();
        assert_eq!(negotiate(&g729), None);
        assert!(build_answer(&g729, local(), 20000, 1, 1).is_none());
        let off = Sdp::parse(b"v=0\nc=IN IP4 1.1.1.1\nm=audio 0 RTP/AVP 0\n").unwrap();
        assert_eq!(negotiate(&off), None);
        // A dynamic type named PCMU at another rate is not G.711.
        let odd = Sdp::parse(b"v=0\nm=audio 5000 RTP/AVP 97\na=rtpmap:97 PCMU/16000\n").unwrap();
        assert_eq!(negotiate(&odd), None);
    }

    #[test]
    fn local_offer_parses_back_with_all_three_payloads() {
        let body = build_offer(local(), 20010, 42, 1, Direction::SendOnly);
        let sdp = Sdp::parse(&body).unwrap();
        let a = sdp.audio().unwrap();
        assert_eq!(a.payload_types().collect::<Vec<_>>(), vec![0, 8, 101]);
        assert_eq!(a.find_payload("telephone-event", 8000), Some(101));
        assert_eq!(a.ptime(), Some(20));
        assert_eq!(sdp.audio_direction(), Direction::SendOnly);
        assert_eq!(
            sdp.audio_rtp_addr(),
            Some("192.0.2.9:20010".parse().unwrap())
        );
        assert_eq!(sdp.origin_version(), Some((42, 1)));
    }

    #[test]
    fn answer_to_carrier_rejects_t38_and_uses_offered_numbers() {
        let offer = Sdp::parse(CARRIER.as_bytes()).unwrap();
        let body = build_answer(&offer, local(), 20012, 7, 1).unwrap();
        let ans = Sdp::parse(&body).unwrap();
        assert_eq!(ans.media().len(), 2, "one m-line per offered m-line");
        assert_eq!(ans.media()[1].kind(), "image");
        assert_eq!(ans.media()[1].port(), 0);
        let a = ans.audio().unwrap();
        assert_eq!(a.payload_types().collect::<Vec<_>>(), vec![8, 96]);
        assert_eq!(negotiate(&ans), Some((Codec::Pcma, 8, Some(96))));
        assert_eq!(
            ans.audio_rtp_addr(),
            Some("192.0.2.9:20012".parse().unwrap())
        );
    }

    #[test]
    fn answer_mirrors_sendonly_offer() {
        let offer = Sdp::parse(MINIMAL_LF.as_bytes()).unwrap();
        let ans = Sdp::parse(&build_answer(&offer, local(), 20014, 1, 1).unwrap()).unwrap();
        assert_eq!(ans.audio_direction(), Direction::RecvOnly);
    }
}
