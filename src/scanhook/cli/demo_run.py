"""The work of ``scanhook demo``: the whole path in half a minute, on a temporary database.

It starts the service (a Hub, the HTTP API on a free loopback port and the workers), a ``listen``
receiver on another port, registers the receiver as an endpoint through the API, publishes the
seed's finished_scan example and a short realistic stream, and shows each notification arriving
with its signature verified.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from rich.rule import Rule
from rich.text import Text

from scanhook.api import create_app
from scanhook.cli.common import fail, settings_or_exit
from scanhook.cli.listen import describe
from scanhook.cli.output import out
from scanhook.cli.remote import ApiBackend
from scanhook.cli.serving import bind, serve_app, url_of
from scanhook.delivery.signing import generate_secret
from scanhook.hub import Hub
from scanhook.logs import configure_logging
from scanhook.notifications import sample, to_wire
from scanhook.receiver.app import Received, Receiver, ReceiverOptions

__all__ = ["run_demo"]

#: The request payload of the seed document, as it shows it (scanhook sends the contract's order).
SEED_EXAMPLE = (
    '{"finished_scan": {"status": "Completed", "low_cnt": 0, "critical_cnt": 1, '
    '"started": "2018-08-21 12:02", "finished": "2018-08-21 12:59", '
    '"link": "https://sc.holmsecurity.com/scans/scans/view/123", "duration": "00:57", '
    '"errors": "", "name": "Daily scan", "high_cnt": 0, "medium_cnt": 3, "type": "network"}}'
)
#: Seconds between two publishes, so that the stream reads as one.
PACE = 0.1
#: The stream after the seed's example: a day at a Security Center, in order.
STORY = (
    "scheduled_scan",
    "finished_scan",
    "ticket.opened",
    "ticket.opened",
    "scheduled_scan",
    "finished_scan",
    "ticket.closed",
    "ticket.opened",
    "ticket.closed",
)


def _stream(seed: int | None) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    notifications: list[dict[str, Any]] = [json.loads(SEED_EXAMPLE)]
    for event_type in STORY:
        notifications.append(to_wire(sample(event_type, rng)))
    return notifications


def _next_steps(api_url: str) -> Text:
    return Text.assemble(
        ("What to try next\n", "bold"),
        "  SCANHOOK_ALLOW_PRIVATE_NETWORKS=true scanhook serve\n"
        "                                       the service on ./scanhook.db (prints an API "
        "token once; private networks allowed so it may deliver to a local receiver)\n",
        "  scanhook listen --port 9000          a receiver that verifies signatures\n",
        "  scanhook endpoint add http://127.0.0.1:9000/ --secret whsec_…\n",
        "  scanhook emit finished-scan --name 'Daily scan' --type network --critical 1 "
        "--link https://…\n",
        "  scanhook deliveries --follow         watch deliveries live\n",
        "  scanhook sample mixed -n 5 | scanhook emit -\n",
        (f"  (the demo's API at {api_url} is gone now; its database was temporary)", "dim"),
    )


class _Arrivals:
    """What the receiver verified: distinct webhook-ids (one per delivery, whatever the retries)."""

    def __init__(self) -> None:
        self.verified: set[str] = set()
        self.expected = 0
        self.done = asyncio.Event()

    def __call__(self, received: Received) -> None:
        out.print(describe(received))
        if received.signature == "valid" and 200 <= received.status < 300:
            self.verified.add(received.webhook_id or "")
            self.check()

    def check(self) -> None:
        if self.expected and len(self.verified) >= self.expected:
            self.done.set()


async def _publish_all(api: ApiBackend, arrivals: _Arrivals, seed: int | None) -> int:
    stream = _stream(seed)
    out.print(
        Text(
            f"publishing {len(stream)} notifications through the API (the seed's finished_scan "
            "example first); as the receiver gets them:",
            style="dim",
        )
    )
    deliveries = 0
    for notification in stream:
        accepted = await api.publish(notification, None)
        deliveries += int(accepted.get("deliveries", 0))
        await asyncio.sleep(PACE)
    arrivals.expected = deliveries
    arrivals.check()
    return len(stream)


async def _run_demo(wait: float, seed: int | None, folder: Path) -> tuple[int, dict[str, Any], str]:
    secret = generate_secret()
    arrivals = _Arrivals()
    receiver = Receiver(ReceiverOptions(secrets=(secret,)), arrivals)
    database = folder / "demo.db"
    settings = settings_or_exit(
        database_url=f"sqlite:///{database}",
        allow_private_networks=False,
        allowed_networks="127.0.0.1/32",
        api_url="",
        log_level="warning",
    )
    configure_logging(settings.log_level, settings.log_format)
    sock = bind("127.0.0.1", 0)
    api_url = url_of(sock)
    stop = asyncio.Event()
    await receiver.start("127.0.0.1", 0)
    try:
        async with Hub(settings) as hub:
            _, token = await hub.create_token("demo")
            service = asyncio.create_task(serve_app(create_app(hub), sock, stop))
            workers = asyncio.create_task(hub.run(stop))
            try:
                out.print(Rule("scanhook demo"))
                out.print(
                    Text.assemble(
                        ("service   ", "bold"),
                        f"{api_url}  (API + workers; database {database.name} in a temp dir)\n",
                        ("receiver  ", "bold"),
                        f"{receiver.url}  (scanhook listen, verifying signatures)",
                    )
                )
                headers = {"Authorization": f"Bearer {token}"}
                async with aiohttp.ClientSession(headers=headers) as session:
                    api = ApiBackend(session, api_url)
                    await _wait_healthy(session, api_url)
                    endpoint = await api.add_endpoint(
                        {
                            "url": receiver.url + "hooks",
                            "secret": secret,
                            "description": "scanhook demo receiver",
                        }
                    )
                    out.print(
                        Text.assemble(
                            ("endpoint  ", "bold"),
                            f"{endpoint['id']} → {endpoint['url']} (added through the API)",
                        )
                    )
                    out.print(Rule("publishing", style="dim"))
                    published = await _publish_all(api, arrivals, seed)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(arrivals.done.wait(), wait)
                    stats = await api.stats()
            finally:
                stop.set()
                await asyncio.gather(service, workers, return_exceptions=True)
    finally:
        await receiver.stop()
    stats["verified"] = len(arrivals.verified)
    stats["received"] = receiver.total
    return published, stats, api_url


async def run_demo(wait: float, seed: int | None) -> bool:
    """Run the demo; True when every notification arrived verified."""
    with tempfile.TemporaryDirectory(prefix="scanhook-demo-") as folder:
        published, stats, api_url = await _run_demo(wait, seed, Path(folder))
    delivered = int(stats.get("deliveries", {}).get("succeeded", 0))
    verified = int(stats["verified"])
    complete = verified >= published and delivered >= published
    out.print(Rule("summary", style="dim"))
    out.print(
        Text.assemble(
            (
                f"{published} published, {delivered} delivered, {verified} verified",
                "bold green" if complete else "bold red",
            ),
            f"  ({stats['received']} requests received)",
        )
    )
    if complete:
        out.print(_next_steps(api_url))
    else:
        out.print(
            Text(
                f"{published - verified} notification(s) did not arrive verified within "
                f"{wait:g} s; the lines above show what the receiver got.",
                style="red",
            )
        )
    return complete


async def _wait_healthy(session: aiohttp.ClientSession, api_url: str) -> None:
    for _ in range(100):
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(api_url + "/healthz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.05)
    fail(f"the demo's API at {api_url} did not start")
