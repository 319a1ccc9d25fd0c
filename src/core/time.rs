//! Time as the cores see it: a monotonic [`Instant`] and a wall-clock [`WallMs`], both plain
//! values handed in with every input. Only `driver::clock` reads the real clocks.

use std::time::Duration;

/// A point on the monotonic clock, in microseconds since an arbitrary origin.
///
/// Cores never read a clock: the driver passes `now` with every input, tests pass virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The origin of the clock; tests usually start here.
    pub const ZERO: Instant = Instant(0);

    /// Builds an instant from microseconds since the origin.
    pub const fn from_micros(us: u64) -> Self {
        Instant(us)
    }

    /// Builds an instant from milliseconds since the origin.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms * 1000)
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// The time elapsed from `earlier` to `self` (zero if `earlier` is later).
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(
            self.0
                .saturating_add(d.as_micros().min(u64::MAX as u128) as u64),
        )
    }
}

impl std::ops::AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl std::ops::Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

/// Wall-clock time: UTC milliseconds since the Unix epoch (how timestamps are stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WallMs(pub i64);

impl WallMs {
    /// Seconds since the Unix epoch (rounded down).
    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This wall time moved forward by `d`.
    pub fn plus(self, d: Duration) -> WallMs {
        WallMs(
            self.0
                .saturating_add(d.as_millis().min(i64::MAX as u128) as i64),
        )
    }
}

/// A pair of clocks read at the same moment, handed to cores that need both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time, for timers.
    pub mono: Instant,
    /// Wall time, for CDRs, events and business hours.
    pub wall: WallMs,
}

impl Now {
    /// Both clocks advanced by `d` (virtual time in tests).
    pub fn advance(self, d: Duration) -> Now {
        Now {
            mono: self.mono + d,
            wall: self.wall.plus(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instant_arithmetic_saturates_instead_of_panicking() {
        let a = Instant::from_millis(10);
        let b = a + Duration::from_millis(500);
        assert_eq!(b - a, Duration::from_millis(500));
        assert_eq!(a - b, Duration::ZERO);
        assert_eq!(b.as_micros(), 510_000);
    }

    #[test]
    fn wall_time_rounds_seconds_down_even_before_the_epoch() {
        assert_eq!(WallMs(1999).as_secs(), 1);
        assert_eq!(WallMs(-1).as_secs(), -1);
    }
}
