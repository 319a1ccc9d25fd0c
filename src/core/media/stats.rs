//! Per-leg reception statistics: loss from sequence numbers (RFC 3550 Appendix A.1) and
//! interarrival jitter (RFC 3550 §6.4.1, Appendix A.8). Constant time, no allocation.

/// RFC 3550 A.1: a forward jump of less than this many sequence numbers is in order.
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: a backward step of less than this is a reordered or duplicate packet.
const MAX_MISORDER: u16 = 100;

/// Reception state of one RTP source as seen by one leg.
#[derive(Debug, Clone, Default)]
pub struct ReceptionStats {
    started: bool,
    ssrc: u32,
    base_seq: u64,
    /// Highest sequence number seen, extended with the wrap count.
    ext_max: u64,
    /// RFC 3550 A.1 `bad_seq`: a large jump is accepted when the next packet follows it.
    bad_seq: Option<u16>,
    received: u64,
    /// Packets counted for earlier SSRCs or before a resync (their loss stays counted).
    lost_before: u64,
    transit: Option<i64>,
    /// Jitter in timestamp units (RFC 3550 §6.4.1 `J`).
    jitter: f64,
}

impl ReceptionStats {
    /// A fresh tracker.
    pub fn new() -> Self {
        Self::default()
    }

    fn restart(&mut self, ssrc: u32, seq: u16) {
        self.lost_before += self.lost_current();
        self.started = true;
        self.ssrc = ssrc;
        self.base_seq = seq as u64;
        self.ext_max = seq as u64;
        self.bad_seq = None;
        self.received = 0;
        self.transit = None;
    }

    /// Records one packet. `arrival` is the arrival time in the payload's clock units;
    /// `timed` is false for packets whose timestamps do not advance with media (RFC 4733
    /// events repeat their start timestamp), which must not feed the jitter estimate.
    #[inline]
    pub fn on_packet(&mut self, ssrc: u32, seq: u16, timestamp: u32, arrival: u32, timed: bool) {
        if !self.started || ssrc != self.ssrc {
            self.restart(ssrc, seq);
        } else {
            let max16 = self.ext_max as u16;
            let delta = seq.wrapping_sub(max16);
            if delta == 0 {
                // Duplicate of the highest packet.
            } else if delta < MAX_DROPOUT {
                // In order, possibly with a gap; a wrap adds 2^16 to the extended number.
                self.ext_max += delta as u64;
                self.bad_seq = None;
            } else if delta <= u16::MAX - MAX_MISORDER {
                // A big jump: the sender restarted. Accept it only if the next packet
                // continues from it (RFC 3550 A.1), otherwise ignore this one.
                if self.bad_seq == Some(seq) {
                    self.restart(ssrc, seq);
                } else {
                    self.bad_seq = Some(seq.wrapping_add(1));
                    return;
                }
            }
            // else: reordered or duplicate within MAX_MISORDER, counted as received.
        }
        self.received += 1;
        if timed {
            // RFC 3550 A.8: D(i,j) = (Rj − Ri) − (Sj − Si); J += (|D| − J) / 16.
            let transit = arrival.wrapping_sub(timestamp) as i32 as i64;
            if let Some(prev) = self.transit {
                let d = (transit - prev).abs() as f64;
                self.jitter += (d - self.jitter) / 16.0;
            }
            self.transit = Some(transit);
        }
    }

    fn lost_current(&self) -> u64 {
        if !self.started {
            return 0;
        }
        let expected = self.ext_max - self.base_seq + 1;
        // Duplicates can make received exceed expected; loss is never negative here.
        expected.saturating_sub(self.received)
    }

    /// Cumulative packets lost (expected minus received, RFC 3550 A.3).
    pub fn lost(&self) -> u64 {
        self.lost_before + self.lost_current()
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Interarrival jitter in milliseconds for a clock of `rate` Hz.
    pub fn jitter_ms(&self, rate: u32) -> f64 {
        if rate == 0 {
            return 0.0;
        }
        self.jitter * 1000.0 / rate as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_stream_has_no_loss_and_no_jitter() {
        let mut s = ReceptionStats::new();
        for i in 0..100u32 {
            s.on_packet(
                1,
                65500u16.wrapping_add(i as u16),
                i * 160,
                5000 + i * 160,
                true,
            );
        }
        assert_eq!(s.lost(), 0, "sequence wrap is not loss");
        assert_eq!(s.jitter(), 0.0);
    }

    #[test]
    fn gaps_count_as_loss_and_late_packets_fill_them() {
        let mut s = ReceptionStats::new();
        for seq in [10u16, 11, 14, 15] {
            s.on_packet(1, seq, 0, 0, false);
        }
        assert_eq!(s.lost(), 2);
        s.on_packet(1, 12, 0, 0, false); // reordered arrival
        assert_eq!(s.lost(), 1);
    }

    #[test]
    fn variable_delay_raises_jitter_towards_the_mean_deviation() {
        let mut s = ReceptionStats::new();
        for i in 0..2000u32 {
            let wobble = if i % 2 == 0 { 0 } else { 80 }; // 10 ms at 8 kHz
            s.on_packet(1, i as u16, i * 160, i * 160 + wobble, true);
        }
        assert!((s.jitter() - 80.0).abs() < 1.0, "jitter {}", s.jitter());
        assert!((s.jitter_ms(8000) - 10.0).abs() < 0.2);
    }

    #[test]
    fn a_single_wild_sequence_number_is_ignored_but_a_restart_is_followed() {
        let mut s = ReceptionStats::new();
        for seq in 0..10u16 {
            s.on_packet(1, seq, 0, 0, false);
        }
        s.on_packet(1, 40000, 0, 0, false);
        s.on_packet(1, 10, 0, 0, false);
        assert_eq!(s.lost(), 0);
        s.on_packet(1, 30000, 0, 0, false);
        s.on_packet(1, 30001, 0, 0, false);
        s.on_packet(1, 30002, 0, 0, false);
        assert_eq!(s.lost(), 0, "the sender restarted at 30000");
    }

    #[test]
    fn new_ssrc_restarts_tracking_but_keeps_earlier_loss() {
        let mut s = ReceptionStats::new();
        s.on_packet(1, 0, 0, 0, false);
        s.on_packet(1, 3, 0, 0, false);
        assert_eq!(s.lost(), 2);
        s.on_packet(2, 500, 0, 0, false);
        s.on_packet(2, 501, 0, 0, false);
        assert_eq!(s.lost(), 2);
    }
}
