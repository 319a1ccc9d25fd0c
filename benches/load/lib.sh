# Shared helpers for the load benchmarks (sourced, not run).
# Every process is started by us, remembered by PID, and killed by PID in cleanup.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${BRANCHLINE_BIN:-$ROOT/target/x86_64-unknown-linux-gnu/release/branchline}"
SIP_PORT="${SIP_PORT:-25060}"
HTTP_PORT="${HTTP_PORT:-28080}"
DAEMON_CPU="${DAEMON_CPU:-0}"
LOADGEN_CPU="${LOADGEN_CPU:-1}"
# NICE=-10 (needs root) gives the daemon and the load generator priority over other work on a
# shared machine; default 0 = measure as-is. Either way daemon_runq_wait shows the starvation.
NICE="${NICE:-0}"
CLK_TCK="$(getconf CLK_TCK)"
PIDS=()
WORK="$(mktemp -d /tmp/branchline-load.XXXXXX)"

cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null
    done
    # the daemon drains for up to grace_secs (1 s) on SIGTERM
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        local alive=0
        for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.3
    done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null
    done
    PIDS=()
    [ -z "${KEEP_WORK:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# launch_daemon: one daemon process pinned to DAEMON_CPU on $WORK/data; sets DPID, waits for HTTP.
launch_daemon() {
    nice -n "$NICE" taskset -c "$DAEMON_CPU" "$BIN" serve --config "$WORK/branchline.toml" --data "$WORK/data" --demo \
        >>"$WORK/daemon.out" 2>>"$WORK/daemon.err" &
    DPID=$!
    PIDS+=("$DPID")
    local i
    for i in $(seq 1 150); do
        curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" >/dev/null 2>&1 && return 0
        kill -0 "$DPID" 2>/dev/null || { echo "daemon died:"; cat "$WORK/daemon.err" >&2; exit 2; }
        sleep 0.1
    done
    echo "daemon did not come up" >&2; exit 2
}

# stop_daemon: SIGTERM the daemon we started and wait for it.
stop_daemon() {
    kill "$DPID" 2>/dev/null
    wait "$DPID" 2>/dev/null
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" != "$DPID" ] && keep+=("$p"); done
    PIDS=("${keep[@]:-}")
}

# start_daemon: write the config, seed the demo database, and start the daemon.
# Seeding hashes the demo passwords with Argon2 (19 MiB each), which leaves ~75-95 MB in the
# process heap; unless SEED_RESTART=0 the seeding run is stopped and the daemon restarted on the
# seeded database, so RSS figures show the daemon, not the one-off seeding.
start_daemon() {
    [ -x "$BIN" ] || { echo "build first: cargo build --release ($BIN missing)" >&2; exit 2; }
    mkdir -p "$WORK/data"
    cat > "$WORK/branchline.toml" <<TOML
[sip]
listen = ["udp:127.0.0.1:$SIP_PORT"]
[rtp]
ports = "40000-49999"
shards = ${RTP_SHARDS:-1}
[http]
listen = "127.0.0.1:$HTTP_PORT"
[log]
level = "warn"
[shutdown]
grace_secs = 1
TOML
    launch_daemon
    if [ "${SEED_RESTART:-1}" = 1 ]; then
        SEED_RSS_KB=$(rss_kb "$DPID")
        stop_daemon
        # A script may change the seeded database before the measured start (define pre_launch).
        if declare -F pre_launch >/dev/null; then pre_launch; fi
        launch_daemon
    fi
}

# cpu_ticks PID: utime+stime in clock ticks (fields 14,15 of /proc/PID/stat, after the comm).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# run_wait_ns PID: nanoseconds all threads of PID spent runnable but waiting for a CPU
# (second field of /proc/PID/task/*/schedstat): how much other load on the core starved it.
run_wait_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%.0f", s }'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
metric() { curl -fs "http://127.0.0.1:$HTTP_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }

# cpu_pct PID SECONDS: CPU% of one core used by PID over SECONDS (100 = one full core).
cpu_pct() {
    local t0 t1 w0 w1
    t0=$(cpu_ticks "$1"); w0=$(date +%s.%N)
    sleep "$2"
    t1=$(cpu_ticks "$1"); w1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v w0="$w0" -v w1="$w1" -v hz="$CLK_TCK" \
        'BEGIN { printf "%.1f", (b - a) / hz / (w1 - w0) * 100 }'
}

# stat_col FILE COLUMN: last value of a column of a sipp -trace_stat CSV (';' separated).
stat_col() {
    awk -F';' -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
        { v = $k } END { print (v == "" ? 0 : v) }' "$1"
}

# udp_drops LO HI: kernel receive-queue drops summed over loopback UDP sockets bound to ports LO..HI
# (last column of /proc/net/udp; sockets already closed are not counted).
udp_drops() {
    python3 -c 'import sys
lo, hi = int(sys.argv[1]), int(sys.argv[2]); d = 0
for line in list(open("/proc/net/udp"))[1:]:
    f = line.split(); p = int(f[1].split(":")[1], 16)
    if lo <= p <= hi: d += int(f[-1])
print(d)' "$1" "$2"
}

# udp_rxq LO HI: bytes waiting unread in the receive queues of those sockets (a backlog).
udp_rxq() {
    python3 -c 'import sys
lo, hi = int(sys.argv[1]), int(sys.argv[2]); q = 0
for line in list(open("/proc/net/udp"))[1:]:
    f = line.split(); p = int(f[1].split(":")[1], 16)
    if lo <= p <= hi: q += int(f[4].split(":")[1], 16)
print(q)' "$1" "$2"
}

# sipp needs pcap/g711a.pcap relative to its cwd.
prepare_cwd() {
    ln -sfn /usr/share/sip-tester "$WORK/pcap"
}
