"""``GET /v1/stats`` (behind a token) and ``GET /metrics`` (Prometheus text; open, or behind
SCANHOOK_METRICS_TOKEN when it is set)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response

from scanhook.api.auth import require_metrics_token
from scanhook.api.errors import documented
from scanhook.api.models import StatsOut
from scanhook.api.state import hub_of
from scanhook.metrics import CONTENT_TYPE, Metrics

__all__ = ["metrics_router", "stats_router"]

stats_router = APIRouter(prefix="/v1", tags=["operations"])
metrics_router = APIRouter(tags=["operations"], dependencies=[Depends(require_metrics_token)])


@stats_router.get(
    "/stats",
    response_model=StatsOut,
    responses=documented(401, 503),
    summary="Deliveries by status, the oldest due delivery's age, endpoint counts",
)
async def stats(request: Request) -> StatsOut:
    hub = hub_of(request)
    await hub.start()
    return StatsOut.model_validate(await hub.store.stats(time.time()))


@metrics_router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **documented(401, 503),
    },
    summary="Prometheus metrics (text exposition format)",
    # The token is needed only when one is configured: `{}` says "or none".
    openapi_extra={"security": [{"MetricsToken": []}, {}]},
    description="Open, unless SCANHOOK_METRICS_TOKEN is set: then it needs "
    "`Authorization: Bearer <that token>` (API tokens are not accepted). The counts read from "
    "the database are at most SCANHOOK_METRICS_REFRESH old "
    "(`scanhook_queue_counts_age_seconds`).",
)
async def metrics(request: Request) -> Response:
    hub = hub_of(request)
    registry: Metrics = request.app.state.metrics
    await hub.start()
    await registry.collect_store(hub.store)
    return Response(registry.render(), media_type=CONTENT_TYPE)
