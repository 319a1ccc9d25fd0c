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
cat > "$WORK/reg.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="register with digest">
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[service]@[remote_ip]:[remote_port]>;tag=[pid]r[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:[service]@[local_ip]:[local_port]>
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[service]@[remote_ip]:[remote_port]>;tag=[pid]r[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:[service]@[local_ip]:[local_port]>
      [authentication]
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200"/>
</scenario>
XML
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
