//! REGISTER (RFC 3261 §10.3) and OPTIONS, and the digest challenge shared with INVITE.

use super::{Switchboard, ALLOW_HEADER};
use crate::core::sip::auth::AuthError;
use crate::core::sip::msg::{self, Contacts, Message};
use crate::core::sip::registrar::{ContactSet, ContactSpec, RegisterRequest};
use crate::core::sip::transaction::{Target, Transport};
use crate::core::time::Now;

/// Result of checking a request's credentials.
pub(super) enum Authn {
    /// Authenticated as this extension.
    User(String),
    /// A challenge or refusal was sent.
    Answered,
}

impl Switchboard {
    /// REGISTER: digest auth, then the registrar.
    pub(super) fn handle_register(&mut self, now: Now, src: &Target, req: &Message<'_>) {
        let aor = match req.to() {
            Ok(to) if to.uri.is_sip() => to.uri.user_unescaped(),
            // RFC 4475 §3.3.4: a To that is not a SIP AOR is refused.
            _ => None,
        };
        let Some(aor) = aor else {
            let r = msg::response_to(
                req,
                400,
                "Bad Request (To is not a SIP address of record)",
                None,
            );
            self.respond(now, req, src, r);
            return;
        };
        let user = match self.authenticate(now, src, req, "Authorization", 401) {
            Authn::User(u) => u,
            Authn::Answered => return,
        };
        if user != aor {
            // Credentials of one extension cannot register another.
            let r = msg::response_to(req, 403, "Forbidden", None);
            self.respond(now, req, src, r);
            return;
        }
        let contacts = match req.contacts() {
            Ok(Contacts::Star) => ContactSet::Star,
            Ok(Contacts::List(list)) => ContactSet::List(
                list.iter()
                    .map(|c| ContactSpec {
                        uri: c.uri.to_string(),
                        expires: c
                            .params
                            .get("expires")
                            .flatten()
                            .and_then(|v| v.trim().parse().ok()),
                        q: c.params
                            .get("q")
                            .flatten()
                            .and_then(|v| v.trim().parse().ok()),
                    })
                    .collect(),
            ),
            Err(_) => {
                let r = msg::response_to(req, 400, "Bad Request (Contact)", None);
                self.respond(now, req, src, r);
                return;
            }
        };
        let (Ok(call_id), Ok(cseq)) = (req.call_id(), req.cseq()) else {
            let r = msg::response_to(req, 400, "Bad Request", None);
            self.respond(now, req, src, r);
            return;
        };
        let request = RegisterRequest {
            aor: aor.clone(),
            contacts,
            expires_header: req.expires().ok().flatten(),
            call_id: call_id.into_owned(),
            cseq: cseq.seq,
            source: src.addr,
            transport: match src.transport {
                Transport::Udp => "udp".into(),
                Transport::Tcp => "tcp".into(),
            },
            conn: src.conn,
            user_agent: req.header("User-Agent").map(|s| s.into_owned()),
        };
        match self.registrar.register(now.mono, request) {
            Ok(bindings) => {
                let mut r = msg::response_to(req, 200, "OK", None);
                for (contact, secs) in bindings {
                    r.push_header("Contact", format!("<{contact}>;expires={secs}"));
                }
                self.respond(now, req, src, r);
            }
            Err(e) => {
                let code = e.status_code();
                let mut r = msg::response_to(req, code, msg::reason_phrase(code), None);
                if let crate::core::sip::registrar::RegisterError::IntervalTooBrief { min } = e {
                    r.push_header("Min-Expires", min.to_string());
                }
                self.respond(now, req, src, r);
            }
        }
    }

    /// OPTIONS outside a dialog: capabilities (RFC 3261 §11).
    pub(super) fn handle_options(&mut self, now: Now, src: &Target, req: &Message<'_>) {
        let mut r = msg::response_to(req, 200, "OK", Some(&self.rng.token(10)));
        r.push_header("Allow", ALLOW_HEADER);
        r.push_header("Accept", "application/sdp");
        r.push_header("Supported", "");
        self.respond(now, req, src, r);
    }

    /// Digest authentication of a request against the extension passwords. Unknown users and
    /// wrong passwords get the same challenge (SPEC §12: no enumeration); a source with too
    /// many failures is banned for a while.
    pub(super) fn authenticate(
        &mut self,
        now: Now,
        src: &Target,
        req: &Message<'_>,
        header: &str,
        challenge_code: u16,
    ) -> Authn {
        let ip = src.addr.ip();
        if self.guard.is_banned(now.mono, ip) {
            let r = msg::response_to(req, 403, "Forbidden", None);
            self.respond(now, req, src, r);
            return Authn::Answered;
        }
        let method = req
            .method()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        let mut stale = false;
        if let Some(value) = req.header(header) {
            let plan = &self.plan.extensions;
            match self
                .auth
                .verify(now.wall, &method, &value, |u| plan.get(u).cloned())
            {
                Ok(user) => {
                    self.guard.success(ip);
                    return Authn::User(user);
                }
                Err(AuthError::Malformed(why)) => {
                    self.guard.failure(now.mono, ip);
                    let reason = format!("Bad Request ({why})");
                    let r = msg::response_to(req, 400, &reason, None);
                    self.respond(now, req, src, r);
                    return Authn::Answered;
                }
                Err(AuthError::Stale) => stale = true,
                Err(_) => self.guard.failure(now.mono, ip),
            }
        }
        let (name, reason) = if challenge_code == 407 {
            ("Proxy-Authenticate", "Proxy Authentication Required")
        } else {
            ("WWW-Authenticate", "Unauthorized")
        };
        let tag = self.rng.token(10);
        let mut r = msg::response_to(req, challenge_code, reason, Some(&tag));
        let offered = self.auth.challenge(now.wall, stale, &mut self.rng);
        // RFC 8760 §2.4: challenges in the configured order of preference.
        for alg in &self.cfg.digest_algorithms {
            let marker = format!("algorithm={alg}");
            for value in offered.iter().filter(|v| v.contains(&marker)) {
                r.push_header(name, value.clone());
            }
        }
        self.respond(now, req, src, r);
        Authn::Answered
    }
}
