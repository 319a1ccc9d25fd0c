//! The per-packet part of the relay, free of system calls so it can be measured alone
//! (`benches/rtp_relay.rs`): symmetric-RTP latching, RTP parsing, reception statistics,
//! recording decode, DTMF detection (when turned on) and the forwarding decision. No
//! allocation, no lock.

use super::detect::DtmfDetect;
use super::sys::RawAddr;
use super::{LegStats, MediaEvent, Mode, Side};
use crate::core::media::g711::Codec;
use crate::core::media::recorder::{Channel, StereoRecorder};
use crate::core::media::rtp;
use crate::core::media::stats::ReceptionStats;
use crate::core::time::Instant;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// A latched peer that goes quiet this long may be replaced by a new source (NAT rebinding,
/// re-INVITE without new SDP); before that, other sources are ignored so nobody can inject
/// media into a call by guessing the port.
const RELATCH_AFTER: Duration = Duration::from_secs(2);

/// Where one stream of a leg goes, and whether that was learnt from real packets.
#[derive(Clone, Copy)]
pub struct Latch {
    addr: Option<SocketAddr>,
    raw: Option<RawAddr>,
    latched: bool,
    last_rx: Instant,
}

impl Latch {
    fn new() -> Latch {
        Latch {
            addr: None,
            raw: None,
            latched: false,
            last_rx: Instant::ZERO,
        }
    }

    /// Sets the address from signalling; the next packet's source may replace it.
    fn set(&mut self, addr: SocketAddr) {
        self.addr = Some(addr);
        self.raw = Some(RawAddr::new(addr));
        self.latched = false;
    }

    /// Symmetric RTP (RFC 4961 / the usual SBC practice): media goes back to where the
    /// leg's packets come from. Returns false for packets from a stranger.
    #[inline]
    fn accept(&mut self, src: SocketAddr, now: Instant) -> bool {
        if self.addr == Some(src) {
            self.latched = true;
            self.last_rx = now;
            return true;
        }
        if !self.latched || now.saturating_since(self.last_rx) >= RELATCH_AFTER {
            self.addr = Some(src);
            self.raw = Some(RawAddr::new(src));
            self.latched = true;
            self.last_rx = now;
            return true;
        }
        false
    }

    /// The current destination.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The current destination in kernel form.
    pub fn raw(&self) -> Option<&RawAddr> {
        self.raw.as_ref()
    }
}

/// One leg of a relayed call.
pub struct Leg {
    /// Where RTP for this leg goes.
    pub rtp: Latch,
    /// Where RTCP for this leg goes.
    pub rtcp: Latch,
    codec: Option<(Codec, u8)>,
    reception: ReceptionStats,
    packets_in: u64,
    bytes_in: u64,
    packets_out: u64,
    /// Datagrams ignored: not RTP, or from a source other than the latched one.
    pub rejected: u64,
    /// DTMF detection on this leg's packets; `None` keeps the relay path at one branch.
    dtmf: Option<Box<DtmfDetect>>,
}

impl Leg {
    fn new() -> Leg {
        Leg {
            rtp: Latch::new(),
            rtcp: Latch::new(),
            codec: None,
            reception: ReceptionStats::new(),
            packets_in: 0,
            bytes_in: 0,
            packets_out: 0,
            rejected: 0,
            dtmf: None,
        }
    }

    /// The codec used for audio sent to and received from this leg (set from SDP).
    pub fn codec(&self) -> Option<(Codec, u8)> {
        self.codec
    }

    /// Counts packets sent toward this leg.
    #[inline]
    pub fn count_out(&mut self, n: u64) {
        self.packets_out += n;
    }

    /// A snapshot of this leg's statistics.
    pub fn stats(&self) -> LegStats {
        LegStats {
            packets_in: self.packets_in,
            bytes_in: self.bytes_in,
            packets_out: self.packets_out,
            lost: self.reception.lost(),
            jitter_ms: self.reception.jitter_ms(8000),
        }
    }
}

fn idx(side: Side) -> usize {
    match side {
        Side::A => 0,
        Side::B => 1,
    }
}

/// The other leg.
pub fn other(side: Side) -> Side {
    match side {
        Side::A => Side::B,
        Side::B => Side::A,
    }
}

/// The hot state of one session: both legs, what is forwarded, the recording buffer.
pub struct HotSession {
    legs: [Leg; 2],
    /// When either leg last sent RTP or RTCP (ZERO until the first packet or check).
    last_activity: Instant,
    /// Indexed by destination leg: forward packets toward it? (mode and prompts combined)
    forward_to: [bool; 2],
    /// Indexed by destination leg: what the mode alone says.
    mode_forward: [bool; 2],
    /// Indexed by destination leg: a prompt is playing to it, so nothing else reaches it.
    prompt_to: [bool; 2],
    recorder: Option<StereoRecorder>,
}

