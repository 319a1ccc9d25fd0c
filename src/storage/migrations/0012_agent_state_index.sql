-- Each agent's last state before a time (the start of every report and of the monitor's
-- rebuild) is found per agent by a skip-scan over this index, so its cost grows with the number
-- of agents, not with the years of history (docs/PERFORMANCE.md (i)).
CREATE INDEX events_agent_state ON events (agent, at_ms, id) WHERE kind = 'agent.state';
