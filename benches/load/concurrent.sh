#!/usr/bin/env bash
# Concurrent relayed G.711a calls: sipp UAC as extension 1001 dials 9<n> -> branchline -> sipp UAS
# on the trunk address 127.0.0.1:5080 whose SDP points at an RTP echo (see ECHO below). Each call plays g711a.pcap
# three times (21 s of PCMA at 30 ms, 33.3 packets/s each way on each leg).
# Daemon pinned to CPU $DAEMON_CPU, both sipp instances to CPU $LOADGEN_CPU.
#
# usage: benches/load/concurrent.sh N [RATE]
# prints one line:
#   RESULT concurrent n=N peak_active=.. ok=.. failed=.. daemon_cpu=..% sipp_uac_cpu=..% sipp_uas_cpu=..%
#          rss_mb=.. lost=.. roundtrip_loss=..% load=.. pass=yes|no
source "$(dirname "$0")/lib.sh"
N="${1:?usage: concurrent.sh N [RATE]}"
RATE="${2:-$(( N / 10 > 20 ? N / 10 : 20 ))}"   # ramp in ~10 s so every call overlaps >= 10 s
RAMP=$(( (N + RATE - 1) / RATE ))
SAMPLE_SECS="${SAMPLE_SECS:-5}"
# pass = every call succeeded, all N were up at once, the daemon's sockets dropped nothing, and the
# sequence gaps the daemon counted on its inbound legs (lost_pct) stay < 0.1 %. roundtrip_loss and
# excess_loss are informative: the packets still in flight through the echo when the UAC hangs up
# never come back (a tail, not a gap), and that tail grows with the load generator's scheduling lag.

start_daemon
prepare_cwd
cp "$HERE"/uas_echo.xml "$HERE"/uac_media.xml "$WORK/"
cd "$WORK"

# ECHO=c (default): a batched C echo (rtp_echo.c) on port 17000 answers the media, because sipp's
# own -rtp_echo socket overflows near 300 calls (drops_uas); ECHO=sipp uses sipp's -rtp_echo.
ECHO="${ECHO:-c}"
if [ "$ECHO" = c ]; then
    cc -O2 -o rtp_echo "$HERE/rtp_echo.c" || exit 2
    sed -i 's/m=audio \[media_port\]/m=audio 17000/' uas_echo.xml
    nice -n "$NICE" taskset -c "$LOADGEN_CPU" ./rtp_echo 17000 $(( RAMP + 70 )) >echo.out 2>&1 &
    ECHO_PID=$!; PIDS+=("$ECHO_PID"); echo_flag=""; echo_ports="17000 17000"
else
    ECHO_PID=""; echo_flag="-rtp_echo"; echo_ports="16000 16003"
fi
nice -n "$NICE" taskset -c "$LOADGEN_CPU" sipp -sf uas_echo.xml -i 127.0.0.1 -p 5080 -mi 127.0.0.1 -mp 16000 $echo_flag \
    -nostdin -timeout $(( RAMP + 60 ))s -max_socket 65000 -trace_err -error_file uas_err.log \
    >uas.out 2>&1 &
UAS=$!; PIDS+=("$UAS")
sleep 0.5

nice -n "$NICE" taskset -c "$LOADGEN_CPU" sipp 127.0.0.1:"$SIP_PORT" -sf uac_media.xml -i 127.0.0.1 -p 5070 \
    -mi 127.0.0.1 -mp 26000 -s 1001 -au 1001 -ap pass1001 -l "$N" -r "$RATE" -m "$N" \
    -nostdin -timeout $(( RAMP + 50 ))s -trace_stat -stf uac_stat.csv -fd 1 \
    -trace_err -error_file uac_err.log >uac.out 2>&1 &
UAC=$!; PIDS+=("$UAC")

