"""scanhook's scenarios, each on a fresh SQLite file in a temporary directory.

* ``throughput`` — (a) N events to 1 endpoint, (b) the fan-out, E endpoints × N events. The
  events are published first (in batches of :data:`PUBLISH_BATCH`, timed on their own as the
  publish throughput); then the clock runs **from just before the workers start until the last
  attempt has been durably recorded as succeeded** (``Store.record`` committed: a listener
  added with ``Hub.add_attempt_listener`` counts them). Afterwards, untimed, the store's stats
  must show every delivery ``succeeded`` and the receiver must hold every ``webhook-id``.
* ``latency`` — (c) one endpoint, workers running in this process, ``hub.publish`` one event at a
  time, started on a fixed schedule of ``rate``/s (open loop); latency = arrival at the
  receiver (its clock, ``time.time()``, the same clock in both processes) − the start of the
  ``publish`` call.
* ``store_alone`` — what (a)'s store work costs with no HTTP at all: the same events published,
  then ``Store.record_and_claim`` called in a loop, each call recording as succeeded what the
  previous one claimed, ``batch`` at a time (32: in (a) half of the endpoint's 64 slots are in
  the store while the other half are in HTTP). The result is the CPU per delivery.
* ``isolation`` — (d) the throughput of one healthy endpoint alone, then with a second endpoint
  that never answers (endpoint timeout 2 s) and a third whose port refuses connections, each of
  them subscribed to the same events; the result is the ratio.

Every endpoint has ``max_in_flight = concurrency``, the same number the ceiling client uses.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from receiver import Receiver, refused_port
from scanhook.hub import Hub
from scanhook.store.records import AttemptOutcome, ClaimedDelivery
from workload import Workload

__all__ = [
    "IsolationResult",
    "LatencyResult",
    "ThroughputResult",
    "isolation",
    "latency",
    "store_alone",
    "succeeded",
    "throughput",
]

PUBLISH_BATCH = 500
#: Short retries, so failing endpoints in (d) keep knocking while the healthy one is measured.
RETRY_SCHEDULE = "0.2s,0.5s"
BAD_ENDPOINT_TIMEOUT = 2.0
#: (c): publish calls allowed to be running at once before the pacing loop waits.
MAX_OUTSTANDING = 1000
#: The worker's default ``claim_batch``: at most this many claimed per store call.
CLAIM_BATCH = 128


@dataclass(frozen=True)
class ThroughputResult:
    endpoints: int
    events: int
    publish_seconds: float
    deliver_seconds: float
    #: CPU time of this process (every thread: event loop and store lanes) while delivering.
    deliver_cpu_seconds: float = 0.0

    @property
    def cpu_per_delivery_us(self) -> float:
        return 1e6 * self.deliver_cpu_seconds / self.deliveries

    @property
    def deliveries(self) -> int:
        return self.endpoints * self.events

    @property
    def rate(self) -> float:
        return self.deliveries / self.deliver_seconds

    @property
    def publish_rate(self) -> float:
        """Events stored per second (each with ``endpoints`` deliveries)."""
        return self.events / self.publish_seconds


@dataclass(frozen=True)
class LatencyResult:
    events: int
    target_rate: float
    achieved_rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    #: How long the ``publish`` call itself took (durable commit included).
    publish_p50_ms: float
    publish_p99_ms: float


@dataclass(frozen=True)
class IsolationResult:
    events: int
    alone_rate: float
    beside_bad_rate: float
    bad_attempts: int

    @property
    def ratio(self) -> float:
        return self.beside_bad_rate / self.alone_rate


class Tracker:
    """A ``Hub.add_attempt_listener`` listener: counts durably recorded outcomes per endpoint and
    sets ``done`` once the watched endpoints have ``target`` successes each."""

    def __init__(self, watched: Sequence[str], target: int) -> None:
        self.watched = list(watched)
        self.target = target
        self.succeeded: Counter[str] = Counter()
        self.failed_attempts = 0
        self.done = asyncio.Event()

    def __call__(self, outcomes: Sequence[AttemptOutcome]) -> None:
        for outcome in outcomes:
            if outcome.succeeded:
                self.succeeded[outcome.endpoint_id] += 1
            else:
                self.failed_attempts += 1
        if all(self.succeeded[e] >= self.target for e in self.watched):
            self.done.set()

    async def wait(self, limit: float) -> None:
        """Until done, at most ``limit`` seconds."""
        try:
            async with asyncio.timeout(limit):
                await self.done.wait()
        except TimeoutError:
            got = {e: self.succeeded[e] for e in self.watched}
            raise RuntimeError(
                f"not done after {limit} s: succeeded {got} of {self.target} each"
            ) from None


@contextlib.asynccontextmanager
async def fresh_hub(**settings: Any) -> AsyncIterator[Hub]:
    """A Hub on a new SQLite file that is deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="scanhook-bench-") as tmp:
        options: dict[str, Any] = {
            "allow_private_networks": True,  # the receiver is on 127.0.0.1
            "retry_schedule": RETRY_SCHEDULE,
            "request_timeout": 5.0,
            "shutdown_grace": "0.5s",
        }
        options.update(settings)
        hub = Hub.open(f"sqlite:///{Path(tmp) / 'bench.db'}", **options)
        try:
            await hub.start()
            yield hub
        finally:
            await hub.close()


