//! Authentication state of the web tier: in-memory sessions, login throttling, a short cache of
//! verified Basic credentials, and the Basic header decoder (SPEC §12).
//!
//! Every structure takes `now` as an argument (core-style) so its rules are tested without
//! sleeping; only the caller reads the clock.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::core::time::Instant;
use crate::storage::User;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "bl_session";
/// How long a session lives after login (absolute, not sliding).
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// At most this many sessions are kept; the one nearest expiry makes room for a new login.
const MAX_SESSIONS: usize = 10_000;

/// Failures within this window count towards a lockout.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(5 * 60);
/// This many failures within the window lock the key.
pub const THROTTLE_LIMIT: usize = 5;
/// How long a locked key stays locked.
pub const LOCKOUT: Duration = Duration::from_secs(5 * 60);
/// Above this many tracked keys, stale entries are swept on the next failure.
const THROTTLE_SWEEP_AT: usize = 10_000;

/// How long a verified Basic credential is trusted without re-running argon2.
pub const BASIC_CACHE_TTL: Duration = Duration::from_secs(60);
const MAX_BASIC_CACHE: usize = 1_000;

/// Whether `user` may change IVR flows, settings and the voice library (SPEC §3, §12: the
/// administrator role only; supervisors and agents may not).
pub fn may_administer(user: &User) -> bool {
    super::guard::permits(user.role, super::guard::Perm::ConfigWrite)
}

/// A logged-in session.
#[derive(Debug, Clone)]
struct Session {
    user: User,
    expires: Instant,
}

/// The live sessions, by token.
#[derive(Debug, Default)]
pub struct Sessions {
    by_token: HashMap<String, Session>,
}

impl Sessions {
    /// Stores a session for `user` under `token`, evicting expired (or, if full, the oldest)
    /// sessions so memory stays bounded.
    pub fn insert(&mut self, token: String, user: User, now: Instant) {
        if self.by_token.len() >= MAX_SESSIONS {
            self.by_token.retain(|_, s| s.expires > now);
        }
        if self.by_token.len() >= MAX_SESSIONS {
            let oldest = self
                .by_token
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(t, _)| t.clone());
            if let Some(t) = oldest {
                self.by_token.remove(&t);
            }
        }
        self.by_token.insert(
            token,
            Session {
                user,
                expires: now + SESSION_TTL,
            },
        );
    }

    /// The user of a live session; an expired one is removed.
    pub fn get(&mut self, token: &str, now: Instant) -> Option<User> {
        let live = self.by_token.get(token).map(|s| s.expires > now)?;
        if !live {
            self.by_token.remove(token);
            return None;
        }
        self.by_token.get(token).map(|s| s.user.clone())
    }

    /// Ends a session.
    pub fn remove(&mut self, token: &str) {
        self.by_token.remove(token);
    }

    /// How many sessions are stored (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    /// Whether no session is stored.
    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }
}

#[derive(Debug, Default)]
struct ThrottleEntry {
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

/// Login throttling: after [`THROTTLE_LIMIT`] failures for one key (a username or an IP) within
/// [`THROTTLE_WINDOW`], the key is refused for [`LOCKOUT`].
#[derive(Debug, Default)]
pub struct Throttle {
    entries: HashMap<String, ThrottleEntry>,
}

impl Throttle {
    /// If `key` is locked, how long until it is released.
    pub fn locked_for(&self, key: &str, now: Instant) -> Option<Duration> {
        let until = self.entries.get(key)?.locked_until?;
        (until > now).then(|| until - now)
    }

    /// Records a failed attempt for `key`; locks it when the limit is reached.
    pub fn record_failure(&mut self, key: &str, now: Instant) {
        if self.entries.len() >= THROTTLE_SWEEP_AT {
            self.entries.retain(|_, e| {
                e.locked_until.is_some_and(|u| u > now)
                    || e.failures
                        .back()
                        .is_some_and(|&t| now - t < THROTTLE_WINDOW)
            });
        }
        let entry = self.entries.entry(key.to_owned()).or_default();
        while entry
            .failures
            .front()
            .is_some_and(|&t| now - t >= THROTTLE_WINDOW)
        {
            entry.failures.pop_front();
        }
        entry.failures.push_back(now);
        if entry.failures.len() >= THROTTLE_LIMIT {
            entry.locked_until = Some(now + LOCKOUT);
            // The lockout is the penalty; failures after it start a fresh count.
            entry.failures.clear();
        }
    }

