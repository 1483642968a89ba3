"""``/v1/deliveries``: list with filters, read one, retry one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from scanhook.api import render
from scanhook.api.errors import ApiError, documented
from scanhook.api.models import DeliveryDetail, DeliveryPage, RetriedDelivery
from scanhook.api.state import hub_of
from scanhook.notifications import EventType
from scanhook.store.records import DeliveryStatus

__all__ = ["router"]

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])


@router.get(
    "",
    response_model=DeliveryPage,
    responses=documented(401, 422, 503),
    summary="List deliveries, newest first, with filters",
)
async def list_deliveries(
    request: Request,
    endpoint_id: Annotated[str | None, Query(max_length=64)] = None,
    status: DeliveryStatus | None = None,
    event_type: EventType | None = None,
    since: Annotated[
        datetime | None, Query(description="Created at or after (ISO 8601; UTC if no offset).")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Created before (ISO 8601; UTC if no offset).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=64, description="next_cursor of the previous page.")
    ] = None,
) -> DeliveryPage:
    start, end = render.seconds(since), render.seconds(until)
    if start is not None and end is not None and end < start:
        raise ApiError(422, "invalid_request", "until: must not be before since", field="until")
    hub = hub_of(request)
    await hub.start()
    rows = await hub.store.list_deliveries(
        endpoint_id=endpoint_id,
        status=status,
        event_type=event_type,
        since=start,
        until=end,
        after=cursor,
        limit=limit + 1,
    )
    page = rows[:limit]
    next_cursor = page[-1].id if len(rows) > limit else None
    notes = await hub.attention_notes([d.id for d in page])
    return DeliveryPage(data=[render.delivery(d, notes) for d in page], next_cursor=next_cursor)


@router.get(
    "/{delivery_id}",
    response_model=DeliveryDetail,
    responses=documented(401, 404, 422, 503),
    summary="A delivery with its attempts",
)
async def get_delivery(request: Request, delivery_id: str) -> DeliveryDetail:
    hub = hub_of(request)
    await hub.start()
    record = await hub.store.get_delivery(delivery_id)
    return render.delivery_detail(record, await hub.attention_notes([record.id]))


@router.post(
    "/{delivery_id}/retry",
    response_model=RetriedDelivery,
    responses=documented(401, 404, 409, 422, 503),
    summary="Make a failed delivery due now (409 when it succeeded or is in flight); "
    "circuit_delay says when the endpoint's circuit will hold it",
)
async def retry_delivery(request: Request, delivery_id: str) -> RetriedDelivery:
    hub = hub_of(request)
    record = await hub.retry_delivery(delivery_id)
    return render.retried_delivery(record, await hub.circuit_holding(record.endpoint_id))