# Wait until all N calls are up (or the ramp plus slack is over), then sample.
peak=0
deadline=$(( SECONDS + RAMP + 8 ))
while [ $SECONDS -lt $deadline ]; do
    a=$(metric branchline_active_calls); a=${a:-0}
    [ "$a" -gt "$peak" ] && peak=$a
    [ "$a" -ge "$N" ] && break
    sleep 0.5
done
# Sample the three processes over the same window.
q0=$(run_wait_ns "$DPID"); t_d0=$(cpu_ticks "$DPID"); t_c0=$(cpu_ticks "$UAC"); t_s0=$(cpu_ticks "$UAS"); w0=$(date +%s.%N)
t_e0=$( [ -n "$ECHO_PID" ] && cpu_ticks "$ECHO_PID" || echo 0)
sleep "$SAMPLE_SECS"
q1=$(run_wait_ns "$DPID"); t_d1=$(cpu_ticks "$DPID"); t_c1=$(cpu_ticks "$UAC"); t_s1=$(cpu_ticks "$UAS"); w1=$(date +%s.%N)
t_e1=$( [ -n "$ECHO_PID" ] && cpu_ticks "$ECHO_PID" || echo 0)
a=$(metric branchline_active_calls); a=${a:-0}; [ "$a" -gt "$peak" ] && peak=$a
pct() { awk -v a="$1" -v b="$2" -v w0="$w0" -v w1="$w1" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (b-a)/hz/(w1-w0)*100 }'; }
dcpu=$(pct "$t_d0" "$t_d1"); dwait=$(awk -v a="$q0" -v b="$q1" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.1f", (b-a)/1e9/(w1-w0)*100 }'); ccpu=$(pct "$t_c0" "$t_c1"); scpu=$(pct "$t_s0" "$t_s1"); ecpu=$(pct "$t_e0" "$t_e1")
rss=$(( $(rss_kb "$DPID") / 1024 ))
load=$(loadavg)
# Where packets are dropped by the kernel (socket buffer full), measured while the calls are up.
drops_uas=$(udp_drops $echo_ports); drops_uac=$(udp_drops 26000 26003); drops_daemon=$(udp_drops 40000 49999); rxq_daemon=$(udp_rxq 40000 49999)
if [ -n "${THREADS:-}" ]; then top -H -b -n 1 -p "$DPID" | head -20 > "$THREADS"; fi

wait "$UAC"; rc=$?
ok=$(stat_col uac_stat.csv 'SuccessfulCall(C)'); failed=$(stat_col uac_stat.csv 'FailedCall(C)')
sleep 1.5   # let the daemon write the last CDRs
read -r cdrs a_in a_out b_in b_out lost rt lost_pct excess < <(python3 "$HERE/cdr_loss.py" "$HTTP_PORT")
pass=no
if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$ok" = "$N" ] && [ "$peak" -ge "$N" ] \
   && [ "$drops_daemon" = 0 ] && awk -v l="$lost_pct" 'BEGIN { exit !(l < 0.1) }'; then pass=yes; fi
echo "RESULT concurrent n=$N rate=$RATE peak_active=$peak ok=$ok failed=$failed sipp_rc=$rc" \
     "daemon_cpu=${dcpu}% daemon_runq_wait=${dwait}% sipp_uac_cpu=${ccpu}% sipp_uas_cpu=${scpu}% echo=$ECHO echo_cpu=${ecpu}% rss_mb=$rss cdrs=$cdrs" \
     "a_in=$a_in a_out=$a_out b_in=$b_in b_out=$b_out lost=$lost roundtrip_loss=${rt}% lost_pct=${lost_pct}% excess_loss=${excess}% drops_daemon=$drops_daemon rxq_daemon_bytes=$rxq_daemon drops_uas=$drops_uas drops_uac=$drops_uac load=$load nice=$NICE pass=$pass"
[ "$pass" = yes ] || { tail -3 uac_err.log 2>/dev/null | cut -c1-300; }
[ "$pass" = yes ]
