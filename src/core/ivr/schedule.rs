//! Which flow answers when (日常IVR / 特殊时间IVR) and the working hours (工作时间).
//!
//! All rules speak the box's local time: a UTC [`WallMs`] is turned into a local date, weekday and
//! minute of the day through a [`TimeZone`] handle (jiff's bundled tz database, so no
//! /usr/share/zoneinfo is read). Rules compare local wall-clock readings, never fixed offsets,
//! which keeps them right on DST transition days: "09:00–18:00" means 09:00 on the local clock
//! whatever the offset is that day.
//!
//! Precedence (SPEC §3: special-date flows override the daily one on those dates):
//! 1. a special rule whose inclusive date range contains the local date; if several do, the one
//!    with the shortest range wins (the most specific: a one-day exception inside a week-long
//!    holiday), and among equally long ranges the earlier in the list;
//! 2. otherwise the first daily rule whose weekday set contains the local weekday;
//! 3. otherwise no flow.

use std::fmt;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::core::time::WallMs;

/// A set of weekdays; JSON: a list of `"mon"` … `"sun"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct WeekdaySet(u8);

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl WeekdaySet {
    /// No day.
    pub const EMPTY: WeekdaySet = WeekdaySet(0);
    /// Monday to Friday.
    pub const WORKDAYS: WeekdaySet = WeekdaySet(0b001_1111);
    /// Saturday and Sunday.
    pub const WEEKEND: WeekdaySet = WeekdaySet(0b110_0000);
    /// Every day.
    pub const ALL: WeekdaySet = WeekdaySet(0b111_1111);

    /// The set holding exactly these days.
    pub fn of(days: &[Weekday]) -> WeekdaySet {
        days.iter().fold(WeekdaySet::EMPTY, |s, d| s.with(*d))
    }

    /// This set plus `day`.
    pub fn with(self, day: Weekday) -> WeekdaySet {
        WeekdaySet(self.0 | 1 << day.to_monday_zero_offset())
    }

    /// Whether `day` is in the set.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.to_monday_zero_offset()) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set as a compact string, e.g. `"mon,tue,fri"` (the storage form).
    pub fn to_list(self) -> String {
        Vec::<String>::from(self).join(",")
    }

    /// Parses the storage form written by [`WeekdaySet::to_list`].
    pub fn parse_list(s: &str) -> Result<WeekdaySet, String> {
        let parts: Vec<String> = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect();
        WeekdaySet::try_from(parts)
    }
}

impl TryFrom<Vec<String>> for WeekdaySet {
    type Error = String;
    fn try_from(names: Vec<String>) -> Result<Self, String> {
        let mut bits = 0u8;
        for name in &names {
            let lower = name.to_ascii_lowercase();
            let i = DAY_NAMES
                .iter()
                .position(|d| *d == lower)
                .ok_or_else(|| format!("unknown weekday {name:?} (use mon … sun)"))?;
            bits |= 1 << i;
        }
        Ok(WeekdaySet(bits))
    }
}

impl From<WeekdaySet> for Vec<String> {
    fn from(s: WeekdaySet) -> Vec<String> {
        DAY_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| s.0 & (1 << i) != 0)
            .map(|(_, d)| (*d).to_string())
            .collect()
    }
}

/// A time of day on the local clock, in minutes since midnight (0..=1440); JSON `"HH:MM"`, with
/// `"24:00"` allowed as an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DayTime(u16);

impl DayTime {
    /// Midnight at the start of the day.
    pub const MIDNIGHT: DayTime = DayTime(0);
    /// Midnight at the end of the day (an end bound only).
    pub const END_OF_DAY: DayTime = DayTime(1440);

    /// `hh:mm`; `None` when out of range (24:00 is the only hour-24 value).
    pub fn hm(h: u16, m: u16) -> Option<DayTime> {
        let v = h.checked_mul(60)?.checked_add(m)?;
        (m < 60 && v <= 1440).then_some(DayTime(v))
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }

    /// From minutes since midnight (0..=1440).
    pub fn from_minutes(m: u16) -> Option<DayTime> {
        (m <= 1440).then_some(DayTime(m))
    }
}

impl fmt::Display for DayTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl TryFrom<String> for DayTime {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bad = || format!("time of day {s:?} is not HH:MM (00:00 … 24:00)");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        let h: u16 = h.trim().parse().map_err(|_| bad())?;
        let m: u16 = m.trim().parse().map_err(|_| bad())?;
        DayTime::hm(h, m).ok_or_else(bad)
    }
}

