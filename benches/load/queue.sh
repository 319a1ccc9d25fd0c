#!/usr/bin/env bash
# Queue distribution at rate: AGENTS agents (extensions 2001.., members of skill group `load`,
# DID 4100) registered from one SIPp "agent farm" that answers every call after 100 ms of
# ringing; trunk callers (SIPp on the carrier port 5080) dial 4100 at RATE calls/s and hang up
# HOLD_MS after the box answers them. The ACD must hand every call to an idle agent.
# Daemon pinned to CPU $DAEMON_CPU, both SIPp instances to CPU $LOADGEN_CPU.
#
# usage: benches/load/queue.sh RATE [SECONDS]      (env: AGENTS=200 HOLD_MS=1000)
# prints one line:
#   RESULT queue agents=.. rate=.. calls=.. answered_by_agent=.. failed=.. distributed_per_s=..
#          wait_p50_ms=.. wait_p99_ms=.. daemon_cpu=..% ... pass=yes|no
source "$(dirname "$0")/lib.sh"
RATE="${1:?usage: queue.sh RATE [SECONDS]}"
DUR="${2:-20}"
AGENTS="${AGENTS:-200}"
HOLD_MS="${HOLD_MS:-1000}"
TOTAL=$(( RATE * DUR ))

# Before the measured start: AGENTS extensions, one longest-idle group of them, DID 4100.
pre_launch() {
    python3 - "$WORK/data/branchline.db" "$AGENTS" <<'PY'
import sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
with c:
    exts = [str(2001 + i) for i in range(n)]
    c.executemany("INSERT INTO extensions (number, sip_password) VALUES (?, ?)",
                  [(e, "pass" + e) for e in exts])
    c.execute("INSERT INTO skill_groups (name, number, strategy, ring_timeout_secs, record, max_wait_secs) "
              "VALUES ('load', '6100', 'longest-idle', 5, 0, 0)")
    c.executemany("INSERT INTO skill_group_members (group_name, extension) VALUES ('load', ?)",
                  [(e,) for e in exts])
    c.execute("INSERT INTO dids (number, target_kind, target) VALUES ('4100', 'group', 'load')")
PY
}

start_daemon
prepare_cwd
cp "$HERE"/agent_answer.xml "$HERE"/uac_queue.xml "$WORK/"
cd "$WORK"
# Agent farms of up to 50 agents each (SIPp's scenario parser stops near 64 KB): one SIPp "call"
# per farm registers its agents in turn (SIPp cannot take digest credentials from an injection
# file), then stays up; INVITEs to the agents arrive out of that call and are answered by the
# -oocsf scenario.
FARM_SIZE=50
farm=0
for first in $(seq 2001 "$FARM_SIZE" $(( 2000 + AGENTS ))); do
    last=$(( first + FARM_SIZE - 1 )); [ "$last" -gt $(( 2000 + AGENTS )) ] && last=$(( 2000 + AGENTS ))
    python3 - "$first" "$last" > "farm$farm.xml" <<'PY'
import sys
first, last = int(sys.argv[1]), int(sys.argv[2])
head = """      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:{e}@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00{e}
      To: <sip:{e}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: {cseq} REGISTER
      Contact: <sip:{e}@[local_ip]:[local_port];transport=[transport]>
"""
tail = """      Max-Forwards: 70
      Expires: 3600
      Content-Length: 0

"""
print('<?xml version="1.0" encoding="ISO-8859-1" ?>')
print('<!DOCTYPE scenario SYSTEM "sipp.dtd">')
print('<scenario name="agent farm registration">')
for i, e in enumerate(range(first, last + 1)):
    print('  <send retrans="500"><![CDATA[')
    print(head.format(e=e, cseq=2 * i + 1) + tail + '  ]]></send>')
    print('  <recv response="401" auth="true"/>')
    print('  <send retrans="500"><![CDATA[')
    auth = "      [authentication username=%d password=pass%d]" % (e, e)
    print(head.format(e=e, cseq=2 * i + 2) + auth + "\n" + tail + '  ]]></send>')
    print('  <recv response="200"/>')
