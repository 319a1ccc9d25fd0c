//! The web-chat desk inside the switchboard (SPEC §9): chats route over the same skill groups
//! and agents as calls, so the agent states the ACD keeps decide who may take one.

use std::collections::{BTreeMap, HashMap};

use super::{Dialplan, Effect, Switchboard};
use crate::core::acd::{Acd, Status};
use crate::core::chat::{ChatCommand, ChatError, ChatReply};
use crate::core::time::Now;

/// Signed in and neither on a break nor invisible: such an agent takes chats (up to their
/// limit) whether or not they are on a call — chats are not rung.
fn takes_chats(acd: &Acd, agent: &str) -> bool {
    matches!(
        acd.status(agent),
        Some(Status::Idle | Status::Ringing | Status::Talking | Status::WrapUp)
    )
}

/// The chat groups of a plan: every phone-service group (telemarketing groups only dial out),
/// the first one being the default for a widget that names none.
pub(super) fn chat_groups(plan: &Dialplan) -> (BTreeMap<String, Vec<String>>, Option<String>) {
    let groups: Vec<_> = plan
        .groups
        .iter()
        .filter(|g| !g.acd.telemarketing)
        .collect();
    let default = groups.first().map(|g| g.name.clone());
    let map = groups
        .into_iter()
        .map(|g| (g.name.clone(), g.acd.members.clone()))
        .collect();
    (map, default)
}

impl Switchboard {
    /// A request from a chat visitor or an agent's workspace.
    pub fn chat(&mut self, now: Now, cmd: ChatCommand) -> Result<ChatReply, ChatError> {
        let acd = &self.acd;
        let reply = self
            .chat
            .handle(now, &mut self.rng, cmd, &|a| takes_chats(acd, a));
        self.pump(now);
        reply
    }

    /// Hands the plan's groups and the agents' chat limits to the chat desk.
    pub(super) fn configure_chat(&mut self) {
        let (groups, default) = chat_groups(&self.plan);
        self.chat.set_groups(groups, default);
        let limits: HashMap<String, u32> = self
            .plan
            .chat_limits
            .iter()
            .map(|(a, n)| (a.clone(), *n))
            .collect();
        self.chat.set_limits(limits);
    }

    /// Routes waiting chats (an agent may have become free) and moves the desk's events into
    /// the switchboard's effects. Returns whether anything happened.
    pub(super) fn chat_pump(&mut self, now: Now) -> bool {
        if self.chat.has_queued() {
            let acd = &self.acd;
            self.chat.route(now, &|a| takes_chats(acd, a));
        }
        let mut progressed = false;
        while let Some(ev) = self.chat.poll_event() {
            progressed = true;
            self.effects.push_back(Effect::Event(ev));
        }
        progressed
    }

    /// Ends every chat session (the daemon stops): they cannot outlive the process that
    /// holds them, and a session left open would count as in progress after the restart.
    pub fn end_chats(&mut self, now: Now) {
        self.chat.end_all(now);
        self.pump(now);
    }

    /// Chat sessions queued or being served.
    pub fn open_chats(&self) -> usize {
        self.chat.open_sessions()
    }
}