impl From<DayTime> for String {
    fn from(t: DayTime) -> String {
        t.to_string()
    }
}

/// A weekly window of local time, `[start, end)` on each day of `weekdays`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    /// The days the window applies to.
    pub weekdays: WeekdaySet,
    /// Start (inclusive).
    pub start: DayTime,
    /// End (exclusive); `24:00` for "to midnight".
    pub end: DayTime,
}

impl TimeWindow {
    /// Checks the window is not empty (an overnight shift is two windows).
    pub fn check(&self) -> Result<(), String> {
        if self.weekdays.is_empty() {
            return Err("time window has no weekdays".into());
        }
        if self.start >= self.end {
            return Err(format!(
                "time window {}–{} ends before it starts (split overnight windows in two)",
                self.start, self.end
            ));
        }
        Ok(())
    }

    /// Whether the local reading falls inside the window.
    pub fn contains(&self, local: &LocalTime) -> bool {
        self.weekdays.contains(local.weekday)
            && self.start.minutes() <= local.minute
            && local.minute < self.end.minutes()
    }
}

/// A wall time read on the box's local clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// The local calendar date.
    pub date: Date,
    /// Its weekday.
    pub weekday: Weekday,
    /// Minutes since local midnight (0..1440).
    pub minute: u16,
}

impl LocalTime {
    /// Reads `at` (UTC ms) on the clock of `tz`; `None` only for instants outside jiff's range.
    pub fn at(at: WallMs, tz: &TimeZone) -> Option<LocalTime> {
        let ts = Timestamp::from_millisecond(at.0).ok()?;
        let dt = tz.to_datetime(ts);
        let minute = u16::try_from(i32::from(dt.hour()) * 60 + i32::from(dt.minute())).ok()?;
        Some(LocalTime {
            date: dt.date(),
            weekday: dt.weekday(),
            minute,
        })
    }
}

/// Whether `local` falls in any of `windows`.
pub fn in_windows(windows: &[TimeWindow], local: &LocalTime) -> bool {
    windows.iter().any(|w| w.contains(local))
}

/// The daily flow (日常IVR) for a set of weekdays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyRule {
    /// The days it applies to.
    pub weekdays: WeekdaySet,
    /// The flow's name.
    pub flow: String,
}

/// A special-date flow (特殊时间IVR), e.g. 五一 or 十一, over an inclusive date range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialRule {
    /// A label ("国庆节").
    pub name: String,
    /// First day (inclusive), local date.
    pub from: Date,
    /// Last day (inclusive), local date.
    pub to: Date,
    /// The flow's name.
    pub flow: String,
}

impl SpecialRule {
    /// Whether the rule covers `date`.
    pub fn covers(&self, date: Date) -> bool {
        self.from <= date && date <= self.to
    }

    /// The range's length in days (for "shortest range wins").
    fn length_days(&self) -> i64 {
        self.to
            .since(self.from)
            .map(|s| i64::from(s.get_days()))
            .unwrap_or(i64::MAX)
    }
}

/// One problem in a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// A daily rule has no weekdays.
    #[error("daily rule {index} has no weekdays")]
    EmptyDaily {
        /// Position in `daily`.
        index: usize,
    },
    /// A special rule ends before it starts.
    #[error("special rule {name:?} ends ({to}) before it starts ({from})")]
    ReversedRange {
        /// The rule's label.
        name: String,
        /// Its start.
        from: Date,
        /// Its end.
        to: Date,
    },
    /// A working-hours window is malformed.
    #[error("working hours window {index}: {why}")]
    BadWindow {
        /// Position in `working_hours`.
        index: usize,
        /// What is wrong.
        why: String,
    },
}

/// The whole IVR schedule: daily rules, special dates and working hours.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IvrSchedule {
    /// Daily flows per weekday set, first match wins.
    pub daily: Vec<DailyRule>,
    /// Special-date flows, overriding the daily ones on their dates.
    pub special: Vec<SpecialRule>,
    /// Working hours (工作时间); time-condition nodes without windows of their own use these.
    pub working_hours: Vec<TimeWindow>,
}

