"""``/v1/schedules``: scan schedules (docs/schedules.md) — create, list, read, change, delete,
the next notices, and the log of notices sent and skipped."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from scanhook.api import render
from scanhook.api.errors import ApiError, documented
from scanhook.api.models import NextNotice, NextNotices, NoticePage, ScheduleOut, SchedulePage
from scanhook.api.state import hub_of
from scanhook.schedules import SchedulePatch, ScheduleSpec, render_notice

__all__ = ["router"]


def _single_query_values(request: Request) -> None:
    """422 for a query parameter given more than once (``?count=1&count=2``): the document says
    each is one value, so a repeated one is refused rather than one of them silently taken."""
    for name in request.query_params:
        if len(request.query_params.getlist(name)) > 1:
            raise ApiError(
                422, "invalid_request", f"{name}: give this query parameter once", field=name
            )


router = APIRouter(
    prefix="/v1/schedules", tags=["schedules"], dependencies=[Depends(_single_query_values)]
)

ID = Annotated[str, "schedule id"]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Cursor = Annotated[
    str | None, Query(max_length=300, description="next_cursor of the previous page.")
]


@router.post(
    "",
    status_code=201,
    response_model=ScheduleOut,
    responses=documented(401, 413, 422, 503),
    summary="Create a schedule; its runs are announced by scheduled_scan notifications",
)
async def create_schedule(request: Request, body: ScheduleSpec) -> ScheduleOut:
    return render.schedule(await hub_of(request).add_schedule(body.model_dump()))


@router.get(
    "",
    response_model=SchedulePage,
    responses=documented(401, 422, 503),
    summary="List schedules (by id, a page at a time)",
)
async def list_schedules(
    request: Request, limit: Limit = 100, cursor: Cursor = None
) -> SchedulePage:
    rows = await hub_of(request).list_schedules(after=cursor, limit=limit + 1)
    page = rows[:limit]
    next_cursor = page[-1].id if len(rows) > limit else None
    return SchedulePage(data=[render.schedule(s) for s in page], next_cursor=next_cursor)


@router.get(
    "/{schedule_id}",
    response_model=ScheduleOut,
    responses=documented(401, 404, 422, 503),
    summary="Read a schedule",
)
async def get_schedule(request: Request, schedule_id: ID) -> ScheduleOut:
    return render.schedule(await hub_of(request).get_schedule(schedule_id))


@router.patch(
    "/{schedule_id}",
    response_model=ScheduleOut,
    responses=documented(401, 404, 413, 422, 503),
    summary="Change a schedule (omitted fields stay); affects only notices sent after the change",
)
async def update_schedule(request: Request, schedule_id: ID, body: SchedulePatch) -> ScheduleOut:
    changes = body.model_dump(exclude_unset=True)
    return render.schedule(await hub_of(request).update_schedule(schedule_id, changes))


@router.delete(
    "/{schedule_id}",
    status_code=204,
    response_class=Response,
    responses=documented(401, 404, 422, 503),
    summary="Delete a schedule (it announces nothing more; its notice log stays)",
)
async def delete_schedule(request: Request, schedule_id: ID) -> Response:
    await hub_of(request).delete_schedule(schedule_id)
    return Response(status_code=204)


@router.get(
    "/{schedule_id}/next",
    response_model=NextNotices,
    responses=documented(401, 404, 422, 503),
    summary="The next notices the schedule will send, in send order",
)
async def next_notices(
    request: Request,
    schedule_id: ID,
    count: Annotated[int, Query(ge=1, le=1000, description="How many notices.")] = 10,
) -> NextNotices:
    hub = hub_of(request)
    notices = await hub.next_notices(schedule_id, count)
    return NextNotices(notices=[NextNotice(**render_notice(n, hub.tz)) for n in notices])


@router.get(
    "/{schedule_id}/notices",
    response_model=NoticePage,
    responses=documented(401, 404, 422, 503),
    summary="The notices decided so far (sent, with their events, and skipped), in send order",
)
async def list_notices(
    request: Request, schedule_id: ID, limit: Limit = 100, cursor: Cursor = None
) -> NoticePage:
    hub = hub_of(request)
    rows = await hub.schedule_notices(schedule_id, after=cursor, limit=limit + 1)
    page = rows[:limit]
    next_cursor = page[-1].key if len(rows) > limit else None
    return NoticePage(data=[render.notice(n, hub.tz) for n in page], next_cursor=next_cursor)
