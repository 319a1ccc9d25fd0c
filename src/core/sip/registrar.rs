//! The registrar (RFC 3261 §10.3): bindings from an address of record (an extension) to the
//! contacts where its phones can be reached, with expiry on virtual time.
//!
//! Sans-IO and parser-independent: the B2BUA turns an authenticated REGISTER into a
//! [`RegisterRequest`] and the returned contact list into the 200's Contact headers. Expiry is
//! driven by `handle_timeout(now)`/`poll_timeout()`; state changes are drained with
//! `poll_event()`.
//!
//! Timers: one entry per AOR (its earliest binding expiry) in an ordered set, so thousands of
//! bindings cost O(log n) per change and the driver sleeps until a single deadline.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use crate::core::time::Instant;

/// Most Contact entries processed from one REGISTER (bounds work on hostile input).
const MAX_CONTACTS_PER_REQUEST: usize = 64;

/// Registrar policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shortest non-zero interval accepted; shorter ones get 423 (RFC 3261 §10.3 step 7).
    pub min_expires: u32,
    /// Longest interval granted; longer requests are shortened to it.
    pub max_expires: u32,
    /// Interval used when neither the contact nor the request gives one.
    pub default_expires: u32,
    /// Most bindings per AOR (403 beyond).
    pub max_contacts: usize,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts: 5,
        }
    }
}

/// One REGISTER as the registrar sees it (RFC 3261 §10.3), already authenticated.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterRequest {
    /// The address of record: the extension (user part of the To URI).
    pub aor: String,
    /// The Contact header(s).
    pub contacts: ContactSet,
    /// The Expires header, if any.
    pub expires_header: Option<u32>,
    /// Call-ID of the request.
    pub call_id: String,
    /// CSeq number of the request.
    pub cseq: u32,
    /// Where the request came from (for NAT-friendly routing back).
    pub source: SocketAddr,
    /// Transport it came over: "udp" or "tcp".
    pub transport: String,
    /// The connection id for connection-oriented transports.
    pub conn: Option<u64>,
    /// The User-Agent header, if any.
    pub user_agent: Option<String>,
}

/// The Contact header field(s) of a REGISTER.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactSet {
    /// `Contact: *` (remove all bindings; needs `Expires: 0`).
    Star,
    /// Individual contacts; an empty list is a query for the current bindings.
    List(Vec<ContactSpec>),
}

/// One Contact entry of a REGISTER.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactSpec {
    /// The contact URI (with or without angle brackets).
    pub uri: String,
    /// Its `expires` parameter.
    pub expires: Option<u32>,
    /// Its `q` parameter (preference, 0 to 1).
    pub q: Option<f32>,
}

/// One binding of an AOR to a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The address of record (extension).
    pub aor: String,
    /// The contact URI as registered.
    pub contact: String,
    /// Source address of the REGISTER that last refreshed it.
    pub source: SocketAddr,
    /// Transport of that REGISTER ("udp"/"tcp").
    pub transport: String,
    /// Connection of that REGISTER, for connection-oriented transports.
    pub conn: Option<u64>,
    /// When the binding lapses.
    pub expires_at: Instant,
    /// Call-ID of the REGISTER that last refreshed it.
    pub call_id: String,
    /// CSeq of the REGISTER that last refreshed it.
    pub cseq: u32,
    /// Preference (higher first).
    pub q: f32,
    /// User-Agent of the phone.
    pub user_agent: Option<String>,
    /// When it was last added or refreshed (newer bindings sort first among equal q).
    pub registered_at: Instant,
}

/// Registration state changes of an AOR, drained with [`Registrar::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrarEvent {
    /// The AOR went from no bindings to some.
    Registered {
        /// The extension.
        aor: String,
    },
    /// The AOR lost its last binding by request (expires 0, `*`) or by its connection closing.
    Unregistered {
        /// The extension.
        aor: String,
    },
    /// The AOR's last binding ran out.
    Expired {
        /// The extension.
        aor: String,
    },
}

