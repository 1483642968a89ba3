"""``/v1/endpoints``: create, list, read, change, delete, enable/disable, secrets, test, replay."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from scanhook.api import render
from scanhook.api.errors import documented
from scanhook.api.models import (
    EndpointCreated,
    EndpointOut,
    EndpointPage,
    EndpointSecrets,
    PreviousSecret,
    ReplayIn,
    Requeued,
    RotateSecretIn,
    SecretOut,
    SendTestIn,
    SendTestResult,
)
from scanhook.api.state import hub_of
from scanhook.endpoints import EndpointOptions, EndpointPatch

__all__ = ["router"]

router = APIRouter(prefix="/v1/endpoints", tags=["endpoints"])

ID = Annotated[str, "endpoint id"]


@router.post(
    "",
    status_code=201,
    response_model=EndpointCreated,
    responses=documented(401, 413, 422, 503),
    summary="Create an endpoint (the secret is generated when not given)",
)
async def create_endpoint(request: Request, body: EndpointOptions) -> EndpointCreated:
    options = body.model_dump(exclude_unset=True)
    url = options.pop("url")
    endpoint = await hub_of(request).add_endpoint(url, **options)
    return render.created_endpoint(endpoint)


@router.get(
    "",
    response_model=EndpointPage,
    responses=documented(401, 422, 503),
    summary="List endpoints (by id, a page at a time)",
)
async def list_endpoints(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=64, description="next_cursor of the previous page.")
    ] = None,
) -> EndpointPage:
    hub = hub_of(request)
    await hub.start()
    rows = await hub.store.list_endpoints(after=cursor, limit=limit + 1)
    page = rows[:limit]
    next_cursor = page[-1].id if len(rows) > limit else None
    return EndpointPage(data=[render.endpoint(e) for e in page], next_cursor=next_cursor)


@router.get(
    "/{endpoint_id}",
    response_model=EndpointOut,
    responses=documented(401, 404, 422, 503),
    summary="Read an endpoint",
)
async def get_endpoint(request: Request, endpoint_id: ID) -> EndpointOut:
    hub = hub_of(request)
    await hub.start()
    return render.endpoint(await hub.store.get_endpoint(endpoint_id))


@router.patch(
    "/{endpoint_id}",
    response_model=EndpointOut,
    responses=documented(401, 404, 413, 422, 503),
    summary="Change an endpoint (omitted fields stay as they are)",
)
async def update_endpoint(request: Request, endpoint_id: ID, body: EndpointPatch) -> EndpointOut:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    # A masked credential sent back keeps the stored one; the Hub decides when it may.
    return render.endpoint(await hub_of(request).update_endpoint(endpoint_id, **changes))


@router.delete(
    "/{endpoint_id}",
    status_code=204,
    response_class=Response,
    responses=documented(401, 404, 422, 503),
    summary="Delete an endpoint (its unfinished deliveries fail with 'endpoint deleted')",
)
async def delete_endpoint(request: Request, endpoint_id: ID) -> Response:
    hub = hub_of(request)
    await hub.start()
    await hub.store.delete_endpoint(endpoint_id)
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/enable",
    response_model=EndpointOut,
    responses=documented(401, 404, 422, 503),
    summary="Enable an endpoint (clears its failure streak and circuit)",
)
async def enable_endpoint(request: Request, endpoint_id: ID) -> EndpointOut:
    return render.endpoint(await hub_of(request).set_enabled(endpoint_id, True))


@router.post(
    "/{endpoint_id}/disable",
    response_model=EndpointOut,
    responses=documented(401, 404, 422, 503),
    summary="Disable an endpoint (its deliveries wait until it is enabled)",
)
async def disable_endpoint(request: Request, endpoint_id: ID) -> EndpointOut:
    return render.endpoint(await hub_of(request).set_enabled(endpoint_id, False))


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=SecretOut,
    responses=documented(401, 404, 413, 422, 503),
    summary=(
        "Rotate the signing secret; the old one keeps signing for the overlap (24 h), or"
        " stops now with expire_previous"
    ),
)
async def rotate_secret(
    request: Request,
    endpoint_id: ID,
    body: Annotated[RotateSecretIn | None, Body()] = None,
) -> SecretOut:
    spec = body or RotateSecretIn()
    endpoint = await hub_of(request).rotate_secret(
        endpoint_id, spec.secret, expire_previous=spec.expire_previous
    )
    return SecretOut(secret=render.current_secret(endpoint))


@router.get(
    "/{endpoint_id}/secret",
    response_model=EndpointSecrets,
    responses=documented(401, 404, 422, 503),
    summary="The endpoint's signing secrets",
)
async def get_secret(request: Request, endpoint_id: ID) -> EndpointSecrets:
    hub = hub_of(request)
    await hub.start()
    endpoint = await hub.store.get_endpoint(endpoint_id)
    current = render.current_secret(endpoint)
    previous = [
        PreviousSecret(secret=s.value, expires_at=render.moment(s.expires_at))
        for s in endpoint.secrets
        if s.value != current
    ]
    return EndpointSecrets(secret=current, previous=previous)


@router.post(
    "/{endpoint_id}/test",
    response_model=SendTestResult,
    responses=documented(401, 404, 413, 422, 503),
    summary="Send a sample notification now and return what the receiver did",
)
async def send_test(
    request: Request,
    endpoint_id: ID,
    body: Annotated[SendTestIn | None, Body()] = None,
) -> SendTestResult:
    event_type = body.event_type if body is not None else "finished_scan"
    result = await hub_of(request).send_test(endpoint_id, event_type)
    return SendTestResult(
        succeeded=result.succeeded,
        status_code=result.status_code,
        duration_ms=result.duration_ms,
        error_kind=result.error_kind,
        error=result.error,
        response_body=result.body[:4096].decode("utf-8", "replace") if result.body else None,
    )


@router.post(
    "/{endpoint_id}/replay",
    response_model=Requeued,
    responses=documented(401, 404, 413, 422, 503),
    summary="Requeue the endpoint's finished deliveries (by default the failed ones); "
    "circuit_delay says when the endpoint's circuit will hold them",
)
async def replay(
    request: Request,
    endpoint_id: ID,
    body: Annotated[ReplayIn | None, Body()] = None,
) -> Requeued:
    spec = body or ReplayIn()
    since = render.seconds(spec.since)
    hub = hub_of(request)
    count = await hub.replay(endpoint_id, since=since, status=spec.status)
    return render.requeued(count, await hub.circuit_holding(endpoint_id) if count else None)
