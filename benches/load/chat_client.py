#!/usr/bin/env python3
"""Load client for the web-chat channel (docs/PERFORMANCE.md section (l), run by chat.sh).

    chat_client.py CONFIG.json

CONFIG: {"port", "daemon_pid", "visitors", "groups": [..], "agents": [{"ext", "cookie", "csrf"}],
"rate", "reply_rate", "secs", "src_prefix" ("127.0.1."), "per_addr" (starts per source address),
"open_limit" (requests in flight while opening), "out" (result JSON path)}.

One asyncio thread, loopback only, stdlib only. Phases:
1. every agent holds `GET /api/events/stream` (session cookie);
2. `visitors` sessions are opened (`POST /chat/api/sessions`, group round robin), `per_addr`
   of them from each source address 127.0.1.x (the daemon allows 20 starts a minute per
   address), and each holds `GET /chat/api/sessions/{id}/stream?token=` from its address;
3. once every stream has sent `stream.open`: the daemon's RSS and threads (session starts use
   `Connection: close`, so no idle request connection is counted);
4. for `secs` seconds the visitors of assigned sessions send `rate` messages/s and their agents
   reply `reply_rate` messages/s (`POST /api/chats/{id}/messages`), each text tagged; the
   latency is POST sent -> the tagged `chat.message` read from the other side's stream;
5. after a drain (up to 5 s) the per-thread ticks again; everything is written to `out`.
It stops by itself: every phase has a deadline, and it exits when the last one passes.
"""
import asyncio
import json
import os
import sys
import time


def now():
    return time.monotonic()


def thread_ticks(pid):
    """utime+stime per thread name (summed over threads of the same name)."""
    out = {}
    base = f"/proc/{pid}/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index("(") + 1 : s.rindex(")")]
        fields = s[s.rindex(")") + 2 :].split()
        out[name] = out.get(name, 0) + int(fields[11]) + int(fields[12])
    return out