/// Why a REGISTER was refused; nothing is changed when it is.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum RegisterError {
    /// 423 Interval Too Brief; the response carries `Min-Expires: min` (RFC 3261 §10.3 step 7).
    #[error("interval too brief (min {min})")]
    IntervalTooBrief {
        /// Value for the Min-Expires header.
        min: u32,
    },
    /// `Contact: *` without `Expires: 0` (400, RFC 3261 §10.3 step 6).
    #[error("Contact: * requires Expires: 0")]
    StarNeedsZeroExpires,
    /// Same Call-ID with a CSeq not above the binding's (500, RFC 3261 §10.3 step 7).
    #[error("out-of-order REGISTER")]
    OutOfOrder,
    /// More bindings than the AOR may hold (403).
    #[error("too many contacts")]
    TooManyContacts,
    /// A contact with an empty URI (400).
    #[error("bad contact")]
    BadContact,
}

impl RegisterError {
    /// The SIP status code to answer with.
    pub fn status_code(&self) -> u16 {
        match self {
            RegisterError::IntervalTooBrief { .. } => 423,
            RegisterError::StarNeedsZeroExpires | RegisterError::BadContact => 400,
            RegisterError::OutOfOrder => 500,
            RegisterError::TooManyContacts => 403,
        }
    }
}

/// Why an AOR lost its last binding (selects the event).
#[derive(Debug, Clone, Copy)]
enum Gone {
    Unregistered,
    Expired,
}

/// Bindings of one AOR plus its timer key.
#[derive(Debug)]
struct AorEntry {
    bindings: Vec<Binding>,
    /// Earliest `expires_at`, as stored in `Registrar::timers`.
    timer: Instant,
}

/// The location service: AOR → bindings, with expiry and events.
#[derive(Debug)]
pub struct Registrar {
    cfg: RegistrarConfig,
    aors: BTreeMap<String, AorEntry>,
    /// (earliest expiry, AOR): one entry per AOR with bindings.
    timers: BTreeSet<(Instant, String)>,
    /// Connection → AORs with a binding over it (for `remove_connection`).
    by_conn: BTreeMap<u64, BTreeSet<String>>,
    count: usize,
    events: VecDeque<RegistrarEvent>,
}

impl Registrar {
    /// An empty registrar with policy `cfg`.
    pub fn new(cfg: RegistrarConfig) -> Self {
        Registrar {
            cfg,
            aors: BTreeMap::new(),
            timers: BTreeSet::new(),
            by_conn: BTreeMap::new(),
            count: 0,
            events: VecDeque::new(),
        }
    }

