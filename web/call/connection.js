// Shared by the customer, invitee and agent pages: a connection-quality
// indicator computed from getStats(), and automatic re-join after a drop.
//
// Quality levels: "good" | "fair" | "poor" | "lost", from the round-trip time
// of the selected ICE candidate pair and the inbound packet loss of the last
// interval (plus "no packets at all" = lost).

import { _ } from "/static/js/i18n.js";

const INTERVAL_MS = 2000;

async function sample(client) {
  const out = { rtt: null, received: 0, lost: 0, bytes: 0 };
  for (const pc of [client.publishPc, client.subscribePc]) {
    if (!pc) continue;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === "candidate-pair" && s.state === "succeeded" && s.nominated && s.currentRoundTripTime != null) {
        out.rtt = Math.max(out.rtt || 0, s.currentRoundTripTime);
      }
      if (s.type === "inbound-rtp") {
        out.received += s.packetsReceived || 0;
        out.lost += Math.max(0, s.packetsLost || 0);
      }
      if (s.type === "outbound-rtp") out.bytes += s.bytesSent || 0;
    });
  }
  return out;
}

export function classify(prev, cur) {
  const received = cur.received - prev.received;
  const lost = cur.lost - prev.lost;
  const sent = cur.bytes - prev.bytes;
  if (received <= 0 && sent <= 0) return "lost";
  const loss = received + lost > 0 ? lost / (received + lost) : 0;
  const rtt = cur.rtt == null ? 0 : cur.rtt;
  if (loss > 0.1 || rtt > 0.6) return "poor";
  if (loss > 0.02 || rtt > 0.25) return "fair";
  return "good";
}

const labels = () => ({ good: _("Good connection"), fair: _("Fair connection"), poor: _("Poor connection"),
  lost: _("No media"), wait: _("Connecting…") });

// Updates `element` (data-level + text) every 2 s; returns a stop function.
export function watchQuality(client, element) {
  let prev = null;
  let stopped = false;
  element.dataset.level = "wait";
  element.textContent = labels().wait;
  const tick = async () => {
    if (stopped) return;
    try {
      const cur = await sample(client);
      if (prev) {
        const level = classify(prev, cur);
        element.dataset.level = level;
        element.textContent = labels()[level];
        element.title = cur.rtt == null ? "" : _("round trip %(ms)s ms", { ms: Math.round(cur.rtt * 1000) });
      }
      prev = cur;
    } catch (err) { /* PCs replaced during a re-join: next tick */ }
    if (!stopped) setTimeout(tick, INTERVAL_MS);
  };
  setTimeout(tick, 500);
  return () => { stopped = true; };
}

// A phone that changes networks (Wi-Fi to mobile data) leaves its socket
// and peer connections silently dead: Chromium calls the connections
// "disconnected" after about 5 s and "failed" after 30 s, and the socket never
// closes. So the client watches its inbound packets; when they stop for
// STALL_MS after flowing, it pings the server. No pong within PING_MS means
// its own path is gone; a pong saying the server gets no media from us
// either means our media path broke (UDP blocked mid-call): both re-join at
// once. Any other pong means the other side stalled (its own client
// re-joins): nothing to do here.
const WATCH_MS = 200;
const STALL_MS = 600;
// A loaded server answers a ping within a few ms; 800 ms leaves room for a
// busy event loop without re-joining everyone (bench/networks.py: E and F).
const PING_MS = 800;

async function inboundPackets(client) {
  let n = 0;
  if (!client.subscribePc) return n;
  (await client.subscribePc.getStats()).forEach((s) => { if (s.type === "inbound-rtp") n += s.packetsReceived || 0; });
  return n;
}

function watchPath(client, rejoin, isBusy) {
  let last = -1;
  let lastChange = Date.now();
  let flowing = false;
  const tick = async () => {
    if (client.left || client.gaveUp || (client.closed && !isBusy())) return;
    if (!isBusy()) {
      const count = await inboundPackets(client).catch(() => null);
      const now = Date.now();
      if (count !== null && count !== last) {
        flowing = count > 0;
        last = count;
        lastChange = now;
      } else if (count !== null && flowing && now - lastChange > STALL_MS) {
        const pong = await client.ping(PING_MS);
        lastChange = Date.now();
        if ((pong === null || pong.receiving === false) && !isBusy() && !client.left) {
          flowing = false;
          last = -1;
          rejoin();
        }
      }
    }
    setTimeout(tick, WATCH_MS);
  };
  setTimeout(tick, WATCH_MS);
}

// Re-join with the same token after the socket or a peer connection drops.
// Tries for `giveUpMs` (default 20 s, at least the 10 s of the brief), then calls
// onState("failed"). onState receives "rejoining" | "ok" | "failed".
export function autoRejoin(client, onState, giveUpMs = 20000) {
  let busy = false;
  const rejoin = async () => {
    if (busy || client.closed || client.gaveUp || client.left) return;
    busy = true;
    onState("rejoining");
    const until = Date.now() + giveUpMs;
    const old = client.ws;
    client.closed = true;            // the old socket's close must not start a second loop
    try { if (old) old.close(); } catch (e) { /* already closed */ }
    while (Date.now() < until && !client.left) {
      try {
        client.closed = false;
        await client.reconnect();
        busy = false;
        onState("ok");
        return;
      } catch (err) {
        client.closed = true;
        try { if (client.ws) client.ws.close(); } catch (e) { /* ignore */ }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    busy = false;
    if (client.left) return;   // the page ended the call meanwhile
    client.gaveUp = true;
    onState("failed");
  };
  client.addEventListener("disconnected", () => { if (!busy) rejoin(); });
  client.addEventListener("connectionstate", ({ detail }) => {
    if (detail.state === "failed" && !busy) rejoin();
  });
  watchPath(client, rejoin, () => busy);
  return rejoin;
}

// First inbound video frame decoded (for the latency measurement): polls getStats.
// `source` filters by the server's track info ("camera", "presentation").
export async function firstFrame(client, source = "camera", timeoutMs = 30000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const s = await client.stats().catch(() => null);
    const ok = (v) => v.framesDecoded > 0 && (!source || (client.tracks.get(v.mid) || {}).source === source);
    if (s && s.inboundVideo.some(ok)) return Date.now();
    await new Promise((r) => setTimeout(r, 20));
  }
  return null;
}

export function fmtElapsed(ms) {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