impl Default for HotSession {
    fn default() -> Self {
        Self::new()
    }
}

impl HotSession {
    /// A session relaying in both directions with no addresses known yet.
    pub fn new() -> HotSession {
        HotSession {
            last_activity: Instant::ZERO,
            legs: [Leg::new(), Leg::new()],
            forward_to: [true, true],
            mode_forward: [true, true],
            prompt_to: [false, false],
            recorder: None,
        }
    }

    /// True once neither leg has sent RTP or RTCP for `timeout`; the silence is measured from
    /// the first call (or packet), so a session that never sees media also times out.
    pub fn inactive_for(&mut self, now: Instant, timeout: std::time::Duration) -> bool {
        if self.last_activity == Instant::ZERO {
            self.last_activity = now;
            return false;
        }
        now.saturating_since(self.last_activity) >= timeout
    }

    /// One leg.
    pub fn leg(&self, side: Side) -> &Leg {
        &self.legs[idx(side)]
    }

    /// One leg, mutably.
    pub fn leg_mut(&mut self, side: Side) -> &mut Leg {
        &mut self.legs[idx(side)]
    }

    /// Exchanges one leg (latches, codec, statistics, DTMF detection) with another session's
    /// leg on the same side: the media half of an attended transfer, where each session keeps
    /// its mode and recording but talks to the other's party from now on.
    pub fn swap_leg(&mut self, side: Side, other: &mut HotSession) {
        std::mem::swap(self.leg_mut(side), other.leg_mut(side));
    }

    /// Sets a leg's RTP address from SDP; RTCP defaults to the next port (RFC 3550 §11).
    pub fn set_remote(&mut self, side: Side, addr: SocketAddr) {
        let leg = self.leg_mut(side);
        leg.rtp.set(addr);
        leg.rtcp
            .set(SocketAddr::new(addr.ip(), addr.port().wrapping_add(1)));
    }

    /// Sets a leg's codec and payload type.
    pub fn set_codec(&mut self, side: Side, codec: Codec, payload_type: u8) {
        self.leg_mut(side).codec = Some((codec, payload_type & 0x7f));
    }

    /// Applies a mode: which directions are forwarded.
    pub fn set_mode(&mut self, mode: &Mode) {
        self.mode_forward = match *mode {
            Mode::Relay => [true, true],
            // The played-to leg hears the local source instead of the other party.
            Mode::Play { to, .. } => {
                let mut f = [true, true];
                f[idx(to)] = false;
                f
            }
            Mode::Hold { .. } => [false, false],
        };
        self.update_forwarding();
    }

    /// Marks whether a prompt is playing to `side`: while it is, the prompt wins over the mode
    /// and nothing from the other leg is forwarded to it (RTP or RTCP).
    pub fn set_prompt(&mut self, side: Side, playing: bool) {
        self.prompt_to[idx(side)] = playing;
        self.update_forwarding();
    }

    fn update_forwarding(&mut self) {
        for k in 0..2 {
            self.forward_to[k] = self.mode_forward[k] && !self.prompt_to[k];
        }
    }

    /// Turns DTMF detection for packets arriving from `side` on (RFC 4733 with payload type
    /// `telephone_event_pt`, in-band Goertzel on decoded G.711 if `inband`) or, with neither,
    /// off. Digits go to `events` as [`MediaEvent::Digit`] for `session`. Allocates once, when
    /// detection is first turned on; reconfiguring keeps the detectors' state.
    pub fn detect_dtmf(
        &mut self,
        side: Side,
        session: u64,
        telephone_event_pt: Option<u8>,
        inband: bool,
        events: &UnboundedSender<MediaEvent>,
    ) {
        let leg = self.leg_mut(side);
        if telephone_event_pt.is_none() && !inband {
            leg.dtmf = None;
            return;
        }
        match leg.dtmf.as_mut() {
            Some(d) => d.configure(telephone_event_pt, inband),
            None => {
                leg.dtmf = Some(Box::new(DtmfDetect::new(
                    session,
                    side,
                    telephone_event_pt,
                    inband,
                    events.clone(),
                )))
            }
        }
    }

    /// Starts decoding both legs into a stereo buffer whose frame 0 is `now`.
    pub fn start_recording(&mut self, now: Instant) {
        self.recorder = Some(StereoRecorder::new(now));
    }

