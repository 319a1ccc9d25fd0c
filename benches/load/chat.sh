#!/usr/bin/env bash
# Web chat under load (SPEC §9; docs/PERFORMANCE.md section (l)): N visitors each open a chat
# session and hold its event stream while the four demo agents hold theirs; then visitors and
# agents exchange messages at a bounded rate. Reports RSS/threads with every stream open,
# delivery latency both ways, lost messages, and the daemon's CPU per message by thread.
#
#   benches/load/chat.sh 500 1000 2000        # one fresh daemon per step
#
# Each step: fresh demo daemon (seeded, then restarted); admin raises agent1..agent4's chat limit
# (接待上限) to CHAT_LIMIT with PUT /api/users/{name}; SIPp registers the four desk phones
# (1001..1004), which makes the agents available; each agent signs in (cookie + CSRF token).
# Then benches/load/chat_client.py (one asyncio thread, pinned to LOADGEN_CPU):
#   - the agents' GET /api/events/stream;
#   - N × POST /chat/api/sessions (groups support/sales in turn), PER_ADDR starts from each
#     loopback source address 127.0.1.x — the daemon allows 20 starts a minute per address and
#     has no knob for it, so the client binds several addresses instead — and N visitor streams;
#   - RSS/threads once every stream sent stream.open;
#   - RATE visitor messages/s and REPLY_RATE agent replies/s for SECS seconds over the assigned
#     sessions, per-thread CPU ticks of the daemon before/after.
# Knobs: CHAT_LIMIT (20), RATE (200), REPLY_RATE (100), SECS (10), PER_ADDR (20), OPEN_LIMIT (32),
# BRANCHLINE_BIN (default: the release build, as every load script), PERF=1 (perf record of the
# daemon over the message phase, to $RESULT_DIR/perf.N.data), RESULT_DIR (keep the JSON results).
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
CHAT_LIMIT="${CHAT_LIMIT:-20}"
RATE="${RATE:-200}"
REPLY_RATE="${REPLY_RATE:-100}"
SECS="${SECS:-10}"
PER_ADDR="${PER_ADDR:-20}"
OPEN_LIMIT="${OPEN_LIMIT:-32}"
base="http://127.0.0.1:$HTTP_PORT"
AGENTS="agent1:1001 agent2:1002 agent3:1003 agent4:1004"

# The digest REGISTER of one desk phone (shared with the other load scripts).
cp "$HERE/uac_register.xml" "$WORK/reg.xml"

