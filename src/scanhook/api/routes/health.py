"""``GET /healthz``: whether the service and its database answer (open, no token)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from scanhook.api.state import hub_of
from scanhook.errors import DatabaseError

__all__ = ["Health", "router"]

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]
    error: str | None = None


@router.get(
    "/healthz",
    response_model=Health,
    response_model_exclude_none=True,
    responses={503: {"model": Health, "description": "The database does not answer."}},
    summary="Health of the service and its database",
)
async def healthz(request: Request) -> JSONResponse:
    hub = hub_of(request)
    try:
        await hub.store.ping()
    except DatabaseError as exc:
        body = {"status": "unavailable", "database": "unavailable", "error": exc.message}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