async def _publish_all(hub: Hub, work: Workload, events: int) -> float:
    started = time.perf_counter()
    for first in range(0, events, PUBLISH_BATCH):
        await hub.publish_batch(work.notifications[first : min(first + PUBLISH_BATCH, events)])
    return time.perf_counter() - started


async def _check_all_succeeded(hub: Hub, expected: int) -> None:
    stats = await hub.store.stats(time.time())
    counts = stats["deliveries"]
    assert isinstance(counts, dict)
    if counts.get("succeeded", 0) != expected:
        raise RuntimeError(f"the store shows {counts}, expected {expected} succeeded")


def _check_receiver(receiver: Receiver, listeners: range, events: int) -> None:
    stats = receiver.stats()
    for index in listeners:
        if stats[index]["unique"] != events:
            raise RuntimeError(
                f"listener {index} got {stats[index]['unique']} distinct deliveries of {events}"
            )


async def throughput(
    receiver: Receiver,
    work: Workload,
    *,
    endpoints: int,
    events: int,
    concurrency: int,
    limit: float = 300.0,
) -> ThroughputResult:
    """(a) with ``endpoints=1``; (b) with ``endpoints=20``."""
    receiver.reset()
    async with fresh_hub() as hub:
        ids = [
            (await hub.add_endpoint(receiver.url(i), max_in_flight=concurrency)).id
            for i in range(endpoints)
        ]
        publish_seconds = await _publish_all(hub, work, events)
        tracker = Tracker(ids, events)
        hub.add_attempt_listener(tracker)
        started, cpu_started = time.perf_counter(), time.process_time()
        async with hub.run_workers():
            await tracker.wait(limit)
            deliver_seconds = time.perf_counter() - started
            deliver_cpu = time.process_time() - cpu_started
        await _check_all_succeeded(hub, endpoints * events)
    _check_receiver(receiver, range(endpoints), events)
    return ThroughputResult(endpoints, events, publish_seconds, deliver_seconds, deliver_cpu)


def succeeded(
    delivery: ClaimedDelivery, at: float, response_body: str | None = None
) -> AttemptOutcome:
    """A 200 for ``delivery``, attempted at ``at`` (the store-only measures, no HTTP)."""
    return AttemptOutcome(
        delivery_id=delivery.id,
        endpoint_id=delivery.endpoint.id,
        number=delivery.attempt,
        started_at=at,
        duration_ms=1.0,
        succeeded=True,
        status_code=200,
        response_body=response_body,
    )


async def store_alone(
    work: Workload,
    *,
    events: int,
    batch: int = 32,
    endpoints: int = 1,
    in_flight: int | None = None,
    concurrency: int = 64,
) -> float:
    """CPU (every thread of this process) per delivery of the store's record-and-claim cycle.

    Each call records ``batch`` outcomes (the oldest claimed) and claims what their slots free:
    up to ``in_flight`` deliveries stay claimed (``batch`` by default: record what the previous
    call claimed), at most :data:`CLAIM_BATCH` per call, the worker's default. (a) is
    ``endpoints=1, batch=32``; the fan-out shape is ``endpoints=20, batch=100,
    in_flight=1000`` (the worker's ``max_concurrency``), each endpoint ``concurrency`` slots.
    """
    cap = batch if in_flight is None else in_flight
    async with fresh_hub() as hub:
        for index in range(endpoints):
            await hub.add_endpoint(
                f"http://127.0.0.1:9/never-called/{index}", max_in_flight=concurrency
            )
        await _publish_all(hub, work, events)
        store = hub.store
        claimed: collections.deque[ClaimedDelivery] = collections.deque()
        outcomes: list[AttemptOutcome] = []
        recorded = 0
        cpu_started = time.process_time()
        while True:
            limit = min(CLAIM_BATCH, cap - len(claimed))
            got = await store.record_and_claim(outcomes, "bench", time.time(), 60.0, limit)
            recorded += len(outcomes)
            claimed.extend(got)
            if not claimed:
                break
            now = time.time()
            done = [claimed.popleft() for _ in range(min(batch, len(claimed)))]
            outcomes = [succeeded(d, now, response_body="ok") for d in done]
        cpu = time.process_time() - cpu_started
        deliveries = events * endpoints
        await _check_all_succeeded(hub, deliveries)
    if recorded != deliveries:
        raise RuntimeError(f"store alone: recorded {recorded} of {deliveries}")
    return 1e6 * cpu / deliveries


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


