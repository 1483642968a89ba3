"""``/v1/events``: publish one notification or a batch, and read an event with its deliveries."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from scanhook.api import render
from scanhook.api.errors import ApiError, documented
from scanhook.api.models import BatchAccepted, BatchIn, EventAccepted, EventOut
from scanhook.api.state import hub_of
from scanhook.errors import InvalidNotification
from scanhook.notifications import Notification

__all__ = ["NOTIFICATION_BODY", "router"]

router = APIRouter(prefix="/v1/events", tags=["events"])

#: The request body of POST /v1/events, for the OpenAPI document (the schemas are added as
#: components by the application).
NOTIFICATION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": 'The notification itself, e.g. {"finished_scan": {…}}.',
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Notification"}}},
    }
}


@router.post(
    "",
    status_code=202,
    response_model=EventAccepted,
    responses=documented(401, 413, 422, 503),
    openapi_extra=NOTIFICATION_BODY,
    summary="Publish a notification; 202 once it is durably stored",
)
async def publish(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=255,
            description="The same key (within 24 h) returns the first event and creates nothing.",
        ),
    ] = None,
) -> EventAccepted:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, "malformed_json", f"the body is not valid JSON ({exc})") from None
    hub = hub_of(request)
    notification = hub.to_notification(data) if isinstance(data, dict) else hub.to_notification(raw)
    result = await hub.publish(notification, idempotency_key=idempotency_key)
    if result.duplicate:
        record = await hub.store.get_event(result.event_id)
        event_type = record.type
    else:
        event_type = notification.event_type
    return EventAccepted(
        id=result.event_id,
        type=event_type,
        deliveries=result.deliveries,
        duplicate=result.duplicate,
    )


@router.post(
    "/batch",
    status_code=202,
    response_model=BatchAccepted,
    responses=documented(401, 413, 422, 503),
    summary="Publish up to 1,000 notifications at once, all or none",
)
async def publish_batch(request: Request, body: BatchIn) -> BatchAccepted:
    hub = hub_of(request)
    notifications: list[Notification] = []
    for index, item in enumerate(body.events):
        try:
            notifications.append(hub.to_notification(item))
        except InvalidNotification as exc:
            problems = [{**p, "field": f"events[{index}].{p['field']}"} for p in exc.problems]
            raise InvalidNotification(problems) from None
    results = await hub.publish_batch(notifications)
    return BatchAccepted(ids=[r.event_id for r in results])


@router.get(
    "/{event_id}",
    response_model=EventOut,
    responses=documented(401, 404, 422, 503),
    summary="An event with its deliveries and their attempts",
)
async def get_event(request: Request, event_id: str) -> EventOut:
    hub = hub_of(request)
    await hub.start()
    record = await hub.store.get_event(event_id)
    notes = await hub.attention_notes([d.id for d in record.deliveries])
    return render.event(record, notes)
