"""The application factory: routes, auth, limits, error handling and metrics around a Hub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from scanhook._version import __version__
from scanhook.api.auth import require_token
from scanhook.api.errors import install_error_handlers
from scanhook.api.limits import MAX_BODY_BYTES, BodyLimit
from scanhook.api.openapi import install_openapi
from scanhook.api.routes import deliveries, endpoints, events, health, operations, schedules
from scanhook.hub import Hub
from scanhook.metrics import Metrics

__all__ = ["create_app"]

DESCRIPTION = """\
scanhook delivers the Security Center's notifications as signed webhooks.

Every `/v1` route needs `Authorization: Bearer <token>`. Errors are JSON:
`{"error": {"code", "message", "field"}}`. Lists are pages: `{"data": […], "next_cursor"}`.
See docs/api.md.
"""


def create_app(
    hub: Hub, *, max_body_bytes: int = MAX_BODY_BYTES, metrics: Metrics | None = None
) -> FastAPI:
    """The HTTP API over ``hub``.

    The hub's database is brought to the current schema when the application starts; the caller
    owns the hub and closes it. ``metrics`` (default: a new registry) counts the attempts of the
    hub's workers, so run the workers on the same hub to see them in ``/metrics``.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        yield
        await app.state.metrics.close()

    # /docs (Swagger UI) and /redoc load their scripts and styles from this application
    # (/static-offline-docs), not from a CDN: they work offline and pull no remote code.
    app = FastAPIOffline(
        title="scanhook",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Swagger UI would otherwise send the document to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.hub = hub
    app.state.metrics = metrics or Metrics(refresh_every=hub.settings.seconds("metrics_refresh"))
    hub.add_attempt_listener(app.state.metrics.record_attempts)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(operations.metrics_router)
    protected = [Depends(require_token)]
    for router in (
        endpoints.router,
        events.router,
        deliveries.router,
        operations.stats_router,
        schedules.router,
    ):
        app.include_router(router, dependencies=protected)
    install_openapi(app)
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    return app
