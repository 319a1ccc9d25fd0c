//! IVR basic settings (基础设置): what a queued caller hears and how long they may wait.
//!
//! Seed 001 "IVR语音导航设置 / 基础设置": working hours (工作时间, kept in the schedule, see
//! [`super::schedule::IvrSchedule::working_hours`]), the customer waiting voice (客户等待语音) and
//! the maximum queue time with its voice (排队时长及语音). The ACD and switchboard consume this
//! struct; storage keeps it in one row.

use serde::{Deserialize, Serialize};

use super::flow::{PromptId, Target};

/// Default maximum queue time (排队时长), in seconds: none. A fresh box never drops a waiting
/// caller on its own; the administrator sets a limit together with its prompt and target.
pub const DEFAULT_MAX_QUEUE_SECS: u32 = 0;
/// Default interval between position / wait announcements, in seconds.
pub const DEFAULT_ANNOUNCE_EVERY_SECS: u32 = 60;

/// The IVR basic settings (基础设置).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IvrSettings {
    /// Played in a loop while the caller waits in a queue (客户等待语音); `None`: built-in music.
    pub waiting_prompt: Option<PromptId>,
    /// The longest a caller may wait in a queue, in seconds (排队时长); 0 means no limit.
    pub max_queue_secs: u32,
    /// Played when the maximum queue time is exceeded (排队超时语音).
    pub overflow_prompt: Option<PromptId>,
    /// Where the call goes after the overflow prompt; `None`: hang up.
    pub overflow_target: Option<Target>,
    /// Announce the caller's position in the queue.
    pub announce_position: bool,
    /// Announce the estimated waiting time.
    pub announce_wait: bool,
    /// Seconds between announcements (ignored when both announcements are off).
    pub announce_every_secs: u32,
}

impl Default for IvrSettings {
    fn default() -> Self {
        IvrSettings {
            waiting_prompt: None,
            max_queue_secs: DEFAULT_MAX_QUEUE_SECS,
            overflow_prompt: None,
            overflow_target: None,
            announce_position: false,
            announce_wait: false,
            announce_every_secs: DEFAULT_ANNOUNCE_EVERY_SECS,
        }
    }
}

impl IvrSettings {
    /// Range checks; returns what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if (self.announce_position || self.announce_wait)
            && !(10..=3600).contains(&self.announce_every_secs)
        {
            return Err(format!(
                "announce_every_secs {} must be 10..=3600",
                self.announce_every_secs
            ));
        }
        if self.max_queue_secs > 24 * 3600 {
            return Err(format!(
                "max_queue_secs {} exceeds a day",
                self.max_queue_secs
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_a_silly_interval_fails() {
        assert!(IvrSettings::default().check().is_ok());
        let s = IvrSettings {
            announce_position: true,
            announce_every_secs: 1,
            ..IvrSettings::default()
        };
        assert!(s.check().is_err());
    }
}
