//! DTMF detection on the packet path of one leg: RFC 4733 telephone-events and in-band tones
//! in the decoded G.711 audio. Boxed once when detection is turned on, so a leg without
//! detection pays a single `None` check per packet; the work per packet allocates nothing
//! (the decode buffer lives here) and reports digits on an unbounded channel that never blocks.

use super::{MediaEvent, Side};
use crate::core::media::dtmf::{DigitEvent, InbandDetector, Rfc4733Receiver};
use crate::core::media::g711::Codec;
use crate::core::media::rtp::TelephoneEvent;
use crate::core::time::Instant;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// Decoded samples per detector call: 60 ms, the longest usual G.711 packetisation (RFC 3551
/// §4.5.14 allows up to 120 ms in practice); longer payloads are fed in pieces.
const PCM_CHUNK: usize = 480;

/// Microseconds per sample at 8 kHz.
const SAMPLE_US: u64 = 125;

/// DTMF detectors of one leg and where their digits go.
pub struct DtmfDetect {
    session: u64,
    side: Side,
    /// RFC 4733 payload type negotiated for this leg, if events are to be watched.
    te_pt: Option<u8>,
    rfc: Rfc4733Receiver,
    inband: Option<InbandDetector>,
    pcm: [i16; PCM_CHUNK],
    events: UnboundedSender<MediaEvent>,
}

impl DtmfDetect {
    /// Detection for `side` of `session` with the given sources.
    pub fn new(
        session: u64,
        side: Side,
        te_pt: Option<u8>,
        inband: bool,
        events: UnboundedSender<MediaEvent>,
    ) -> DtmfDetect {
        let mut d = DtmfDetect {
            session,
            side,
            te_pt: None,
            rfc: Rfc4733Receiver::new(),
            inband: None,
            pcm: [0; PCM_CHUNK],
            events,
        };
        d.configure(te_pt, inband);
        d
    }

    /// Changes the sources; a running in-band detector keeps its state (no digit counted twice).
    pub fn configure(&mut self, te_pt: Option<u8>, inband: bool) {
        self.te_pt = te_pt.map(|pt| pt & 0x7f);
        match (inband, self.inband.is_some()) {
            (true, false) => self.inband = Some(InbandDetector::new()),
            (false, true) => self.inband = None,
            _ => {}
        }
    }

    /// Looks at one accepted RTP packet of this leg. `audio` is the codec when the packet is
    /// audio of the leg's negotiated codec.
    #[inline]
    pub fn inspect(
        &mut self,
        now: Instant,
        payload_type: u8,
        timestamp: u32,
        payload: &[u8],
        audio: Option<Codec>,
    ) {
        if self.te_pt == Some(payload_type) {
            // A malformed event payload is ignored (it is still relayed as it came).
            if let Ok(ev) = TelephoneEvent::decode(payload) {
                if let Some(d) = self.rfc.handle(now, timestamp, &ev) {
                    emit(&self.events, self.session, self.side, d);
                }
            }
            return;
        }
        let (Some(det), Some(codec)) = (self.inband.as_mut(), audio) else {
            return;
        };
        let mut at = now;
        for chunk in payload.chunks(PCM_CHUNK) {
            let n = codec.decode_into(chunk, &mut self.pcm);
            if let Some(d) = det.push(at, self.pcm.get(..n).unwrap_or(&[])) {
                emit(&self.events, self.session, self.side, d);
            }
            at += Duration::from_micros(n as u64 * SAMPLE_US);
        }
    }
}

/// Reports a digit; a dropped receiver only means nobody listens any more.
#[cold]
fn emit(events: &UnboundedSender<MediaEvent>, session: u64, side: Side, event: DigitEvent) {
    let _ = events.send(MediaEvent::Digit {
        session,
        side,
        event,
    });
}
