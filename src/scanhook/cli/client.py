"""One small client for the management commands, so each command is written once.

:class:`~scanhook.cli.local.LocalBackend` opens the configured database through a Hub;
:class:`~scanhook.cli.remote.ApiBackend` talks to a running service (``--api-url``) with its
token. Both answer with the JSON the HTTP API uses (:mod:`scanhook.api.render`) and raise
scanhook's errors. Each is imported only when used, so that the command starts quickly.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from scanhook.errors import ScanhookError

if TYPE_CHECKING:
    from scanhook.config import Settings
    from scanhook.store.records import DeliveryStatus

__all__ = ["JSON", "PAGE", "ApiError", "Backend", "connect"]

JSON = dict[str, Any]
PAGE = 100


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
    async def rotate_secret(self, endpoint_id: str, *, expire_previous: bool = False) -> JSON: ...
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
    ) -> JSON:
        """``{"requeued": n, "circuit_delay": …}`` as ``POST …/replay`` answers."""

    @abc.abstractmethod
    async def retry_delivery(self, delivery_id: str) -> JSON:
        """The delivery, due now, with its ``circuit_delay``, as ``POST …/retry`` answers."""

    @abc.abstractmethod
    async def stats(self) -> JSON: ...

    # -- schedules, as GET/POST/PATCH/DELETE /v1/schedules… answer -------------------------------
    @abc.abstractmethod
    async def add_schedule(self, fields: JSON) -> JSON: ...
    @abc.abstractmethod
    async def list_schedules(self) -> list[JSON]: ...
    @abc.abstractmethod
    async def get_schedule(self, schedule_id: str) -> JSON: ...
    @abc.abstractmethod
    async def update_schedule(self, schedule_id: str, changes: JSON) -> JSON: ...
    @abc.abstractmethod
    async def delete_schedule(self, schedule_id: str) -> None: ...
    @abc.abstractmethod
    async def next_notices(self, schedule_id: str, count: int) -> JSON: ...
    @abc.abstractmethod
    async def schedule_notices(self, schedule_id: str, limit: int) -> list[JSON]: ...


@contextlib.asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[Backend]:
    """The service at ``settings.api_url`` when set, else the configured database."""
    if settings.api_url:
        import aiohttp

        from scanhook.cli.remote import ApiBackend

        token = settings.api_token.get_secret_value() if settings.api_token else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            yield ApiBackend(session, settings.api_url)
        return
    from scanhook.cli.local import LocalBackend
    from scanhook.hub import Hub

    async with Hub(settings) as hub:
        yield LocalBackend(hub)
