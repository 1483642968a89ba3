"""A real scanhook API on uvicorn (127.0.0.1, port 0) in a thread with its own event loop, on a
SQLite file or the test's PostgreSQL database (see ``conftest.py``), with the Hub's workers
optionally running beside it on the same loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import requests
import uvicorn

from scanhook.api import create_app
from scanhook.hub import Hub

T = TypeVar("T")

TOKEN = "fixed-test-token-0123456789"
#: The database of the running test: a PostgreSQL URL (set by conftest's ``database``
#: fixture, which runs every test on both backends), or None for the SQLite file given.
DATABASE_URL: str | None = None


class ApiServer:
    """``base_url``, ``hub``, a ``session`` that sends the token, and ``run(coro)`` to await
    something on the server's loop (e.g. ``hub.create_token``)."""

    def __init__(self, db: Path, *, workers: bool = False, **settings: Any) -> None:
        settings.setdefault("api_token", TOKEN)
        settings.setdefault("allow_private_networks", True)
        self.hub = Hub.open(DATABASE_URL or f"sqlite:///{db}", **settings)
        self.app = create_app(self.hub)
        self._workers = workers
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._main, name="api-server", daemon=True)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"
        self.anonymous = requests.Session()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> ApiServer:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the API server did not start within 30 s")
        if self._error is not None:
            raise RuntimeError("the API server failed to start") from self._error
        return self

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def close(self) -> None:
        self.session.close()
        self.anonymous.close()
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        serving = asyncio.create_task(server.serve())
        workers = asyncio.create_task(self.hub.run(self._stop)) if self._workers else None
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        server.should_exit = True
        await serving
        if workers is not None:
            await workers
        await self.hub.close()
