//! Monitoring and reports computed from the event log (SPEC §10, §11, §13).
//!
//! Everything here is pure code over `&[Event]` (docs/EVENTS.md is the vocabulary): no I/O, no
//! clocks. `interaction.rs` folds the events of one call into the **visit** model of SPEC §11
//! rule 1; `groups.rs`, `agents.rs` and `traffic.rs` are the report families; `live.rs` is the
//! incremental live monitor, built from the very same per-call contributions so the two always
//! agree; `export.rs` renders any family as CSV or .xlsx. `rollup.rs` serves the daily
//! families from kept closed days (migration 0011), the one place here that reads storage.

pub mod agents;
pub mod columns;
pub mod crm;
pub mod departments;
pub mod export;
pub mod groups;
pub mod interaction;
pub mod labels;
pub mod live;
pub mod rollup;
pub mod scale;
pub mod traffic;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_chat;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

pub use agents::{agents_daily, agents_daily_for, AgentDayRow};
pub use groups::{
    skill_groups_daily, skill_groups_daily_for, skill_groups_hourly, skill_groups_hourly_for,
    GroupCounts, GroupRow,
};
pub use interaction::{
    build_interactions, Channel, ChannelFilter, ChatLeg, Direction, Exit, Interaction, Leg, Via,
    Visit,
};
pub use live::{Monitor, Snapshot};
pub use traffic::{
    satisfaction_daily, satisfaction_daily_for, traffic_daily, SatisfactionRow, TrafficRow,
};

/// Milliseconds in an hour (the fallback step when a zone's hour cannot be resolved).
const HOUR_MS: i64 = 3_600_000;

/// Day and hour buckets in the box's time zone (SPEC §11 rule 9; DESIGN.md convention 12:
/// timestamps are UTC, the zone is only for buckets and display).
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
}

impl Calendar {
    /// Buckets in the given zone.
    pub fn new(tz: TimeZone) -> Calendar {
        Calendar { tz }
    }

    /// Buckets in UTC.
    pub fn utc() -> Calendar {
        Calendar { tz: TimeZone::UTC }
    }

    /// The zone the buckets follow.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    fn civil(&self, ms: i64) -> DateTime {
        let ts = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH);
        self.tz.to_datetime(ts)
    }

    /// The local date of a UTC millisecond.
    pub fn date(&self, ms: i64) -> Date {
        self.civil(ms).date()
    }

    /// The local date and hour (0..=23) of a UTC millisecond.
    pub fn hour(&self, ms: i64) -> (Date, i8) {
        let dt = self.civil(ms);
        (dt.date(), dt.hour())
    }

    /// The UTC millisecond at which a local date begins.
    pub fn day_start_ms(&self, date: Date) -> i64 {
        self.tz
            .to_ambiguous_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
            .compatible()
            .map(|t| t.as_millisecond())
            .unwrap_or(0)
    }

    /// The first local hour boundary strictly after `ms` (durations split there, rule 9).
    pub fn next_hour_ms(&self, ms: i64) -> i64 {
        let dt = self.civil(ms);
        let hour_start = dt
            .date()
            .to_datetime(jiff::civil::Time::constant(dt.hour(), 0, 0, 0));
        let next = hour_start
            .checked_add(jiff::SignedDuration::from_hours(1))
            .ok()
            .and_then(|n| self.tz.to_ambiguous_timestamp(n).compatible().ok())
            .map(|t| t.as_millisecond());
        match next {
            Some(n) if n > ms => n,
            _ => ms - ms.rem_euclid(HOUR_MS) + HOUR_MS,
        }
    }
}

/// `num / den` as a fraction, 0 when nothing was counted (SPEC §11: rates are fractions 0..1).
pub fn ratio(num: i64, den: i64) -> f64 {
    if den <= 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Splits `[from, to)` at local hour boundaries, calling `f(piece_start, piece_end)` per piece.
pub(crate) fn split_hours(cal: &Calendar, from: i64, to: i64, mut f: impl FnMut(i64, i64)) {
    let mut at = from;
    // Bounded: one piece per hour of the span, and each step moves forward.
    while at < to {
        let end = cal.next_hour_ms(at).min(to);
        f(at, end);
        at = end;
    }
}