    /// The recording buffer, if recording.
    pub fn recorder_mut(&mut self) -> Option<&mut StereoRecorder> {
        self.recorder.as_mut()
    }

    /// Stops recording, handing back the buffer.
    pub fn take_recorder(&mut self) -> Option<StereoRecorder> {
        self.recorder.take()
    }

    /// Handles one RTP datagram that arrived on `from`'s socket; true means "forward it
    /// unchanged to the other leg's RTP address" (which is then known).
    #[inline]
    pub fn on_rtp(&mut self, from: Side, now: Instant, src: SocketAddr, pkt: &[u8]) -> bool {
        let i = idx(from);
        let leg = &mut self.legs[i];
        let Ok((h, payload)) = rtp::parse(pkt) else {
            leg.rejected += 1;
            return false;
        };
        if !leg.rtp.accept(src, now) {
            leg.rejected += 1;
            return false;
        }
        leg.packets_in += 1;
        leg.bytes_in += pkt.len() as u64;
        self.last_activity = now;
        // Audio of the negotiated codec (or a static G.711 type when none was set); anything
        // else (RFC 4733 events, comfort noise) is relayed but neither timed nor recorded.
        let audio = match leg.codec {
            Some((c, pt)) if pt == h.payload_type => Some(c),
            Some(_) => None,
            None => Codec::from_payload_type(h.payload_type),
        };
        // RFC 3550 A.8: arrival time in timestamp units (8 kHz for G.711).
        let arrival = (now.as_micros() / 125) as u32;
        leg.reception
            .on_packet(h.ssrc, h.seq, h.timestamp, arrival, audio.is_some());
        // Detection off: this one check is all it costs.
        if let Some(d) = leg.dtmf.as_deref_mut() {
            d.inspect(now, h.payload_type, h.timestamp, payload, audio);
        }
        if let (Some(rec), Some(codec)) = (self.recorder.as_mut(), audio) {
            let ch = if i == 0 {
                Channel::Left
            } else {
                Channel::Right
            };
            rec.push(now, ch, codec, payload);
        }
        let to = 1 - i;
        self.forward_to[to] && self.legs[to].rtp.raw.is_some()
    }

