//! SIP digest authentication, server and client side (RFC 3261 §22, RFC 7616, RFC 8760).
//!
//! Sans-IO and parser-independent: inputs are header values and strings, outputs are header
//! values, usernames and typed errors. The B2BUA glues them to parsed messages.
//!
//! Nonces are stateless: each carries its issue time, a random salt and an HMAC-SHA-256 over
//! both and the realm, keyed with a server secret. Expiry and authenticity are therefore checked
//! without remembering issued nonces; only nonce counts of *used* nonces are remembered, in a
//! bounded map, for replay protection.
//!
//! ```
//! use branchline::core::rng::Rng;
//! use branchline::core::sip::auth::{client_authorization, DigestAuth};
//! use branchline::core::time::WallMs;
//! use std::time::Duration;
//!
//! let mut auth = DigestAuth::new("branchline", [7; 32], Duration::from_secs(300));
//! let mut rng = Rng::seeded(1);
//! let now = WallMs(1_700_000_000_000);
//! // 401 Unauthorized carries one WWW-Authenticate per algorithm, SHA-256 first.
//! let challenges = auth.challenge(now, false, &mut rng);
//! let answer = client_authorization(
//!     &challenges[0], "REGISTER", "sip:branchline", "1001", "secret", "c0ffee", 1,
//! )
//! .unwrap();
//! let lookup = |user: &str| (user == "1001").then(|| "secret".to_string());
//! assert_eq!(auth.verify(now, "REGISTER", &answer, lookup).unwrap(), "1001");
//! // The same answer again is a replay.
//! assert!(auth.verify(now, "REGISTER", &answer, lookup).is_err());
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::core::rng::Rng;
use crate::core::time::{Instant, WallMs};

/// Longest header value we parse; real Authorization values are a few hundred bytes.
const MAX_HEADER_LEN: usize = 8192;
/// Most parameters accepted in one Digest header (RFC 7616 defines about a dozen).
const MAX_PARAMS: usize = 32;
/// How many used nonces keep their nonce-count state (replay protection).
const DEFAULT_NONCE_CAPACITY: usize = 10_000;
/// Most source addresses the failed-auth guard tracks before pruning idle ones.
const GUARD_CAPACITY: usize = 65_536;
/// Raw nonce layout: 8 bytes issue time (ms, big-endian), 8 bytes salt, 16 bytes MAC.
const NONCE_RAW_LEN: usize = 32;

/// A digest hash algorithm (RFC 7616 §3.2; RFC 8760 adds SHA-256 to SIP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`: the RFC 3261 default, still what most desk phones use.
    Md5,
    /// `SHA-256`: RFC 8760, offered first.
    Sha256,
}

impl Algorithm {
    /// The token used on the wire (`MD5`, `SHA-256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Parses the wire token case-insensitively; `-sess` variants are not supported.
    pub fn from_wire(s: &str) -> Option<Algorithm> {
        if s.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// Lowercase hex of the hash of `data` (RFC 7616 §3.4: H(data) as 32 or 64 LHEX).
    pub fn hash_hex(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data)),
            Algorithm::Sha256 => hex(&Sha256::digest(data)),
        }
    }
}

/// Why an Authorization header was refused; each maps to a SIP status via [`AuthError::status_code`].
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum AuthError {
    /// The header does not parse or lacks a required parameter (400).
    #[error("malformed digest credentials: {0}")]
    Malformed(&'static str),
    /// The scheme is not `Digest` (401, re-challenge).
    #[error("unsupported authentication scheme")]
    UnsupportedScheme,
    /// The algorithm is neither MD5 nor SHA-256 (401, re-challenge).
    #[error("unsupported digest algorithm")]
    UnsupportedAlgorithm,
    /// The realm is not ours (401, re-challenge).
    #[error("wrong realm")]
    WrongRealm,
    /// Our nonce, but expired: re-challenge with `stale=true` (RFC 7616 §3.3).
    #[error("stale nonce")]
    Stale,
    /// A nonce count already used with this nonce (401, re-challenge).
    #[error("replayed nonce count")]
    Replay,
    /// Wrong password, unknown user or a nonce we did not issue; deliberately indistinguishable.
    #[error("credentials rejected")]
    Rejected,
}

impl AuthError {
    /// SIP status to answer with: 400 for malformed credentials, otherwise 401 with a fresh
    /// challenge (with `stale=true` when [`AuthError::is_stale`]).
    pub fn status_code(&self) -> u16 {
        match self {
            AuthError::Malformed(_) => 400,
            _ => 401,
        }
    }

    /// Whether the re-challenge should carry `stale=true` (the client knows the password).
    pub fn is_stale(&self) -> bool {
        matches!(self, AuthError::Stale)
    }
}

/// Parsed `Digest k=v, k="v"` parameters: keys lowercased, quoted-string escapes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestParams {
    scheme: String,
    params: Vec<(String, String)>,
}

impl DigestParams {
    /// The authentication scheme as written (always `Digest`, any case, once parsed).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The value of parameter `name` (case-insensitive), unquoted and unescaped.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All parameters in header order, keys lowercased.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Parses a `Digest` credentials or challenge value (RFC 7616 §3.3/§3.4 syntax, RFC 7230
/// quoted-string and `#rule` lists: empty list elements are allowed, commas may sit in quotes).
///
/// ```
/// use branchline::core::sip::auth::{parse_digest, AuthError};
///
/// let p = parse_digest(r#"Digest Username="a\"b", realm="x, y", nc=0000000a"#).unwrap();
/// assert_eq!(p.get("username"), Some("a\"b"));
/// assert_eq!(p.get("realm"), Some("x, y"));
/// assert_eq!(p.get("NC"), Some("0000000a"));
/// assert_eq!(parse_digest("Basic Zm9vOmJhcg=="), Err(AuthError::UnsupportedScheme));
/// assert!(matches!(parse_digest(r#"Digest realm="open"#), Err(AuthError::Malformed(_))));
/// ```
pub fn parse_digest(header_value: &str) -> Result<DigestParams, AuthError> {
    if header_value.len() > MAX_HEADER_LEN {
        return Err(AuthError::Malformed("header too long"));
    }
    let b = header_value.as_bytes();
    let mut i = skip_ws(b, 0);
    let start = i;
    while i < b.len() && is_tchar(b[i]) {
        i += 1;
    }
    let scheme = &header_value[start..i];
    if scheme.is_empty() {
        return Err(AuthError::Malformed("missing scheme"));
    }
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(AuthError::UnsupportedScheme);
    }
    let after = skip_ws(b, i);
    if after == i && after < b.len() {
        return Err(AuthError::Malformed("no space after scheme"));
    }
    i = after;

