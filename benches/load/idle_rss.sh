#!/usr/bin/env bash
# Daemon RSS at idle (3 s after start; first start that seeds the demo, then a restart), then after NREG REGISTERs from the demo extensions.
# usage: benches/load/idle_rss.sh [NREG]
source "$(dirname "$0")/lib.sh"
NREG="${1:-1000}"
# First start seeds the demo database (Argon2 hashing of the demo passwords).
SEED_RESTART=0 start_daemon
sleep 3
seed_rss=$(rss_kb "$DPID")
stop_daemon
# The daemon as it runs every later day: restarted on the seeded database.
launch_daemon
sleep 3
idle=$(rss_kb "$DPID")
# The digest REGISTER of one desk phone (shared with the other load scripts).
cp "$HERE/uac_register.xml" "$WORK/reg.xml"
cd "$WORK"
# Each REGISTER is a fresh Call-ID; the demo has only 10 extensions, so this is mostly churn on 1001.
taskset -c "$LOADGEN_CPU" sipp 127.0.0.1:"$SIP_PORT" -sf reg.xml -i 127.0.0.1 -p 5072 -s 1001 \
    -au 1001 -ap pass1001 -r 200 -m "$NREG" -nostdin -timeout 60s -trace_stat -stf reg.csv -fd 1 \
    >reg.out 2>&1 &
REG=$!; PIDS+=("$REG")
wait "$REG"; rc=$?
ok=$(stat_col reg.csv 'SuccessfulCall(C)')
sleep 2
after=$(rss_kb "$DPID")
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$DPID/status")
echo "RESULT idle_rss first_start_with_seeding_mb=$(awk -v k="$seed_rss" 'BEGIN { printf "%.1f", k/1024 }') idle_mb=$(awk -v k="$idle" 'BEGIN { printf "%.1f", k/1024 }')" \
     "after_${NREG}_registers_mb=$(awk -v k="$after" 'BEGIN { printf "%.1f", k/1024 }') registers_ok=$ok sipp_rc=$rc" \
     "threads=$threads load=$(loadavg) pass=$(awk -v k="$idle" 'BEGIN { print (k < 30*1024 ? "yes" : "no") }')"
