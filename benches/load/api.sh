#!/usr/bin/env bash
# Panel API under load (docs/PERFORMANCE.md (j)): a demo database filled with a year of history
# (CALLS CDRs and their events, 100,000 customers; benches/cdr_fill.rs), the release daemon pinned
# to CPU $DAEMON_CPU, SIPp short calls at CPS calls/s on the other CPU for the whole run, and wrk
# (loopback, Basic auth) against each endpoint in turn for DUR seconds with CONNS connections.
#
# usage: benches/load/api.sh [DUR] ; env CALLS=1000000 CPS=50 CONNS=8 CDR_FILL=<fill binary>
#        DB_TEMPLATE=<filled db> KEEP_WORK=1 (keep $WORK, e.g. to reuse its database) SKIP_REPORT=1
# prints one line per endpoint:
#   RESULT api name=.. p50_ms=.. p99_ms=.. rps=.. non2xx=.. rss_mb=.. pass=yes|no (p99 < 50 ms)
source "$(dirname "$0")/lib.sh"
DUR="${1:-15}"
CALLS="${CALLS:-1000000}"
CPS="${CPS:-50}"
CONNS="${CONNS:-8}"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y --no-install-recommends wrk" >&2; exit 2; }

# The filler runs between the seeding start and the measured start (lib.sh start_daemon).
# DB_TEMPLATE=<a filled branchline.db> skips the fill (copy of an earlier run's database).
pre_launch() {
    local t0=$SECONDS
    if [ -n "${DB_TEMPLATE:-}" ]; then
        rm -f "$WORK/data/branchline.db-wal" "$WORK/data/branchline.db-shm"
        cp "$DB_TEMPLATE" "$WORK/data/branchline.db"
        echo "db: $(du -sh "$WORK/data" | cut -f1) (copied from $DB_TEMPLATE)"
        return
    fi
    if [ -n "${CDR_FILL:-}" ]; then
        "$CDR_FILL" "$WORK/data/branchline.db" "$CALLS" >"$WORK/fill.out" 2>&1
    else
        (cd "$ROOT" && cargo bench --bench cdr_fill -- "$WORK/data/branchline.db" "$CALLS") >"$WORK/fill.out" 2>&1
    fi || { cat "$WORK/fill.out" >&2; exit 2; }
    echo "fill: $(tail -1 "$WORK/fill.out") ($(( SECONDS - t0 )) s wall)"
    echo "db: $(du -sh "$WORK/data" | cut -f1)"
}

start_daemon
prepare_cwd
cp "$HERE"/uas_echo.xml "$HERE"/uac_short.xml "$WORK/"
cd "$WORK"

# The cursor 250,000 rows deep: the list's order is (started_at_ms, rowid) newest first, and a
# cursor is "c<start hex>.<rowid hex>" (src/storage/call_list.rs), read here from the database.
DEEP=$(sqlite3 "$WORK/data/branchline.db" \
    "SELECT printf('c%x.%x', started_at_ms, rowid) FROM cdrs ORDER BY started_at_ms DESC, rowid DESC LIMIT 1 OFFSET 249999")
ENDPOINTS=(
    "calls_page1 /api/calls?page=1"
    "calls_page500 /api/calls?page=500"
    "calls_page1_500 /api/calls?page=1&per_page=500"
    "calls_after_250k /api/calls?after=$DEEP"
    "calls_after_250k_500 /api/calls?after=$DEEP&per_page=500"
    "calls_agent /api/calls?agent=agent7"
    "calls_agent_after_250k /api/calls?agent=agent7&after=$DEEP"
    "calls_caller /api/calls?caller=13800007400"
    "calls_number /api/calls?number=13800007400"
    "calls_group_month /api/calls?skill_group=sales&from=$(date -d '-40 days' +%F)&to=$(date -d '-10 days' +%F)"
    "customer_phone /api/customers?phone=13800007400"
)
# SKIP_REPORT=1 leaves out the month report (seconds per request, GBs of RSS).
[ -n "${SKIP_REPORT:-}" ] || ENDPOINTS+=(
    "report_month /api/reports/skill-groups/daily?from=$(date -d '-40 days' +%F)&to=$(date -d '-10 days' +%F)"
)
TOTAL_SECS=$(( (DUR + 3) * ${#ENDPOINTS[@]} + 10 ))

nice -n "$NICE" taskset -c "$LOADGEN_CPU" sipp -sf uas_echo.xml -i 127.0.0.1 -p 5080 -mi 127.0.0.1 -mp 16000 \
    -nostdin -timeout $(( TOTAL_SECS + 40 ))s -max_socket 65000 >uas.out 2>&1 &
UAS=$!; PIDS+=("$UAS")
sleep 0.5
nice -n "$NICE" taskset -c "$LOADGEN_CPU" sipp 127.0.0.1:"$SIP_PORT" -sf uac_short.xml -i 127.0.0.1 -p 5070 \
    -s 1001 -au 1001 -ap pass1001 -r "$CPS" -m $(( CPS * TOTAL_SECS )) -l $(( CPS * 10 )) \
    -nostdin -timeout $(( TOTAL_SECS + 30 ))s -trace_stat -stf uac_stat.csv -fd 1 >uac.out 2>&1 &
UAC=$!; PIDS+=("$UAC")
sleep 2

AUTH="Authorization: Basic YWRtaW46YWRtaW4="   # admin:admin (demo profile)
BASE="http://127.0.0.1:$HTTP_PORT"
# One request first: Basic credentials are verified (argon2) once, then cached.
curl -fs -H "$AUTH" "$BASE/api/health" >/dev/null
curl -fs -H "$AUTH" "$BASE/api/calls?page=1&per_page=1" >/dev/null || { echo "API not answering" >&2; exit 2; }

# wrk's --latency table prints "50%  1.23ms"; convert us/ms/s to ms.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
all_pass=yes
for e in "${ENDPOINTS[@]}"; do
    name=${e%% *}; path=${e#* }
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$BASE$path")
    # A month's report reads the month's events into memory: one supervisor at a time by default
    # (8 at once took 2.8 GB RSS and 10 s per request over a year of 1 M calls).
    conns=$CONNS; [ "$name" = report_month ] && conns=${REPORT_CONNS:-1}
    nice -n "$NICE" taskset -c "$LOADGEN_CPU" wrk -t1 -c"$conns" -d"${DUR}s" --timeout 10s --latency \
        -H "$AUTH" "$BASE$path" >"wrk_$name.out" 2>&1
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "wrk_$name.out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "wrk_$name.out")")
    rps=$(awk '/^Requests\/sec/ { print $2 }' "wrk_$name.out")
    non2xx=$(awk '/Non-2xx/ { print $NF }' "wrk_$name.out"); non2xx=${non2xx:-0}
    rss=$(( $(rss_kb "$DPID") / 1024 ))
    pass=no
    awk -v p="$p99" -v r="$rps" -v s="$code" -v n="$non2xx" 'BEGIN { exit !(p < 50 && r > 0 && s == 200 && n == 0) }' && pass=yes
    [ "$pass" = yes ] || all_pass=no
    echo "RESULT api name=$name status=$code p50_ms=$p50 p99_ms=$p99 rps=$rps non2xx=$non2xx rss_mb=$rss" \
         "calls=$CALLS cps=$CPS conns=$conns secs=$DUR load=$(loadavg) pass=$pass"
done
ok=$(stat_col uac_stat.csv 'SuccessfulCall(C)'); failed=$(stat_col uac_stat.csv 'FailedCall(C)')
echo "RESULT api_sipp ok=$ok failed=$failed cps=$CPS"
[ "$all_pass" = yes ]
