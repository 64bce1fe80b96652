"""``GET /healthz`` and ``GET /metrics`` (Prometheus text format).

Values are read at request time from their owners (the room directory, the
database, the outbox, the event loop, /proc for the process's memory, open
files and CPU) instead of being mirrored into global counters, so a
scrape costs a few small queries and nothing is counted twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from . import keys
from .errors import NotFound
from .relay.server import Refusal
from .services.outbox import worker as outbox
from .store import metrics as store_metrics

log = logging.getLogger(__name__)


class _Snapshot:
    """A collector over values gathered beforehand (prometheus-client collects synchronously)."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


async def gather(app: web.Application) -> list:
    db = app[keys.DATABASE]
    rooms = app[keys.ROOMS].stats()
    families = []

    def gauge(name, doc, value):
        family = GaugeMetricFamily(name, doc)
        family.add_metric([], value)
        families.append(family)

    def counter(name, doc, value):
        family = CounterMetricFamily(name, doc)
        family.add_metric([], value)
        families.append(family)

    gauge("vidzzle_rooms", "Open call rooms.", rooms.rooms)
    gauge("vidzzle_nodes", "Nodes of the shared store this one hears (itself included; 1 on SQLite). "
          "Fewer than you run: a node is down or cannot reach PostgreSQL.", 1 + len(app[keys.NODES].alive()))
    gauge("vidzzle_participants", "Participants connected to a room.", rooms.participants)
    counter("vidzzle_forwarded_packets", "RTP packets forwarded to receivers (including retransmissions).",
            rooms.packets)
    counter("vidzzle_forwarded_bytes", "RTP payload bytes forwarded to receivers.", rooms.bytes)
    counter("vidzzle_retransmitted_packets", "RTP packets sent again in answer to receivers' NACKs (downstream loss).",
            rooms.retransmits)

    calls = GaugeMetricFamily("vidzzle_calls", "Call records by state.", labels=["state"])
    by_state = await store_metrics.calls_by_state(db)
    for state, count in by_state.items():
        calls.add_metric([state], count)
    families.append(calls)
    gauge("vidzzle_ringing_calls", "Calls ringing right now.", by_state["ringing"])
    unaccepted = GaugeMetricFamily("vidzzle_unaccepted_calls", "Call records nobody accepted, by cause.",
                                   labels=["reason"])
    for reason, count in (await store_metrics.unaccepted_by_reason(db)).items():
        unaccepted.add_metric([reason], count)
    families.append(unaccepted)
    gauge("vidzzle_open_callbacks", "Callback requests of customers nobody could take, not done yet.",
          await store_metrics.open_callbacks(db))

    depth = GaugeMetricFamily("vidzzle_outbox_depth", "Queued outbox items by kind.", labels=["kind"])
    for kind, count in (await outbox.depth(db)).items():
        depth.add_metric([kind], count)
    families.append(depth)

    dropped = CounterMetricFamily("vidzzle_dropped_datagrams", "Datagrams to media ports dropped unread, by reason.",
                                  labels=["reason"])
    for reason in ("empty", "malformed_stun", "unknown_protocol", "unauthenticated_rtp", "malformed_rtp",
                   "malformed_payload", "unauthenticated_rtcp", "malformed_rtcp"):
        dropped.add_metric([reason], rooms.dropped.get(reason, 0))
    families.append(dropped)
    if rooms.workers:
        per_worker: list[tuple[Any, str, str, str]] = [
            (GaugeMetricFamily, "vidzzle_media_worker_rooms", "Rooms on each media worker.", "rooms"),
            (GaugeMetricFamily, "vidzzle_media_worker_participants", "Participants on each media worker.",
             "participants"),
            (CounterMetricFamily, "vidzzle_media_worker_forwarded_packets",
             "RTP packets each media worker forwarded since it started (rate(): its pkt/s).", "packets"),
            (CounterMetricFamily, "vidzzle_media_worker_cpu_seconds",
             "CPU time each media worker used since it started (rate(): its share of a core).", "cpu_s")]
        for family_type, name, doc, attr in per_worker:
            family = family_type(name, doc, labels=["worker", "pid"])
            for number, status in rooms.workers:
                family.add_metric([str(number), str(status.pid)], getattr(status, attr))
            families.append(family)

    relay = app.get(keys.RELAY)
    if relay is not None:
        gauge("vidzzle_relay_allocations", "TURN relay allocations open now.", relay.stats.allocations)
        counter("vidzzle_relay_bytes", "Payload bytes the TURN relay carried (both directions).",
                relay.stats.bytes_relayed)
        refusals = CounterMetricFamily("vidzzle_relay_refusals", "TURN requests refused, by reason.",
                                       labels=["reason"])
        for reason in Refusal:
            refusals.add_metric([reason.value], relay.stats.refusals[reason.value])
        families.append(refusals)

    gauge("vidzzle_asyncio_tasks", "Tasks alive on the server's event loop (a number that keeps growing is a leak).",
          len(asyncio.all_tasks()))

    failed_attempts, given_up = await store_metrics.webhook_failures(db)
    counter("vidzzle_webhook_failed_attempts", "Webhook delivery attempts that failed.", failed_attempts)
    gauge("vidzzle_webhooks_given_up", "Webhooks that failed for good after their retry window.", given_up)
    return families


async def metrics(request: web.Request) -> web.Response:
    if request.remote not in request.app[keys.SETTINGS].server.metrics_from:
        raise NotFound()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(await gather(request.app)))
    ProcessCollector(registry=registry)          # process_resident_memory_bytes, process_open_fds, CPU seconds
    response = web.Response(body=generate_latest(registry))
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response


async def healthz(request: web.Request) -> web.Response:
    """200 while the database answers; the outbox backlog is reported, not judged
    (a queue of mails waiting for an SMTP server is a state, not a failure)."""
    db = request.app[keys.DATABASE]
    try:
        version = await db.fetchval("SELECT MAX(version) FROM schema_migrations")
        depth = await outbox.depth(db)
        oldest = await store_metrics.oldest_queued(db)
    except Exception as exc:  # the one place where "anything failed" is the answer
        log.error("health check failed: %r", exc)
        return web.json_response({"status": "error", "database": "unavailable"}, status=503)
    return web.json_response({
        "status": "ok",
        "database": {"status": "ok", "schema_version": version},
        "outbox": {"queued": depth, "oldest_queued_at": oldest},
        "rooms": request.app[keys.ROOMS].stats().rooms,
    })


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
