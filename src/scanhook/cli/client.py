"""One small client for the management commands, so each command is written once.

:class:`LocalBackend` opens the configured database through a :class:`~scanhook.Hub`;
:class:`ApiBackend` talks to a running service (``--api-url``) with its token. Both answer with
the JSON the HTTP API uses (:mod:`scanhook.api.render`), and both raise scanhook's errors.
"""

from __future__ import annotations

import abc
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel

from scanhook.api import render
from scanhook.config import Settings
from scanhook.errors import (
    ConflictError,
    InvalidNotification,
    InvalidRequest,
    NotFound,
    ScanhookError,
)
from scanhook.hub import Hub
from scanhook.store.records import ApiToken, DeliveryStatus

__all__ = ["ApiBackend", "ApiError", "Backend", "LocalBackend", "connect"]

JSON = dict[str, Any]
_PAGE = 100


class ApiError(ScanhookError):
    """The scanhook service refused the request."""


class Backend(abc.ABC):
    """What the management commands ask of scanhook."""

    #: Where the commands act, for messages: the database URL or the service URL.
    where: str

    @abc.abstractmethod
    async def add_endpoint(self, fields: JSON) -> JSON: ...
    @abc.abstractmethod
    async def list_endpoints(self) -> list[JSON]: ...
    @abc.abstractmethod
    async def get_endpoint(self, endpoint_id: str) -> JSON: ...
    @abc.abstractmethod
    async def update_endpoint(self, endpoint_id: str, changes: JSON) -> JSON: ...
    @abc.abstractmethod
    async def delete_endpoint(self, endpoint_id: str) -> None: ...
    @abc.abstractmethod
    async def set_enabled(self, endpoint_id: str, enabled: bool) -> JSON: ...
    @abc.abstractmethod
    async def rotate_secret(self, endpoint_id: str) -> JSON: ...
    @abc.abstractmethod
    async def test_endpoint(self, endpoint_id: str, event_type: str) -> JSON: ...
    @abc.abstractmethod
    async def publish(self, notification: JSON, idempotency_key: str | None) -> JSON: ...
    @abc.abstractmethod
    async def get_event(self, event_id: str) -> JSON: ...
    @abc.abstractmethod
    async def list_deliveries(
        self, endpoint_id: str | None, status: DeliveryStatus | None, limit: int
    ) -> list[JSON]: ...
    @abc.abstractmethod
    async def replay(
        self, endpoint_id: str, since: float | None, status: DeliveryStatus | None
    ) -> int: ...
    @abc.abstractmethod
    async def stats(self) -> JSON: ...


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
            page = await self.hub.store.list_endpoints(after=after, limit=_PAGE)
            found.extend(_dump(render.endpoint(e)) for e in page)
            if len(page) < _PAGE:
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

    async def rotate_secret(self, endpoint_id: str) -> JSON:
        endpoint = await self.hub.rotate_secret(endpoint_id)
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
    ) -> int:
        return await self.hub.replay(endpoint_id, since=since, status=status)

    async def stats(self) -> JSON:
        return await self.hub.store.stats(time.time())

    async def create_token(self, name: str) -> JSON:
        token_id, token = await self.hub.create_token(name)
        return {"id": token_id, "name": name, "token": token}

    async def list_tokens(self) -> list[JSON]:
        return [_token(t) for t in await self.hub.list_tokens()]

    async def revoke_token(self, token_id: str) -> JSON:
        return _token(await self.hub.revoke_token(token_id))


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
        return await self._list("/v1/endpoints", {"limit": str(_PAGE)})

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

    async def rotate_secret(self, endpoint_id: str) -> JSON:
        result: JSON = await self._call(
            "POST", f"/v1/endpoints/{_segment(endpoint_id)}/rotate-secret"
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
        params = {"limit": str(min(limit, _PAGE))}
        if endpoint_id:
            params["endpoint_id"] = endpoint_id
        if status:
            params["status"] = status
        return await self._list("/v1/deliveries", params, limit)

    async def replay(
        self, endpoint_id: str, since: float | None, status: DeliveryStatus | None
    ) -> int:
        body: JSON = {"status": status}
        if since is not None:
            body["since"] = _iso(since)
        result = await self._call(
            "POST", f"/v1/endpoints/{_segment(endpoint_id)}/replay", body=body
        )
        for key in ("requeued", "count", "replayed"):
            if isinstance(result, dict) and isinstance(result.get(key), int):
                return int(result[key])
        raise ApiError(f"the service answered the replay unexpectedly: {str(result)[:200]}")

    async def stats(self) -> JSON:
        result: JSON = await self._call("GET", "/v1/stats")
        return result


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


@contextlib.asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[Backend]:
    """The service at ``settings.api_url`` when set, else the configured database."""
    if settings.api_url:
        token = settings.api_token.get_secret_value() if settings.api_token else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            yield ApiBackend(session, settings.api_url)
        return
    async with Hub(settings) as hub:
        yield LocalBackend(hub)
