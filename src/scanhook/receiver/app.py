"""The receiver's aiohttp application and a small runner for it."""

from __future__ import annotations

import json
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from aiohttp import web

from scanhook.delivery.signing import SignatureError, verify
from scanhook.durations import parse_whole_number
from scanhook.receiver.summary import decode_body

__all__ = ["MAX_BODY_BYTES", "Received", "Receiver", "ReceiverOptions", "receiver_app"]

#: The largest request body the receiver reads (a larger one is answered 413).
MAX_BODY_BYTES = 16 * 1024 * 1024

#: ``valid``: a signature matched; ``invalid``: none did (answered 401); ``unchecked``: no secret.
SignatureState = Literal["valid", "invalid", "unchecked"]


@dataclass(frozen=True)
class ReceiverOptions:
    """How the receiver checks and answers."""

    #: Secrets (``whsec_…``) whose signatures are accepted; empty: signatures are not checked.
    secrets: Sequence[str] = ()
    #: The status of every answer to a correctly signed request.
    status: int = 200
    #: The fraction of correctly signed requests answered with ``fail_status`` instead.
    fail_rate: float = 0.0
    fail_status: int = 503
    #: How far ``webhook-timestamp`` may be from now, in seconds.
    tolerance: float = 300.0
    #: How many of the latest requests :attr:`Receiver.received` keeps (older ones are
    #: forgotten; :attr:`Receiver.counts` still counts them) …
    keep: int = 100
    #: … and the most bytes of bodies the kept requests may hold together.
    keep_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class Received:
    """One request the receiver got and how it answered."""

    received_at: float
    path: str
    headers: Mapping[str, str]
    body: bytes
    signature: SignatureState
    problem: str | None
    status: int
    rehearsed_failure: bool = False
    payload: Any = field(default=None, compare=False)

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")

    @property
    def event_type(self) -> str | None:
        declared = self.headers.get("scanhook-event-type")
        if declared:
            return declared
        if isinstance(self.payload, dict) and len(self.payload) == 1:
            return str(next(iter(self.payload)))
        return None

    @property
    def attempt(self) -> int | None:
        value = self.headers.get("scanhook-attempt", "")
        return parse_whole_number(value, max_digits=9)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready record of the request (for ``scanhook listen --json``)."""
        return {
            "received_at": self.received_at,
            "path": self.path,
            "webhook_id": self.webhook_id,
            "event_type": self.event_type,
            "attempt": self.attempt,
            "signature": self.signature,
            "problem": self.problem,
            "status": self.status,
            "payload": self.payload
            if self.payload is not None
            else self.body.decode("utf-8", "replace"),
        }


def receiver_app(
    options: ReceiverOptions,
    on_request: Callable[[Received], None],
    rng: random.Random | None = None,
) -> web.Application:
    """An application that takes a POST on any path, checks it and answers as ``options`` say."""
    chance = rng or random.Random()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        signature: SignatureState = "unchecked"
        problem: str | None = None
        if options.secrets:
            try:
                verify(options.secrets, headers, body, tolerance=options.tolerance)
                signature = "valid"
            except SignatureError as exc:
                signature, problem = "invalid", exc.message
        failing = signature != "invalid" and chance.random() < options.fail_rate
        if signature == "invalid":
            status = 401
        else:
            status = options.fail_status if failing else options.status
        on_request(
            Received(
                received_at=time.time(),
                path=request.path,
                headers=headers,
                body=body,
                signature=signature,
                problem=problem,
                status=status,
                rehearsed_failure=failing,
                payload=decode_body(body),
            )
        )
        answer: dict[str, object]
        if signature == "invalid":
            answer = {"error": f"invalid signature: {problem}"}
        elif failing:
            answer = {"error": "a rehearsed failure (scanhook listen --fail-rate)"}
        else:
            answer = {"received": True}
        return web.Response(status=status, text=json.dumps(answer), content_type="application/json")

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="scanhook listen: POST webhooks to any path of this server\n")

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_route("POST", "/{tail:.*}", receive)
    app.router.add_route("GET", "/{tail:.*}", hello)
    return app


class Receiver:
    """The receiver on a host and port (0: any free port); ``url`` once started.

    ``received`` holds the latest requests only, within ``options.keep`` requests and
    ``options.keep_bytes`` bytes of bodies, so that a receiver left running (or flooded) does
    not grow without bound; ``counts`` counts every request by signature state.
    """

    def __init__(
        self,
        options: ReceiverOptions,
        on_request: Callable[[Received], None] | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.options = options
        self.received: deque[Received] = deque()
        self.counts: Counter[SignatureState] = Counter()
        self._kept_bytes = 0
        self._on_request = on_request
        self._runner = web.AppRunner(
            receiver_app(options, self._record, rng), access_log=None, handle_signals=False
        )
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def total(self) -> int:
        """Every request received, kept or not."""
        return sum(self.counts.values())

    def _record(self, received: Received) -> None:
        self.counts[received.signature] += 1
        self.received.append(received)
        self._kept_bytes += len(received.body)
        while self.received and (
            len(self.received) > self.options.keep or self._kept_bytes > self.options.keep_bytes
        ):
            self._kept_bytes -= len(self.received.popleft().body)
        if self._on_request is not None:
            self._on_request(received)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host``:``port``; OSError when the address cannot be used."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            raise
        address = self._runner.addresses[0]
        self.host, self.port = host, int(address[1])

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
