#!/usr/bin/env bash
# Short-call setup rate: extension 1001 dials 9<n> (407, authenticated INVITE, 200, ACK, BYE, no media)
# -> branchline -> sipp UAS on the trunk 127.0.0.1:5080 (answers at once).
# Daemon pinned to CPU $DAEMON_CPU, both sipp instances to CPU $LOADGEN_CPU.
#
# usage: benches/load/cps.sh RATE [SECONDS]
# prints: RESULT cps rate=.. achieved=.. calls=.. ok=.. failed=.. fail_pct=.. daemon_cpu=..% ... pass=yes|no
source "$(dirname "$0")/lib.sh"
RATE="${1:?usage: cps.sh RATE [SECONDS]}"
DUR="${2:-20}"
TOTAL=$(( RATE * DUR ))

start_daemon
prepare_cwd
cp "$HERE"/uas_echo.xml "$HERE"/uac_short.xml "$WORK/"
cd "$WORK"

nice -n "$NICE" taskset -c "$LOADGEN_CPU" sipp -sf uas_echo.xml -i 127.0.0.1 -p 5080 -mi 127.0.0.1 -mp 16000 \
    -nostdin -timeout $(( DUR + 40 ))s -max_socket 65000 >uas.out 2>&1 &
UAS=$!; PIDS+=("$UAS")
sleep 0.5

# -l caps concurrency so an overloaded daemon shows up as failures, not as an unbounded backlog.
nice -n "$NICE" taskset -c "$LOADGEN_CPU" sipp 127.0.0.1:"$SIP_PORT" -sf uac_short.xml -i 127.0.0.1 -p 5070 \
    -s 1001 -au 1001 -ap pass1001 -r "$RATE" -m "$TOTAL" -l $(( RATE * 10 )) \
    -nostdin -timeout $(( DUR + 30 ))s -trace_stat -stf uac_stat.csv -fd 1 \
    -trace_err -error_file uac_err.log >uac.out 2>&1 &
UAC=$!; PIDS+=("$UAC")

# Sample the steady middle of the run.
sleep $(( DUR / 4 ))
q0=$(run_wait_ns "$DPID"); t_d0=$(cpu_ticks "$DPID"); t_c0=$(cpu_ticks "$UAC"); t_s0=$(cpu_ticks "$UAS"); w0=$(date +%s.%N)
sleep $(( DUR / 2 ))
q1=$(run_wait_ns "$DPID"); t_d1=$(cpu_ticks "$DPID"); t_c1=$(cpu_ticks "$UAC"); t_s1=$(cpu_ticks "$UAS"); w1=$(date +%s.%N)
pct() { awk -v a="$1" -v b="$2" -v w0="$w0" -v w1="$w1" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (b-a)/hz/(w1-w0)*100 }'; }
dcpu=$(pct "$t_d0" "$t_d1"); dwait=$(awk -v a="$q0" -v b="$q1" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.1f", (b-a)/1e9/(w1-w0)*100 }'); ccpu=$(pct "$t_c0" "$t_c1"); scpu=$(pct "$t_s0" "$t_s1")
rss=$(( $(rss_kb "$DPID") / 1024 ))
load=$(loadavg)
if [ -n "${THREADS:-}" ]; then top -H -b -n 1 -p "$DPID" | head -20 > "$THREADS"; fi
start=$SECONDS
wait "$UAC"; rc=$?
ok=$(stat_col uac_stat.csv 'SuccessfulCall(C)'); failed=$(stat_col uac_stat.csv 'FailedCall(C)')
elapsed=$(stat_col uac_stat.csv 'ElapsedTime(C)')   # hh:mm:ss:usec
secs=$(echo "$elapsed" | awk -F: '{ printf "%.1f", $1*3600 + $2*60 + $3 + $4/1e6 }')
done_calls=$(( ok + failed ))
fail_pct=$(awk -v f="$failed" -v t="$TOTAL" 'BEGIN { printf "%.3f", 100 * (t - 0 > 0 ? f / t : 0) }')
unfinished=$(( TOTAL - done_calls ))
# the last calls linger 4 s in <timewait>, which is not setup time
achieved=$(awk -v c="$ok" -v s="$secs" 'BEGIN { printf "%.0f", (s > 4 ? c / (s - 4) : 0) }')
pass=no
if [ "$rc" = 0 ] || [ "$rc" = 1 ]; then
    awk -v f="$failed" -v u="$unfinished" -v t="$TOTAL" 'BEGIN { exit !((f + u) / t < 0.001) }' && pass=yes
fi
echo "RESULT cps rate=$RATE secs=$DUR calls=$TOTAL ok=$ok failed=$failed unfinished=$unfinished fail_pct=$fail_pct" \
     "sipp_elapsed=${secs}s achieved_cps=$achieved sipp_rc=$rc daemon_cpu=${dcpu}% daemon_runq_wait=${dwait}% sipp_uac_cpu=${ccpu}%" \
     "sipp_uas_cpu=${scpu}% rss_mb=$rss load=$load nice=$NICE pass=$pass"
[ "$pass" = yes ] || { tail -3 uac_err.log 2>/dev/null | cut -c1-300; }
[ "$pass" = yes ]