print('  <pause/>')
print('</scenario>')
PY
    nice -n "$NICE" taskset -c "$LOADGEN_CPU" sipp 127.0.0.1:"$SIP_PORT" -sf "farm$farm.xml" \
        -oocsf agent_answer.xml -i 127.0.0.1 -p $(( 5090 + farm )) -mi 127.0.0.1 -mp $(( 17000 + 100 * farm )) \
        -m 1 -d $(( (DUR + 40) * 1000 )) -max_socket 65000 \
        -nostdin -timeout $(( DUR + 60 ))s -trace_err -error_file "farm${farm}_err.log" >"farm$farm.out" 2>&1 &
    PIDS+=("$!")
    farm=$(( farm + 1 ))
done
deadline=$(( SECONDS + 30 ))
while :; do
    idle=$(curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" | awk '$1 == "branchline_agents{state=\"idle\"}" { print $2 }')
    [ "${idle:-0}" -ge "$AGENTS" ] && break
    [ $SECONDS -lt $deadline ] || { echo "only ${idle:-0} of $AGENTS agents idle" >&2; exit 2; }
    sleep 0.5
done

# The carrier port is shared with the interop tests: take their lock (released at exit).
exec 9>/tmp/branchline-interop-5080.lock
flock 9
nice -n "$NICE" taskset -c "$LOADGEN_CPU" sipp 127.0.0.1:"$SIP_PORT" -sf uac_queue.xml -s 4100 \
    -i 127.0.0.1 -p 5080 -mi 127.0.0.1 -mp 18000 -r "$RATE" -m "$TOTAL" -l $(( RATE * 10 )) \
    -d "$HOLD_MS" -max_socket 65000 -nostdin -timeout $(( DUR + 40 ))s \
    -trace_stat -stf uac_stat.csv -fd 1 -trace_err -error_file uac_err.log >uac.out 2>&1 &
UAC=$!; PIDS+=("$UAC")

sleep $(( DUR / 4 ))
t_d0=$(cpu_ticks "$DPID"); q0=$(run_wait_ns "$DPID"); w0=$(date +%s.%N)
sleep $(( DUR / 2 ))
t_d1=$(cpu_ticks "$DPID"); q1=$(run_wait_ns "$DPID"); w1=$(date +%s.%N)
dcpu=$(awk -v a="$t_d0" -v b="$t_d1" -v w0="$w0" -v w1="$w1" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (b-a)/hz/(w1-w0)*100 }')
dwait=$(awk -v a="$q0" -v b="$q1" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.1f", (b-a)/1e9/(w1-w0)*100 }')
rss=$(( $(rss_kb "$DPID") / 1024 ))
load=$(loadavg)
wait "$UAC"; rc=$?
ok=$(stat_col uac_stat.csv 'SuccessfulCall(C)'); failed=$(stat_col uac_stat.csv 'FailedCall(C)')
sleep 2   # the last CDRs are committed by the writer thread

# From the CDRs: how many queue calls an agent answered, at what rate, after what wait.
read -r answered per_s p50 p99 < <(python3 - "$WORK/data/branchline.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("SELECT answered_at_ms, wait_secs FROM cdrs WHERE skill_group = 'load' "
                 "AND agent_extension IS NOT NULL AND answered_at_ms IS NOT NULL "
                 "ORDER BY answered_at_ms").fetchall()
if len(rows) < 2:
    print(len(rows), 0, 0, 0); sys.exit()
span = (rows[-1][0] - rows[0][0]) / 1000.0
waits = sorted(r[1] * 1000 for r in rows)
pick = lambda q: waits[min(len(waits) - 1, int(q * len(waits)))]
print(len(rows), "%.1f" % ((len(rows) - 1) / span if span > 0 else 0), "%.0f" % pick(0.5), "%.0f" % pick(0.99))
PY
)
pass=no
if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$answered" = "$TOTAL" ]; then pass=yes; fi
echo "RESULT queue agents=$AGENTS rate=$RATE calls=$TOTAL ok=$ok failed=$failed sipp_rc=$rc" \
     "answered_by_agent=$answered distributed_per_s=$per_s wait_p50_ms=$p50 wait_p99_ms=$p99" \
     "daemon_cpu=${dcpu}% daemon_runq_wait=${dwait}% rss_mb=$rss load=$load pass=$pass"
[ "$pass" = yes ]
