"""The management commands on the configured database, through a Hub (no service needed)."""

from __future__ import annotations

import time

from pydantic import BaseModel

from scanhook.api import render
from scanhook.cli.client import JSON, PAGE, Backend
from scanhook.hub import Hub
from scanhook.schedules import render_next
from scanhook.store.records import ApiToken, DeliveryStatus

__all__ = ["LocalBackend"]


class LocalBackend(Backend):
    """The configured database, through a Hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.where = hub.settings.database_url

    async def add_endpoint(self, fields: JSON) -> JSON:
        options = dict(fields)
        endpoint = await self.hub.add_endpoint(options.pop("url"), **options)
        return _dump(render.created_endpoint(endpoint))

    async def list_endpoints(self) -> list[JSON]:
        found: list[JSON] = []
        after: str | None = None
        while True:
            page = await self.hub.store.list_endpoints(after=after, limit=PAGE)
            found.extend(_dump(render.endpoint(e)) for e in page)
            if len(page) < PAGE:
                return found
            after = page[-1].id

    async def get_endpoint(self, endpoint_id: str) -> JSON:
        return _dump(render.endpoint(await self.hub.store.get_endpoint(endpoint_id)))

    async def update_endpoint(self, endpoint_id: str, changes: JSON) -> JSON:
        return _dump(render.endpoint(await self.hub.update_endpoint(endpoint_id, **changes)))

    async def delete_endpoint(self, endpoint_id: str) -> None:
        await self.hub.store.delete_endpoint(endpoint_id)

    async def set_enabled(self, endpoint_id: str, enabled: bool) -> JSON:
        reason = None if enabled else "disabled by an operator"
        return _dump(render.endpoint(await self.hub.set_enabled(endpoint_id, enabled, reason)))

    async def rotate_secret(self, endpoint_id: str, *, expire_previous: bool = False) -> JSON:
        endpoint = await self.hub.rotate_secret(endpoint_id, expire_previous=expire_previous)
        return {"secret": render.current_secret(endpoint)}

    async def test_endpoint(self, endpoint_id: str, event_type: str) -> JSON:
        result = await self.hub.send_test(endpoint_id, event_type)
        return {
            "succeeded": result.succeeded,
            "status_code": result.status_code,
            "duration_ms": result.duration_ms,
            "error_kind": result.error_kind,
            "error": result.error,
            "response_body": result.body[:4096].decode("utf-8", "replace") if result.body else None,
        }

    async def publish(self, notification: JSON, idempotency_key: str | None) -> JSON:
        result = await self.hub.publish(notification, idempotency_key=idempotency_key)
        event = await self.hub.store.get_event(result.event_id)
        return {
            "id": result.event_id,
            "type": event.type,
            "deliveries": result.deliveries,
            "duplicate": result.duplicate,
        }

    async def get_event(self, event_id: str) -> JSON:
        return _dump(render.event(await self.hub.store.get_event(event_id)))

    async def list_deliveries(
        self, endpoint_id: str | None, status: DeliveryStatus | None, limit: int
    ) -> list[JSON]:
        records = await self.hub.store.list_deliveries(
            endpoint_id=endpoint_id, status=status, limit=limit
        )
        return [_dump(render.delivery(r)) for r in records]

    async def replay(
        self, endpoint_id: str, since: float | None, status: DeliveryStatus | None
    ) -> JSON:
        count = await self.hub.replay(endpoint_id, since=since, status=status)
        held_by = await self.hub.circuit_holding(endpoint_id) if count else None
        return _dump(render.requeued(count, held_by))

    async def retry_delivery(self, delivery_id: str) -> JSON:
        record = await self.hub.retry_delivery(delivery_id)
        held_by = await self.hub.circuit_holding(record.endpoint_id)
        return _dump(render.retried_delivery(record, held_by))

    async def stats(self) -> JSON:
        return await self.hub.store.stats(time.time())

    async def create_token(self, name: str) -> JSON:
        token_id, token = await self.hub.create_token(name)
        return {"id": token_id, "name": name, "token": token}

    async def list_tokens(self) -> list[JSON]:
        return [_token(t) for t in await self.hub.list_tokens()]

    async def revoke_token(self, token_id: str) -> JSON:
        return _token(await self.hub.revoke_token(token_id))

    # -- schedules ------------------------------------------------------------------------------
    async def add_schedule(self, fields: JSON) -> JSON:
        return _dump(render.schedule(await self.hub.add_schedule(fields)))

    async def list_schedules(self) -> list[JSON]:
        found: list[JSON] = []
        after: str | None = None
        while True:
            page = await self.hub.list_schedules(after=after, limit=PAGE)
            found.extend(_dump(render.schedule(s)) for s in page)
            if len(page) < PAGE:
                return found
            after = page[-1].id

    async def get_schedule(self, schedule_id: str) -> JSON:
        return _dump(render.schedule(await self.hub.get_schedule(schedule_id)))

    async def update_schedule(self, schedule_id: str, changes: JSON) -> JSON:
        return _dump(render.schedule(await self.hub.update_schedule(schedule_id, changes)))

    async def delete_schedule(self, schedule_id: str) -> None:
        await self.hub.delete_schedule(schedule_id)

    async def next_notices(self, schedule_id: str, count: int) -> JSON:
        notices = await self.hub.next_notices(schedule_id, count)
        return render_next(notices, self.hub.tz)

    async def schedule_notices(self, schedule_id: str, limit: int) -> list[JSON]:
        records = await self.hub.schedule_notices(schedule_id, limit=limit)
        return [_dump(render.notice(n, self.hub.tz)) for n in records]


def _dump(model: BaseModel) -> JSON:
    return model.model_dump(mode="json")


def _token(token: ApiToken) -> JSON:
    return {
        "id": token.id,
        "name": token.name,
        "active": token.active,
        "created_at": _iso(token.created_at),
        "last_used_at": _iso(token.last_used_at),
        "revoked_at": _iso(token.revoked_at),
    }


def _iso(value: float | None) -> str | None:
    moment = render.moment(value)
    return None if moment is None else moment.isoformat()