    let mut params: Vec<(String, String)> = Vec::new();
    loop {
        // RFC 7230 §7: a recipient accepts empty list elements.
        while i < b.len() && (is_ws(b[i]) || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let key_start = i;
        while i < b.len() && is_tchar(b[i]) {
            i += 1;
        }
        if i == key_start {
            return Err(AuthError::Malformed("expected parameter name"));
        }
        let key = header_value[key_start..i].to_ascii_lowercase();
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'=') {
            return Err(AuthError::Malformed("expected '='"));
        }
        i = skip_ws(b, i + 1);
        let value = if b.get(i) == Some(&b'"') {
            let (v, next) = parse_quoted(b, i + 1)?;
            i = next;
            v
        } else {
            // Lenient token: anything up to whitespace or a comma (clients send `nc=00000001`,
            // `algorithm=SHA-256`, sometimes unquoted values that are not strict tokens).
            let v_start = i;
            while i < b.len() && !is_ws(b[i]) && b[i] != b',' && b[i] != b'"' {
                i += 1;
            }
            if i == v_start {
                return Err(AuthError::Malformed("empty parameter value"));
            }
            header_value[v_start..i].to_string()
        };
        i = skip_ws(b, i);
        if i < b.len() && b[i] != b',' {
            return Err(AuthError::Malformed("expected ',' between parameters"));
        }
        if params.iter().any(|(k, _)| *k == key) {
            return Err(AuthError::Malformed("duplicate parameter"));
        }
        if params.len() >= MAX_PARAMS {
            return Err(AuthError::Malformed("too many parameters"));
        }
        params.push((key, value));
    }
    if params.is_empty() {
        return Err(AuthError::Malformed("no parameters"));
    }
    Ok(DigestParams {
        scheme: scheme.to_string(),
        params,
    })
}

/// Inputs of one digest response computation (RFC 7616 §3.4.1).
#[derive(Debug, Clone, Copy)]
pub struct ResponseInput<'a> {
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Username as it appears unescaped.
    pub username: &'a str,
    /// Realm of the challenge.
    pub realm: &'a str,
    /// Plain password.
    pub password: &'a str,
    /// Request method (`REGISTER`, `INVITE`, ...).
    pub method: &'a str,
    /// The `uri` parameter (digest-uri).
    pub uri: &'a str,
    /// Server nonce.
    pub nonce: &'a str,
    /// `Some((nc, cnonce))` for qop=auth, nc exactly as written on the wire; `None` for the
    /// RFC 2069 form without qop.
    pub qop_auth: Option<(&'a str, &'a str)>,
}

/// The `response` value: KD(H(A1), nonce:nc:cnonce:qop:H(A2)) (RFC 7616 §3.4.1).
pub fn compute_response(input: &ResponseInput<'_>) -> String {
    let alg = input.algorithm;
    let ha1 =
        alg.hash_hex(format!("{}:{}:{}", input.username, input.realm, input.password).as_bytes());
    let ha2 = alg.hash_hex(format!("{}:{}", input.method, input.uri).as_bytes());
    let kd = match input.qop_auth {
        Some((nc, cnonce)) => format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", input.nonce),
        None => format!("{ha1}:{}:{ha2}", input.nonce),
    };
    alg.hash_hex(kd.as_bytes())
}

/// Client side (trunk registration, tests): the Authorization value answering `challenge`
/// (a WWW-Authenticate or Proxy-Authenticate value) for `method`/`uri`; `nc` is written as
/// 8 hex digits (RFC 7616 §3.4).
pub fn client_authorization(
    challenge: &str,
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
    cnonce: &str,
    nc: u32,
) -> Result<String, AuthError> {
    let ch = parse_digest(challenge)?;
    let realm = ch
        .get("realm")
        .ok_or(AuthError::Malformed("challenge without realm"))?;
    let nonce = ch
        .get("nonce")
        .ok_or(AuthError::Malformed("challenge without nonce"))?;
    let algorithm = match ch.get("algorithm") {
        None => Algorithm::Md5,
        Some(a) => Algorithm::from_wire(a).ok_or(AuthError::UnsupportedAlgorithm)?,
    };
    // RFC 7616 §3.3: qop is a quoted list of options; RFC 2617 servers may omit it.
    let qop_auth = match ch.get("qop") {
        None => false,
        Some(list) => {
            if !list
                .split(',')
                .any(|q| q.trim().eq_ignore_ascii_case("auth"))
            {
                return Err(AuthError::Malformed("challenge does not offer qop=auth"));
            }
            true
        }
    };
    for v in [method, uri, username, cnonce] {
        if v.bytes().any(|c| c.is_ascii_control()) {
            return Err(AuthError::Malformed("control character in credentials"));
        }
    }
    let nc_text = format!("{nc:08x}");
    let response = compute_response(&ResponseInput {
        algorithm,
        username,
        realm,
        password,
        method,
        uri,
        nonce,
        qop_auth: qop_auth.then_some((nc_text.as_str(), cnonce)),
    });
    let mut out = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\", algorithm={}",
        quote(username),
        quote(realm),
        quote(nonce),
        quote(uri),
        algorithm.as_str()
    );
    if qop_auth {
        out.push_str(&format!(
            ", cnonce={}, qop=auth, nc={nc_text}",
            quote(cnonce)
        ));
    }
    if let Some(opaque) = ch.get("opaque") {
        // RFC 7616 §3.4: opaque is returned unchanged.
        out.push_str(&format!(", opaque={}", quote(opaque)));
    }
    Ok(out)
}

/// Server-side digest authenticator: qop=auth, stateless HMAC nonces with an issue time, and
/// nonce-count replay protection for the most recently used nonces.
pub struct DigestAuth {
    realm: String,
    secret: [u8; 32],
    nonce_ttl: Duration,
    /// Password used for unknown users so they take the same path as known ones.
    dummy_password: String,
    counts: NonceCounts,
}