    /// Handles one RTCP datagram on `from`'s RTCP socket; true means "forward it to the
    /// other leg's RTCP address". RTCP is relayed opaque (compound packets, SRTCP alike).
    #[inline]
    pub fn on_rtcp(&mut self, from: Side, now: Instant, src: SocketAddr) -> bool {
        let i = idx(from);
        if !self.legs[i].rtcp.accept(src, now) {
            self.legs[i].rejected += 1;
            return false;
        }
        self.last_activity = now;
        let to = 1 - i;
        // On hold nothing flows; while playing, the played-to leg gets no reports about a
        // stream it is not receiving.
        self.forward_to[to] && self.legs[to].rtcp.raw.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::media::rtp::{write_header, RtpHeader};

    fn pkt(seq: u16, pt: u8) -> Vec<u8> {
        let mut b = vec![0xFFu8; 172];
        let h = RtpHeader {
            version: 2,
            payload_type: pt,
            seq,
            timestamp: seq as u32 * 160,
            ssrc: 9,
            ..Default::default()
        };
        write_header(&h, &mut b);
        b
    }

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn first_source_latches_over_the_sdp_address_and_strangers_are_ignored() {
        let mut s = HotSession::new();
        let sdp: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        let real: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let stranger: SocketAddr = "127.0.0.1:6666".parse().unwrap();
        s.set_remote(Side::A, sdp);
        s.set_remote(Side::B, "127.0.0.1:7000".parse().unwrap());
        assert!(s.on_rtp(Side::A, at(0), real, &pkt(1, 0)));
        assert_eq!(s.leg(Side::A).rtp.addr(), Some(real));
        assert!(!s.on_rtp(Side::A, at(20), stranger, &pkt(2, 0)));
        assert_eq!(s.leg(Side::A).rejected, 1);
        // After the latched source is silent for 2 s, a new one may take over.
        assert!(s.on_rtp(Side::A, at(2100), stranger, &pkt(3, 0)));
        assert_eq!(s.leg(Side::A).rtp.addr(), Some(stranger));
    }

    #[test]
    fn nothing_is_forwarded_before_the_other_leg_has_an_address() {
        let mut s = HotSession::new();
        let src: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        assert!(!s.on_rtp(Side::A, at(0), src, &pkt(1, 0)));
        assert_eq!(s.leg(Side::A).stats().packets_in, 1);
    }

    #[test]
    fn modes_decide_direction_and_events_are_relayed_but_not_recorded() {
        let mut s = HotSession::new();
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:6000".parse().unwrap();
        s.set_remote(Side::A, a);
        s.set_remote(Side::B, b);
        s.set_codec(Side::A, Codec::Pcmu, 0);
        s.set_mode(&Mode::Play {
            to: Side::A,
            source: super::super::Source::Ringback,
        });
        assert!(s.on_rtp(Side::A, at(0), a, &pkt(1, 0)), "A still reaches B");
        assert!(
            !s.on_rtp(Side::B, at(0), b, &pkt(1, 0)),
            "A hears the tone, not B"
        );
        s.set_mode(&Mode::Hold { held: Side::A });
        assert!(!s.on_rtp(Side::A, at(20), a, &pkt(2, 0)));
        assert!(!s.on_rtcp(Side::A, at(20), SocketAddr::new(a.ip(), 5001)));
        s.set_mode(&Mode::Relay);
        s.start_recording(at(40));
        assert!(
            s.on_rtp(Side::A, at(60), a, &pkt(3, 101)),
            "telephone-event relayed"
        );
        assert!(s.on_rtcp(Side::A, at(60), SocketAddr::new(a.ip(), 5001)));
        let out = s.take_recorder().unwrap().finish(at(100));
        assert!(
            out.iter().all(|&v| v == 0),
            "the event was not decoded as audio"
        );
        assert!(!s.on_rtp(Side::A, at(80), a, b"not rtp at all"));
    }

    #[test]
    fn a_prompt_silences_its_leg_whatever_the_mode_and_the_mode_returns_after() {
        let mut s = HotSession::new();
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:6000".parse().unwrap();
        s.set_remote(Side::A, a);
        s.set_remote(Side::B, b);
        s.set_prompt(Side::A, true);
        assert!(
            !s.on_rtp(Side::B, at(0), b, &pkt(1, 0)),
            "A hears the prompt"
        );
        assert!(s.on_rtp(Side::A, at(0), a, &pkt(1, 0)), "B still hears A");
        s.set_mode(&Mode::Relay);
        assert!(
            !s.on_rtp(Side::B, at(20), b, &pkt(2, 0)),
            "a mode change keeps it"
        );
        s.set_prompt(Side::A, false);
        assert!(s.on_rtp(Side::B, at(40), b, &pkt(3, 0)));
        s.set_mode(&Mode::Hold { held: Side::A });
        s.set_prompt(Side::A, true);
        s.set_prompt(Side::A, false);
        assert!(
            !s.on_rtp(Side::B, at(60), b, &pkt(4, 0)),
            "hold applies again"
        );
    }

    #[test]
    fn rfc4733_events_are_detected_once_and_detection_can_be_turned_off() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut s = HotSession::new();
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        s.set_remote(Side::B, "127.0.0.1:6000".parse().unwrap());
        s.detect_dtmf(Side::A, 42, Some(101), false, &tx);
        let ev = |seq: u16, end: bool| {
            let mut p = pkt(seq, 101);
            p[4..8].copy_from_slice(&8000u32.to_be_bytes());
            p[12..16].copy_from_slice(&[7, if end { 0x8a } else { 0x0a }, 0, 160]);
            p.truncate(16);
            p
        };
        for (seq, end) in [(1, false), (2, true), (3, true)] {
            assert!(s.on_rtp(Side::A, at(seq as u64 * 20), a, &ev(seq, end)));
        }
        match rx.try_recv() {
            Ok(MediaEvent::Digit {
                session: 42,
                side: Side::A,
                event,
            }) => assert_eq!(event.digit, '7'),
            other => panic!("expected digit 7, got {other:?}"),
        }
        assert!(rx.try_recv().is_err(), "reported once");
        s.detect_dtmf(Side::A, 42, None, false, &tx);
        let mut p = ev(4, false);
        p[4..8].copy_from_slice(&9600u32.to_be_bytes());
        assert!(s.on_rtp(Side::A, at(100), a, &p));
        assert!(rx.try_recv().is_err(), "detection off");
    }

    #[test]
    fn stats_count_bytes_and_loss() {
        let mut s = HotSession::new();
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        for seq in [1u16, 2, 5] {
            s.on_rtp(Side::A, at(seq as u64 * 20), a, &pkt(seq, 0));
        }
        let st = s.leg(Side::A).stats();
        assert_eq!((st.packets_in, st.bytes_in, st.lost), (3, 3 * 172, 2));
    }
}
