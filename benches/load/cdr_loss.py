#!/usr/bin/env python3
"""Sum per-leg RTP counters over all CDRs of the daemon (GET /api/calls, Basic admin:admin).

Prints: calls a_in a_out b_in b_out lost_reported roundtrip_loss_pct lost_pct excess_pct
  a = the extension leg (sipp UAC), b = the trunk leg (sipp UAS with -rtp_echo).
  round trip: packets the UAC sent (a_in) should come back to it (a_out) after
  daemon -> UAS echo -> daemon; roundtrip_loss_pct = 100 * (1 - a_out / a_in).
  The packet the UAC sends just before its BYE is still in flight when the session closes, so
  excess_pct counts only the round-trip shortfall beyond one packet per call.
  lost_pct = 100 * lost / (a_in + b_in): sequence gaps the daemon saw on its inbound legs.
"""
import base64, json, sys, urllib.request

port = sys.argv[1] if len(sys.argv) > 1 else "28080"
auth = base64.b64encode(b"admin:admin").decode()
tot = dict(calls=0, a_in=0, a_out=0, b_in=0, b_out=0, lost=0)
page = 1
while True:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/calls?page={page}&per_page=500",
        headers={"Authorization": "Basic " + auth})
    body = json.load(urllib.request.urlopen(req, timeout=30))
    items = body.get("items", [])
    for it in items:
        legs = it.get("legs") or []
        if isinstance(legs, str):
            legs = json.loads(legs)
        tot["calls"] += 1
        for leg in legs:
            rtp = leg.get("rtp") or {}
            s = leg.get("side")
            if s in ("a", "b"):
                tot[s + "_in"] += rtp.get("packets_in", 0)
                tot[s + "_out"] += rtp.get("packets_out", 0)
            tot["lost"] += rtp.get("lost", 0)
    if len(items) < 500:
        break
    page += 1
rt = 100.0 * (1 - tot["a_out"] / tot["a_in"]) if tot["a_in"] else float("nan")
short = tot["a_in"] - tot["a_out"]
excess = 100.0 * max(0, short - tot["calls"]) / tot["a_in"] if tot["a_in"] else float("nan")
lost = 100.0 * tot["lost"] / (tot["a_in"] + tot["b_in"]) if tot["a_in"] else float("nan")
print(tot["calls"], tot["a_in"], tot["a_out"], tot["b_in"], tot["b_out"], tot["lost"], f"{rt:.3f}",
      f"{lost:.3f}", f"{excess:.3f}")
