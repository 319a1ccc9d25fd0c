//! Outbound routes (外呼路由) and the toll-fraud guard (SPEC §12): which external numbers an
//! extension may dial, through which trunk, with which caller ID, and how many calls per hour.
//!
//! A route matches a dialled prefix (`9`), strips digits, prepends others, and then checks the
//! resulting number against its allowed and denied destination prefixes and length bounds.
//! Hourly caps are counted per route and per extension in one-minute buckets over the last 60
//! minutes, so memory per counter is fixed whatever the cap (a cap of a million costs the same
//! as a cap of ten).

use std::collections::HashMap;

use crate::core::time::Instant;

/// Who the called party sees as the caller (主叫号码规则).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerId {
    /// The dialling extension's number (an internal trunk or a PBX behind the carrier).
    Extension,
    /// A fixed number, e.g. the branch's main line (`02155550100`).
    Fixed(String),
}

/// One outbound route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The dialled prefix that selects this route (`9`).
    pub prefix: String,
    /// Leading digits removed before sending.
    pub strip: usize,
    /// Digits put in front after stripping (a carrier code).
    pub prepend: String,
    /// The trunk's name.
    pub trunk: String,
    /// Caller-ID rule.
    pub caller_id: CallerId,
    /// Allowed destination prefixes of the number as sent; empty allows any.
    pub allow: Vec<String>,
    /// Denied destination prefixes (checked first): international `00`, premium `1900` …
    pub deny: Vec<String>,
    /// Fewest digits the number sent may have.
    pub min_digits: usize,
    /// Most digits the number sent may have.
    pub max_digits: usize,
    /// Calls per rolling hour over this route from all extensions together; 0 = no cap.
    pub max_per_hour: u32,
    /// Calls per rolling hour over this route from one extension; 0 = no cap.
    pub max_per_hour_per_extension: u32,
}

impl Route {
    /// A route with no restrictions beyond the digits, as older configurations had.
    pub fn open(prefix: &str, strip: usize, trunk: &str) -> Route {
        Route {
            prefix: prefix.to_owned(),
            strip,
            prepend: String::new(),
            trunk: trunk.to_owned(),
            caller_id: CallerId::Extension,
            allow: Vec::new(),
            deny: Vec::new(),
            min_digits: 1,
            max_digits: 32,
            max_per_hour: 0,
            max_per_hour_per_extension: 0,
        }
    }
}

/// A dialled number that matched a route and passed its destination rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// Index of the route in the guard's list.
    pub route: usize,
    /// The trunk to send to.
    pub trunk: String,
    /// The number to send (after strip and prepend).
    pub number: String,
    /// The caller ID to present.
    pub caller_id: String,
}

/// Why an outbound call was refused; the text is what the event log and the admin see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The number starts with a denied prefix.
    #[error("destination {number} is denied by prefix {prefix}")]
    Denied {
        /// The number as it would be sent.
        number: String,
        /// The deny-list entry it matched.
        prefix: String,
    },
    /// The route has an allow-list and the number is on none of it.
    #[error("destination {0} is not in the route's allowed destinations")]
    NotAllowed(String),
    /// Too few or too many digits.
    #[error("destination {number} has {digits} digits (allowed {min}..={max})")]
    Length {
        /// The number as it would be sent.
        number: String,
        /// Its digit count.
        digits: usize,
        /// Smallest allowed.
        min: usize,
        /// Largest allowed.
        max: usize,
    },
    /// The route's hourly cap for all extensions is used up.
    #[error("route {prefix} reached its cap of {max} calls per hour")]
    RouteCap {
        /// The route's prefix.
        prefix: String,
        /// The cap.
        max: u32,
    },
    /// The extension's hourly cap on this route is used up.
    #[error("extension {extension} reached its cap of {max} calls per hour on route {prefix}")]
    ExtensionCap {
        /// The dialling extension.
        extension: String,
        /// The route's prefix.
        prefix: String,
        /// The cap.
        max: u32,
    },
}

impl Refusal {
    /// A short stable code for events and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Denied { .. } => "denied_destination",
            Refusal::NotAllowed(_) => "destination_not_allowed",
            Refusal::Length { .. } => "bad_length",
            Refusal::RouteCap { .. } => "route_hourly_cap",
            Refusal::ExtensionCap { .. } => "extension_hourly_cap",
        }
    }
}

