#!/usr/bin/env bash
# Live-stream capacity of the web tier: N clients hold GET /api/events/stream open while agent
# state changes are published; reports RSS, threads and events delivered.
#
#   benches/load/sse.sh 500 1000 2000        # one daemon per step
#
# Each step: fresh demo daemon (seeded, then restarted so RSS is the daemon's own), admin
# session cookie, N streams from sse_client.c (one epoll thread), wait until the daemon's
# branchline_live_streams gauge shows N, sample RSS/threads, toggle agent1 break/idle
# $TOGGLES times (each toggle = 2 agent.state events to every admin stream), then check that
# every stream received them. Knobs: TOGGLES (5), HOLD_SECS (stream lifetime, 40),
# BRANCHLINE_BIN (default: the release build).
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
TOGGLES="${TOGGLES:-5}"
HOLD_SECS="${HOLD_SECS:-40}"
CLIENT="$WORK/sse_client"
cc -O2 -o "$CLIENT" "$HERE/sse_client.c" || exit 2
base="http://127.0.0.1:$HTTP_PORT"

printf '%-6s %-8s %-8s %-10s %-10s %-12s %s\n' clients open threads rss_idle_kb rss_kb kb_per_client events_min/expected
for N in "${@:-500 1000 2000}"; do
    start_daemon
    rss0=$(rss_kb "$DPID")
    curl -fs -c "$WORK/jar" -H 'Content-Type: application/json' \
        -d '{"username":"admin","password":"admin"}' "$base/api/login" >/dev/null || { echo "login failed"; exit 2; }
    cookie=$(awk '$6 == "bl_session" { print $7 }' "$WORK/jar")
    "$CLIENT" 127.0.0.1 "$HTTP_PORT" /api/events/stream "$N" "$HOLD_SECS" "Cookie: bl_session=$cookie" \
        >"$WORK/client.out" 2>&1 &
    CPID=$!
    PIDS+=("$CPID")
    for _ in $(seq 1 $((HOLD_SECS * 5))); do
        [ "$(metric branchline_live_streams)" = "$N" ] && break
        sleep 0.2
    done
    sleep 1
    rss=$(rss_kb "$DPID")
    threads=$(awk '/^Threads:/ { print $2 }' "/proc/$DPID/status")
    for _ in $(seq 1 "$TOGGLES"); do
        for s in break idle; do
            curl -fs -H "Content-Type: application/json" \
                -u admin:admin -d "{\"state\":\"$s\",\"reason\":\"小休\"}" "$base/api/agents/agent1/state" >/dev/null \
                || echo "state change failed" >&2
        done
    done
    wait "$CPID"
    summary=$(tail -1 "$WORK/client.out")
    open=$(sed -n 's/.*open=\([0-9]*\).*/\1/p' <<<"$summary")
    min=$(sed -n 's/.*min=\([0-9]*\).*/\1/p' <<<"$summary")
    per=$(( (rss - rss0) / (N > 0 ? N : 1) ))
    printf '%-6s %-8s %-8s %-10s %-10s %-12s %s/%s\n' "$N" "$open" "$threads" "$rss0" "$rss" "$per" "$min" "$((TOGGLES * 2))"
    stop_daemon
    rm -rf "$WORK/data" "$WORK/jar"
done