    /// Applies a REGISTER (RFC 3261 §10.3 steps 6–8): adds, refreshes or removes bindings
    /// all-or-nothing, and returns the AOR's current bindings with their remaining seconds
    /// for the 200's Contact list.
    pub fn register(
        &mut self,
        now: Instant,
        req: RegisterRequest,
    ) -> Result<Vec<(String, u32)>, RegisterError> {
        // Bindings that lapsed but were not reaped yet must not take part (nor count twice).
        let existing = self.reap_aor(&req.aor, now);

        let specs = match &req.contacts {
            ContactSet::Star => {
                // RFC 3261 §10.3 step 6: "*" is only valid with Expires: 0.
                if req.expires_header != Some(0) {
                    return Err(RegisterError::StarNeedsZeroExpires);
                }
                // Step 6 also applies the Call-ID/CSeq rule to every binding removed.
                if existing
                    .iter()
                    .any(|b| b.call_id == req.call_id && req.cseq <= b.cseq)
                {
                    return Err(RegisterError::OutOfOrder);
                }
                self.commit(&req.aor, Vec::new(), Gone::Unregistered);
                return Ok(Vec::new());
            }
            ContactSet::List(specs) => specs,
        };
        if specs.len() > MAX_CONTACTS_PER_REQUEST {
            return Err(RegisterError::TooManyContacts);
        }

        // Validate every contact before changing anything: updates are all-or-nothing.
        let mut planned = Vec::with_capacity(specs.len());
        for spec in specs {
            let uri = spec.uri.trim();
            if uri.is_empty() || uri == "<>" {
                return Err(RegisterError::BadContact);
            }
            // Step 7: contact parameter, else Expires header, else the local default.
            let asked = spec
                .expires
                .or(req.expires_header)
                .unwrap_or(self.cfg.default_expires);
            if asked != 0 && asked < self.cfg.min_expires {
                return Err(RegisterError::IntervalTooBrief {
                    min: self.cfg.min_expires,
                });
            }
            // A registrar may shorten but never lengthen the interval.
            let granted = asked.min(self.cfg.max_expires.max(self.cfg.min_expires));
            let q = match spec.q {
                Some(q) if q.is_finite() => q.clamp(0.0, 1.0),
                _ => 1.0,
            };
            planned.push((uri, contact_key(uri), granted, q));
        }
        if planned.is_empty() {
            // An empty Contact list is a query (RFC 3261 §10.2.3).
            return Ok(self.contact_list(&req.aor, now));
        }

        let mut next = existing;
        // Bindings already touched by this request skip the CSeq check (duplicate contacts).
        let mut touched = vec![false; next.len()];
        for (uri, key, granted, q) in planned {
            let found = next.iter().position(|b| contact_key(&b.contact) == key);
            match found {
                Some(i) => {
                    let Some(b) = next.get_mut(i) else { continue };
                    let fresh = touched.get(i).copied().unwrap_or(false);
                    // Step 7: same Call-ID and a CSeq not above the stored one → abort.
                    if !fresh && b.call_id == req.call_id && req.cseq <= b.cseq {
                        return Err(RegisterError::OutOfOrder);
                    }
                    if granted == 0 {
                        next.remove(i);
                        if i < touched.len() {
                            touched.remove(i);
                        }
                    } else {
                        b.contact = uri.to_string();
                        b.source = req.source;
                        b.transport.clone_from(&req.transport);
                        b.conn = req.conn;
                        b.expires_at = now + Duration::from_secs(u64::from(granted));
                        b.call_id.clone_from(&req.call_id);
                        b.cseq = req.cseq;
                        b.q = q;
                        b.user_agent.clone_from(&req.user_agent);
                        b.registered_at = now;
                        if let Some(t) = touched.get_mut(i) {
                            *t = true;
                        }
                    }
                }
                None if granted == 0 => {}
                None => {
                    next.push(Binding {
                        aor: req.aor.clone(),
                        contact: uri.to_string(),
                        source: req.source,
                        transport: req.transport.clone(),
                        conn: req.conn,
                        expires_at: now + Duration::from_secs(u64::from(granted)),
                        call_id: req.call_id.clone(),
                        cseq: req.cseq,
                        q,
                        user_agent: req.user_agent.clone(),
                        registered_at: now,
                    });
                    touched.push(true);
                }
            }
        }
        if next.len() > self.cfg.max_contacts {
            return Err(RegisterError::TooManyContacts);
        }
        self.commit(&req.aor, next, Gone::Unregistered);
        Ok(self.contact_list(&req.aor, now))
    }

    /// The live bindings of `aor`, highest q first, newest first among equals.
    pub fn bindings(&self, aor: &str, now: Instant) -> Vec<&Binding> {
        let mut out: Vec<&Binding> = self
            .aors
            .get(aor)
            .map(|e| e.bindings.iter().filter(|b| b.expires_at > now).collect())
            .unwrap_or_default();
        out.sort_by(|a, b| {
            b.q.total_cmp(&a.q)
                .then_with(|| b.registered_at.cmp(&a.registered_at))
        });
        out
    }

    /// Whether `aor` has at least one live binding.
    pub fn is_registered(&self, aor: &str, now: Instant) -> bool {
        self.aors
            .get(aor)
            .is_some_and(|e| e.bindings.iter().any(|b| b.expires_at > now))
    }

    /// A TCP connection closed: its bindings can no longer be reached, so they go.
    pub fn remove_connection(&mut self, conn: u64) {
        let Some(aors) = self.by_conn.remove(&conn) else {
            return;
        };
        for aor in aors {
            let rest: Vec<Binding> = self
                .aors
                .get(&aor)
                .map(|e| {
                    e.bindings
                        .iter()
                        .filter(|b| b.conn != Some(conn))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            self.commit(&aor, rest, Gone::Unregistered);
        }
    }

    /// Removes bindings whose time has come; an AOR left without any raises `Expired`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, aor)) = self.timers.first().cloned() {
            if at > now {
                break;
            }
            // Removing the key first guarantees progress even if the entry were inconsistent.
            self.timers.remove(&(at, aor.clone()));
            self.reap_aor(&aor, now);
        }
    }

