//! The real clocks, read in one place and handed to the cores as values.

use crate::core::time::{Instant, Now, WallMs};

/// Reads the monotonic and wall clocks, relative to a fixed origin taken at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: std::time::Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock whose monotonic origin is now.
    #[allow(clippy::disallowed_methods)] // the driver is where clocks are read
    pub fn new() -> Self {
        Clock {
            origin: std::time::Instant::now(),
        }
    }

    /// The current monotonic time.
    #[allow(clippy::disallowed_methods)]
    pub fn mono(&self) -> Instant {
        Instant::from_micros(self.origin.elapsed().as_micros() as u64)
    }

    /// The current wall time (UTC milliseconds).
    #[allow(clippy::disallowed_methods)]
    pub fn wall(&self) -> WallMs {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        WallMs(d.as_millis() as i64)
    }

    /// Both clocks at once.
    pub fn now(&self) -> Now {
        Now {
            mono: self.mono(),
            wall: self.wall(),
        }
    }

    /// Converts a core instant back into a tokio deadline.
    pub fn deadline(&self, at: Instant) -> tokio::time::Instant {
        tokio::time::Instant::from_std(
            self.origin + std::time::Duration::from_micros(at.as_micros()),
        )
    }
}
