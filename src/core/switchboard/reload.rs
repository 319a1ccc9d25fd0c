//! Live configuration changes (issue: "changes without a restart"): the engine hands over a
//! whole new [`Dialplan`] after an edit in the panel. Extensions, trunks, DIDs, routes, IVR
//! flows and groups are swapped; calls in progress keep what they were set up with, agents keep
//! their states and callers their place in the queue ([`crate::core::acd::Acd::reconfigure`]).

use std::collections::BTreeSet;

use super::{Dialplan, Switchboard};
use crate::core::acd::{AgentState, GroupSpec, Policy, Status};
use crate::core::time::Now;

impl Switchboard {
    /// Replaces the operational configuration. Who is logged in carries over for agents that
    /// stay; agents new to every group take `plan.logged_in` (members start logged in) and
    /// become idle at once if their phone is registered. Existing registrations stay until they
    /// expire (a deleted extension simply cannot register again).
    pub fn set_dialplan(&mut self, now: Now, plan: Dialplan) {
        let members = |groups: &[super::GroupConfig]| -> BTreeSet<String> {
            groups
                .iter()
                .flat_map(|g| g.acd.members.iter().cloned())
                .collect()
        };
        let old_members = members(&self.plan.groups);
        let new_members = members(&plan.groups);
        let mut logged_in = std::mem::take(&mut self.plan.logged_in);
        for m in &new_members {
            if !old_members.contains(m) && plan.logged_in.contains(m) {
                logged_in.insert(m.clone());
            }
        }
        let specs: Vec<GroupSpec> = plan
            .groups
            .iter()
            .map(|g| GroupSpec {
                name: g.name.clone(),
                ..g.acd.clone()
            })
            .collect();
        self.acd.reconfigure(now.mono, specs);
        // Hourly counters of routes that keep their prefix carry over (toll-fraud caps).
        self.outbound.reload(plan.routes.clone());
        self.ivr = plan.ivr.clone();
        self.plan = Dialplan { logged_in, ..plan };
        self.configure_chat();
        for m in new_members.difference(&old_members) {
            let ready = self.acd.status(m) == Some(Status::Offline)
                && self.plan.logged_in.contains(m)
                && self.registrar.is_registered(m, now.mono)
                && !self.ext_calls.contains_key(m);
            if ready {
                self.set_agent(now, m, AgentState::Idle);
            }
        }
        // Waiting callers may now have an idle agent.
        self.pump(now);
    }

    /// Replaces the admin's agent policy (which states agents may pick, the break reasons).
    pub fn set_agent_policy(&mut self, policy: Policy) {
        self.acd.set_policy(policy);
    }

    /// The agent policy in force.
    pub fn agent_policy(&self) -> &Policy {
        self.acd.policy()
    }
}