impl std::fmt::Debug for DigestAuth {
    // Hand-written so the nonce secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestAuth")
            .field("realm", &self.realm)
            .field("nonce_ttl", &self.nonce_ttl)
            .field("tracked_nonces", &self.counts.map.len())
            .finish_non_exhaustive()
    }
}

impl DigestAuth {
    /// An authenticator for `realm`; `secret` keys the nonce MAC (from the OS in the driver),
    /// `nonce_ttl` is how long a nonce stays fresh.
    pub fn new(realm: &str, secret: [u8; 32], nonce_ttl: Duration) -> Self {
        // A realm with control characters would let configuration inject header lines.
        let realm: String = realm.chars().filter(|c| !c.is_control()).collect();
        DigestAuth {
            realm,
            secret,
            nonce_ttl,
            dummy_password: hex(&hmac_sha256(&secret, b"branchline dummy password")),
            counts: NonceCounts::new(DEFAULT_NONCE_CAPACITY),
        }
    }

    /// Overrides how many used nonces keep replay state (default 10,000).
    pub fn with_nonce_capacity(mut self, capacity: usize) -> Self {
        self.counts = NonceCounts::new(capacity.max(1));
        self
    }

    /// The protection realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// WWW-Authenticate (or Proxy-Authenticate) values for a 401/407: one per algorithm,
    /// SHA-256 first, then MD5 (RFC 8760 §2.4: most preferred first), sharing one nonce.
    pub fn challenge(&self, now: WallMs, stale: bool, rng: &mut Rng) -> Vec<String> {
        let nonce = self.issue_nonce(now, rng.next_u64());
        [Algorithm::Sha256, Algorithm::Md5]
            .iter()
            .map(|alg| {
                let mut v = format!(
                    "Digest realm={}, nonce=\"{nonce}\", algorithm={}, qop=\"auth\"",
                    quote(&self.realm),
                    alg.as_str()
                );
                if stale {
                    v.push_str(", stale=true");
                }
                v
            })
            .collect()
    }

    /// Checks an Authorization (or Proxy-Authorization) value for a request with `method`;
    /// `lookup(username)` returns the plain SIP password. Returns the authenticated username.
    ///
    /// Unknown users and wrong passwords fail identically and along the same path (SPEC §12:
    /// no extension enumeration). The `uri` parameter is only required to be present; the caller
    /// may compare it with the Request-URI.
    pub fn verify(
        &mut self,
        now: WallMs,
        method: &str,
        header_value: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<String, AuthError> {
        let p = parse_digest(header_value)?;
        let algorithm = match p.get("algorithm") {
            // RFC 7616 §3.4: absent algorithm means MD5.
            None => Algorithm::Md5,
            Some(a) => Algorithm::from_wire(a).ok_or(AuthError::UnsupportedAlgorithm)?,
        };
        let username = p
            .get("username")
            .ok_or(AuthError::Malformed("missing username"))?;
        let realm = p
            .get("realm")
            .ok_or(AuthError::Malformed("missing realm"))?;
        let nonce = p
            .get("nonce")
            .ok_or(AuthError::Malformed("missing nonce"))?;
        let uri = p.get("uri").ok_or(AuthError::Malformed("missing uri"))?;
        let response = p
            .get("response")
            .ok_or(AuthError::Malformed("missing response"))?;
        // We only ever offer qop="auth"; RFC 7616 §3.4 makes nc and cnonce mandatory with it.
        let qop = p.get("qop").ok_or(AuthError::Malformed("missing qop"))?;
        if !qop.eq_ignore_ascii_case("auth") {
            return Err(AuthError::Malformed("qop must be auth"));
        }
        let nc_text = p.get("nc").ok_or(AuthError::Malformed("missing nc"))?;
        let nc = parse_nc(nc_text)?;
        let cnonce = p
            .get("cnonce")
            .ok_or(AuthError::Malformed("missing cnonce"))?;
        if cnonce.is_empty() {
            return Err(AuthError::Malformed("empty cnonce"));
        }
        if p.get("userhash")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            // RFC 7616 §3.4.4: we never offer userhash, so a hashed username cannot be looked up.
            return Err(AuthError::Malformed("userhash not offered"));
        }
        if realm != self.realm {
            return Err(AuthError::WrongRealm);
        }
        // A nonce we did not issue (bad MAC) is rejected, not stale: the client gets a fresh
        // challenge but no hint that it merely needs to retry.
        let (issued_ms, mac) = self.check_nonce(nonce).ok_or(AuthError::Rejected)?;
        let ttl_ms = i64::try_from(self.nonce_ttl.as_millis()).unwrap_or(i64::MAX);
        let age = now.0.saturating_sub(issued_ms);
        // A nonce from the future only appears if the wall clock stepped back; treat as stale.
        if age > ttl_ms || age < -ttl_ms {
            return Err(AuthError::Stale);
        }
        if self.counts.forgotten(&mac, issued_ms) {
            // Its replay state was evicted: accepting it could allow a replay, so re-challenge.
            return Err(AuthError::Stale);
        }

        let known = lookup(username);
        // Same work for unknown users: a precomputed dummy password, which never lets anyone
        // in because `known` gates the result below.
        let password = known.as_deref().unwrap_or(&self.dummy_password);
        let expected = compute_response(&ResponseInput {
            algorithm,
            username,
            realm: &self.realm,
            password,
            method,
            uri,
            nonce,
            qop_auth: Some((nc_text, cnonce)),
        });
        let matches = ct_eq(
            expected.as_bytes(),
            response.to_ascii_lowercase().as_bytes(),
        );
        if !(matches & known.is_some()) {
            return Err(AuthError::Rejected);
        }
        // Replay state only changes after a correct response, so an attacker without the
        // password cannot burn a legitimate client's nonce counts.
        self.counts
            .check_and_record(mac, issued_ms, nc, now, ttl_ms)?;
        Ok(username.to_string())
    }

