//! SDP (RFC 8866) as SIP carries it (RFC 3264 offer/answer): a tolerant parser that keeps
//! every line it does not understand, accessors for what the media plane needs, a rewriter
//! that points the audio at the relay, and builders for when Branchline terminates media.
//!
//! Real offers are untidy: LF-only line ends, blank lines, `m=image 0 udptl t38` next to the
//! audio, vendor attributes. The model is the list of lines itself, grouped into the
//! session part and one section per m-line, so rewriting changes only what it must.

mod build;
mod rewrite;

pub use build::{build_answer, build_offer, negotiate};

use std::net::{IpAddr, SocketAddr};
use thiserror::Error;

/// Why a body is not usable SDP.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    /// The body does not start with `v=0` (RFC 8866 §5.1).
    #[error("SDP does not start with v=0")]
    MissingVersion,
    /// An `m=` line lacks media, port or protocol (RFC 8866 §5.14); carries the line number.
    #[error("malformed m= line at line {0}")]
    BadMediaLine(usize),
}

/// One `x=value` line; `kind` is the type letter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    kind: u8,
    value: String,
}

impl Line {
    fn attr(&self) -> Option<(&str, Option<&str>)> {
        if self.kind != b'a' {
            return None;
        }
        Some(match self.value.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (self.value.as_str(), None),
        })
    }
}