    /// Forgets the failures of `key` (after a successful login).
    pub fn clear(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

/// Recently verified Basic credentials, keyed by a salted SHA-256 of username and password so
/// plaintext passwords are never kept in memory. Scripts that poll with Basic auth would
/// otherwise pay one argon2 verification per request.
#[derive(Debug)]
pub struct BasicCache {
    key: [u8; 32],
    entries: HashMap<[u8; 32], (User, Instant)>,
}

impl BasicCache {
    /// An empty cache with a per-process random key.
    pub fn new(key: [u8; 32]) -> BasicCache {
        BasicCache {
            key,
            entries: HashMap::new(),
        }
    }

    fn digest(&self, username: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(username.as_bytes());
        h.update([0u8]);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// The user these credentials verified as, if verified within [`BASIC_CACHE_TTL`].
    pub fn get(&self, username: &str, password: &str, now: Instant) -> Option<User> {
        let (user, expires) = self.entries.get(&self.digest(username, password))?;
        (*expires > now).then(|| user.clone())
    }

    /// Remembers a successful verification.
    pub fn insert(&mut self, username: &str, password: &str, user: User, now: Instant) {
        if self.entries.len() >= MAX_BASIC_CACHE {
            self.entries.retain(|_, (_, exp)| *exp > now);
            if self.entries.len() >= MAX_BASIC_CACHE {
                self.entries.clear();
            }
        }
        let d = self.digest(username, password);
        self.entries.insert(d, (user, now + BASIC_CACHE_TTL));
    }
}

/// Parses `Authorization: Basic <base64(user:pass)>` (RFC 7617). `None` for any other scheme or
/// malformed value.
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64_decode(rest.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    // RFC 7617 §2: the user-id cannot contain a colon; the password may.
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

/// Parses `Authorization: Bearer <token>` (RFC 6750 §2.1). `None` for other schemes.
pub fn parse_bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Standard base64 with padding (RFC 4648 §4); `None` on any invalid input.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = s.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.len() / 4;
    for (i, chunk) in bytes.chunks_exact(4).enumerate() {
        let last = i + 1 == chunks;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n: u32 = 0;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let triple = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&triple[..3 - pad]);
    }
    Some(out)
}

/// The CSRF token of a session (sent as `X-CSRF-Token` on cookie-authenticated writes):
/// an HMAC-like SHA-256 of the session token. Scripts on other sites cannot read the HttpOnly
/// cookie, so they cannot compute it; the server needs no extra state to check it.
pub fn csrf_token(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"branchline-csrf\0");
    h.update(session_token.as_bytes());
    h.finalize()
        .iter()
        .take(24)
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new session token: 32 random bytes, hex encoded.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)?;
    let mut s = String::with_capacity(64);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    Ok(s)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Role;

    fn user(name: &str) -> User {
        User {
            username: name.into(),
            role: Role::Agent,
            display_name: name.into(),
        }
    }

    fn at(secs: u64) -> Instant {
        Instant::from_millis(secs * 1000)
    }

    #[test]
    fn basic_header_decodes_per_rfc_7617_and_rejects_garbage() {
        // RFC 7617 §2 example.
        assert_eq!(
            parse_basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            Some(("Aladdin".into(), "open sesame".into()))
        );
        assert_eq!(
            parse_basic("basic YTpiOmM="),
            Some(("a".into(), "b:c".into()))
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!!"), None);
        assert_eq!(parse_basic("Basic QWxh"), None, "no colon");
        assert_eq!(parse_basic("Basic QQ=="), None, "no colon");
        assert_eq!(parse_basic("Basic QQ==QQ=="), None, "padding mid-stream");
        assert_eq!(parse_basic("Basic Q"), None);
        assert_eq!(parse_basic("Basic"), None);
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zm9vYg==").unwrap(), b"foob");
        assert_eq!(base64_decode("Zm9vYmE=").unwrap(), b"fooba");
        assert_eq!(base64_decode("Zm9vYmFy").unwrap(), b"foobar");
    }

    #[test]
    fn five_failures_in_five_minutes_lock_for_five_minutes() {
        let mut t = Throttle::default();
        for s in 0..4 {
            t.record_failure("u:admin", at(s * 10));
            assert_eq!(t.locked_for("u:admin", at(s * 10)), None);
        }
        t.record_failure("u:admin", at(40));
        assert_eq!(t.locked_for("u:admin", at(40)), Some(LOCKOUT));
        assert!(t.locked_for("u:admin", at(339)).is_some());
        assert_eq!(t.locked_for("u:admin", at(340)), None);
        assert_eq!(
            t.locked_for("u:other", at(40)),
            None,
            "keys are independent"
        );
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let mut t = Throttle::default();
        for s in [0, 100, 200, 290] {
            t.record_failure("ip:1.2.3.4", at(s));
        }
        // The first failure (t=0) has aged out by t=301.
        t.record_failure("ip:1.2.3.4", at(301));
        assert_eq!(t.locked_for("ip:1.2.3.4", at(301)), None);
        t.record_failure("ip:1.2.3.4", at(302));
        assert!(t.locked_for("ip:1.2.3.4", at(302)).is_some());
        t.clear("ip:1.2.3.4");
        assert_eq!(t.locked_for("ip:1.2.3.4", at(302)), None);
    }

    #[test]
    fn sessions_expire_and_can_be_removed() {
        let mut s = Sessions::default();
        s.insert("t1".into(), user("agent1"), at(0));
        assert_eq!(s.get("t1", at(60)).unwrap().username, "agent1");
        assert_eq!(s.get("nope", at(60)), None);
        assert_eq!(s.get("t1", at(0) + SESSION_TTL), None);
        assert!(s.is_empty(), "expired session is dropped on lookup");
        s.insert("t2".into(), user("agent2"), at(0));
        s.remove("t2");
        assert_eq!(s.get("t2", at(1)), None);
    }

    #[test]
    fn basic_cache_matches_exact_credentials_until_ttl() {
        let mut c = BasicCache::new([7; 32]);
        c.insert("admin", "pw", user("admin"), at(0));
        assert!(c.get("admin", "pw", at(59)).is_some());
        assert!(c.get("admin", "pw2", at(1)).is_none());
        assert!(c.get("admi", "npw", at(1)).is_none(), "separator matters");
        assert!(c.get("admin", "pw", at(60)).is_none());
    }

    #[test]
    fn csrf_tokens_follow_the_session_and_compare_in_constant_time() {
        let a = csrf_token("s1");
        assert_eq!(a, csrf_token("s1"));
        assert_ne!(a, csrf_token("s2"));
        assert_eq!(a.len(), 48);
        assert!(constant_time_eq(a.as_bytes(), csrf_token("s1").as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b"short"));
        assert_eq!(parse_bearer("Bearer blt_x"), Some("blt_x"));
        assert_eq!(parse_bearer("Basic abc"), None);
        assert_eq!(parse_bearer("Bearer "), None);
    }

    #[test]
    fn tokens_are_64_hex_chars_and_unique() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