# register EXT: one REGISTER (digest) of the desk phone EXT, from its own SIPp instance.
register() {
    local ext="$1" port=$(( 5100 + ${1#100} ))
    (cd "$WORK" && taskset -c "$LOADGEN_CPU" sipp 127.0.0.1:"$SIP_PORT" -sf reg.xml -i 127.0.0.1 -p "$port" \
        -s "$ext" -au "$ext" -ap "pass$ext" -m 1 -nostdin -timeout 10s >"reg$ext.out" 2>&1) &
    local p=$!
    PIDS+=("$p")
    wait "$p" || { echo "REGISTER of $ext failed:" >&2; cat "$WORK/reg$ext.out" >&2; exit 2; }
}

# login USER PASSWORD: prints "cookie csrf".
login() {
    local body
    body=$(curl -fs -c "$WORK/jar.$1" -H 'Content-Type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$base/api/login") || { echo "login $1 failed" >&2; exit 2; }
    printf '%s %s\n' "$(awk '$6 == "bl_session" { print $7 }' "$WORK/jar.$1")" \
        "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])' <<<"$body")"
}

for N in "${@:-500 1000 2000}"; do
    : > "$WORK/daemon.err"; : > "$WORK/daemon.out"
    start_daemon
    rss_idle=$(rss_kb "$DPID")
    read -r acookie acsrf < <(login admin admin)
    n=0
    for a in $AGENTS; do
        user=${a%%:*} ext=${a#*:}
        n=$((n + 1))
        code=$(curl -s -o "$WORK/put.out" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
            -H "Cookie: bl_session=$acookie" -H "X-CSRF-Token: $acsrf" \
            -d "{\"display_name\":\"Agent $n\",\"role\":\"agent\",\"extension\":\"$ext\",\"chat_limit\":$CHAT_LIMIT}" \
            "$base/api/users/$user")
        [ "$code" = 200 ] || { echo "PUT /api/users/$user: $code $(cat "$WORK/put.out")" >&2; exit 2; }
    done
    sleep 1 # the engine reloads the dialplan (chat limits) after the write
    for a in $AGENTS; do register "${a#*:}"; done
    for _ in $(seq 1 50); do
        online=$(curl -fs "$base/chat/api/config?group=sales" | python3 -c 'import json,sys; print(json.load(sys.stdin)["online"])')
        [ "$online" = True ] && break
        sleep 0.1
    done
    [ "$online" = True ] || { echo "agents did not become available for chats" >&2; exit 2; }
    agents_json="["
    for a in $AGENTS; do
        read -r c x < <(login "${a%%:*}" agent)
        agents_json+="{\"ext\":\"${a#*:}\",\"cookie\":\"$c\",\"csrf\":\"$x\"},"
    done
    agents_json="${agents_json%,}]"
    cat > "$WORK/client.json" <<JSON
{"port": $HTTP_PORT, "daemon_pid": $DPID, "visitors": $N, "groups": ["support", "sales"],
 "agents": $agents_json, "rate": $RATE, "reply_rate": $REPLY_RATE, "secs": $SECS,
 "src_prefix": "127.0.1.", "per_addr": $PER_ADDR, "open_limit": $OPEN_LIMIT,
 "deadline_secs": $(( 120 + SECS * 3 )), "out": "$WORK/result.$N.json",
 "perf_out": "$( [ "${PERF:-0}" = 1 ] && echo "${RESULT_DIR:-$WORK}/perf.$N.data" )"}
JSON
    load0=$(loadavg)
    runq0=$(run_wait_ns "$DPID"); w0=$(date +%s.%N)
    taskset -c "$LOADGEN_CPU" python3 "$HERE/chat_client.py" "$WORK/client.json" >"$WORK/client.$N.out" 2>&1 &
    CPID=$!
    PIDS+=("$CPID")
    wait "$CPID" || { echo "client failed:" >&2; cat "$WORK/client.$N.out" >&2; }
    runq1=$(run_wait_ns "$DPID"); w1=$(date +%s.%N)
    load1=$(loadavg)
    python3 - "$WORK/result.$N.json" "$rss_idle" "$load0" "$load1" "$CLK_TCK" \
        "$(awk -v a="$runq0" -v b="$runq1" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.1f", (b - a) / 1e9 / (w1 - w0) * 100 }')" <<'PY'
import collections, json, sys
try:
    r = collections.defaultdict(lambda: None, json.load(open(sys.argv[1])))
except (OSError, ValueError):
    print("RESULT chat error=no result from the client"); sys.exit(0)
idle, load0, load1, hz, runq = int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
if "error" in r:
    print("RESULT chat error=" + json.dumps(dict(r), ensure_ascii=False)); sys.exit(0)
ticks = r.get("thread_ticks") or {}
msgs = (r.get("accepted_visitor") or 0) + (r.get("accepted_agent") or 0)
def per_msg(name):
    t = sum(v for k, v in ticks.items() if k == name or (name.endswith("*") and k.startswith(name[:-1])))
    return t, (t / hz * 1e6 / msgs if msgs else 0)
eng, eng_us = per_msg("branchline")
web, web_us = per_msg("web")
hnd, hnd_us = per_msg("web-handler")
wr, wr_us = per_msg("storage-writer")
tot = r.get("process_ticks") or sum(ticks.values())
print(f"RESULT chat visitors={r['visitors']} sessions={r['start_status']} streams={r['visitor_streams']}+{r['agent_streams']}agents"
      f" gauge={r.get('live_streams_gauge')} request_conns={r.get('request_conns')} stream_fail={r['stream_fail']} assigned={r['assigned']} queued={r['queued']} open_secs={r['open_secs']}"
      f" threads={r['threads_open']} rss_idle_mb={idle/1024:.1f} rss_agents_mb={r['rss_before_kb']/1024:.1f}"
      f" rss_open_mb={r['rss_open_kb']/1024:.1f} kb_per_visitor={r['kb_per_visitor']}"
      f" rss_after_msgs_mb={r['rss_after_kb']/1024:.1f}")
print(f"RESULT chat_msgs visitors={r['visitors']} sent={r['sent_visitor']}+{r['sent_agent']} accepted={r['accepted_visitor']}+{r['accepted_agent']}"
      f" in_secs={r['send_secs']} post_errors={r['post_errors']} lost_to_agent={r['lost_to_agent']} lost_to_visitor={r['lost_to_visitor']}"
      f" missing_from_transcripts={r.get('missing_from_transcripts')} dup={r['duplicates']} crosstalk={r['crosstalk']} lagged={r['lagged_frames']}"
      f" v2a_p50={r['v2a_p50_ms']}ms v2a_p99={r['v2a_p99_ms']}ms v2a_max={r['v2a_max_ms']}ms"
      f" a2v_p50={r['a2v_p50_ms']}ms a2v_p99={r['a2v_p99_ms']}ms a2v_max={r['a2v_max_ms']}ms"
      f" post_v_p50={r['post_visitor_p50_ms']}ms post_v_p99={r['post_visitor_p99_ms']}ms"
      f" post_a_p50={r['post_agent_p50_ms']}ms post_a_p99={r['post_agent_p99_ms']}ms")
print(f"RESULT chat_cpu visitors={r['visitors']} window_s={r['window_secs']} ticks={ticks}"
      f" engine_us_per_msg={eng_us:.0f} web_us_per_msg={web_us:.0f} handlers_us_per_msg={hnd_us:.0f}"
      f" writer_us_per_msg={wr_us:.0f} total_us_per_msg={(tot / hz * 1e6 / msgs if msgs else 0):.0f}"
      f" daemon_cpu={tot / hz / r['window_secs'] * 100:.1f}% client_cpu={r.get('client_cpu_pct')}% daemon_runq_wait={runq}% load={load0}..{load1}")
if r.get("post_error_bodies"):
    print("errors:", json.dumps(r["post_error_bodies"], ensure_ascii=False))
PY
    if grep -q 'ERROR\|WARN' "$WORK/daemon.err" "$WORK/daemon.out"; then
        echo "daemon log (warn/error), last 5 of $(cat "$WORK/daemon.err" "$WORK/daemon.out" | grep -c 'ERROR\|WARN'):"
        cat "$WORK/daemon.err" "$WORK/daemon.out" | grep 'ERROR\|WARN' | tail -5
    fi
    cp "$WORK/result.$N.json" "${RESULT_DIR:-$WORK}/chat.$N.json" 2>/dev/null
    stop_daemon
    rm -rf "$WORK/data" "$WORK"/jar.*
done
