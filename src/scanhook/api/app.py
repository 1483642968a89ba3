"""The application factory: routes, auth, limits, error handling and metrics around a Hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from scanhook import __version__
from scanhook.api.errors import install_error_handlers
from scanhook.api.limits import MAX_BODY_BYTES, BodyLimit
from scanhook.api.routes import health
from scanhook.hub import Hub

__all__ = ["create_app"]

DESCRIPTION = """\
scanhook delivers the Security Center's notifications as signed webhooks.

Every `/v1` route needs `Authorization: Bearer <token>`. Errors are JSON:
`{"error": {"code", "message", "field"}}`. See docs/api.md.
"""


def create_app(hub: Hub, *, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The HTTP API over ``hub``. The hub's database is brought to the current schema when the
    application starts; the caller owns the hub and closes it."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        yield

    app = FastAPI(
        title="scanhook",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.hub = hub
    install_error_handlers(app)
    app.include_router(health.router)
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    return app