const MINUTE_US: u64 = 60_000_000;

/// Calls in the last 60 minutes, in one-minute buckets (fixed memory whatever the count).
#[derive(Debug, Clone)]
struct HourWindow {
    /// (minute number, calls in that minute), indexed by minute % 60.
    buckets: [(u64, u32); 60],
}

impl Default for HourWindow {
    fn default() -> HourWindow {
        HourWindow {
            buckets: [(0, 0); 60],
        }
    }
}

impl HourWindow {
    fn count(&self, now: Instant) -> u32 {
        let minute = now.as_micros() / MINUTE_US;
        self.buckets
            .iter()
            .filter(|(m, _)| *m + 60 > minute && *m <= minute)
            .map(|(_, n)| *n)
            .fold(0u32, u32::saturating_add)
    }

    fn record(&mut self, now: Instant) {
        let minute = now.as_micros() / MINUTE_US;
        // `minute % 60` is below 60, so the index is in range.
        let slot = &mut self.buckets[(minute % 60) as usize];
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 = slot.1.saturating_add(1);
    }

    fn is_idle(&self, now: Instant) -> bool {
        self.count(now) == 0
    }
}

/// The routes and their hourly counters.
#[derive(Debug, Clone, Default)]
pub struct OutboundGuard {
    routes: Vec<Route>,
    per_route: Vec<HourWindow>,
    per_extension: HashMap<(usize, String), HourWindow>,
    refused: u64,
}

impl OutboundGuard {
    /// A guard over `routes`; the longest matching prefix wins, so the order does not matter.
    pub fn new(mut routes: Vec<Route>) -> OutboundGuard {
        routes.sort_by(|a, b| {
            b.prefix
                .len()
                .cmp(&a.prefix.len())
                .then(a.prefix.cmp(&b.prefix))
        });
        let per_route = vec![HourWindow::default(); routes.len()];
        OutboundGuard {
            routes,
            per_route,
            per_extension: HashMap::new(),
            refused: 0,
        }
    }

    /// Replaces the routes (a configuration reload); counters of routes whose prefix is kept
    /// survive, so an edit cannot be used to reset a cap.
    pub fn reload(&mut self, routes: Vec<Route>) {
        let mut next = OutboundGuard::new(routes);
        for (i, r) in next.routes.iter().enumerate() {
            if let Some(old) = self.routes.iter().position(|o| o.prefix == r.prefix) {
                if let (Some(dst), Some(src)) = (next.per_route.get_mut(i), self.per_route.get(old))
                {
                    *dst = src.clone();
                }
                for ((ri, ext), w) in &self.per_extension {
                    if *ri == old {
                        next.per_extension.insert((i, ext.clone()), w.clone());
                    }
                }
            }
        }
        next.refused = self.refused;
        *self = next;
    }

    /// The configured routes, longest prefix first.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Calls refused since start (a metric).
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Which route `dialled` takes, if any: `None` when no prefix matches or nothing is left
    /// after the prefix (the number is not an outbound number at all); `Some(Err)` when a route
    /// matches but its destination rules refuse the number.
    pub fn route(&self, dialled: &str, extension: &str) -> Option<Result<RouteMatch, Refusal>> {
        let (index, route) = self.routes.iter().enumerate().find(|(_, r)| {
            dialled.len() > r.prefix.len() && dialled.starts_with(r.prefix.as_str())
        })?;
        let rest = dialled.get(route.strip..).unwrap_or_default();
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit() || b == b'+') {
            return None;
        }
        let number = format!("{}{}", route.prepend, rest);
        Some(check_destination(route, &number).map(|()| RouteMatch {
            route: index,
            trunk: route.trunk.clone(),
            caller_id: match &route.caller_id {
                CallerId::Extension => extension.to_owned(),
                CallerId::Fixed(n) => n.clone(),
            },
            number,
        }))
    }

    /// Counts one call of `extension` over the matched route, or refuses it if a cap is used
    /// up (a refused call is not counted, so a blocked phone cannot lock others out longer).
    pub fn admit(&mut self, now: Instant, m: &RouteMatch, extension: &str) -> Result<(), Refusal> {
        let Some(route) = self.routes.get(m.route) else {
            return Ok(());
        };
        let key = (m.route, extension.to_owned());
        if route.max_per_hour > 0
            && self
                .per_route
                .get(m.route)
                .is_some_and(|w| w.count(now) >= route.max_per_hour)
        {
            self.refused += 1;
            return Err(Refusal::RouteCap {
                prefix: route.prefix.clone(),
                max: route.max_per_hour,
            });
        }
        if route.max_per_hour_per_extension > 0
            && self
                .per_extension
                .get(&key)
                .is_some_and(|w| w.count(now) >= route.max_per_hour_per_extension)
        {
            self.refused += 1;
            return Err(Refusal::ExtensionCap {
                extension: extension.to_owned(),
                prefix: route.prefix.clone(),
                max: route.max_per_hour_per_extension,
            });
        }
        if let Some(w) = self.per_route.get_mut(m.route) {
            w.record(now);
        }
        if route.max_per_hour_per_extension > 0 {
            // Forget extensions idle for an hour so the map stays as small as the active set.
            if self.per_extension.len() > 4096 {
                self.per_extension.retain(|_, w| !w.is_idle(now));
            }
            self.per_extension.entry(key).or_default().record(now);
        }
        Ok(())
    }

    /// Counts a refusal decided by [`Self::route`] (for the metric).
    pub fn note_refused(&mut self) {
        self.refused += 1;
    }
}

