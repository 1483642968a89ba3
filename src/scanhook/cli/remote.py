"""The management commands against a running service (``--api-url``), over its HTTP API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from scanhook.cli.client import JSON, PAGE, ApiError, Backend
from scanhook.errors import (
    ConflictError,
    InvalidNotification,
    InvalidRequest,
    NotFound,
    ScanhookError,
)
from scanhook.store.records import DeliveryStatus

__all__ = ["ApiBackend"]


def _items(body: Any) -> tuple[list[JSON], str | None]:
    """A page of a list answer: the items and the next cursor, whichever shape the API uses."""
    if isinstance(body, list):
        return body, None
    if isinstance(body, dict):
        for key in ("data", "items", "endpoints", "deliveries", "tokens"):
            if isinstance(body.get(key), list):
                cursor = body.get("next_cursor") or body.get("next")
                return body[key], cursor if isinstance(cursor, str) else None
    raise ApiError(f"the service answered with an unexpected list: {str(body)[:200]}")


class ApiBackend(Backend):
    """A running scanhook service, over its HTTP API."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self.where = base_url
        self._base = base_url.rstrip("/")

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        url = self._base + path
        try:
            async with self._session.request(
                method, url, json=body, params=params, headers=headers
            ) as response:
                text = await response.text()
                status = response.status
        except aiohttp.InvalidURL:
            raise ApiError(f"--api-url {self.where!r} is not a URL") from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise ApiError(f"cannot reach the scanhook service at {self.where}: {reason}") from None
        data: Any = None
        if text:
            try:
                data = json.loads(text)
            except ValueError:
                data = None
        if status < 400:
            return data
        raise _error(status, data, text, method, path)

    async def _list(
        self, path: str, params: dict[str, str], limit: int | None = None
    ) -> list[JSON]:
        found: list[JSON] = []
        query = dict(params)
        while True:
            items, cursor = _items(await self._call("GET", path, params=query))
            found.extend(items)
            if cursor is None or not items or (limit is not None and len(found) >= limit):
                return found[:limit] if limit is not None else found
            query["cursor"] = cursor

    async def add_endpoint(self, fields: JSON) -> JSON:
        result: JSON = await self._call("POST", "/v1/endpoints", body=fields)
        return result

    async def list_endpoints(self) -> list[JSON]:
        return await self._list("/v1/endpoints", {"limit": str(PAGE)})

    async def get_endpoint(self, endpoint_id: str) -> JSON:
        result: JSON = await self._call("GET", f"/v1/endpoints/{_segment(endpoint_id)}")
        return result

    async def update_endpoint(self, endpoint_id: str, changes: JSON) -> JSON:
        result: JSON = await self._call(
            "PATCH", f"/v1/endpoints/{_segment(endpoint_id)}", body=changes
        )
        return result

    async def delete_endpoint(self, endpoint_id: str) -> None:
        await self._call("DELETE", f"/v1/endpoints/{_segment(endpoint_id)}")

    async def set_enabled(self, endpoint_id: str, enabled: bool) -> JSON:
        action = "enable" if enabled else "disable"
        result: JSON = await self._call("POST", f"/v1/endpoints/{_segment(endpoint_id)}/{action}")
        return result

    async def rotate_secret(self, endpoint_id: str, *, expire_previous: bool = False) -> JSON:
        result: JSON = await self._call(
            "POST",
            f"/v1/endpoints/{_segment(endpoint_id)}/rotate-secret",
            body={"expire_previous": expire_previous},
        )
        return result

    async def test_endpoint(self, endpoint_id: str, event_type: str) -> JSON:
        result: JSON = await self._call(
            "POST",
            f"/v1/endpoints/{_segment(endpoint_id)}/test",
            body={"event_type": event_type},
        )
        return result

    async def publish(self, notification: JSON, idempotency_key: str | None) -> JSON:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        result: JSON = await self._call("POST", "/v1/events", body=notification, headers=headers)
        return result

    async def get_event(self, event_id: str) -> JSON:
        result: JSON = await self._call("GET", f"/v1/events/{_segment(event_id)}")
        return result

    async def list_deliveries(
        self, endpoint_id: str | None, status: DeliveryStatus | None, limit: int
    ) -> list[JSON]:
        params = {"limit": str(min(limit, PAGE))}
        if endpoint_id:
            params["endpoint_id"] = endpoint_id
        if status:
            params["status"] = status
        return await self._list("/v1/deliveries", params, limit)

    async def replay(
        self, endpoint_id: str, since: float | None, status: DeliveryStatus | None
    ) -> JSON:
        body: JSON = {"status": status}
        if since is not None:
            body["since"] = datetime.fromtimestamp(since, UTC).isoformat()
        result = await self._call(
            "POST", f"/v1/endpoints/{_segment(endpoint_id)}/replay", body=body
        )
        if isinstance(result, dict) and isinstance(result.get("requeued"), int):
            return result
        raise ApiError(f"the service answered the replay unexpectedly: {str(result)[:200]}")

    async def retry_delivery(self, delivery_id: str) -> JSON:
        result = await self._call("POST", f"/v1/deliveries/{_segment(delivery_id)}/retry")
        if isinstance(result, dict) and isinstance(result.get("id"), str):
            return result
        raise ApiError(f"the service answered the retry unexpectedly: {str(result)[:200]}")

    async def stats(self) -> JSON:
        result: JSON = await self._call("GET", "/v1/stats")
        return result

    # -- schedules ------------------------------------------------------------------------------
    async def add_schedule(self, fields: JSON) -> JSON:
        result: JSON = await self._call("POST", "/v1/schedules", body=fields)
        return result

    async def list_schedules(self) -> list[JSON]:
        return await self._list("/v1/schedules", {"limit": str(PAGE)})

    async def get_schedule(self, schedule_id: str) -> JSON:
        result: JSON = await self._call("GET", f"/v1/schedules/{_segment(schedule_id)}")
        return result

    async def update_schedule(self, schedule_id: str, changes: JSON) -> JSON:
        result: JSON = await self._call(
            "PATCH", f"/v1/schedules/{_segment(schedule_id)}", body=changes
        )
        return result

    async def delete_schedule(self, schedule_id: str) -> None:
        await self._call("DELETE", f"/v1/schedules/{_segment(schedule_id)}")

    async def next_notices(self, schedule_id: str, count: int) -> JSON:
        result: JSON = await self._call(
            "GET", f"/v1/schedules/{_segment(schedule_id)}/next", params={"count": str(count)}
        )
        return result

    async def schedule_notices(self, schedule_id: str, limit: int) -> list[JSON]:
        path = f"/v1/schedules/{_segment(schedule_id)}/notices"
        return await self._list(path, {"limit": str(min(limit, PAGE))}, limit)


def _segment(value: str) -> str:
    return quote(value, safe="")


def _error(status: int, data: Any, text: str, method: str, path: str) -> ScanhookError:
    """The API's JSON error as the matching scanhook exception."""
    body = data.get("error") if isinstance(data, dict) else None
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("code") or "")
        field = body.get("field") if isinstance(body.get("field"), str) else None
        problems = body.get("problems")
    else:
        message, field, problems = text.strip()[:300], None, None
    if not message:
        message = f"HTTP {status} from {method} {path}"
    if status == 401:
        return ApiError(
            f"the service refused the token ({message}); give one with --token or "
            "SCANHOOK_API_TOKEN (scanhook token create makes one)"
        )
    if status == 404:
        return NotFound(message)
    if status == 409:
        return ConflictError(message)
    if status == 422 and isinstance(problems, list):
        return InvalidNotification([p for p in problems if isinstance(p, dict)], message)
    if 400 <= status < 500:
        return InvalidRequest(message, field=field)
    return ApiError(f"the service failed (HTTP {status}): {message}")