/// A media stream direction attribute (RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (the default when none is given).
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    fn from_attr(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The attribute name, without `a=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an answer takes for this offered direction (RFC 3264 §6.1).
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

/// A parsed `rtpmap` entry (RFC 8866 §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpMap<'a> {
    /// Encoding name as written (`PCMU`, `telephone-event`, ...).
    pub name: &'a str,
    /// Clock rate in Hz.
    pub rate: u32,
}

/// Parses `c=IN IP4 192.0.2.1` (optionally with `/ttl`) into its address.
fn parse_connection(value: &str) -> Option<IpAddr> {
    let mut it = value.split_ascii_whitespace();
    let (net, _family, addr) = (it.next()?, it.next()?, it.next()?);
    if net != "IN" {
        return None;
    }
    addr.split('/').next()?.parse().ok()
}

/// One media section: its `m=` line and the lines that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    lines: Vec<Line>,
    kind: String,
    port: u16,
    proto: String,
    formats: Vec<String>,
}

impl Media {
    fn from_m_line(value: &str, line_no: usize) -> Result<Media, SdpError> {
        let mut it = value.split_ascii_whitespace();
        let kind = it.next().ok_or(SdpError::BadMediaLine(line_no))?;
        let port = it.next().ok_or(SdpError::BadMediaLine(line_no))?;
        let proto = it.next().ok_or(SdpError::BadMediaLine(line_no))?;
        // RFC 8866 §5.14: `<port>/<number of ports>` is allowed.
        let port: u16 = port
            .split('/')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or(SdpError::BadMediaLine(line_no))?;
        Ok(Media {
            lines: vec![Line {
                kind: b'm',
                value: value.to_string(),
            }],
            kind: kind.to_string(),
            port,
            proto: proto.to_string(),
            formats: it.map(str::to_string).collect(),
        })
    }

    /// Media type: `audio`, `video`, `image`, ...
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Transport port; 0 means the stream is rejected or disabled (RFC 3264 §5.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Transport protocol: `RTP/AVP`, `udptl`, ...
    pub fn proto(&self) -> &str {
        &self.proto
    }

    /// Payload types in offer order (formats that are not numbers, as in `udptl t38`, are skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }

    /// The media-level connection address, if this section has its own `c=`.
    pub fn connection(&self) -> Option<IpAddr> {
        self.lines
            .iter()
            .find(|l| l.kind == b'c')
            .and_then(|l| parse_connection(&l.value))
    }

    /// Values of every `a=<name>:value` (or `a=<name>`, as "") in this section.
    pub fn attributes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines.iter().filter_map(move |l| match l.attr() {
            Some((n, v)) if n == name => Some(v.unwrap_or("")),
            _ => None,
        })
    }

    /// The first `a=<name>` value in this section.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.lines.iter().find_map(|l| match l.attr() {
            Some((n, v)) if n == name => Some(v.unwrap_or("")),
            _ => None,
        })
    }

    /// The encoding of payload type `pt`: its `a=rtpmap`, or the RFC 3551 static assignment.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap<'_>> {
        for v in self.attributes("rtpmap") {
            let Some((num, enc)) = v.split_once(' ') else {
                continue;
            };
            if num.trim().parse::<u8>().ok() != Some(pt) {
                continue;
            }
            let mut parts = enc.trim().split('/');
            let name = parts.next().unwrap_or("");
            let rate = parts.next().and_then(|r| r.parse().ok()).unwrap_or(0);
            return Some(RtpMap { name, rate });
        }
        // RFC 3551 Table 4: static payload types need no rtpmap.
        let (name, rate) = match pt {
            0 => ("PCMU", 8000),
            3 => ("GSM", 8000),
            4 => ("G723", 8000),
            8 => ("PCMA", 8000),
            9 => ("G722", 8000),
            18 => ("G729", 8000),
            _ => return None,
        };
        Some(RtpMap { name, rate })
    }

    /// The first offered payload type whose encoding is `name` (case-insensitive) at `rate` Hz.
    pub fn find_payload(&self, name: &str, rate: u32) -> Option<u8> {
        self.payload_types().find(|&pt| {
            self.rtpmap(pt)
                .is_some_and(|m| m.name.eq_ignore_ascii_case(name) && m.rate == rate)
        })
    }

    /// The direction attribute of this section, if it has one.
    pub fn direction(&self) -> Option<Direction> {
        self.lines
            .iter()
            .filter_map(|l| l.attr())
            .find_map(|(n, v)| v.is_none().then(|| Direction::from_attr(n)).flatten())
    }

    /// `a=ptime` in milliseconds, if given.
    pub fn ptime(&self) -> Option<u32> {
        self.attribute("ptime").and_then(|v| v.trim().parse().ok())
    }
}

/// A parsed session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    session: Vec<Line>,
    media: Vec<Media>,
}

impl Sdp {
    /// Parses an SDP body; CRLF or bare LF line ends, blank lines and unknown lines are accepted.
    pub fn parse(body: &[u8]) -> Result<Sdp, SdpError> {
        let text = String::from_utf8_lossy(body);
        let mut session = Vec::new();
        let mut media: Vec<Media> = Vec::new();
        let mut seen_version = false;
        for (idx, raw) in text.split('\n').enumerate() {
            let raw = raw.strip_suffix('\r').unwrap_or(raw).trim_end();
            if raw.is_empty() {
                continue;
            }
            let (kind, value) = match raw.as_bytes() {
                [k, b'=', ..] if k.is_ascii_alphabetic() => (*k, raw.get(2..).unwrap_or("")),
                // Not `x=...`: keep it verbatim so a rewrite does not lose it.
                _ => (0, raw),
            };
            if !seen_version {
                if kind != b'v' || value.trim() != "0" {
                    return Err(SdpError::MissingVersion);
                }
                seen_version = true;
            }
            if kind == b'm' {
                media.push(Media::from_m_line(value, idx + 1)?);
                continue;
            }
            let line = Line {
                kind,
                value: value.to_string(),
            };
            match media.last_mut() {
                Some(m) => m.lines.push(line),
                None => session.push(line),
            }
        }
        if !seen_version {
            return Err(SdpError::MissingVersion);
        }
        Ok(Sdp { session, media })
    }

    /// The session-level connection address (`c=` before any `m=`).
    pub fn session_connection(&self) -> Option<IpAddr> {
        self.session
            .iter()
            .find(|l| l.kind == b'c')
            .and_then(|l| parse_connection(&l.value))
    }

    /// All media sections in order.
    pub fn media(&self) -> &[Media] {
        &self.media
    }

    fn audio_index(&self) -> Option<usize> {
        self.media.iter().position(|m| m.kind == "audio")
    }

    /// The first audio section (the one the relay carries).
    pub fn audio(&self) -> Option<&Media> {
        self.audio_index().and_then(|i| self.media.get(i))
    }

    /// The connection address that applies to `media`: its own `c=` or the session's.
    pub fn connection_for(&self, media: &Media) -> Option<IpAddr> {
        media.connection().or_else(|| self.session_connection())
    }

    /// Where the offerer wants audio RTP sent, if the audio stream is enabled.
    pub fn audio_rtp_addr(&self) -> Option<SocketAddr> {
        let a = self.audio()?;
        if a.port == 0 {
            return None;
        }
        Some(SocketAddr::new(self.connection_for(a)?, a.port))
    }

    /// The session-level direction attribute, if any.
    pub fn session_direction(&self) -> Option<Direction> {
        self.session
            .iter()
            .filter_map(|l| l.attr())
            .find_map(|(n, v)| v.is_none().then(|| Direction::from_attr(n)).flatten())
    }

    /// The effective audio direction: media level, else session level, else sendrecv.
    pub fn audio_direction(&self) -> Direction {
        self.audio()
            .and_then(Media::direction)
            .or_else(|| self.session_direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// The `o=` session id and version (RFC 8866 §5.2), if the line is well formed.
    pub fn origin_version(&self) -> Option<(u64, u64)> {
        let o = self.session.iter().find(|l| l.kind == b'o')?;
        let mut it = o.value.split_ascii_whitespace().skip(1);
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    /// A Yealink-style desk phone offer (CRLF, G.722 first, DTMF at 101).
    pub const DESK_PHONE: &str = "v=0\r\n\
o=- 20045 20045 IN IP4 192.168.1.50\r\n\
s=SDP data\r\n\
c=IN IP4 192.168.1.50\r\n\
t=0 0\r\n\
m=audio 11780 RTP/AVP 9 0 8 18 101\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n";

    /// A carrier offer: PCMA first, b=AS, a=rtcp with an address, maxptime, a T.38 line.
    pub const CARRIER: &str = "v=0\r\n\
o=SBC 1630412 1630413 IN IP4 203.0.113.10\r\n\
s=SBC call\r\n\
c=IN IP4 203.0.113.10\r\n\
b=AS:80\r\n\
t=0 0\r\n\
m=audio 30000 RTP/AVP 8 0 96\r\n\
b=AS:80\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:96 telephone-event/8000\r\n\
a=fmtp:96 0-15\r\n\
a=rtcp:30001 IN IP4 203.0.113.10\r\n\
a=ptime:20\r\n\
a=maxptime:40\r\n\
a=sendrecv\r\n\
m=image 0 udptl t38\r\n\
a=T38FaxVersion:0\r\n\
a=T38FaxRateManagement:transferredTCF\r\n";

    /// A minimal offer with bare LF line ends and only static payload types.
    pub const MINIMAL_LF: &str = "v=0\n\
o=- 1 1 IN IP4 10.0.0.7\n\
s=-\n\
t=0 0\n\
m=audio 4000 RTP/AVP 0\n\
c=IN IP4 10.0.0.7\n\
a=sendonly\n";
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn desk_phone_offer_exposes_address_port_and_codecs() {
        let sdp = Sdp::parse(DESK_PHONE.as_bytes()).unwrap();
        assert_eq!(
            sdp.session_connection(),
            Some("192.168.1.50".parse().unwrap())
        );
        let a = sdp.audio().unwrap();
        assert_eq!(a.port(), 11780);
        assert_eq!(a.proto(), "RTP/AVP");
        assert_eq!(
            a.payload_types().collect::<Vec<_>>(),
            vec![9, 0, 8, 18, 101]
        );
        assert_eq!(a.find_payload("pcmu", 8000), Some(0));
        assert_eq!(a.find_payload("PCMA", 8000), Some(8));
        assert_eq!(a.find_payload("telephone-event", 8000), Some(101));
        assert_eq!(a.rtpmap(9).unwrap().name, "G722");
        assert_eq!(a.ptime(), Some(20));
        assert_eq!(sdp.audio_direction(), Direction::SendRecv);
        assert_eq!(
            sdp.audio_rtp_addr(),
            Some("192.168.1.50:11780".parse().unwrap())
        );
        assert_eq!(sdp.origin_version(), Some((20045, 20045)));
    }

    #[test]
    fn carrier_offer_with_t38_line_keeps_both_media_sections() {
        let sdp = Sdp::parse(CARRIER.as_bytes()).unwrap();
        assert_eq!(sdp.media().len(), 2);
        let image = &sdp.media()[1];
        assert_eq!(image.kind(), "image");
        assert_eq!(image.port(), 0);
        assert_eq!(image.proto(), "udptl");
        assert_eq!(
            image.payload_types().count(),
            0,
            "t38 is not a payload type"
        );
        assert_eq!(image.attribute("T38FaxVersion"), Some("0"));
        let a = sdp.audio().unwrap();
        assert_eq!(a.find_payload("telephone-event", 8000), Some(96));
        assert_eq!(a.attribute("rtcp"), Some("30001 IN IP4 203.0.113.10"));
        assert_eq!(a.attribute("maxptime"), Some("40"));
    }

    #[test]
    fn lf_only_minimal_offer_uses_static_payload_and_media_connection() {
        let sdp = Sdp::parse(MINIMAL_LF.as_bytes()).unwrap();
        assert_eq!(sdp.session_connection(), None);
        let a = sdp.audio().unwrap();
        assert_eq!(a.connection(), Some("10.0.0.7".parse().unwrap()));
        assert_eq!(
            a.rtpmap(0),
            Some(RtpMap {
                name: "PCMU",
                rate: 8000
            })
        );
        assert_eq!(a.find_payload("telephone-event", 8000), None);
        assert_eq!(sdp.audio_direction(), Direction::SendOnly);
        assert_eq!(sdp.audio_rtp_addr(), Some("10.0.0.7:4000".parse().unwrap()));
    }

    #[test]
    fn non_sdp_and_broken_m_lines_are_errors() {
        assert_eq!(Sdp::parse(b""), Err(SdpError::MissingVersion));
        assert_eq!(
            Sdp::parse(b"INVITE sip:x SIP/2.0\r\n"),
            Err(SdpError::MissingVersion)
        );
        assert_eq!(
            Sdp::parse(b"v=0\r\nm=audio\r\n"),
            Err(SdpError::BadMediaLine(2))
        );
        assert_eq!(
            Sdp::parse(b"v=0\nm=audio port RTP/AVP 0\n"),
            Err(SdpError::BadMediaLine(2))
        );
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let cases: [&[u8]; 6] = [
            b"v=0\n\xff\xfe=\n",
            b"v=0\nc=\na=rtpmap:\na=rtpmap:x y\nm=audio 1 RTP/AVP 300 -1\na=rtpmap:0 /\n",
            b"v=0\no=\nm=audio 65535/2 RTP/AVP 0\nc=IN IP4 999.1.1.1\n",
            b"v=0\n=\nx\n\r\n\r",
            b"v=0\nm=audio 0 RTP/AVP\n",
            b"v=0",
        ];
        for c in cases {
            if let Ok(sdp) = Sdp::parse(c) {
                let _ = sdp.audio_rtp_addr();
                let _ = sdp.origin_version();
                let _ = negotiate(&sdp);
                let _ = sdp.rewrite_for_relay("127.0.0.1".parse().unwrap(), 20000, true);
                if let Some(a) = sdp.audio() {
                    let _ = a.find_payload("PCMU", 8000);
                }
            }
        }
    }
}
