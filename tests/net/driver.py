"""One topology, end to end: build the lab, start the real server in ``srv``,
and run calls between a real Chromium customer in ``cust`` and a real
Chromium agent in ``agt`` (fake camera and microphone).

Run it only as the first process of a sandbox (lab.sandboxed); it writes a
JSON report: per call whether media flowed both ways (getStats), the
selected candidate pair on each side, and the time from the agent's
accept to the first decoded video frame on both sides.

    unshare ... python3 tests/net/driver.py --topology A --work DIR --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(HERE)]

from lab import CONTROL, HTTPS_PORT, MEDIA_PORTS, TOPOLOGIES, TURN_HOST, TURN_SECRET, Lab, Topology, in_host  # noqa: E402

PORT = HTTPS_PORT
LAB_NAME = "vidzzle.lab"
"""The server's name in topology C: split DNS, as at a dealer (the LAN address inside, the router's outside)."""
FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
         "--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required",
         "--ignore-certificate-errors"]
"""No --allow-loopback-in-peer-connection: each browser offers its lab address only."""
CALL_TIMEOUT_S = 45

FIRST_FRAME_JS = """async (timeoutMs) => {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const c = window.vidzzle && window.vidzzle.client;
    const s = c && c.subscribePc ? await c.stats().catch(() => null) : null;
    if (s && s.inboundVideo.some((v) => v.framesDecoded > 0)) return Date.now();
    await new Promise((r) => setTimeout(r, 10));
  }
  return null;
}"""

PAIRS_JS = """async () => {
  const c = window.vidzzle && window.vidzzle.client;
  const out = {pairs: {}, remote: {}, offered: {}};
  for (const [name, pc] of [["publish", c && c.publishPc], ["subscribe", c && c.subscribePc]]) {
    if (!pc) continue;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
    if (!pair) stats.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s; });
    if (!pair) { out.pairs[name] = null; continue; }
    const kind = (x) => x ? `${x.candidateType}/${x.relayProtocol || x.protocol}` : "?";
    const remote = stats.get(pair.remoteCandidateId);
    out.pairs[name] = `${kind(stats.get(pair.localCandidateId))} - ${kind(remote)}`;
    out.remote[name] = remote ? remote.address : null;
    const offered = new Set();
    stats.forEach((s) => { if (s.type === "remote-candidate") offered.add(s.candidateType); });
    out.offered[name] = [...offered].sort();
  }
  return out;
}"""


MEDIA_GAP_JS = """async ([sinceMs, timeoutMs]) => {
  // The longest stretch without a newly decoded inbound video frame that
  // ends after sinceMs (a re-join replaces the PCs: any change of the total
  // with frames in it counts as progress). null: video never resumed.
  const c = window.vidzzle && window.vidzzle.client;
  const total = async () => {
    const s = c ? await c.stats().catch(() => null) : null;
    return s ? s.inboundVideo.reduce((n, v) => n + v.framesDecoded, 0) : 0;
  };
  const until = Date.now() + timeoutMs;
  let prev = await total();
  let last = Date.now();
  let gap = 0;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    const now = Date.now();
    const cur = await total();
    if (cur !== prev && cur > 0) {
      if (now > sinceMs) gap = Math.max(gap, now - last);
      last = now;
      if (now - sinceMs > 2000 && gap > 0) return gap;     // resumed, and flowing again
    }
    prev = cur;
  }
  return Date.now() - last > 1000 ? null : gap;
}"""


@dataclass
class CallResult:
    connected: bool = False
    customer_pairs: dict = field(default_factory=dict)
    """publish/subscribe connection -> "local type/protocol - remote type/protocol" as Chromium selected it
    (at the end of the call: in E and F, after the change of network)."""
    agent_pairs: dict = field(default_factory=dict)
    customer_remote: dict = field(default_factory=dict)
    """publish/subscribe connection -> the server address the customer's media goes to."""
    customer_offered: dict = field(default_factory=dict)
    """publish/subscribe connection -> the candidate types the server offered the customer."""
    agent_remote: dict = field(default_factory=dict)
    accept_to_first_frame_ms: float | None = None
    """Accept click on the agent's page to the later of both sides' first decoded frame."""
    media_gap_ms: float | None = None
    """Topologies E, F: the longest video freeze on either side around the change of the customer's network."""
    still_in_call: bool | None = None
    """Topologies E, F: the agent's page still shows the call afterwards (nobody saw a hang-up)."""

    error: str = ""


async def seed(data: Path) -> tuple[str, str]:
    """A tenant with one agent in one group and an always-open flow; (embed id, agent email)."""
    from admin.helpers import make_tenant
    from api.world import make_agents, make_flow, make_group

    from vidzzle_media.store import Database
    db = Database(data / "vidzzle.db")
    await db.open()
    try:
        tenant = await make_tenant(db, "Lab Cars")
        (agent,) = await make_agents(db, tenant, 1)
        group = await make_group(db, tenant, "Team", [agent])
        embed = await make_flow(db, tenant, [(group, 60)])
    finally:
        await db.close()
    return embed, f"agent0.t{tenant}@example.com"