async def latency(
    receiver: Receiver,
    work: Workload,
    *,
    rate: float,
    seconds: float,
    concurrency: int,
) -> LatencyResult:
    """(c) ``hub.publish`` of one event at a time, started at ``rate``/s for ``seconds`` while the
    workers run in this process.

    Open loop, like a platform whose requests publish as they come: each call starts on its
    schedule whether or not the previous one has returned (at most :data:`MAX_OUTSTANDING` at
    once), so a slow publish shows up as latency instead of as a lower offered rate.
    """
    events = min(len(work), int(rate * seconds))
    receiver.reset()
    published: list[tuple[str, float, float]] = []  # event id, call start, call duration
    async with fresh_hub() as hub:
        endpoint = await hub.add_endpoint(receiver.url(0), max_in_flight=concurrency)
        tracker = Tracker([endpoint.id], events)

        async def publish_one(index: int) -> None:
            sent = time.time()
            began = time.perf_counter()
            result = await hub.publish(work.notifications[index])
            published.append((result.event_id, sent, time.perf_counter() - began))

        hub.add_attempt_listener(tracker)
        async with hub.run_workers():
            await asyncio.sleep(0.2)  # let the worker settle into waiting for work
            tasks: set[asyncio.Task[None]] = set()
            started = time.perf_counter()
            for index in range(events):
                delay = started + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                while len(tasks) >= MAX_OUTSTANDING:
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                task = asyncio.create_task(publish_one(index))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            offered_seconds = time.perf_counter() - started
            async with asyncio.timeout(60.0):
                await asyncio.gather(*tasks)
            await tracker.wait(60.0)
        # Untimed: which delivery (webhook-id) belongs to which event.
        delivery_of = {}
        for event_id, _, _ in published:
            record = await hub.store.get_event(event_id)
            delivery_of[event_id] = record.deliveries[0].id
        await _check_all_succeeded(hub, events)
    arrivals = receiver.arrivals(0)
    latencies = [(arrivals[delivery_of[e]] - sent) * 1000.0 for e, sent, _ in published]
    calls = [duration * 1000.0 for _, _, duration in published]
    return LatencyResult(
        events=events,
        target_rate=rate,
        achieved_rate=events / offered_seconds,
        p50_ms=statistics.median(latencies),
        p99_ms=_percentile(latencies, 0.99),
        max_ms=max(latencies),
        publish_p50_ms=statistics.median(calls),
        publish_p99_ms=_percentile(calls, 0.99),
    )


async def _healthy_rate(
    receiver: Receiver,
    work: Workload,
    *,
    events: int,
    concurrency: int,
    timeout_listener: int | None,
) -> tuple[float, int]:
    receiver.reset()
    async with fresh_hub() as hub:
        healthy = await hub.add_endpoint(receiver.url(0), max_in_flight=concurrency)
        if timeout_listener is not None:
            await hub.add_endpoint(
                receiver.url(timeout_listener),
                max_in_flight=concurrency,
                timeout=BAD_ENDPOINT_TIMEOUT,
            )
            await hub.add_endpoint(
                f"http://127.0.0.1:{refused_port()}/hook", max_in_flight=concurrency
            )
        await _publish_all(hub, work, events)
        tracker = Tracker([healthy.id], events)
        hub.add_attempt_listener(tracker)
        started = time.perf_counter()
        async with hub.run_workers():
            await tracker.wait(300.0)
            seconds = time.perf_counter() - started
            failed = tracker.failed_attempts
    _check_receiver(receiver, range(1), events)
    return events / seconds, failed


async def isolation(
    receiver: Receiver,
    work: Workload,
    *,
    events: int,
    concurrency: int,
    timeout_listener: int,
) -> IsolationResult:
    """(d) the healthy endpoint's deliveries/s beside a hanging and a refusing one, over alone."""
    alone, _ = await _healthy_rate(
        receiver, work, events=events, concurrency=concurrency, timeout_listener=None
    )
    beside, failed = await _healthy_rate(
        receiver, work, events=events, concurrency=concurrency, timeout_listener=timeout_listener
    )
    return IsolationResult(events, alone, beside, failed)
