//! Live reconfiguration through the switchboard: a group and a DID added without a restart take
//! the next trunk call, while a waiting caller and a talking agent are left as they were.

use super::*;

/// The Sim's plan with a new group `vip` (6002, member 1003) reached by DID 4002.
fn with_vip(sim: &Sim) -> Dialplan {
    let mut plan = sim.sb.plan.clone();
    plan.groups.push(group("vip", "6002", &["1003"], false));
    plan.dids
        .insert("4002".into(), Destination::Group("vip".into()));
    plan
}

#[test]
fn a_group_and_did_added_live_take_the_next_trunk_call() {
    let mut sim = Sim::new();
    sim.register("1003", port_of("1003"));
    let plan = with_vip(&sim);
    let now = sim.now;
    sim.sb.set_dialplan(now, plan);
    sim.drain();
    assert_eq!(sim.sb.agent_status("1003"), Some(Status::Idle));
    sim.trunk_call("live-1", "4002");
    let rung = sim.rung();
    assert_eq!(rung.len(), 1, "{rung:?}");
    assert_eq!(rung[0].0, "1003");
    assert!(sim
        .events_of("queue.entered")
        .iter()
        .any(|e| e.group.as_deref() == Some("vip")));
}

#[test]
fn a_waiting_caller_and_a_talking_agent_are_untouched_by_a_reload() {
    let mut sim = Sim::new();
    sim.register("1001", port_of("1001"));
    // 1001 answers the first support call; the second waits (1002 is not registered).
    sim.trunk_call("talk-1", "4001");
    let rung = sim.rung();
    assert_eq!(rung.len(), 1);
    let (ext, inv) = rung[0].clone();
    sim.answer(port_of(ext), &inv);
    sim.trunk_call("wait-1", "4001");
    assert!(sim.rung().is_empty());
    assert_eq!(sim.sb.acd.queue_len("support"), 1);

    let mut plan = with_vip(&sim);
    // support loses 1002 and gains 1003 (registered): the waiting caller goes to 1003.
    if let Some(g) = plan.groups.iter_mut().find(|g| g.name == "support") {
        g.acd.members = vec!["1001".into(), "1003".into()];
    }
    sim.register("1003", port_of("1003"));
    // 1003 is no support member yet: still nobody for the waiting caller.
    assert!(sim.rung().is_empty());
    let now = sim.now;
    sim.sb.set_dialplan(now, plan);
    sim.drain();
    assert_eq!(sim.sb.agent_status("1001"), Some(Status::Talking));
    assert_eq!(sim.sb.active_calls(), 2, "no call was dropped");
    let rung = sim.rung();
    assert_eq!(
        rung.len(),
        1,
        "the waiting caller is offered to the new member"
    );
    assert_eq!(rung[0].0, "1003");
    assert_eq!(
        sim.sb.agent_status("1002"),
        None,
        "removed member forgotten"
    );
}

#[test]
fn the_agent_policy_decides_which_breaks_agents_may_take() {
    let mut sim = Sim::new();
    sim.register("1001", port_of("1001"));
    let now = sim.now;
    assert!(sim
        .sb
        .agent_request(now, "1001", "break", Some("培训"))
        .is_ok());
    sim.sb.set_agent_policy(crate::core::acd::Policy {
        selectable: [
            crate::core::acd::StateKind::Idle,
            crate::core::acd::StateKind::Break,
        ]
        .into_iter()
        .collect(),
        break_reasons: vec!["用餐".into()],
    });
    assert!(sim.sb.agent_request(now, "1001", "idle", None).is_ok());
    let refused = sim.sb.agent_request(now, "1001", "break", Some("培训"));
    assert!(refused.is_err(), "{refused:?}");
    assert!(sim
        .sb
        .agent_request(now, "1001", "invisible", None)
        .is_err());
    assert_eq!(
        sim.sb.agent_request(now, "1001", "break", Some("用餐")),
        Ok("break:用餐".to_owned())
    );
}
