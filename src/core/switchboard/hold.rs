//! Hold and resume (保持 / 恢复): a party's re-INVITE with `a=sendonly`, `a=inactive` or the
//! old `c=0.0.0.0` puts the other party on hold (RFC 3264 §8.4, RFC 2543 hold); the box
//! answers as an RFC 3264 answerer, stops relaying and plays its music on hold to the held
//! party. A re-INVITE with sendrecv resumes the relay. The same happens from the API.

use super::{LegSide, MediaCommand, Switchboard};
use crate::core::sdp::{Direction, Sdp};
use crate::core::time::Now;

/// The other leg of a call.
pub(super) fn other(side: LegSide) -> LegSide {
    match side {
        LegSide::A => LegSide::B,
        LegSide::B => LegSide::A,
    }
}

/// Whether an offer puts the offerer's peer on hold, and the direction our answer takes.
pub(super) fn hold_offer(offer: &Sdp) -> (bool, Direction) {
    let dir = offer.audio_direction();
    // RFC 3264 §8.4: c=0.0.0.0 is the RFC 2543 way to say "stop sending to me".
    let zero = offer
        .audio()
        .and_then(|a| offer.connection_for(a))
        .is_some_and(|ip| ip.is_unspecified());
    match dir {
        Direction::SendOnly | Direction::Inactive => (true, dir.answer()),
        _ if zero => (true, Direction::Inactive),
        _ => (false, dir.answer()),
    }
}

/// Our SDP with its direction attribute set to `dir`; the `o=` version goes up by one when
/// anything changed (RFC 3264 §8: a changed description carries a higher version).
pub(super) fn with_direction(sdp: &[u8], dir: Direction) -> Vec<u8> {
    let text = String::from_utf8_lossy(sdp);
    let mut lines: Vec<String> = Vec::new();
    let mut changed = false;
    let mut seen = false;
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let attr = line.strip_prefix("a=").unwrap_or("");
        if matches!(attr, "sendrecv" | "sendonly" | "recvonly" | "inactive") {
            seen = true;
            changed |= attr != dir.as_str();
            lines.push(format!("a={}", dir.as_str()));
        } else {
            lines.push(line.to_owned());
        }
    }
    if !seen && dir != Direction::SendRecv {
        lines.push(format!("a={}", dir.as_str()));
        changed = true;
    }
    if changed {
        for line in lines.iter_mut() {
            if let Some(rest) = line.strip_prefix("o=") {
                let mut f: Vec<String> = rest.split(' ').map(str::to_owned).collect();
                if let Some(v) = f.get_mut(2).and_then(|v| v.parse::<u64>().ok()) {
                    if let Some(slot) = f.get_mut(2) {
                        *slot = v.wrapping_add(1).to_string();
                    }
                }
                *line = format!("o={}", f.join(" "));
            }
        }
    }
    let mut out = lines.join("\r\n");
    out.push_str("\r\n");
    out.into_bytes()
}

impl Switchboard {
    /// A hold or resume from `holder`'s side (re-INVITE or API). Returns whether the call's
    /// hold state changed. Only the party that put the call on hold takes it off hold.
    pub(super) fn set_hold(
        &mut self,
        now: Now,
        id: u64,
        holder: LegSide,
        hold: bool,
        by: &str,
    ) -> bool {
        let Some(call) = self.calls.get(&id) else {
            return false;
        };
        let media = call.media.id;
        let current = self.xfer.held.get(&id).copied();
        match (hold, current) {
            (true, None) => {
                self.xfer.held.insert(id, holder);
                let held = other(holder);
                self.media_cmd(MediaCommand::Hold { id: media, held });
                self.call_event(
                    now,
                    id,
                    "call.held",
                    serde_json::json!({ "by": by, "held": side_name(held) }),
                );
                true
            }
            (false, Some(h)) if h == holder || by == "api" => {
                self.xfer.held.remove(&id);
                self.media_cmd(MediaCommand::Relay { id: media });
                self.call_event(
                    now,
                    id,
                    "call.resumed",
                    serde_json::json!({ "by": by, "held": side_name(other(h)) }),
                );
                true
            }
            _ => false,
        }
    }
}

/// How events name a leg: the caller (A) or the callee/agent (B).
pub(super) fn side_name(side: LegSide) -> &'static str {
    match side {
        LegSide::A => "caller",
        LegSide::B => "callee",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 5 7 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

    #[test]
    fn sendonly_inactive_and_zero_address_are_holds_rfc3264() {
        let parse = |extra: &str| Sdp::parse(format!("{OFFER}{extra}").as_bytes()).unwrap();
        assert_eq!(
            hold_offer(&parse("a=sendonly\r\n")),
            (true, Direction::RecvOnly)
        );
        assert_eq!(
            hold_offer(&parse("a=inactive\r\n")),
            (true, Direction::Inactive)
        );
        assert_eq!(
            hold_offer(&parse("a=sendrecv\r\n")),
            (false, Direction::SendRecv)
        );
        assert_eq!(hold_offer(&parse("")), (false, Direction::SendRecv));
        let zero = Sdp::parse(
            OFFER
                .replace("c=IN IP4 10.0.0.1", "c=IN IP4 0.0.0.0")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(hold_offer(&zero), (true, Direction::Inactive));
    }

    #[test]
    fn the_answer_direction_is_rewritten_and_the_version_bumped_only_on_change() {
        let ours = format!("{OFFER}a=sendrecv\r\n");
        let held = with_direction(ours.as_bytes(), Direction::RecvOnly);
        let text = String::from_utf8(held.clone()).unwrap();
        assert!(text.contains("a=recvonly\r\n") && !text.contains("a=sendrecv"));
        assert!(text.contains("o=- 5 8 IN IP4"), "{text}");
        let again = with_direction(&held, Direction::RecvOnly);
        assert_eq!(again, held, "unchanged SDP keeps its version");
        let back = String::from_utf8(with_direction(&held, Direction::SendRecv)).unwrap();
        assert!(back.contains("a=sendrecv") && back.contains("o=- 5 9 "));
    }
}