    /// A nonce: hex(issue ms ‖ salt ‖ first 16 bytes of HMAC-SHA-256(secret, ms ‖ salt ‖ realm)).
    fn issue_nonce(&self, now: WallMs, salt: u64) -> String {
        let mut raw = [0u8; NONCE_RAW_LEN];
        raw[..8].copy_from_slice(&now.0.to_be_bytes());
        raw[8..16].copy_from_slice(&salt.to_be_bytes());
        let mac = self.nonce_mac(&raw[..16]);
        raw[16..].copy_from_slice(&mac);
        hex(&raw)
    }

    fn nonce_mac(&self, ts_and_salt: &[u8]) -> [u8; 16] {
        let mut msg = Vec::with_capacity(16 + self.realm.len());
        msg.extend_from_slice(ts_and_salt);
        msg.extend_from_slice(self.realm.as_bytes());
        let full = hmac_sha256(&self.secret, &msg);
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    /// Issue time and MAC of a nonce we issued, or `None` if it is not ours.
    fn check_nonce(&self, nonce: &str) -> Option<(i64, [u8; 16])> {
        let raw = unhex::<NONCE_RAW_LEN>(nonce)?;
        let mut got = [0u8; 16];
        got.copy_from_slice(&raw[16..]);
        if !ct_eq(&self.nonce_mac(&raw[..16]), &got) {
            return None;
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&raw[..8]);
        Some((i64::from_be_bytes(ts), got))
    }
}

/// Nonce-count state of one used nonce: a 64-wide sliding window (like IPsec anti-replay), so
/// requests that share a nonce may arrive slightly out of order but never twice.
#[derive(Debug, Clone, Copy)]
struct NcWindow {
    highest: u32,
    /// Bit i set: nc `highest - i` was seen.
    seen: u64,
}

/// Bounded map of used nonces → nonce-count window, evicting in first-use order.
#[derive(Debug)]
struct NonceCounts {
    capacity: usize,
    map: HashMap<[u8; 16], NcWindow>,
    order: VecDeque<([u8; 16], i64)>,
    /// Highest issue time among nonces evicted while still fresh: such nonces, if seen again
    /// without state, are answered Stale rather than trusted.
    evicted_floor: Option<i64>,
}

impl NonceCounts {
    fn new(capacity: usize) -> Self {
        NonceCounts {
            capacity,
            map: HashMap::new(),
            order: VecDeque::new(),
            evicted_floor: None,
        }
    }

    fn forgotten(&self, mac: &[u8; 16], issued_ms: i64) -> bool {
        !self.map.contains_key(mac) && self.evicted_floor.is_some_and(|f| issued_ms <= f)
    }

    fn check_and_record(
        &mut self,
        mac: [u8; 16],
        issued_ms: i64,
        nc: u32,
        now: WallMs,
        ttl_ms: i64,
    ) -> Result<(), AuthError> {
        if let Some(w) = self.map.get_mut(&mac) {
            if nc > w.highest {
                let shift = nc - w.highest;
                w.seen = if shift >= 64 { 0 } else { w.seen << shift };
                w.seen |= 1;
                w.highest = nc;
                return Ok(());
            }
            let back = w.highest - nc;
            if back >= 64 || w.seen & (1u64 << back) != 0 {
                return Err(AuthError::Replay);
            }
            w.seen |= 1u64 << back;
            return Ok(());
        }
        // Expired nonces at the front are dropped without raising the floor: they are stale anyway.
        while let Some(&(old, ts)) = self.order.front() {
            if now.0.saturating_sub(ts) <= ttl_ms {
                break;
            }
            self.order.pop_front();
            self.map.remove(&old);
        }
        while self.map.len() >= self.capacity {
            let Some((old, ts)) = self.order.pop_front() else {
                break;
            };
            self.map.remove(&old);
            self.evicted_floor = Some(self.evicted_floor.map_or(ts, |f| f.max(ts)));
        }
        self.map.insert(
            mac,
            NcWindow {
                highest: nc,
                seen: 1,
            },
        );
        self.order.push_back((mac, issued_ms));
        Ok(())
    }
}

/// Per-source failed-auth guard (SPEC §12): `max_failures` failures within `window` from one IP
/// ban it for `ban`; a success clears the failure count.
///
/// ```
/// use branchline::core::sip::auth::AuthGuard;
/// use branchline::core::time::Instant;
/// use std::time::Duration;
///
/// let mut guard = AuthGuard::new(3, Duration::from_secs(60), Duration::from_secs(600));
/// let ip = "203.0.113.9".parse().unwrap();
/// let t = Instant::ZERO;
/// for s in 0..3 {
///     guard.failure(t + Duration::from_secs(s), ip);
/// }
/// assert!(guard.is_banned(t + Duration::from_secs(10), ip)); // answer 403 / drop, no digest work
/// assert!(!guard.is_banned(t + Duration::from_secs(603), ip));
/// ```
#[derive(Debug)]
pub struct AuthGuard {
    max_failures: u32,
    window: Duration,
    ban: Duration,
    entries: BTreeMap<IpAddr, GuardEntry>,
}

#[derive(Debug, Clone, Copy)]
struct GuardEntry {
    failures: u32,
    window_start: Instant,
    banned_until: Option<Instant>,
}

impl AuthGuard {
    /// A guard banning a source for `ban` after `max_failures` failures within `window`.
    pub fn new(max_failures: u32, window: Duration, ban: Duration) -> Self {
        AuthGuard {
            max_failures: max_failures.max(1),
            window,
            ban,
            entries: BTreeMap::new(),
        }
    }

    /// Whether requests from `ip` are to be refused without checking credentials.
    pub fn is_banned(&mut self, now: Instant, ip: IpAddr) -> bool {
        let Some(e) = self.entries.get(&ip) else {
            return false;
        };
        match e.banned_until {
            Some(until) if now < until => true,
            Some(_) => {
                // The ban has run out: start again from a clean slate.
                self.entries.remove(&ip);
                false
            }
            None => false,
        }
    }