impl IvrSchedule {
    /// Checks every rule; returns all problems found.
    pub fn validate(&self) -> Result<(), Vec<ScheduleError>> {
        let mut errs = Vec::new();
        for (index, d) in self.daily.iter().enumerate() {
            if d.weekdays.is_empty() {
                errs.push(ScheduleError::EmptyDaily { index });
            }
        }
        for s in &self.special {
            if s.from > s.to {
                errs.push(ScheduleError::ReversedRange {
                    name: s.name.clone(),
                    from: s.from,
                    to: s.to,
                });
            }
        }
        for (index, w) in self.working_hours.iter().enumerate() {
            if let Err(why) = w.check() {
                errs.push(ScheduleError::BadWindow { index, why });
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    /// The flow that answers at `at` (see the module doc for precedence).
    pub fn flow_for(&self, at: WallMs, tz: &TimeZone) -> Option<&str> {
        self.flow_for_local(&LocalTime::at(at, tz)?)
    }

    /// [`IvrSchedule::flow_for`] on an already converted local time.
    pub fn flow_for_local(&self, local: &LocalTime) -> Option<&str> {
        let special = self
            .special
            .iter()
            .enumerate()
            .filter(|(_, s)| s.covers(local.date))
            // min_by_key keeps the first of equal keys: the earlier rule wins a tie.
            .min_by_key(|(i, s)| (s.length_days(), *i));
        if let Some((_, s)) = special {
            return Some(&s.flow);
        }
        self.daily
            .iter()
            .find(|d| d.weekdays.contains(local.weekday))
            .map(|d| d.flow.as_str())
    }

    /// Whether `at` is within the working hours (工作时间).
    pub fn is_working_time(&self, at: WallMs, tz: &TimeZone) -> bool {
        LocalTime::at(at, tz).is_some_and(|l| in_windows(&self.working_hours, &l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn shanghai() -> TimeZone {
        TimeZone::get("Asia/Shanghai").unwrap()
    }

    /// UTC ms of a local Shanghai wall time (UTC+8, no DST).
    fn sh(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> WallMs {
        let z = date(y, mo, d).at(h, mi, 0, 0).to_zoned(shanghai()).unwrap();
        WallMs(z.timestamp().as_millisecond())
    }

    #[test]
    fn weekday_sets_round_trip_through_json_and_storage_form() {
        let s = WeekdaySet::of(&[Weekday::Monday, Weekday::Friday]);
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"["mon","fri"]"#);
        assert_eq!(WeekdaySet::parse_list(&s.to_list()).unwrap(), s);
        assert!(WeekdaySet::parse_list("mon,funday").is_err());
        assert!(WeekdaySet::WORKDAYS.contains(Weekday::Friday));
        assert!(!WeekdaySet::WORKDAYS.contains(Weekday::Saturday));
    }

    #[test]
    fn day_times_parse_hh_mm_and_refuse_nonsense() {
        assert_eq!(
            DayTime::try_from("09:30".to_string()).unwrap().minutes(),
            570
        );
        assert_eq!(
            DayTime::try_from("24:00".to_string()).unwrap(),
            DayTime::END_OF_DAY
        );
        for bad in ["24:01", "9", "aa:bb", "10:60", "-1:00"] {
            assert!(DayTime::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn shortest_overlapping_special_range_wins() {
        let sched = IvrSchedule {
            daily: vec![DailyRule {
                weekdays: WeekdaySet::ALL,
                flow: "daily".into(),
            }],
            special: vec![
                SpecialRule {
                    name: "十一".into(),
                    from: date(2026, 10, 1),
                    to: date(2026, 10, 7),
                    flow: "holiday".into(),
                },
                SpecialRule {
                    name: "补班".into(),
                    from: date(2026, 10, 3),
                    to: date(2026, 10, 3),
                    flow: "oneday".into(),
                },
            ],
            working_hours: vec![],
        };
        let tz = shanghai();
        assert_eq!(sched.flow_for(sh(2026, 10, 2, 12, 0), &tz), Some("holiday"));
        assert_eq!(sched.flow_for(sh(2026, 10, 3, 12, 0), &tz), Some("oneday"));
        assert_eq!(sched.flow_for(sh(2026, 10, 8, 0, 0), &tz), Some("daily"));
    }

    #[test]
    fn reversed_ranges_and_empty_windows_are_rejected() {
        let sched = IvrSchedule {
            daily: vec![DailyRule {
                weekdays: WeekdaySet::EMPTY,
                flow: "d".into(),
            }],
            special: vec![SpecialRule {
                name: "x".into(),
                from: date(2026, 5, 5),
                to: date(2026, 5, 1),
                flow: "h".into(),
            }],
            working_hours: vec![TimeWindow {
                weekdays: WeekdaySet::ALL,
                start: DayTime::hm(18, 0).unwrap(),
                end: DayTime::hm(9, 0).unwrap(),
            }],
        };
        assert_eq!(sched.validate().unwrap_err().len(), 3);
    }
}