def base_url(topology: Topology) -> str:
    return f"https://{LAB_NAME if topology.server_behind_router else topology.server}:{PORT}"


def resolver_flags(topology: Topology, address: str) -> list[str]:
    """Chromium flags that make the lab name resolve to ``address`` (topology C's split DNS)."""
    return [f"--host-resolver-rules=MAP {LAB_NAME} {address}"] if topology.server_behind_router else []


def start_server(topology: Topology, work: Path) -> subprocess.Popen:
    ice = f'host_addresses = ["{topology.server}"]\n'
    if topology.server_behind_router:
        ice += (f'announced_addresses = ["{topology.public_server}"]\n'
                f"udp_port_min = {MEDIA_PORTS[0]}\nudp_port_max = {MEDIA_PORTS[1]}\n")
    relay = ""
    if topology.external_turn:      # the customer can reach only the second URL (TCP); the server uses the first
        ice += (f'turn_servers = ["turn:{TURN_HOST}:3478?transport=udp", "turn:{TURN_HOST}:3478?transport=tcp"]\n'
                f'turn_secret = "{TURN_SECRET}"\n')
        relay = "[relay]\nenabled = false\n"
    config = work / "lab.toml"
    config.write_text(f'''[server]
public_url = "{base_url(topology)}"
language = "en"
[tls]
cert_dir = "{work / 'certs'}"
[ice]
{ice}{relay}''')
    log = (work / "server.log").open("wb")
    return subprocess.Popen(in_host("srv", [sys.executable, "-m", "vidzzle_media", "serve", "--config", str(config),
                                            "--data-dir", str(work / "data"), "--host", topology.server,
                                            "--port", str(PORT)]),
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def start_coturn(work: Path) -> subprocess.Popen:
    """Debian's coturn in lab host ``turn``, with coturn's REST-API credentials (use-auth-secret)."""
    log = (work / "coturn.log").open("wb")
    return subprocess.Popen(in_host("turn", [
        "turnserver", "-n", f"--listening-ip={TURN_HOST}", f"--relay-ip={TURN_HOST}", "--listening-port=3478",
        "--use-auth-secret", f"--static-auth-secret={TURN_SECRET}", "--realm=vidzzle.lab", "--fingerprint",
        "--no-tls", "--no-dtls", "--no-cli", "--log-file=stdout", "--simple-log", f"--pidfile={work / 'coturn.pid'}"]),
        stdout=log, stderr=subprocess.STDOUT)


async def wait_port(process: subprocess.Popen, host: str, port: int, log: Path, timeout: float) -> None:
    """Until ``host:port`` accepts TCP connections (or ``process`` has died: its log says why)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {host}:{port}:\n" + log.read_text()[-3000:]) from None
            await asyncio.sleep(0.1)


def nat_ports(topology: Topology) -> list[int]:
    """The external ports the customer's router gives one socket's datagrams
    to two destinations: equal for a port-preserving NAT, different for a
    symmetric one."""
    listeners = []
    for port in (9101, 9102):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((CONTROL, port))
        sock.settimeout(5)
        listeners.append(sock)
    try:
        send = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                f"[s.sendto(b'x', ('{CONTROL}', p)) for p in (9101, 9102)]")
        subprocess.run(in_host("cust", [sys.executable, "-c", send]), check=True, timeout=10)
        return [sock.recvfrom(16)[1][1] for sock in listeners]
    finally:
        for sock in listeners:
            sock.close()


async def read_pairs(customer, agent, result: CallResult) -> None:
    """The candidate pairs both sides use now (getStats)."""
    customer_side, agent_side = await customer.evaluate(PAIRS_JS), await agent.evaluate(PAIRS_JS)
    result.customer_pairs, result.customer_remote = customer_side["pairs"], customer_side["remote"]
    result.customer_offered = customer_side["offered"]
    result.agent_pairs, result.agent_remote = agent_side["pairs"], agent_side["remote"]


async def disrupt(topology: Topology, customer, agent, result: CallResult) -> None:
    """Change the customer's network mid-call (E: a new address, F: UDP
    blocked from now on) and measure the freeze on both sides."""
    await asyncio.sleep(1.5)       # a steady call first
    since = time.time() * 1000
    watch = asyncio.gather(customer.evaluate(MEDIA_GAP_JS, [since, 15000]),
                           agent.evaluate(MEDIA_GAP_JS, [since, 15000]))
    await asyncio.sleep(0.2)
    if topology.address_change:
        Lab.move_customer()
    else:
        Lab.block_customer_udp()
    try:
        gaps = await watch
        # the pairs now, before an unblocked network lets Chromium move back to direct UDP
        await read_pairs(customer, agent, result)
    finally:
        if topology.udp_blocked_mid_call:
            Lab.unblock_customer_udp()      # the next call starts on an open network again
    result.media_gap_ms = None if None in gaps else max(gaps)
    result.still_in_call = "/admin/call/" in agent.url and await agent.locator("#hangup").is_visible()


async def one_call(agent_browser, customer_browser, embed: str, email: str, base: str,
                   topology: Topology) -> CallResult:
    from admin.helpers import PASSWORD
    result = CallResult()
    actx = await agent_browser.new_context(ignore_https_errors=True)
    cctx = await customer_browser.new_context(ignore_https_errors=True)
    try:
        agent = await actx.new_page()
        await agent.goto(f"{base}/admin/login")
        await agent.fill("input[name=email]", email)
        await agent.fill("input[name=password]", PASSWORD)
        await agent.press("input[name=password]", "Enter")
        await agent.wait_for_url("**/admin/**")
        await agent.goto(f"{base}/admin/console")
        await agent.wait_for_selector("#presence[data-state=online]", timeout=15000)
        customer = await cctx.new_page()
        await customer.goto(f"{base}/call?embed={embed}&name=Lab%20Customer")
        toast = await agent.wait_for_selector(".toast:not(.gone) .accept", timeout=20000)
        accepted_at = await toast.evaluate("(b) => { const t = Date.now(); b.click(); return t; }")
        await agent.wait_for_url("**/admin/call/**", timeout=10000)
        firsts = await asyncio.gather(customer.evaluate(FIRST_FRAME_JS, CALL_TIMEOUT_S * 1000),
                                      agent.evaluate(FIRST_FRAME_JS, CALL_TIMEOUT_S * 1000))
        if None in firsts:
            result.error = f"no decoded frame (customer, agent): {firsts}"
        else:
            result.connected = True
            result.accept_to_first_frame_ms = max(firsts) - accepted_at
            if topology.disrupted:
                await disrupt(topology, customer, agent, result)
        if not topology.disrupted:      # disrupt() read them right after the change
            await read_pairs(customer, agent, result)
        await agent.click("#hangup")
    except Exception as exc:   # a report of what failed beats a traceback here: the caller asserts on it
        result.error = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        await cctx.close()
        await actx.close()
    return result


async def run(topology: Topology, work: Path, repeat: int) -> dict:
    from playwright.async_api import async_playwright
    lab = Lab(topology)
    lab.build()
    ports = None if topology.customer_udp_blocked else nat_ports(topology)
    (work / "data").mkdir(parents=True, exist_ok=True)
    embed, email = await seed(work / "data")
    coturn = start_coturn(work) if topology.external_turn else None
    server = start_server(topology, work)
    calls: list[CallResult] = []
    try:
        await wait_port(server, topology.public_server, PORT, work / "server.log", 30)
        if coturn is not None:      # the server's own agent allocates on it at the first call
            await wait_port(coturn, TURN_HOST, 3478, work / "coturn.log", 15)
        async with async_playwright() as p:
            agent_browser = await p.chromium.launch(executable_path=str(lab.browser_in("agt", work)),
                                                    args=FLAGS + resolver_flags(topology, topology.server))
            customer_browser = await p.chromium.launch(executable_path=str(lab.browser_in("cust", work)),
                                                       args=FLAGS + resolver_flags(topology, topology.public_server))
            for _ in range(repeat):
                calls.append(await asyncio.wait_for(one_call(agent_browser, customer_browser, embed, email,
                                                             base_url(topology), topology), CALL_TIMEOUT_S + 60))
            await customer_browser.close()
            await agent_browser.close()
    finally:
        for process in (server, coturn):
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
    times = [c.accept_to_first_frame_ms for c in calls if c.connected]
    gaps = [c.media_gap_ms for c in calls if c.media_gap_ms is not None]
    return {
        "topology": topology.name, "description": topology.description,
        "connected": bool(calls) and all(c.connected for c in calls),
        "candidate_pair": calls[0].customer_pairs.get("publish") if calls else None,
        "accept_to_first_frame_ms": statistics.median(times) if times else None,
        "media_gap_ms": (statistics.median(gaps) if gaps and len(gaps) == len(calls) else None)
        if topology.disrupted else None,
        "agent_address": topology.agent, "nat_ports": ports, "calls": [asdict(c) for c in calls],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", choices=sorted(TOPOLOGIES), required=True)
    parser.add_argument("--work", required=True, help="folder for the database, logs and the report")
    parser.add_argument("--repeat", type=int, default=1, help="calls to run (the report gives the median)")
    args = parser.parse_args()
    work = Path(args.work)
    report = asyncio.run(run(TOPOLOGIES[args.topology], work, args.repeat))
    (work / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    return 0 if report["connected"] else 1


if __name__ == "__main__":
    sys.exit(main())