    /// Records a failed authentication from `ip`.
    pub fn failure(&mut self, now: Instant, ip: IpAddr) {
        if self.entries.len() >= GUARD_CAPACITY && !self.entries.contains_key(&ip) {
            self.prune(now);
        }
        let e = self.entries.entry(ip).or_insert(GuardEntry {
            failures: 0,
            window_start: now,
            banned_until: None,
        });
        match e.banned_until {
            Some(until) if now < until => return,
            Some(_) => {
                e.banned_until = None;
                e.failures = 0;
            }
            None => {}
        }
        if e.failures == 0 || now - e.window_start >= self.window {
            e.window_start = now;
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        if e.failures >= self.max_failures {
            e.banned_until = Some(now + self.ban);
            e.failures = 0;
        }
    }

    /// Records a successful authentication from `ip`: clears its failure count (a running
    /// ban stays until it expires).
    pub fn success(&mut self, ip: IpAddr) {
        if let Some(e) = self.entries.get(&ip) {
            if e.banned_until.is_none() {
                self.entries.remove(&ip);
            }
        }
    }

    /// Number of sources currently tracked (for metrics and tests).
    pub fn tracked(&self) -> usize {
        self.entries.len()
    }

    /// Drops sources that are neither banned nor inside a failure window (memory bound under a
    /// spray of spoofed sources).
    fn prune(&mut self, now: Instant) {
        let window = self.window;
        self.entries.retain(|_, e| match e.banned_until {
            Some(until) => now < until,
            None => now - e.window_start < window,
        });
        // Still full of live entries: forget the oldest windows rather than grow without bound.
        if self.entries.len() >= GUARD_CAPACITY {
            let mut starts: Vec<Instant> = self
                .entries
                .values()
                .filter(|e| e.banned_until.is_none())
                .map(|e| e.window_start)
                .collect();
            starts.sort_unstable();
            if let Some(&cut) = starts.get(starts.len() / 2) {
                self.entries
                    .retain(|_, e| e.banned_until.is_some() || e.window_start > cut);
            }
        }
    }
}

/// RFC 7616 §3.4: nc is exactly 8 hexadecimal digits (not decimal), and counts from 1.
fn parse_nc(s: &str) -> Result<u32, AuthError> {
    if s.len() != 8 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(AuthError::Malformed("nc must be 8 hex digits"));
    }
    match u32::from_str_radix(s, 16) {
        Ok(0) | Err(_) => Err(AuthError::Malformed("nc must be at least 1")),
        Ok(n) => Ok(n),
    }
}

/// HMAC-SHA-256 (RFC 2104) with a 32-byte key.
fn hmac_sha256(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// Equality whose running time depends only on the lengths (digest comparison).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// A quoted-string with `"` and `\` escaped (RFC 7230 §3.2.6).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Parses a quoted-string body starting just after the opening quote; returns the unescaped
/// text and the index after the closing quote.
fn parse_quoted(b: &[u8], mut i: usize) -> Result<(String, usize), AuthError> {
    let mut out = Vec::new();
    loop {
        match b.get(i) {
            None => return Err(AuthError::Malformed("unterminated quoted string")),
            Some(b'"') => break,
            Some(b'\\') => {
                let Some(&c) = b.get(i + 1) else {
                    return Err(AuthError::Malformed("unterminated quoted string"));
                };
                out.push(c);
                i += 2;
            }
            Some(&c) => {
                out.push(c);
                i += 1;
            }
        }
    }
    let s = String::from_utf8(out).map_err(|_| AuthError::Malformed("quoted string not UTF-8"))?;
    Ok((s, i + 1))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

/// Linear whitespace, including folded header continuation lines.
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// RFC 7230 §3.2.6 tchar.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const SECRET: [u8; 32] = [42; 32];
    const T0: WallMs = WallMs(1_700_000_000_000);

    fn auth() -> DigestAuth {
        DigestAuth::new("branchline", SECRET, Duration::from_secs(300))
    }

    fn users(name: &str) -> Option<String> {
        match name {
            "1001" => Some("s3cret".to_string()),
            "1002" => Some("other".to_string()),
            _ => None,
        }
    }

    /// The challenge for `alg` issued at `at`.
    fn challenge_for(a: &DigestAuth, at: WallMs, alg: Algorithm, seed: u64) -> String {
        let all = a.challenge(at, false, &mut Rng::seeded(seed));
        all.into_iter()
            .find(|c| {
                parse_digest(c)
                    .ok()
                    .and_then(|p| p.get("algorithm").map(str::to_string))
                    == Some(alg.as_str().to_string())
            })
            .unwrap_or_default()
    }

    fn answer(ch: &str, user: &str, pw: &str, nc: u32) -> String {
        client_authorization(ch, "REGISTER", "sip:branchline", user, pw, "0a4f113b", nc).unwrap()
    }

    // RFC 7616 §3.9.1: the worked example (method GET, Mufasa / "Circle of Life").
    const RFC_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const RFC_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
    const RFC_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc_challenge(alg: &str) -> String {
        format!(
            "Digest\r\n    realm=\"http-auth@example.org\",\r\n    qop=\"auth, auth-int\",\r\n    \
             algorithm={alg},\r\n    nonce=\"{RFC_NONCE}\",\r\n    opaque=\"{RFC_OPAQUE}\""
        )
    }

    #[test]
    fn rfc7616_worked_example_md5_and_sha256() {
        for (alg, expected) in [
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let out = client_authorization(
                &rfc_challenge(alg),
                "GET",
                "/dir/index.html",
                "Mufasa",
                "Circle of Life",
                RFC_CNONCE,
                1,
            )
            .unwrap();
            let p = parse_digest(&out).unwrap();
            assert_eq!(p.get("response"), Some(expected), "{alg}");
            assert_eq!(p.get("nc"), Some("00000001"));
            assert_eq!(p.get("qop"), Some("auth"));
            assert_eq!(p.get("opaque"), Some(RFC_OPAQUE));
            assert_eq!(p.get("algorithm"), Some(alg));
            assert_eq!(p.get("cnonce"), Some(RFC_CNONCE));
        }
    }

    #[test]
    fn rfc7616_example_authorization_header_parses_and_its_response_recomputes() {
        // The RFC's own Authorization header (MD5), checked through the same response routine
        // the server uses.
        let hdr = format!(
            "Digest username=\"Mufasa\",\r\n realm=\"http-auth@example.org\",\r\n \
             uri=\"/dir/index.html\",\r\n algorithm=MD5,\r\n nonce=\"{RFC_NONCE}\",\r\n \
             nc=00000001,\r\n cnonce=\"{RFC_CNONCE}\",\r\n qop=auth,\r\n \
             response=\"8ca523f5e9506fed4657c9700eebdbec\",\r\n opaque=\"{RFC_OPAQUE}\""
        );
        let p = parse_digest(&hdr).unwrap();
        let got = compute_response(&ResponseInput {
            algorithm: Algorithm::from_wire(p.get("algorithm").unwrap()).unwrap(),
            username: p.get("username").unwrap(),
            realm: p.get("realm").unwrap(),
            password: "Circle of Life",
            method: "GET",
            uri: p.get("uri").unwrap(),
            nonce: p.get("nonce").unwrap(),
            qop_auth: Some((p.get("nc").unwrap(), p.get("cnonce").unwrap())),
        });
        assert_eq!(Some(got.as_str()), p.get("response"));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let text = format!("{:?}", auth());
        assert!(text.contains("branchline"));
        assert!(!text.contains("42"), "{text}");
    }

    #[test]
    fn challenge_offers_sha256_then_md5_with_one_nonce() {
        let a = auth();
        let ch = a.challenge(T0, false, &mut Rng::seeded(3));
        assert_eq!(ch.len(), 2);
        let p0 = parse_digest(&ch[0]).unwrap();
        let p1 = parse_digest(&ch[1]).unwrap();
        assert_eq!(p0.get("algorithm"), Some("SHA-256"));
        assert_eq!(p1.get("algorithm"), Some("MD5"));
        assert_eq!(p0.get("nonce"), p1.get("nonce"));
        assert_eq!(p0.get("realm"), Some("branchline"));
        assert_eq!(p0.get("qop"), Some("auth"));
        assert_eq!(p0.get("stale"), None);
        let stale = a.challenge(T0, true, &mut Rng::seeded(3));
        assert_eq!(parse_digest(&stale[0]).unwrap().get("stale"), Some("true"));
        // Different salts give different nonces at the same instant.
        let other = a.challenge(T0, false, &mut Rng::seeded(4));
        assert_ne!(
            parse_digest(&other[0]).unwrap().get("nonce"),
            p0.get("nonce")
        );
    }

    #[test]
    fn round_trip_succeeds_for_md5_and_sha256() {
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            let mut a = auth();
            let ch = challenge_for(&a, T0, alg, 9);
            let hdr = answer(&ch, "1001", "s3cret", 1);
            let got = a.verify(T0.plus(Duration::from_secs(5)), "REGISTER", &hdr, users);
            assert_eq!(got, Ok("1001".to_string()), "{alg:?}");
        }
    }

    #[test]
    fn method_is_part_of_the_digest() {
        let mut a = auth();
        let ch = challenge_for(&a, T0, Algorithm::Sha256, 1);
        let hdr = answer(&ch, "1001", "s3cret", 1);
        assert_eq!(
            a.verify(T0, "INVITE", &hdr, users),
            Err(AuthError::Rejected)
        );
    }

    #[test]
    fn wrong_password_and_unknown_user_give_the_same_error() {
        let mut a = auth();
        let ch = challenge_for(&a, T0, Algorithm::Md5, 1);
        let wrong_pw = a.verify(T0, "REGISTER", &answer(&ch, "1001", "guess", 1), users);
        let unknown = a.verify(T0, "REGISTER", &answer(&ch, "9999", "guess", 1), users);
        assert_eq!(wrong_pw, Err(AuthError::Rejected));
        assert_eq!(unknown, wrong_pw);
        assert_eq!(unknown.unwrap_err().status_code(), 401);
    }

    #[test]
    fn unknown_user_cannot_log_in_with_the_dummy_password() {
        let mut a = auth();
        let dummy = hex(&hmac_sha256(&SECRET, b"branchline dummy password"));
        let ch = challenge_for(&a, T0, Algorithm::Md5, 1);
        let hdr = answer(&ch, "9999", &dummy, 1);
        assert_eq!(
            a.verify(T0, "REGISTER", &hdr, users),
            Err(AuthError::Rejected)
        );
    }

    #[test]
    fn expired_nonce_is_stale() {
        let mut a = auth();
        let ch = challenge_for(&a, T0, Algorithm::Sha256, 1);
        let hdr = answer(&ch, "1001", "s3cret", 1);
        let late = T0.plus(Duration::from_secs(301));
        let err = a.verify(late, "REGISTER", &hdr, users).unwrap_err();
        assert_eq!(err, AuthError::Stale);
        assert!(err.is_stale());
        assert_eq!(err.status_code(), 401);
        // Just inside the lifetime it still works.
        let ok = a.verify(T0.plus(Duration::from_secs(300)), "REGISTER", &hdr, users);
        assert_eq!(ok, Ok("1001".to_string()));
    }

    #[test]
    fn replayed_nonce_count_is_refused() {
        let mut a = auth();
        let ch = challenge_for(&a, T0, Algorithm::Md5, 1);
        let hdr = answer(&ch, "1001", "s3cret", 1);
        assert!(a.verify(T0, "REGISTER", &hdr, users).is_ok());
        assert_eq!(
            a.verify(T0, "REGISTER", &hdr, users),
            Err(AuthError::Replay)
        );
        let hdr2 = answer(&ch, "1001", "s3cret", 2);
        assert!(a.verify(T0, "REGISTER", &hdr2, users).is_ok());
        assert_eq!(
            a.verify(T0, "REGISTER", &hdr, users),
            Err(AuthError::Replay)
        );
    }

    #[test]
    fn nonce_count_is_hexadecimal_so_0000000a_follows_00000009() {
        let mut a = auth();
        let ch = challenge_for(&a, T0, Algorithm::Sha256, 1);
        let nine = answer(&ch, "1001", "s3cret", 9);
        let ten = answer(&ch, "1001", "s3cret", 10);
        assert!(ten.contains("nc=0000000a"), "{ten}");
        assert!(a.verify(T0, "REGISTER", &nine, users).is_ok());
        assert_eq!(
            a.verify(T0, "REGISTER", &ten, users),
            Ok("1001".to_string())
        );
        // A decimal reading would make "00000010" (16) and "0000000a" collide or fail to parse.
        let sixteen = answer(&ch, "1001", "s3cret", 16);
        assert!(sixteen.contains("nc=00000010"));
        assert!(a.verify(T0, "REGISTER", &sixteen, users).is_ok());
    }

    #[test]
    fn uppercase_hex_nonce_count_is_hashed_as_written() {
        let mut a = auth();
        let ch = challenge_for(&a, T0, Algorithm::Md5, 1);
        let p = parse_digest(&ch).unwrap();
        let nonce = p.get("nonce").unwrap();
        let response = compute_response(&ResponseInput {
            algorithm: Algorithm::Md5,
            username: "1001",
            realm: "branchline",
            password: "s3cret",
            method: "REGISTER",
            uri: "sip:branchline",
            nonce,
            qop_auth: Some(("0000000B", "xyz")),
        });
        let hdr = format!(
            "Digest username=\"1001\", realm=\"branchline\", nonce=\"{nonce}\", uri=\"sip:branchline\", \
             response=\"{response}\", qop=auth, nc=0000000B, cnonce=\"xyz\""
        );
        assert_eq!(
            a.verify(T0, "REGISTER", &hdr, users),
            Ok("1001".to_string())
        );
    }

    #[test]
    fn slightly_out_of_order_counts_are_accepted_once() {
        let mut a = auth();
        let ch = challenge_for(&a, T0, Algorithm::Md5, 1);
        assert!(a
            .verify(T0, "REGISTER", &answer(&ch, "1001", "s3cret", 3), users)
            .is_ok());
        assert!(a
            .verify(T0, "REGISTER", &answer(&ch, "1001", "s3cret", 2), users)
            .is_ok());
        assert_eq!(
            a.verify(T0, "REGISTER", &answer(&ch, "1001", "s3cret", 2), users),
            Err(AuthError::Replay)
        );
        // Far behind the window: refused.
        assert!(a
            .verify(T0, "REGISTER", &answer(&ch, "1001", "s3cret", 200), users)
            .is_ok());
        assert_eq!(
            a.verify(T0, "REGISTER", &answer(&ch, "1001", "s3cret", 4), users),
            Err(AuthError::Replay)
        );
    }

    #[test]
    fn tampered_nonce_is_rejected_not_stale() {
        let mut a = auth();
        let ch = challenge_for(&a, T0, Algorithm::Sha256, 1);
        let nonce = parse_digest(&ch).unwrap().get("nonce").unwrap().to_string();
        // Move the issue time forward by flipping a timestamp digit: the MAC no longer matches.
        let mut bytes = nonce.clone().into_bytes();
        bytes[10] = if bytes[10] == b'0' { b'1' } else { b'0' };
        let forged = String::from_utf8(bytes).unwrap();
        let forged_ch = ch.replace(&nonce, &forged);
        let hdr = answer(&forged_ch, "1001", "s3cret", 1);
        assert_eq!(
            a.verify(T0, "REGISTER", &hdr, users),
            Err(AuthError::Rejected)
        );
        // A nonce from another server (other secret) is not ours either.
        let other = DigestAuth::new("branchline", [1; 32], Duration::from_secs(300));
        let ch2 = challenge_for(&other, T0, Algorithm::Sha256, 1);
        let hdr2 = answer(&ch2, "1001", "s3cret", 1);
        assert_eq!(
            a.verify(T0, "REGISTER", &hdr2, users),
            Err(AuthError::Rejected)
        );
        // Garbage nonce.
        let hdr3 = answer(&ch.replace(&nonce, "abc"), "1001", "s3cret", 1);
        assert_eq!(
            a.verify(T0, "REGISTER", &hdr3, users),
            Err(AuthError::Rejected)
        );
    }

    #[test]
    fn wrong_realm_is_reported() {
        let mut a = auth();
        let ch = challenge_for(&a, T0, Algorithm::Md5, 1).replace("branchline", "elsewhere");
        let hdr = answer(&ch, "1001", "s3cret", 1);
        assert_eq!(
            a.verify(T0, "REGISTER", &hdr, users),
            Err(AuthError::WrongRealm)
        );
    }

    #[test]
    fn unsupported_scheme_and_algorithm() {
        let mut a = auth();
        assert_eq!(
            a.verify(T0, "REGISTER", "Basic dXNlcjpwdw==", users),
            Err(AuthError::UnsupportedScheme)
        );
        let ch = challenge_for(&a, T0, Algorithm::Md5, 1);
        let hdr = answer(&ch, "1001", "s3cret", 1).replace("algorithm=MD5", "algorithm=MD5-sess");
        assert_eq!(
            a.verify(T0, "REGISTER", &hdr, users),
            Err(AuthError::UnsupportedAlgorithm)
        );
        assert_eq!(AuthError::UnsupportedAlgorithm.status_code(), 401);
    }

    #[test]
    fn malformed_headers_are_400() {
        let mut a = auth();
        let ch = challenge_for(&a, T0, Algorithm::Md5, 1);
        let good = answer(&ch, "1001", "s3cret", 1);
        let cases = [
            String::new(),
            "Digest".to_string(),
            "Digest username".to_string(),
            "Digest username=\"unterminated".to_string(),
            "Digest a=1 b=2".to_string(),
            "Digest a=1, a=2".to_string(),
            good.replace("nc=00000001", "nc=1"),
            good.replace("nc=00000001", "nc=0000000g"),
            good.replace("nc=00000001", "nc=00000000"),
            good.replace("qop=auth", "qop=auth-int"),
            good.replace(", qop=auth", ""),
            good.replace("uri=\"sip:branchline\", ", ""),
            format!("Digest {}", "x=1, ".repeat(40)),
            format!("Digest username=\"{}\"", "a".repeat(9000)),
        ];
        for c in &cases {
            let err = a.verify(T0, "REGISTER", c, users).unwrap_err();
            assert!(matches!(err, AuthError::Malformed(_)), "{c:?} gave {err:?}");
            assert_eq!(err.status_code(), 400);
        }
    }

    #[test]
    fn parser_handles_escapes_commas_in_quotes_and_case() {
        let p = parse_digest(
            "digest USERNAME=\"a\\\"b\\\\c\", Realm=\"x, y\",,  nc = 00000001 ,uri=\"sip:1@h\"",
        )
        .unwrap();
        assert_eq!(p.scheme(), "digest");
        assert_eq!(p.get("username"), Some("a\"b\\c"));
        assert_eq!(p.get("realm"), Some("x, y"));
        assert_eq!(p.get("NC"), Some("00000001"));
        assert_eq!(p.get("uri"), Some("sip:1@h"));
        assert_eq!(p.iter().count(), 4);
    }

    #[test]
    fn client_quotes_usernames_the_server_unquotes() {
        let mut a = auth();
        let ch = challenge_for(&a, T0, Algorithm::Sha256, 1);
        let odd = "we\"ird\\user";
        let hdr = answer(&ch, odd, "pw", 1);
        let lookup = |u: &str| (u == odd).then(|| "pw".to_string());
        assert_eq!(a.verify(T0, "REGISTER", &hdr, lookup), Ok(odd.to_string()));
    }

    #[test]
    fn client_answers_a_challenge_without_qop_in_rfc2069_form() {
        let out = client_authorization(
            "Digest realm=\"old\", nonce=\"n1\"",
            "REGISTER",
            "sip:old",
            "u",
            "p",
            "c",
            1,
        )
        .unwrap();
        let p = parse_digest(&out).unwrap();
        assert_eq!(p.get("qop"), None);
        assert_eq!(p.get("nc"), None);
        let ha1 = Algorithm::Md5.hash_hex(b"u:old:p");
        let ha2 = Algorithm::Md5.hash_hex(b"REGISTER:sip:old");
        let expected = Algorithm::Md5.hash_hex(format!("{ha1}:n1:{ha2}").as_bytes());
        assert_eq!(p.get("response"), Some(expected.as_str()));
        assert!(client_authorization(
            "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",
            "A",
            "b",
            "u",
            "p",
            "c",
            1
        )
        .is_err());
        assert!(client_authorization(
            "Digest realm=\"r\", nonce=\"n\"",
            "A",
            "b",
            "u\r\nX: y",
            "p",
            "c",
            1
        )
        .is_err());
    }

    #[test]
    fn evicted_nonce_state_answers_stale_instead_of_allowing_replay() {
        let mut a = auth().with_nonce_capacity(2);
        let chs: Vec<String> = (0..3u64)
            .map(|i| challenge_for(&a, T0.plus(Duration::from_millis(i)), Algorithm::Md5, i))
            .collect();
        let first = answer(&chs[0], "1001", "s3cret", 1);
        assert!(a.verify(T0, "REGISTER", &first, users).is_ok());
        assert!(a
            .verify(T0, "REGISTER", &answer(&chs[1], "1001", "s3cret", 1), users)
            .is_ok());
        assert!(a
            .verify(T0, "REGISTER", &answer(&chs[2], "1001", "s3cret", 1), users)
            .is_ok());
        // The first nonce's counts were evicted; replaying it must not succeed.
        assert_eq!(
            a.verify(T0, "REGISTER", &first, users),
            Err(AuthError::Stale)
        );
    }

    #[test]
    fn guard_bans_after_n_failures_and_lifts_after_the_ban() {
        let mut g = AuthGuard::new(3, Duration::from_secs(60), Duration::from_secs(600));
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8));
        let t = Instant::ZERO;
        g.failure(t, ip);
        g.failure(t + Duration::from_secs(1), ip);
        assert!(!g.is_banned(t + Duration::from_secs(1), ip));
        g.failure(t + Duration::from_secs(2), ip);
        assert!(g.is_banned(t + Duration::from_secs(2), ip));
        assert!(!g.is_banned(t + Duration::from_secs(2), other));
        // A success during the ban does not lift it.
        g.success(ip);
        assert!(g.is_banned(t + Duration::from_secs(601), ip));
        assert!(!g.is_banned(t + Duration::from_secs(602), ip));
        assert_eq!(g.tracked(), 0);
    }

    #[test]
    fn guard_forgets_failures_outside_the_window_and_on_success() {
        let mut g = AuthGuard::new(3, Duration::from_secs(60), Duration::from_secs(600));
        let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
        let t = Instant::ZERO;
        g.failure(t, ip);
        g.failure(t + Duration::from_secs(10), ip);
        g.failure(t + Duration::from_secs(70), ip); // window restarted
        assert!(!g.is_banned(t + Duration::from_secs(70), ip));
        g.success(ip);
        g.failure(t + Duration::from_secs(71), ip);
        g.failure(t + Duration::from_secs(72), ip);
        assert!(!g.is_banned(t + Duration::from_secs(72), ip));
        g.failure(t + Duration::from_secs(73), ip);
        assert!(g.is_banned(t + Duration::from_secs(73), ip));
    }

    /// A tiny xorshift mutator: flips, inserts and deletes bytes of valid headers.
    #[test]
    fn mutated_headers_never_panic() {
        let mut a = auth();
        let mut rng = Rng::seeded(0xfeed);
        let seeds: Vec<String> = [Algorithm::Md5, Algorithm::Sha256]
            .iter()
            .map(|&alg| answer(&challenge_for(&a, T0, alg, 5), "1001", "s3cret", 1))
            .chain([rfc_challenge("MD5"), "Digest a=\"\\".to_string()])
            .collect();
        const ALPHABET: &[u8] = b"\"\\,= \t\r\nDigestauth0aZ\xc3\xa9";
        let mut accepted = 0;
        for i in 0..20_000u64 {
            let base = seeds[(i % seeds.len() as u64) as usize].as_bytes();
            let mut m = base.to_vec();
            for _ in 0..=rng.below(4) {
                let pos = rng.below(m.len() as u64 + 1) as usize;
                let c = ALPHABET[rng.below(ALPHABET.len() as u64) as usize];
                match rng.below(3) {
                    0 if pos < m.len() => m[pos] = c,
                    1 => m.insert(pos, c),
                    _ if pos < m.len() => {
                        m.remove(pos);
                    }
                    _ => m.push(c),
                }
            }
            let s = String::from_utf8_lossy(&m);
            let _ = parse_digest(&s);
            let _ = client_authorization(&s, "REGISTER", "sip:x", "u", "p", "c", 1);
            if a.verify(T0, "REGISTER", &s, users).is_ok() {
                accepted += 1;
            }
        }
        // Mutations that keep the digest intact (e.g. whitespace) may verify, but only the
        // first of each nonce count does; nothing panics along the way.
        assert!(accepted <= seeds.len());
    }
}