    /// The next registration state change, if any.
    pub fn poll_event(&mut self) -> Option<RegistrarEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` next has work (the earliest binding expiry).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Number of bindings held (lapsed ones leave at the next `handle_timeout`).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no binding is held.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of AORs with at least one binding held.
    pub fn aor_count(&self) -> usize {
        self.aors.len()
    }

    /// The 200 OK's Contact list: each live binding with its remaining seconds.
    fn contact_list(&self, aor: &str, now: Instant) -> Vec<(String, u32)> {
        self.bindings(aor, now)
            .into_iter()
            .map(|b| {
                let secs = (b.expires_at - now).as_secs();
                (b.contact.clone(), u32::try_from(secs).unwrap_or(u32::MAX))
            })
            .collect()
    }

    /// Drops the lapsed bindings of `aor` (raising `Expired` if none remain) and returns the
    /// live ones.
    fn reap_aor(&mut self, aor: &str, now: Instant) -> Vec<Binding> {
        let Some(entry) = self.aors.get(aor) else {
            return Vec::new();
        };
        if entry.timer > now {
            return entry.bindings.clone();
        }
        let live: Vec<Binding> = entry
            .bindings
            .iter()
            .filter(|b| b.expires_at > now)
            .cloned()
            .collect();
        self.commit(aor, live.clone(), Gone::Expired);
        live
    }

    /// Replaces the bindings of `aor`, keeping the timer set, the connection index, the count
    /// and the events consistent. Every change of bindings goes through here.
    fn commit(&mut self, aor: &str, bindings: Vec<Binding>, gone: Gone) {
        let had = match self.aors.remove(aor) {
            Some(old) => {
                self.timers.remove(&(old.timer, aor.to_string()));
                self.count = self.count.saturating_sub(old.bindings.len());
                for c in old.bindings.iter().filter_map(|b| b.conn) {
                    if let Some(set) = self.by_conn.get_mut(&c) {
                        set.remove(aor);
                        if set.is_empty() {
                            self.by_conn.remove(&c);
                        }
                    }
                }
                !old.bindings.is_empty()
            }
            None => false,
        };
        let Some(timer) = bindings.iter().map(|b| b.expires_at).min() else {
            if had {
                let aor = aor.to_string();
                self.events.push_back(match gone {
                    Gone::Unregistered => RegistrarEvent::Unregistered { aor },
                    Gone::Expired => RegistrarEvent::Expired { aor },
                });
            }
            return;
        };
        self.count += bindings.len();
        for c in bindings.iter().filter_map(|b| b.conn) {
            self.by_conn.entry(c).or_default().insert(aor.to_string());
        }
        self.timers.insert((timer, aor.to_string()));
        self.aors
            .insert(aor.to_string(), AorEntry { bindings, timer });
        if !had {
            self.events.push_back(RegistrarEvent::Registered {
                aor: aor.to_string(),
            });
        }
    }
}

/// A comparison key for contact URIs: brackets removed, scheme and host part lowercased,
/// user part kept (RFC 3261 §19.1.4: userinfo is case-sensitive, host is not). A full URI
/// comparison belongs to the message layer; this catches the variants phones actually send.
fn contact_key(uri: &str) -> String {
    let u = uri.trim();
    let u = u
        .strip_prefix('<')
        .and_then(|x| x.strip_suffix('>'))
        .unwrap_or(u);
    match u.split_once('@') {
        Some((user, host)) => {
            let (scheme, name) = user.split_once(':').unwrap_or(("", user));
            format!(
                "{}:{}@{}",
                scheme.to_ascii_lowercase(),
                name,
                host.to_ascii_lowercase()
            )
        }
        None => u.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Instant = Instant::ZERO;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn contact(uri: &str, expires: Option<u32>) -> ContactSpec {
        ContactSpec {
            uri: uri.to_string(),
            expires,
            q: None,
        }
    }

    fn req(
        aor: &str,
        contacts: Vec<ContactSpec>,
        expires: Option<u32>,
        cseq: u32,
    ) -> RegisterRequest {
        RegisterRequest {
            aor: aor.to_string(),
            contacts: ContactSet::List(contacts),
            expires_header: expires,
            call_id: format!("cid-{aor}"),
            cseq,
            source: "192.0.2.10:5060".parse().unwrap(),
            transport: "udp".to_string(),
            conn: None,
            user_agent: Some("Yealink T46U".to_string()),
        }
    }

    fn events(r: &mut Registrar) -> Vec<RegistrarEvent> {
        std::iter::from_fn(|| r.poll_event()).collect()
    }

    fn registered(aor: &str) -> RegistrarEvent {
        RegistrarEvent::Registered {
            aor: aor.to_string(),
        }
    }

    #[test]
    fn register_refresh_and_expire_on_virtual_time() {
        let mut r = Registrar::new(RegistrarConfig::default());
        let c = "sip:1001@192.0.2.10:5060";
        let list = r
            .register(T0, req("1001", vec![contact(c, None)], Some(120), 1))
            .unwrap();
        assert_eq!(list, vec![(c.to_string(), 120)]);
        assert_eq!(events(&mut r), vec![registered("1001")]);
        assert!(r.is_registered("1001", T0 + secs(119)));
        assert_eq!(r.poll_timeout(), Some(T0 + secs(120)));

        // Refresh at t=100 pushes expiry to t=220 and raises no event.
        let list = r
            .register(
                T0 + secs(100),
                req("1001", vec![contact(c, None)], Some(120), 2),
            )
            .unwrap();
        assert_eq!(list, vec![(c.to_string(), 120)]);
        assert_eq!(events(&mut r), vec![]);
        assert_eq!(r.poll_timeout(), Some(T0 + secs(220)));
        r.handle_timeout(T0 + secs(120));
        assert!(r.is_registered("1001", T0 + secs(120)));
        assert_eq!(r.len(), 1);

        r.handle_timeout(T0 + secs(220));
        assert!(!r.is_registered("1001", T0 + secs(220)));
        assert_eq!(
            events(&mut r),
            vec![RegistrarEvent::Expired { aor: "1001".into() }]
        );
        assert_eq!(r.len(), 0);
        assert_eq!(r.aor_count(), 0);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn lapsed_binding_is_not_live_even_before_the_timer_runs() {
        let mut r = Registrar::new(RegistrarConfig::default());
        r.register(T0, req("1001", vec![contact("sip:a@h", None)], Some(60), 1))
            .unwrap();
        assert!(r.bindings("1001", T0 + secs(60)).is_empty());
        assert!(!r.is_registered("1001", T0 + secs(61)));
        // A new REGISTER after the lapse reports Expired then Registered, in that order.
        events(&mut r);
        r.register(
            T0 + secs(90),
            req("1001", vec![contact("sip:b@h", None)], Some(60), 2),
        )
        .unwrap();
        assert_eq!(
            events(&mut r),
            vec![
                RegistrarEvent::Expired { aor: "1001".into() },
                registered("1001")
            ]
        );
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn expires_zero_removes_the_binding() {
        let mut r = Registrar::new(RegistrarConfig::default());
        r.register(
            T0,
            req(
                "1001",
                vec![contact("sip:a@h", None), contact("sip:b@h", None)],
                None,
                1,
            ),
        )
        .unwrap();
        let list = r
            .register(
                T0 + secs(1),
                req("1001", vec![contact("sip:a@h", Some(0))], None, 2),
            )
            .unwrap();
        assert_eq!(list, vec![("sip:b@h".to_string(), 3599)]);
        assert_eq!(events(&mut r), vec![registered("1001")]);
        let list = r
            .register(
                T0 + secs(2),
                req("1001", vec![contact("sip:b@h", None)], Some(0), 3),
            )
            .unwrap();
        assert!(list.is_empty());
        assert_eq!(
            events(&mut r),
            vec![RegistrarEvent::Unregistered { aor: "1001".into() }]
        );
        assert_eq!(r.len(), 0);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn star_with_expires_zero_removes_all_and_needs_expires_zero() {
        let mut r = Registrar::new(RegistrarConfig::default());
        r.register(
            T0,
            req(
                "1001",
                vec![contact("sip:a@h", None), contact("sip:b@h", None)],
                None,
                1,
            ),
        )
        .unwrap();
        let mut star = req("1001", vec![], Some(3600), 2);
        star.contacts = ContactSet::Star;
        let err = r.register(T0, star.clone()).unwrap_err();
        assert_eq!(err, RegisterError::StarNeedsZeroExpires);
        assert_eq!(err.status_code(), 400);
        assert_eq!(r.len(), 2);
        star.expires_header = Some(0);
        assert_eq!(r.register(T0, star), Ok(vec![]));
        assert_eq!(r.len(), 0);
        assert!(!r.is_registered("1001", T0));
        assert_eq!(
            events(&mut r),
            vec![
                registered("1001"),
                RegistrarEvent::Unregistered { aor: "1001".into() }
            ]
        );
    }

    #[test]
    fn star_obeys_the_cseq_rule() {
        let mut r = Registrar::new(RegistrarConfig::default());
        r.register(T0, req("1001", vec![contact("sip:a@h", None)], None, 5))
            .unwrap();
        let mut star = req("1001", vec![], Some(0), 5);
        star.contacts = ContactSet::Star;
        assert_eq!(r.register(T0, star), Err(RegisterError::OutOfOrder));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn interval_below_minimum_is_423_with_min_expires() {
        let mut r = Registrar::new(RegistrarConfig::default());
        let err = r
            .register(T0, req("1001", vec![contact("sip:a@h", None)], Some(30), 1))
            .unwrap_err();
        assert_eq!(err, RegisterError::IntervalTooBrief { min: 60 });
        assert_eq!(err.status_code(), 423);
        // The contact parameter wins over the header.
        let err = r
            .register(
                T0,
                req("1001", vec![contact("sip:a@h", Some(59))], Some(3600), 1),
            )
            .unwrap_err();
        assert_eq!(err, RegisterError::IntervalTooBrief { min: 60 });
        assert_eq!(r.len(), 0);
        assert!(events(&mut r).is_empty());
        // Exactly the minimum is fine.
        assert!(r
            .register(T0, req("1001", vec![contact("sip:a@h", Some(60))], None, 1))
            .is_ok());
    }

    #[test]
    fn long_intervals_are_clamped_to_the_maximum_and_default_applies() {
        let mut r = Registrar::new(RegistrarConfig {
            default_expires: 1800,
            ..RegistrarConfig::default()
        });
        let list = r
            .register(
                T0,
                req("1001", vec![contact("sip:a@h", Some(86_400))], None, 1),
            )
            .unwrap();
        assert_eq!(list, vec![("sip:a@h".to_string(), 3600)]);
        let list = r
            .register(T0, req("1002", vec![contact("sip:b@h", None)], None, 1))
            .unwrap();
        assert_eq!(list, vec![("sip:b@h".to_string(), 1800)]);
    }

    #[test]
    fn same_call_id_with_lower_or_equal_cseq_is_out_of_order() {
        let mut r = Registrar::new(RegistrarConfig::default());
        r.register(
            T0,
            req("1001", vec![contact("sip:a@h", None)], Some(600), 10),
        )
        .unwrap();
        for cseq in [9, 10] {
            let err = r
                .register(
                    T0 + secs(1),
                    req("1001", vec![contact("sip:a@h", None)], Some(0), cseq),
                )
                .unwrap_err();
            assert_eq!(err, RegisterError::OutOfOrder);
            assert_eq!(err.status_code(), 500);
        }
        assert!(r.is_registered("1001", T0 + secs(1)));
        // A different Call-ID (the phone rebooted) may use any CSeq.
        let mut other = req("1001", vec![contact("sip:a@h", None)], Some(300), 1);
        other.call_id = "rebooted".into();
        assert_eq!(
            r.register(T0 + secs(2), other),
            Ok(vec![("sip:a@h".into(), 300)])
        );
        assert_eq!(r.bindings("1001", T0 + secs(2))[0].call_id, "rebooted");
    }

    #[test]
    fn failed_register_changes_nothing() {
        let mut r = Registrar::new(RegistrarConfig::default());
        r.register(
            T0,
            req("1001", vec![contact("sip:a@h", None)], Some(600), 10),
        )
        .unwrap();
        // First contact would be removed, second is too brief: the whole request fails.
        let err = r.register(
            T0,
            req(
                "1001",
                vec![contact("sip:a@h", Some(0)), contact("sip:b@h", Some(5))],
                None,
                11,
            ),
        );
        assert_eq!(err, Err(RegisterError::IntervalTooBrief { min: 60 }));
        assert_eq!(r.bindings("1001", T0).len(), 1);
    }

    #[test]
    fn multiple_contacts_per_aor_sorted_by_q_then_newest() {
        let mut r = Registrar::new(RegistrarConfig::default());
        let mut first = req("1001", vec![contact("sip:desk@h", None)], None, 1);
        first.call_id = "desk".into();
        r.register(T0, first).unwrap();
        let mut second = req("1001", vec![contact("sip:soft@h", None)], None, 1);
        second.call_id = "soft".into();
        r.register(T0 + secs(5), second).unwrap();
        let mut third = req(
            "1001",
            vec![ContactSpec {
                uri: "sip:mobile@h".into(),
                expires: None,
                q: Some(0.5),
            }],
            None,
            1,
        );
        third.call_id = "mobile".into();
        r.register(T0 + secs(10), third).unwrap();
        let order: Vec<&str> = r
            .bindings("1001", T0 + secs(10))
            .iter()
            .map(|b| b.contact.as_str())
            .collect();
        assert_eq!(order, vec!["sip:soft@h", "sip:desk@h", "sip:mobile@h"]);
        assert_eq!(r.len(), 3);
        assert_eq!(r.aor_count(), 1);
        assert_eq!(events(&mut r), vec![registered("1001")]);
    }

    #[test]
    fn too_many_contacts_is_403() {
        let mut r = Registrar::new(RegistrarConfig {
            max_contacts: 2,
            ..RegistrarConfig::default()
        });
        let cs = (0..3)
            .map(|i| contact(&format!("sip:{i}@h"), None))
            .collect();
        let err = r.register(T0, req("1001", cs, None, 1)).unwrap_err();
        assert_eq!(err, RegisterError::TooManyContacts);
        assert_eq!(err.status_code(), 403);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn contact_matching_ignores_brackets_and_host_case() {
        let mut r = Registrar::new(RegistrarConfig::default());
        r.register(
            T0,
            req(
                "1001",
                vec![contact("<sip:Alice@HOST.example:5060>", None)],
                None,
                1,
            ),
        )
        .unwrap();
        r.register(
            T0,
            req(
                "1001",
                vec![contact("sip:Alice@host.example:5060", None)],
                None,
                2,
            ),
        )
        .unwrap();
        assert_eq!(r.len(), 1);
        // The user part is case-sensitive.
        r.register(
            T0,
            req(
                "1001",
                vec![contact("sip:alice@host.example:5060", None)],
                None,
                3,
            ),
        )
        .unwrap();
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn empty_contact_list_is_a_query() {
        let mut r = Registrar::new(RegistrarConfig::default());
        assert_eq!(r.register(T0, req("1001", vec![], None, 1)), Ok(vec![]));
        r.register(
            T0,
            req("1001", vec![contact("sip:a@h", None)], Some(600), 2),
        )
        .unwrap();
        assert_eq!(
            r.register(T0 + secs(100), req("1001", vec![], Some(5), 3)),
            Ok(vec![("sip:a@h".to_string(), 500)])
        );
        assert_eq!(r.bindings("1001", T0)[0].cseq, 2);
    }

    #[test]
    fn empty_contact_uri_is_400() {
        let mut r = Registrar::new(RegistrarConfig::default());
        let err = r
            .register(T0, req("1001", vec![contact("  ", None)], None, 1))
            .unwrap_err();
        assert_eq!(err.status_code(), 400);
    }

    #[test]
    fn closing_a_connection_drops_its_bindings() {
        let mut r = Registrar::new(RegistrarConfig::default());
        let mut tcp = req(
            "1001",
            vec![contact("sip:1001@10.0.0.1;transport=tcp", None)],
            None,
            1,
        );
        tcp.transport = "tcp".into();
        tcp.conn = Some(7);
        r.register(T0, tcp).unwrap();
        let mut udp = req("1001", vec![contact("sip:1001@10.0.0.2", None)], None, 1);
        udp.call_id = "udp".into();
        r.register(T0, udp).unwrap();
        let mut tcp2 = req(
            "1002",
            vec![contact("sip:1002@10.0.0.3;transport=tcp", None)],
            None,
            1,
        );
        tcp2.conn = Some(7);
        r.register(T0, tcp2).unwrap();
        events(&mut r);

        r.remove_connection(7);
        assert_eq!(r.len(), 1);
        assert!(r.is_registered("1001", T0));
        assert!(!r.is_registered("1002", T0));
        assert_eq!(
            events(&mut r),
            vec![RegistrarEvent::Unregistered { aor: "1002".into() }]
        );
        // Unknown or already-closed connections are a no-op.
        r.remove_connection(7);
        r.remove_connection(99);
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn thousands_of_bindings_expire_in_deadline_order() {
        let mut r = Registrar::new(RegistrarConfig::default());
        for i in 0..5_000u32 {
            let aor = format!("{}", 10_000 + i);
            let exp = 60 + (i * 7919) % 3000;
            r.register(
                T0,
                req(
                    &aor,
                    vec![contact(&format!("sip:{aor}@h"), Some(exp))],
                    None,
                    1,
                ),
            )
            .unwrap();
        }
        assert_eq!(r.len(), 5_000);
        assert_eq!(events(&mut r).len(), 5_000);
        let mut last = T0;
        let mut expired = 0;
        let mut steps = 0;
        while let Some(at) = r.poll_timeout() {
            assert!(at >= last, "deadlines go forward");
            last = at;
            r.handle_timeout(at);
            expired += events(&mut r)
                .iter()
                .filter(|e| matches!(e, RegistrarEvent::Expired { .. }))
                .count();
            steps += 1;
            assert!(steps <= 5_000, "bounded drive loop");
        }
        assert_eq!(expired, 5_000);
        assert_eq!(r.len(), 0);
        assert_eq!(r.aor_count(), 0);
    }

    #[test]
    fn timer_follows_the_earliest_binding_of_an_aor() {
        let mut r = Registrar::new(RegistrarConfig::default());
        r.register(
            T0,
            req(
                "1001",
                vec![contact("sip:a@h", Some(100)), contact("sip:b@h", Some(300))],
                None,
                1,
            ),
        )
        .unwrap();
        assert_eq!(r.poll_timeout(), Some(T0 + secs(100)));
        r.handle_timeout(T0 + secs(100));
        assert_eq!(r.len(), 1);
        assert!(events(&mut r)
            .iter()
            .all(|e| matches!(e, RegistrarEvent::Registered { .. })));
        assert_eq!(r.poll_timeout(), Some(T0 + secs(300)));
        assert_eq!(r.bindings("1001", T0 + secs(100))[0].contact, "sip:b@h");
    }

    #[test]
    fn hostile_q_values_do_not_break_ordering() {
        let mut r = Registrar::new(RegistrarConfig::default());
        let cs = vec![
            ContactSpec {
                uri: "sip:nan@h".into(),
                expires: None,
                q: Some(f32::NAN),
            },
            ContactSpec {
                uri: "sip:big@h".into(),
                expires: None,
                q: Some(7.0),
            },
            ContactSpec {
                uri: "sip:neg@h".into(),
                expires: None,
                q: Some(-1.0),
            },
        ];
        r.register(T0, req("1001", cs, None, 1)).unwrap();
        let qs: Vec<f32> = r.bindings("1001", T0).iter().map(|b| b.q).collect();
        assert_eq!(qs, vec![1.0, 1.0, 0.0]);
    }
}
