//! `/metrics` in the Prometheus text exposition format 0.0.4 (SPEC §1 observability).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use super::live::Shared;

/// The content type Prometheus expects for format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders every metric with its `# HELP` and `# TYPE` lines.
pub fn render(shared: &Shared) -> String {
    let m = &shared.metrics;
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let mut out = String::with_capacity(2048);
    simple(
        &mut out,
        "branchline_active_calls",
        "gauge",
        "Calls in progress.",
        get(&m.active_calls),
    );
    simple(
        &mut out,
        "branchline_registrations",
        "gauge",
        "Registered SIP contacts.",
        get(&m.registrations),
    );
    simple(
        &mut out,
        "branchline_queue_length",
        "gauge",
        "Callers waiting in all queues.",
        get(&m.queue_length),
    );
    labelled(
        &mut out,
        "branchline_agents",
        "gauge",
        "Agents by state.",
        "state",
        &[("idle", get(&m.agents_idle)), ("busy", get(&m.agents_busy))],
    );
    simple(
        &mut out,
        "branchline_draining",
        "gauge",
        "1 while a graceful shutdown is in progress.",
        u64::from(shared.draining.load(Ordering::Relaxed)),
    );
    simple(
        &mut out,
        "branchline_live_streams",
        "gauge",
        "Live event streams (SSE clients) connected to the web tier.",
        (shared.events.subscribers() + shared.events.session_subscribers()) as u64,
    );
    simple(
        &mut out,
        "branchline_calls_total",
        "counter",
        "Calls offered since start.",
        get(&m.calls_total),
    );
    simple(
        &mut out,
        "branchline_rtp_packets_total",
        "counter",
        "RTP packets relayed since start.",
        get(&m.rtp_packets),
    );
    simple(
        &mut out,
        "branchline_sip_requests_total",
        "counter",
        "SIP requests received since start.",
        get(&m.sip_requests),
    );
    labelled(
        &mut out,
        "branchline_sip_responses_total",
        "counter",
        "SIP responses by status class.",
        "class",
        &[
            ("2xx", get(&m.sip_responses_2xx)),
            ("3xx", get(&m.sip_responses_3xx)),
            ("4xx", get(&m.sip_responses_4xx)),
            ("5xx", get(&m.sip_responses_5xx)),
            ("6xx", get(&m.sip_responses_6xx)),
        ],
    );
    out
}

fn simple(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
    );
}

/// One metric family with a single label; label values here are fixed literals, so they need
/// no escaping.
fn labelled(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    label: &str,
    series: &[(&str, u64)],
) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    for (value_label, value) in series {
        let _ = writeln!(out, "{name}{{{label}=\"{value_label}\"}} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_line_is_preceded_by_its_help_and_type() {
        let shared = Shared::default();
        shared.metrics.active_calls.store(7, Ordering::Relaxed);
        shared.metrics.sip_responses_4xx.store(3, Ordering::Relaxed);
        shared.metrics.agents_busy.store(2, Ordering::Relaxed);
        let text = render(&shared);
        assert!(text.contains("# TYPE branchline_active_calls gauge\nbranchline_active_calls 7\n"));
        assert!(text.contains("branchline_sip_responses_total{class=\"4xx\"} 3\n"));
        assert!(text.contains("branchline_agents{state=\"busy\"} 2\n"));
        assert!(text.ends_with('\n'));
        // Every family is declared once, before its samples.
        let mut declared = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap().to_owned());
            } else if !line.starts_with('#') {
                let family = line.split(['{', ' ']).next().unwrap();
                assert_eq!(declared.last().map(String::as_str), Some(family), "{line}");
            }
        }
        assert_eq!(declared.len(), 10);
    }
}