/// The destination rules of one route: deny-list first, then allow-list, then length.
fn check_destination(route: &Route, number: &str) -> Result<(), Refusal> {
    if let Some(p) = route.deny.iter().find(|p| number.starts_with(p.as_str())) {
        return Err(Refusal::Denied {
            number: number.to_owned(),
            prefix: p.clone(),
        });
    }
    if !route.allow.is_empty() && !route.allow.iter().any(|p| number.starts_with(p.as_str())) {
        return Err(Refusal::NotAllowed(number.to_owned()));
    }
    let digits = number.bytes().filter(u8::is_ascii_digit).count();
    if digits < route.min_digits || digits > route.max_digits {
        return Err(Refusal::Length {
            number: number.to_owned(),
            digits,
            min: route.min_digits,
            max: route.max_digits,
        });
    }
    Ok(())
}

/// Parses a comma-separated prefix list (`00, 1900`) as stored in the configuration; each entry
/// must be digits or a leading `+`.
pub fn parse_prefix_list(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let body = item.strip_prefix('+').unwrap_or(item);
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{item:?} is not a number prefix (digits, optional leading +)"
            ));
        }
        out.push(item.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn nine() -> Route {
        Route {
            deny: vec!["00".into(), "1900".into()],
            min_digits: 3,
            max_digits: 15,
            ..Route::open("9", 1, "pstn")
        }
    }

    fn at(secs: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(secs)
    }

    #[test]
    fn the_prefix_is_stripped_and_the_extension_presented() {
        let g = OutboundGuard::new(vec![nine()]);
        let m = g.route("913800000000", "1001").unwrap().unwrap();
        assert_eq!(m.number, "13800000000");
        assert_eq!(m.trunk, "pstn");
        assert_eq!(m.caller_id, "1001");
    }

    #[test]
    fn numbers_that_match_no_route_are_not_outbound() {
        let g = OutboundGuard::new(vec![nine()]);
        assert!(g.route("1002", "1001").is_none());
        assert!(g.route("9", "1001").is_none(), "nothing after the prefix");
        assert!(g.route("9*21", "1001").is_none(), "not digits");
    }

    #[test]
    fn denied_prefixes_refuse_international_and_premium_numbers() {
        let g = OutboundGuard::new(vec![nine()]);
        let e = g.route("9004420794600", "1001").unwrap().unwrap_err();
        assert_eq!(e.code(), "denied_destination");
        assert!(e.to_string().contains("00"), "{e}");
        let e = g.route("919001234567", "1001").unwrap().unwrap_err();
        assert!(matches!(e, Refusal::Denied { ref prefix, .. } if prefix == "1900"));
    }

    #[test]
    fn an_allow_list_admits_only_its_prefixes() {
        let r = Route {
            allow: vec!["1".into(), "021".into()],
            ..nine()
        };
        let g = OutboundGuard::new(vec![r]);
        assert!(g.route("913800000000", "1001").unwrap().is_ok());
        assert!(g.route("902155550100", "1001").unwrap().is_ok());
        let e = g.route("907551234567", "1001").unwrap().unwrap_err();
        assert_eq!(e, Refusal::NotAllowed("07551234567".into()));
    }

    #[test]
    fn length_bounds_apply_to_the_number_as_sent() {
        let g = OutboundGuard::new(vec![nine()]);
        let e = g.route("912", "1001").unwrap().unwrap_err();
        assert!(matches!(e, Refusal::Length { digits: 2, .. }), "{e:?}");
        let e = g.route("91234567890123456", "1001").unwrap().unwrap_err();
        assert!(matches!(e, Refusal::Length { digits: 16, .. }), "{e:?}");
    }

    #[test]
    fn the_longest_prefix_wins_and_prepend_and_fixed_caller_id_apply() {
        let intl = Route {
            prepend: "17909".into(),
            caller_id: CallerId::Fixed("02155550100".into()),
            ..Route::open("900", 1, "ip-carrier")
        };
        let g = OutboundGuard::new(vec![nine(), intl]);
        let m = g.route("9004420794600", "1001").unwrap().unwrap();
        assert_eq!(m.trunk, "ip-carrier");
        assert_eq!(m.number, "17909004420794600");
        assert_eq!(m.caller_id, "02155550100");
    }

    #[test]
    fn the_extension_cap_refuses_the_call_past_it_until_an_hour_has_passed() {
        let r = Route {
            max_per_hour_per_extension: 3,
            ..nine()
        };
        let mut g = OutboundGuard::new(vec![r]);
        let m = g.route("913800000000", "1001").unwrap().unwrap();
        for s in [0, 600, 1200] {
            assert_eq!(g.admit(at(s), &m, "1001"), Ok(()));
        }
        let e = g.admit(at(1800), &m, "1001").unwrap_err();
        assert_eq!(e.code(), "extension_hourly_cap");
        // Another extension has its own allowance.
        assert_eq!(g.admit(at(1800), &m, "1002"), Ok(()));
        // 3,600 s after the first call it has left the window.
        assert!(g.admit(at(3590), &m, "1001").is_err());
        assert_eq!(g.admit(at(3660), &m, "1001"), Ok(()));
        assert_eq!(g.refused(), 2);
    }

    #[test]
    fn the_route_cap_counts_every_extension_together() {
        let r = Route {
            max_per_hour: 2,
            ..nine()
        };
        let mut g = OutboundGuard::new(vec![r]);
        let m = g.route("913800000000", "1001").unwrap().unwrap();
        assert!(g.admit(at(0), &m, "1001").is_ok());
        assert!(g.admit(at(1), &m, "1002").is_ok());
        let e = g.admit(at(2), &m, "1003").unwrap_err();
        assert!(matches!(e, Refusal::RouteCap { max: 2, .. }));
    }

    #[test]
    fn a_reload_keeps_the_counters_of_kept_routes() {
        let r = Route {
            max_per_hour_per_extension: 1,
            ..nine()
        };
        let mut g = OutboundGuard::new(vec![r.clone()]);
        let m = g.route("913800000000", "1001").unwrap().unwrap();
        assert!(g.admit(at(0), &m, "1001").is_ok());
        g.reload(vec![Route::open("8", 1, "pstn"), r]);
        let m = g.route("913800000000", "1001").unwrap().unwrap();
        assert!(
            g.admit(at(5), &m, "1001").is_err(),
            "the cap survives an edit"
        );
    }

    #[test]
    fn a_huge_cap_costs_no_memory_per_call() {
        let r = Route {
            max_per_hour_per_extension: 1_000_000,
            max_per_hour: 1_000_000,
            ..nine()
        };
        let mut g = OutboundGuard::new(vec![r]);
        let m = g.route("913800000000", "1001").unwrap().unwrap();
        for i in 0..10_000u64 {
            assert!(g.admit(Instant::from_millis(i * 10), &m, "1001").is_ok());
        }
        assert_eq!(g.per_extension.len(), 1);
        assert_eq!(g.per_route[0].count(Instant::from_millis(100_000)), 10_000);
    }

    #[test]
    fn prefix_lists_parse_and_refuse_garbage() {
        assert_eq!(
            parse_prefix_list(" 00, 1900 ,+86").unwrap(),
            vec!["00", "1900", "+86"]
        );
        assert_eq!(parse_prefix_list("").unwrap(), Vec::<String>::new());
        assert!(parse_prefix_list("00,abc").unwrap_err().contains("abc"));
        assert!(parse_prefix_list("+").is_err());
    }
}
