#!/usr/bin/env bash
# Simultaneous IVR callers (SPEC §15, issue: >= 500 with in-band DTMF detection on): SIPp on the
# trunk address 127.0.0.1:5080 calls DID 4000; every caller is answered by the IVR, hears the
# welcome prompt (then silence in the menu) and sends 21 s of PCMA audio that the in-band
# detector inspects frame by frame. The demo menu is first given a long timeout so callers stay
# in the IVR for the whole call. Daemon pinned to CPU $DAEMON_CPU, SIPp to $LOADGEN_CPU.
#
# usage: benches/load/ivr.sh N [RATE]
# prints one line:
#   RESULT ivr n=N peak_active=.. ok=.. failed=.. daemon_cpu=..% rss_mb=.. prompt_out=.. in=.. load=.. pass=yes|no
source "$(dirname "$0")/lib.sh"
N="${1:?usage: ivr.sh N [RATE]}"
RATE="${2:-$(( N / 10 > 20 ? N / 10 : 20 ))}"
RAMP=$(( (N + RATE - 1) / RATE ))
SAMPLE_SECS="${SAMPLE_SECS:-5}"

start_daemon
prepare_cwd
cp "$HERE"/uac_ivr.xml "$WORK/"
cd "$WORK"

# Keep callers in the menu: 120 s timeout, 9 retries (the panel API, as an admin would).
curl -fs -u admin:admin "http://127.0.0.1:$HTTP_PORT/api/ivr-flows/main" >flow.json || exit 2
python3 - <<'PY' || exit 2
import json
f = json.load(open("flow.json"))
for n in f["nodes"].values():
    if n.get("type") == "menu":
        n["timeout_ms"] = 120000
        n["retries"] = 9
json.dump(f, open("flow.json", "w"))
PY
curl -fs -u admin:admin -X PUT -H 'Content-Type: application/json' --data @flow.json \
    "http://127.0.0.1:$HTTP_PORT/api/ivr-flows/main" >/dev/null || exit 2
sleep 1   # the engine reloads flows on its next tick

nice -n "$NICE" taskset -c "$LOADGEN_CPU" sipp 127.0.0.1:"$SIP_PORT" -sf uac_ivr.xml -i 127.0.0.1 -p 5080 \
    -mi 127.0.0.1 -mp 26000 -s 13900000000 -l "$N" -r "$RATE" -m "$N" \
    -nostdin -timeout $(( RAMP + 50 ))s -trace_stat -stf uac_stat.csv -fd 1 \
    -trace_err -error_file uac_err.log >uac.out 2>&1 &
UAC=$!; PIDS+=("$UAC")

peak=0
deadline=$(( SECONDS + RAMP + 8 ))
while [ $SECONDS -lt $deadline ]; do
    a=$(metric branchline_active_calls); a=${a:-0}
    [ "$a" -gt "$peak" ] && peak=$a
    [ "$a" -ge "$N" ] && break
    sleep 0.5
done
t_d0=$(cpu_ticks "$DPID"); t_c0=$(cpu_ticks "$UAC"); q0=$(run_wait_ns "$DPID"); w0=$(date +%s.%N)
sleep "$SAMPLE_SECS"
t_d1=$(cpu_ticks "$DPID"); t_c1=$(cpu_ticks "$UAC"); q1=$(run_wait_ns "$DPID"); w1=$(date +%s.%N)
a=$(metric branchline_active_calls); a=${a:-0}; [ "$a" -gt "$peak" ] && peak=$a
pct() { awk -v a="$1" -v b="$2" -v w0="$w0" -v w1="$w1" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (b-a)/hz/(w1-w0)*100 }'; }
dcpu=$(pct "$t_d0" "$t_d1"); ccpu=$(pct "$t_c0" "$t_c1")
dwait=$(awk -v a="$q0" -v b="$q1" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.1f", (b-a)/1e9/(w1-w0)*100 }')
rss=$(( $(rss_kb "$DPID") / 1024 ))
load=$(loadavg)
drops_daemon=$(udp_drops 40000 49999)

wait "$UAC"; rc=$?
ok=$(stat_col uac_stat.csv 'SuccessfulCall(C)'); failed=$(stat_col uac_stat.csv 'FailedCall(C)')
sleep 1.5
read -r cdrs a_in a_out b_in b_out lost rt lost_pct excess < <(python3 "$HERE/cdr_loss.py" "$HTTP_PORT")
pass=no
if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$ok" = "$N" ] && [ "$peak" -ge "$N" ] && [ "$drops_daemon" = 0 ]; then pass=yes; fi
echo "RESULT ivr n=$N rate=$RATE peak_active=$peak ok=$ok failed=$failed sipp_rc=$rc daemon_cpu=${dcpu}%" \
     "daemon_runq_wait=${dwait}% sipp_uac_cpu=${ccpu}% rss_mb=$rss cdrs=$cdrs caller_in=$a_in prompt_out=$a_out" \
     "drops_daemon=$drops_daemon load=$load pass=$pass"
[ "$pass" = yes ] || { tail -3 uac_err.log 2>/dev/null | cut -c1-300; }
[ "$pass" = yes ]