def proc_ticks(pid):
    """utime+stime of the whole process (threads that exited included)."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def status_of(pid):
    d = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "Threads"):
                d[k] = int(v.split()[0])
    return d


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


class Conn:
    """One keep-alive HTTP/1.1 connection for request/response calls."""

    def __init__(self, reader, writer):
        self.r, self.w = reader, writer


class Pool:
    """Keep-alive connections from one source address (requests, not streams)."""

    def __init__(self, port, src):
        self.port, self.src, self.idle = port, src, []

    async def request(self, method, path, body=None, headers=(), keep=True):
        conn = self.idle.pop() if self.idle else None
        for attempt in (0, 1):
            if conn is None:
                r, w = await asyncio.open_connection(
                    "127.0.0.1", self.port, local_addr=(self.src, 0) if self.src else None
                )
                conn = Conn(r, w)
                fresh = True
            else:
                fresh = False
            data = json.dumps(body).encode() if body is not None else b""
            head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            for h in headers:
                head += h + "\r\n"
            if body is not None:
                head += "Content-Type: application/json\r\n"
            if not keep:
                head += "Connection: close\r\n"
            head += f"Content-Length: {len(data)}\r\n\r\n"
            try:
                conn.w.write(head.encode() + data)
                status_line = await conn.r.readline()
                if not status_line:
                    raise ConnectionError("closed")
                status = int(status_line.split()[1])
                length, close = 0, False
                while True:
                    line = await conn.r.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = line.decode("latin-1").partition(":")
                    k = k.strip().lower()
                    if k == "content-length":
                        length = int(v.strip())
                    elif k == "connection" and "close" in v.lower():
                        close = True
                payload = await conn.r.readexactly(length) if length else b""
            except (ConnectionError, asyncio.IncompleteReadError, IndexError, ValueError):
                conn.w.close()
                conn = None
                if fresh or attempt == 1:
                    raise
                continue  # a kept-alive connection the server closed meanwhile: once more
            if close or not keep:
                conn.w.close()
            else:
                self.idle.append(conn)
            return status, payload
        raise ConnectionError("unreachable")


class Bench:
    def __init__(self, cfg):
        self.cfg = cfg
        self.port = cfg["port"]
        self.pid = cfg["daemon_pid"]
        self.pools = {}
        self.sent = {}  # tag -> send time
        self.lat_v2a, self.lat_a2v = [], []  # ms
        self.got = {}  # tag -> times received on the intended side
        self.post_ms = {"visitor": [], "agent": []}
        self.post_err = {}
        self.start_status = {}
        self.stream_open = 0
        self.stream_fail = {}
        self.crosstalk = 0
        self.lagged = 0
        self.agent_open = 0
        self.visitor_echo = 0  # a visitor's own message on its stream
        self.events_seen = 0
        self.stream_tasks = []
        self.stop = False

    def pool(self, src):
        p = self.pools.get(src)
        if p is None:
            p = self.pools[src] = Pool(self.port, src)
        return p

    # --- streams -------------------------------------------------------------------------
    async def hold_stream(self, path, src, headers, on_event, opened):
        """Reads one SSE stream until told to stop; calls on_event(kind, data_json_text)."""
        try:
            r, w = await asyncio.open_connection(
                "127.0.0.1", self.port, local_addr=(src, 0) if src else None
            )
            head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            for h in headers:
                head += h + "\r\n"
            w.write((head + "\r\n").encode())
            status_line = await r.readline()
            parts = status_line.split()
            code = int(parts[1]) if len(parts) > 1 else 0
            if code != 200:
                self.stream_fail[code] = self.stream_fail.get(code, 0) + 1
                opened.set_result(False)
                w.close()
                return
            while (await r.readline()) not in (b"\r\n", b"\n", b""):
                pass
            kind = None
            while not self.stop:
                line = await r.readline()
                if not line:
                    break
                if line.startswith(b"event: "):
                    kind = line[7:].strip().decode()
                    if kind == "stream.open" and not opened.done():
                        opened.set_result(True)
                    elif kind == "stream.lagged":
                        self.lagged += 1
                elif line.startswith(b"data: ") and kind is not None:
                    if kind not in ("stream.open", "stream.lagged"):
                        on_event(kind, line[6:])
                    kind = None
            w.close()
        except (OSError, ValueError, asyncio.IncompleteReadError) as e:
            key = type(e).__name__
            self.stream_fail[key] = self.stream_fail.get(key, 0) + 1
        finally:
            if not opened.done():
                opened.set_result(False)

    def agent_event(self, ext):
        def on(kind, data):
            self.events_seen += 1
            if kind != "chat.message" or b'"text":"bench ' not in data:
                return
            ev = json.loads(data)
            text = ev.get("data", {}).get("text", "")
            tag = text.split()[1] if text.count(" ") >= 1 else ""
            if tag.startswith("v") and tag in self.sent:
                self.got[tag] = self.got.get(tag, 0) + 1
                if self.got[tag] == 1:
                    self.lat_v2a.append((now() - self.sent[tag]) * 1000)
                if ev.get("agent") != ext:
                    self.crosstalk += 1

        return on

    def visitor_event(self, session):
        needle = f'"call_id":"{session}"'.encode()

        def on(kind, data):
            self.events_seen += 1
            if needle not in data:
                self.crosstalk += 1
                return
            if kind != "chat.message" or b'"text":"bench ' not in data:
                return
            ev = json.loads(data)
            text = ev.get("data", {}).get("text", "")
            tag = text.split()[1] if text.count(" ") >= 1 else ""
            if tag.startswith("a") and tag in self.sent:
                self.got[tag] = self.got.get(tag, 0) + 1
                if self.got[tag] == 1:
                    self.lat_a2v.append((now() - self.sent[tag]) * 1000)
            elif tag.startswith("v"):
                self.visitor_echo += 1

        return on

    # --- phases --------------------------------------------------------------------------
    async def open_agents(self):
        for a in self.cfg["agents"]:
            opened = asyncio.get_running_loop().create_future()
            t = asyncio.create_task(
                self.hold_stream(
                    "/api/events/stream",
                    None,
                    [f"Cookie: bl_session={a['cookie']}"],
                    self.agent_event(a["ext"]),
                    opened,
                )
            )
            self.stream_tasks.append(t)
            if await asyncio.wait_for(opened, 10):
                self.agent_open += 1

    async def open_visitor(self, i, sem, sessions):
        cfg = self.cfg
        src = f"{cfg['src_prefix']}{1 + i // cfg['per_addr']}"
        group = cfg["groups"][i % len(cfg["groups"])]
        async with sem:
            try:
                code, body = await self.pool(src).request(
                    "POST", "/chat/api/sessions", {"visitor": f"bench-{i}", "group": group},
                    keep=False,
                )
            except (OSError, ConnectionError, asyncio.IncompleteReadError) as e:
                code, body = type(e).__name__, b""
            self.start_status[code] = self.start_status.get(code, 0) + 1
            if code != 201:
                if len(self.post_err) < 5:
                    self.post_err[f"start {code}"] = body[:200].decode("utf-8", "replace")
                return
            reply = json.loads(body)
            s = reply["session"]
            opened = asyncio.get_running_loop().create_future()
            path = f"/chat/api/sessions/{s['id']}/stream?token={reply['token']}"
            t = asyncio.create_task(
                self.hold_stream(path, src, [], self.visitor_event(s["id"]), opened)
            )
            self.stream_tasks.append(t)
            if await opened:
                self.stream_open += 1
                sessions.append(
                    {"id": s["id"], "token": reply["token"], "src": src,
                     "phase": s["phase"], "agent": s.get("agent")}
                )

    async def send(self, kind, tag, sess, agent):
        text = f"bench {tag} 你好，我想问一下订单的配送进度"
        self.sent[tag] = now()
        t0 = now()
        try:
            if kind == "visitor":
                code, body = await self.pool(sess["src"]).request(
                    "POST", f"/chat/api/sessions/{sess['id']}/messages", {"text": text},
                    [f"X-Chat-Token: {sess['token']}"],
                )
            else:
                code, body = await self.pool(None).request(
                    "POST", f"/api/chats/{sess['id']}/messages", {"text": text},
                    [f"Cookie: bl_session={agent['cookie']}", f"X-CSRF-Token: {agent['csrf']}"],
                )
        except (OSError, ConnectionError, asyncio.IncompleteReadError) as e:
            code, body = type(e).__name__, b""
        if code == 201:
            self.post_ms[kind].append((now() - t0) * 1000)
        else:
            del self.sent[tag]
            key = f"{kind} {code}"
            self.post_err[key] = self.post_err.get(key, "") or body[:200].decode("utf-8", "replace")
            self.post_err_count[key] = self.post_err_count.get(key, 0) + 1

    async def messages(self, active):
        cfg = self.cfg
        agents = {a["ext"]: a for a in cfg["agents"]}
        self.post_err_count = {}
        plan = []  # (time offset, kind)
        for k in range(int(cfg["rate"] * cfg["secs"])):
            plan.append((k / cfg["rate"], "visitor"))
        if cfg["reply_rate"] > 0:
            for k in range(int(cfg["reply_rate"] * cfg["secs"])):
                plan.append((k / cfg["reply_rate"] + 0.5 / cfg["reply_rate"], "agent"))
        plan.sort()
        tasks = []
        t0 = now()
        nv = na = 0
        for off, kind in plan:
            delay = t0 + off - now()
            if delay > 0:
                await asyncio.sleep(delay)
            if kind == "visitor":
                sess = active[nv % len(active)]
                tag = f"v{nv}"
                nv += 1
            else:
                sess = active[na % len(active)]
                tag = f"a{na}"
                na += 1
            tasks.append(asyncio.create_task(self.send(kind, tag, sess, agents[sess["agent"]])))
        send_secs = now() - t0
        await asyncio.gather(*tasks)
        # Drain: wait for every accepted message to arrive (at most 5 s).
        deadline = now() + 5
        while now() < deadline and any(self.got.get(t, 0) == 0 for t in self.sent):
            await asyncio.sleep(0.05)
        return nv, na, send_secs, now() - t0

    async def run(self):
        cfg = self.cfg
        res = {"visitors": cfg["visitors"], "rate": cfg["rate"], "reply_rate": cfg["reply_rate"],
               "secs": cfg["secs"]}
        base = status_of(self.pid)
        await self.open_agents()
        res["agent_streams"] = self.agent_open
        await asyncio.sleep(0.5)
        res["rss_before_kb"] = status_of(self.pid)["VmRSS"]
        sem = asyncio.Semaphore(cfg["open_limit"])
        sessions = []
        t0 = now()
        await asyncio.gather(
            *(self.open_visitor(i, sem, sessions) for i in range(cfg["visitors"]))
        )
        res["open_secs"] = round(now() - t0, 2)
        res["start_status"] = {str(k): v for k, v in self.start_status.items()}
        res["visitor_streams"] = self.stream_open
        res["stream_fail"] = {str(k): v for k, v in self.stream_fail.items()}
        await asyncio.sleep(2)
        st = status_of(self.pid)
        res["rss_open_kb"], res["threads_open"] = st["VmRSS"], st["Threads"]
        res["threads_idle"] = base["Threads"]
        # Kept-alive request connections (none: session starts close theirs, so the RSS sample
        # is the streams' and the sessions').
        res["request_conns"] = sum(len(p.idle) for p in self.pools.values())
        try:
            _, metrics = await self.pool(None).request("GET", "/metrics")
            for line in metrics.decode().splitlines():
                if line.startswith("branchline_live_streams "):
                    res["live_streams_gauge"] = int(line.split()[1])
        except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
            res["live_streams_gauge"] = None
        n = max(1, self.stream_open)
        res["kb_per_visitor"] = round((st["VmRSS"] - res["rss_before_kb"]) / n, 1)
        active = [s for s in sessions if s["phase"] == "active" and s["agent"]]
        res["assigned"] = len(active)
        res["queued"] = sum(1 for s in sessions if s["phase"] == "queued")
        res["per_agent"] = {}
        for s in active:
            res["per_agent"][s["agent"]] = res["per_agent"].get(s["agent"], 0) + 1
        if not active:
            res["error"] = "no session was assigned to an agent"
            return res
        ticks0, w0, p0 = thread_ticks(self.pid), now(), proc_ticks(self.pid)
        c0 = os.times()
        perf = None
        if cfg.get("perf_out"):
            # PERF=1: a flat profile of the daemon over the message phase (bounded by its sleep).
            perf = await asyncio.create_subprocess_exec(
                "perf", "record", "-F", "499", "-p", str(self.pid), "-o", cfg["perf_out"],
                "--", "sleep", str(cfg["secs"]),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )
        ev0 = self.events_seen
        nv, na, send_secs, total_secs = await self.messages(active)
        ticks1, w1, p1 = thread_ticks(self.pid), now(), proc_ticks(self.pid)
        res["process_ticks"] = p1 - p0
        if perf is not None:
            await perf.wait()
        c1 = os.times()
        res["client_cpu_pct"] = round(
            (c1.user + c1.system - c0.user - c0.system) / (w1 - w0) * 100, 1
        )
        res["window_secs"] = round(w1 - w0, 2)
        res["send_secs"] = round(send_secs, 2)
        res["sent_visitor"], res["sent_agent"] = nv, na
        res["accepted_visitor"] = len(self.post_ms["visitor"])
        res["accepted_agent"] = len(self.post_ms["agent"])
        res["post_errors"] = self.post_err_count
        res["post_error_bodies"] = self.post_err
        got_v = sum(1 for t in self.sent if t[0] == "v" and self.got.get(t, 0) > 0)
        got_a = sum(1 for t in self.sent if t[0] == "a" and self.got.get(t, 0) > 0)
        res["delivered_to_agent"], res["delivered_to_visitor"] = got_v, got_a
        res["duplicates"] = sum(max(0, c - 1) for c in self.got.values())
        res["lost_to_agent"] = res["accepted_visitor"] - got_v
        res["lost_to_visitor"] = res["accepted_agent"] - got_a
        res["visitor_echo"] = self.visitor_echo
        res["crosstalk"] = self.crosstalk
        res["lagged_frames"] = self.lagged
        res["events_read"] = self.events_seen - ev0
        for name, vals in (("v2a", self.lat_v2a), ("a2v", self.lat_a2v),
                           ("post_visitor", self.post_ms["visitor"]),
                           ("post_agent", self.post_ms["agent"])):
            for p in (50, 99):
                v = pct(vals, p)
                res[f"{name}_p{p}_ms"] = None if v is None else round(v, 2)
            res[f"{name}_max_ms"] = round(max(vals), 2) if vals else None
        delta = {k: ticks1.get(k, 0) - ticks0.get(k, 0) for k in ticks1}
        res["thread_ticks"] = {k: v for k, v in sorted(delta.items()) if v}
        res["clk_tck"] = os.sysconf("SC_CLK_TCK")
        st = status_of(self.pid)
        res["rss_after_kb"], res["threads_after"] = st["VmRSS"], st["Threads"]
        # Are messages the streams did not deliver in the sessions' transcripts?
        stored = 0
        for sess in active:
            try:
                code, body = await self.pool(sess["src"]).request(
                    "GET", f"/chat/api/sessions/{sess['id']}", None,
                    [f"X-Chat-Token: {sess['token']}"],
                )
            except (OSError, ConnectionError, asyncio.IncompleteReadError):
                continue
            if code == 200:
                for m in json.loads(body).get("messages", []):
                    parts = m.get("text", "").split()
                    if len(parts) > 1 and parts[0] == "bench" and parts[1] in self.sent:
                        stored += 1
        res["in_transcripts"] = stored
        res["missing_from_transcripts"] = len(self.sent) - stored
        return res


async def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    bench = Bench(cfg)
    try:
        res = await asyncio.wait_for(bench.run(), cfg.get("deadline_secs", 300))
    except asyncio.TimeoutError:
        res = {"error": "deadline passed", "visitor_streams": bench.stream_open,
               "start_status": {str(k): v for k, v in bench.start_status.items()}}
    bench.stop = True
    for t in bench.stream_tasks:
        t.cancel()
    await asyncio.gather(*bench.stream_tasks, return_exceptions=True)
    with open(cfg["out"], "w") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    asyncio.run(main())
