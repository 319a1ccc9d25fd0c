#!/usr/bin/env bash
# Concurrent relayed G.711 calls with RTP both ways, media from an efficient generator:
# SIPp carries only the signalling (extension 1001 dials 9<n>, routed out to a SIPp UAS on the
# trunk address 127.0.0.1:5080); rtp_blast.c sends 50 packets/s per call to each call's caller-
# side relay port from one socket; the relay forwards them to rtp_echo.c (the far end named in
# the UAS's SDP), which returns them; the relay forwards those back to rtp_blast, which counts
# them. No raw sockets on the box (SIPp's pcap replay adds a copy of every packet to them).
# Relay ports are predictable on a fresh daemon: call k gets caller-side port PORT_MIN + 4k.
# Daemon pinned to CPU $DAEMON_CPU; SIPp, rtp_blast and rtp_echo to $LOADGEN_CPU.
#
# usage: benches/load/relay.sh N [SECONDS]
# prints one line:
#   RESULT relay n=N peak_active=.. ok=.. failed=.. daemon_cpu=..% sent=.. received=.. lost_pct=.. pass=yes|no
source "$(dirname "$0")/lib.sh"
N="${1:?usage: relay.sh N [SECONDS]}"
MEDIA_SECS="${2:-15}"
RATE="${RATE:-$(( N / 10 > 20 ? N / 10 : 20 ))}"
RAMP=$(( (N + RATE - 1) / RATE ))
HOLD_MS=$(( (RAMP + MEDIA_SECS + 8) * 1000 ))
PORT_MIN="${RTP_PORT_MIN:-40000}"

start_daemon
prepare_cwd
cp "$HERE"/uas_echo.xml "$HERE"/uac_hold.xml "$WORK/"
cd "$WORK"
cc -O2 -o rtp_echo "$HERE/rtp_echo.c" || exit 2
cc -O2 -o rtp_blast "$HERE/rtp_blast.c" || exit 2
sed -i 's/m=audio \[media_port\]/m=audio 17000/' uas_echo.xml
taskset -c "$LOADGEN_CPU" ./rtp_echo 17000 $(( RAMP + MEDIA_SECS + 60 )) >echo.out 2>&1 &
ECHO_PID=$!; PIDS+=("$ECHO_PID")
taskset -c "$LOADGEN_CPU" sipp -sf uas_echo.xml -i 127.0.0.1 -p 5080 -mi 127.0.0.1 -mp 16000 \
    -nostdin -timeout $(( RAMP + MEDIA_SECS + 60 ))s -max_socket 65000 -trace_err -error_file uas_err.log \
    >uas.out 2>&1 &
UAS=$!; PIDS+=("$UAS")
sleep 0.5
taskset -c "$LOADGEN_CPU" sipp 127.0.0.1:"$SIP_PORT" -sf uac_hold.xml -i 127.0.0.1 -p 5070 \
    -mi 127.0.0.1 -s 1001 -au 1001 -ap pass1001 -l "$N" -r "$RATE" -m "$N" -d "$HOLD_MS" \
    -nostdin -timeout $(( RAMP + MEDIA_SECS + 50 ))s -trace_stat -stf uac_stat.csv -fd 1 \
    -trace_err -error_file uac_err.log >uac.out 2>&1 &
UAC=$!; PIDS+=("$UAC")

peak=0
deadline=$(( SECONDS + RAMP + 10 ))
while [ $SECONDS -lt $deadline ]; do
    a=$(metric branchline_active_calls); a=${a:-0}
    [ "$a" -gt "$peak" ] && peak=$a
    [ "$a" -ge "$N" ] && break
    sleep 0.5
done
taskset -c "$LOADGEN_CPU" ./rtp_blast 18000 "$PORT_MIN" "$N" 4 "$MEDIA_SECS" >blast.out 2>&1 &
BLAST=$!; PIDS+=("$BLAST")
sleep 3   # the first packets latch every leg; sample in steady state
t_d0=$(cpu_ticks "$DPID"); t_b0=$(cpu_ticks "$BLAST"); t_e0=$(cpu_ticks "$ECHO_PID"); q0=$(run_wait_ns "$DPID"); w0=$(date +%s.%N)
sleep 5
t_d1=$(cpu_ticks "$DPID"); t_b1=$(cpu_ticks "$BLAST"); t_e1=$(cpu_ticks "$ECHO_PID"); q1=$(run_wait_ns "$DPID"); w1=$(date +%s.%N)
pct() { awk -v a="$1" -v b="$2" -v w0="$w0" -v w1="$w1" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (b-a)/hz/(w1-w0)*100 }'; }
dcpu=$(pct "$t_d0" "$t_d1"); bcpu=$(pct "$t_b0" "$t_b1"); ecpu=$(pct "$t_e0" "$t_e1")
dwait=$(awk -v a="$q0" -v b="$q1" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.1f", (b-a)/1e9/(w1-w0)*100 }')
rss=$(( $(rss_kb "$DPID") / 1024 ))
load=$(loadavg)
drops_daemon=$(udp_drops 40000 49999)
wait "$BLAST"
read -r sent received lost_pct late < <(sed -E 's/[a-z_]+=//g' blast.out)
wait "$UAC"; rc=$?
ok=$(stat_col uac_stat.csv 'SuccessfulCall(C)'); failed=$(stat_col uac_stat.csv 'FailedCall(C)')
pass=no
if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$ok" = "$N" ] && [ "$peak" -ge "$N" ] && [ "$drops_daemon" = 0 ] \
   && [ -n "$lost_pct" ] && awk -v l="$lost_pct" 'BEGIN { exit !(l < 0.1) }'; then pass=yes; fi
echo "RESULT relay n=$N peak_active=$peak ok=$ok failed=$failed sipp_rc=$rc daemon_cpu=${dcpu}%" \
     "daemon_runq_wait=${dwait}% blast_cpu=${bcpu}% echo_cpu=${ecpu}% rss_mb=$rss sent=$sent received=$received" \
     "lost_pct=$lost_pct late_ticks=$late drops_daemon=$drops_daemon load=$load pass=$pass"
[ "$pass" = yes ]
