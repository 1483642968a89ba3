"""Helpers of the destinations tests: run stand-ins, deliver until final, read the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from engine_support import all_final, wait_for
from targets import Target

from scanhook import Hub
from scanhook.api import create_app

__all__ = ["TOKEN", "api_get", "deliver", "serving"]

#: The API token of Hubs made with ``hub_on(tmp_path, api_token=TOKEN)``.
TOKEN = "destinations-test-token-0123456789"


@asynccontextmanager
async def serving(*targets: Target) -> AsyncIterator[None]:
    """Run the stand-ins for the ``async with`` body."""
    try:
        for target in targets:
            await target.start()
        yield
    finally:
        for target in targets:
            await target.stop()


async def deliver(hub: Hub, endpoint_id: str, count: int) -> None:
    """Run the Hub's workers until the endpoint has ``count`` deliveries, all final."""
    async with hub.run_workers():
        await wait_for(lambda: all_final(hub, endpoint_id, count), what=f"{count} final")


async def api_get(hub: Hub, path: str) -> Any:
    """GET ``path`` from the Hub's real API application (in process, over ASGI)."""
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        response = await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    return response.json()
