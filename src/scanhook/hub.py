"""The one place that wires scanhook together: settings → store, HTTP client, retry policy,
worker and background jobs. The API, the CLI and embedding programs all go through a Hub.

Embedding example::

    hub = scanhook.Hub.open("sqlite:///scanhook.db")
    endpoint = await hub.add_endpoint("https://tracker.example.com/hooks", event_types=["ticket.*"])
    await hub.publish({"ticket": {...}})
    async with hub.run_workers():
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import random
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from pydantic import ValidationError

from scanhook._version import __version__
from scanhook.config import Settings, load_settings
from scanhook.delivery.auth import keep_masked_credentials, keep_masked_headers, validate_auth
from scanhook.delivery.retry import RetryPolicy
from scanhook.delivery.signing import generate_secret
from scanhook.delivery.ssrf import DestinationBlocked, NetworkPolicy
from scanhook.endpoints import EndpointOptions, EndpointPatch, check_secret_headers
from scanhook.errors import InvalidRequest, NotFound, ScanhookError
from scanhook.notifications import Notification, encode, parse, sample
from scanhook.scheduler import Clock, PassResult, Scheduler
from scanhook.schedules import Notice, parse_patch, parse_schedule, upcoming_notices
from scanhook.store import Store, open_store
from scanhook.store.ids import new_id
from scanhook.store.records import (
    ApiToken,
    AttemptOutcome,
    ClaimedDelivery,
    DeliveryRecord,
    DeliveryStatus,
    Endpoint,
    EndpointSecret,
    NewEvent,
    PublishResult,
    StorePolicy,
    is_secret_header,
)
from scanhook.store.resealing import Resealed
from scanhook.store.schedule_records import NoticeRecord, ScheduleRecord

if TYPE_CHECKING:
    # The HTTP client, the formats and the filters load where they are used: a command that
    # only reads the database starts without them.
    from scanhook.delivery.http import HttpClient, HttpResult
    from scanhook.delivery.worker import Worker

__all__ = ["AttemptListener", "Hub", "NotificationInput", "hash_token"]

log = structlog.get_logger("scanhook.hub")
T = TypeVar("T")

#: What ``publish`` accepts: a model, a decoded ``{"finished_scan": {…}}`` object, or its JSON.
NotificationInput = Notification | Mapping[str, Any] | bytes | str

#: Called with each batch of attempts a worker of this Hub has recorded (e.g. for metrics).
AttemptListener = Callable[[Sequence[AttemptOutcome]], None]

PRUNE_EVERY = 3600.0
#: Formats whose endpoints are ``ordered`` unless created with ``ordered: false``: a ticket's
#: close transitions/resolves the record its open created, so it must come after it.
ORDERED_FORMATS = frozenset({"jira", "servicenow"})
#: API tokens look like ``shk_<43 url-safe base64 characters>`` (256 random bits).
TOKEN_PREFIX = "shk_"  # noqa: S105 - a prefix, not a secret
#: Previous signing secrets that keep signing beside the current one after a rotation (the
#: newest ones): each adds a signature to every request until its overlap ends.
KEPT_PREVIOUS_SECRETS = 2
#: A token's last_used_at is written at most this often (seconds), not on every request.
TOKEN_TOUCH_EVERY = 60.0


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored. A token has 256 random bits, so a fast
    hash is enough: nobody can search that space, whatever the hash costs."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _request_error(exc: ValidationError) -> InvalidRequest:
    """The first field and every problem of a validation error, as one InvalidRequest."""
    errors = exc.errors(include_url=False)
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error["loc"]) or "(body)"
        parts.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    field = ".".join(str(p) for p in errors[0]["loc"]) or None
    return InvalidRequest("; ".join(parts), field=field)


def _check_secret_headers(names: list[str], headers: Mapping[str, str]) -> None:
    try:
        check_secret_headers(names, dict(headers))
    except ValueError as exc:
        raise InvalidRequest(f"secret_headers: {exc}", field="secret_headers") from None


#: How a refusal at save names the policy and the settings that widen it.
_POLICY = (
    "the network policy refuses destinations in loopback, private, link-local (cloud metadata), "
    "multicast and reserved address ranges"
)
_ALLOWANCE = (
    "set SCANHOOK_ALLOW_PRIVATE_NETWORKS=true to allow private networks (loopback included), "
    "or SCANHOOK_ALLOWED_NETWORKS to allow one network (e.g. 10.1.2.0/24)"
)


def _destination_error(field: str, exc: DestinationBlocked) -> InvalidRequest:
    detail = exc.message.removeprefix("url: ")
    if exc.allowable:
        message = f"{field}: {detail}; {_POLICY}; {_ALLOWANCE}"
    elif exc.address is not None and exc.reason != "ambiguous_spelling":
        message = f"{field}: {detail}; {_POLICY}, and no setting allows this one"
    else:
        message = f"{field}: {detail}"
    return InvalidRequest(message, field=field)


def _check_filter(text: str | None) -> None:
    if text is None:
        return
    from scanhook.filters import FilterError, compile_filter

    try:
        compile_filter(text)
    except FilterError as exc:
        raise InvalidRequest(f"filter: {exc}", field="filter") from exc


class Hub:
    """scanhook in one object: publishing, endpoints, and the workers."""

    def __init__(
        self, settings: Settings, store: Store | None = None, *, clock: Clock | None = None
    ) -> None:
        """``clock`` (Unix seconds, default ``time.time``) is the scheduler's time: what is due,
        and when schedules were created and edited. Tests pass one they can move."""
        self.settings = settings
        self.store = store or open_store(
            settings.database_url,
            StorePolicy(
                circuit_threshold=settings.circuit_threshold,
                circuit_steps=settings.retry_delays,
                disable_after=settings.seconds("disable_after"),
            ),
            secret_key=(
                settings.secret_key.get_secret_value() if settings.secret_key is not None else None
            ),
        )
        self.tz = settings.display_tz
        self.user_agent = f"scanhook/{__version__}"
        self._ready = False
        self._ready_lock: asyncio.Lock | None = None
        self._workers: list[Worker] = []
        self._attempt_listeners: list[AttemptListener] = []
        self._sync_loop: asyncio.AbstractEventLoop | None = None
        self.clock: Clock = clock or time.time
        self.scheduler = Scheduler(
            self.store,
            make_event=lambda notification: self._new_event(notification, None),
            grace=settings.seconds("schedule_grace"),
            clock=self.clock,
            on_published=self._wake_workers,
        )

    @classmethod
    def open(cls, database_url: str | None = None, **settings: Any) -> Hub:
        """A Hub on ``database_url`` (default: the configured one); other keyword arguments
        override settings, e.g. ``allow_private_networks=True``."""
        if database_url is not None:
            settings["database_url"] = database_url
        return cls(load_settings(**settings))

    async def start(self) -> None:
        """Bring the database to the current schema (done once, on first use)."""
        if self._ready:
            return
        if self._ready_lock is None:
            self._ready_lock = asyncio.Lock()
        async with self._ready_lock:
            if not self._ready:
                await self.store.upgrade()
                self._ready = True

    async def close(self) -> None:
        await self.store.close()
        if self._sync_loop is not None:
            self._sync_loop.call_soon_threadsafe(self._sync_loop.stop)
            self._sync_loop = None

    async def __aenter__(self) -> Hub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- publishing -------------------------------------------------------------------------------
    def to_notification(self, data: NotificationInput) -> Notification:
        """Validate ``data``; raise InvalidNotification naming each bad field."""
        if isinstance(data, Mapping | bytes | str):
            return parse(data, self.tz)
        return data

    def _new_event(self, data: NotificationInput, idempotency_key: str | None) -> NewEvent:
        notification = self.to_notification(data)
        return NewEvent(
            id=new_id("evt"),
            type=notification.event_type,
            body=encode(notification, self.tz),
            notification=notification,
            created_at=time.time(),
            idempotency_key=idempotency_key,
        )

    async def publish(
        self, data: NotificationInput, *, idempotency_key: str | None = None
    ) -> PublishResult:
        """Validate and store one notification with its deliveries; durable when it returns."""
        (result,) = await self.publish_batch([data], idempotency_keys=[idempotency_key])
        return result

    async def publish_batch(
        self,
        items: Sequence[NotificationInput],
        *,
        idempotency_keys: Sequence[str | None] | None = None,
    ) -> list[PublishResult]:
        """Validate all, then store all in one transaction (nothing is stored if one is bad)."""
        keys = list(idempotency_keys) if idempotency_keys is not None else [None] * len(items)
        events = [self._new_event(item, key) for item, key in zip(items, keys, strict=True)]
        await self.start()
        results = await self.store.publish(events)
        self._wake_workers()
        return results

    def publish_sync(
        self, data: NotificationInput, *, idempotency_key: str | None = None
    ) -> PublishResult:
        """``publish`` for synchronous programs (runs on a private event loop thread)."""
        return self._run_sync(self.publish(data, idempotency_key=idempotency_key))

    def _run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._sync_loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="scanhook-sync", daemon=True).start()
            self._sync_loop = loop
        return asyncio.run_coroutine_threadsafe(coro, self._sync_loop).result()

    # -- endpoints --------------------------------------------------------------------------------
    async def add_endpoint(self, url: str, **options: Any) -> Endpoint:
        """Create an endpoint; see :class:`scanhook.endpoints.EndpointOptions` for options."""
        try:
            spec = EndpointOptions.model_validate({"url": url, **options})
        except ValidationError as exc:
            raise _request_error(exc) from None
        self._check_destination(spec.url, "url")
        _check_filter(spec.filter)
        _check_secret_headers(spec.secret_headers, spec.headers)
        from scanhook.formats import validate_options
        from scanhook.formats.render_pool import off_loop

        # A template is rendered (in a render process) to check it: off the event loop.
        format_options = await off_loop(validate_options, spec.format, spec.format_options)
        auth = validate_auth(spec.auth)
        self._check_auth_destination(auth)
        # A ticket's close must follow its open to find the issue/incident it created: endpoints
        # of these formats are ordered unless the user said otherwise.
        ordered = spec.ordered
        if "ordered" not in spec.model_fields_set and spec.format in ORDERED_FORMATS:
            ordered = True
        now = time.time()
        endpoint = Endpoint(
            id=new_id("ep"),
            url=spec.url,
            description=spec.description,
            event_types=tuple(spec.event_types),
            secrets=(EndpointSecret(spec.secret or generate_secret()),),
            enabled=spec.enabled,
            headers=dict(spec.headers),
            secret_headers=tuple(spec.secret_headers),
            legacy_headers=spec.legacy_headers,
            timeout=spec.timeout,
            max_in_flight=spec.max_in_flight,
            rate_limit=spec.rate_limit,
            ordered=ordered,
            format=spec.format,
            format_options=format_options,
            filter=spec.filter,
            auth=auth,
            created_at=now,
            updated_at=now,
        )
        await self.start()
        return await self.store.create_endpoint(endpoint)

    async def update_endpoint(self, endpoint_id: str, **changes: Any) -> Endpoint:
        try:
            patch = EndpointPatch.model_validate(changes)
        except ValidationError as exc:
            raise _request_error(exc) from None
        await self.start()
        current = await self.store.get_endpoint(endpoint_id)
        fields = patch.model_dump(exclude_unset=True)
        enabled = fields.pop("enabled", None)
        if fields.get("url") is not None:
            self._check_destination(fields["url"], "url")
        url_changed = fields.get("url", current.url) != current.url
        if fields.get("auth") is not None:
            fields["auth"] = keep_masked_credentials(
                fields["auth"], current.auth, url_changed=url_changed
            )
        elif url_changed and "auth" not in fields and current.auth is not None:
            raise InvalidRequest(
                "auth: the url changes, so give the endpoint's credentials (auth) again: "
                "stored credentials are not sent to a new destination",
                field="auth",
            )
        secret_names = fields.get("secret_headers", current.secret_headers)
        if fields.get("headers") is not None:
            fields["headers"] = keep_masked_headers(
                fields["headers"],
                current.headers,
                current.secret_headers,
                secret_names,
                url_changed=url_changed,
            )
        elif url_changed and "headers" not in fields:
            names = [n for n in current.headers if is_secret_header(n, current.secret_headers)]
            if names:
                raise InvalidRequest(
                    "headers: the url changes, so give the secret headers' values again"
                    f" ({', '.join(names)}): stored credentials are not sent to a new destination",
                    field="headers",
                )
        if "filter" in fields:
            _check_filter(fields["filter"])
        if "format" in fields or "format_options" in fields:
            from scanhook.formats import validate_options
            from scanhook.formats.render_pool import off_loop

            fields["format_options"] = await off_loop(
                validate_options,
                fields.get("format", current.format),
                fields.get("format_options", current.format_options),
            )
        if "auth" in fields:
            fields["auth"] = validate_auth(fields["auth"])
            self._check_auth_destination(fields["auth"])
        if "event_types" in fields:
            fields["event_types"] = tuple(fields["event_types"])
        if "secret_headers" in fields or "headers" in fields:
            # Headers no longer there are no longer secret; new names must be headers.
            headers = fields.get("headers", current.headers)
            if "secret_headers" in fields:
                _check_secret_headers(fields["secret_headers"], headers)
                names = fields["secret_headers"]
            else:
                names = [n for n in current.secret_headers if is_secret_header(n, list(headers))]
            fields["secret_headers"] = tuple(names)
        updated = dataclasses.replace(current, **fields, updated_at=time.time())
        endpoint = await self.store.update_endpoint(updated)
        if enabled is not None and enabled != endpoint.enabled:
            endpoint = await self.set_enabled(endpoint_id, enabled)
        return endpoint

    def _check_destination(self, url: str, field: str) -> None:
        """Refuse a URL whose host is an address (in any spelling) or a ``localhost`` name that
        the network policy refuses: an endpoint that could never be delivered to is not saved.
        Names are checked when they are resolved, at send time."""
        try:
            self.network_policy().check_url(url)
        except DestinationBlocked as exc:
            raise _destination_error(field, exc) from None

    def _check_auth_destination(self, auth: Mapping[str, Any] | None) -> None:
        """The OAuth2 token URL receives the client's credentials: the same policy applies."""
        if auth is not None and isinstance(auth.get("token_url"), str):
            self._check_destination(auth["token_url"], "auth.token_url")

    async def set_enabled(
        self, endpoint_id: str, enabled: bool, reason: str | None = None
    ) -> Endpoint:
        await self.start()
        endpoint = await self.store.set_endpoint_enabled(
            endpoint_id, enabled, reason if not enabled else None
        )
        if enabled:
            self._wake_workers()
        return endpoint

    async def rotate_secret(
        self, endpoint_id: str, new_secret: str | None = None, *, expire_previous: bool = False
    ) -> Endpoint:
        """Make ``new_secret`` (or a generated one) current; the old one keeps signing beside it
        for the configured overlap (``SCANHOOK_SECRET_OVERLAP``, default 24 h). At most
        :data:`KEPT_PREVIOUS_SECRETS` previous secrets keep signing (the newest), so rotating
        often does not pile up signatures. ``expire_previous`` ends every previous secret now
        (one that leaked stops signing at once)."""
        if new_secret is not None:
            try:
                EndpointOptions.model_validate({"url": "https://x.invalid", "secret": new_secret})
            except ValidationError as exc:
                raise _request_error(exc) from None
        await self.start()
        now = time.time()
        current = await self.store.get_endpoint(endpoint_id)
        until = now + self.settings.seconds("secret_overlap")
        kept = [
            EndpointSecret(s.value, until if s.expires_at is None else s.expires_at)
            for s in current.secrets
            if s.expires_at is None or s.expires_at > now
        ]
        kept.sort(key=lambda s: s.expires_at or until, reverse=True)  # the newest first
        kept = [] if expire_previous else kept[:KEPT_PREVIOUS_SECRETS]
        secrets = [EndpointSecret(new_secret or generate_secret()), *kept]
        return await self.store.set_endpoint_secrets(endpoint_id, secrets)

    async def reseal_secrets(self) -> Resealed:
        """Seal every endpoint secret again with the first key of the key ring (a key
        rotation; see ``scanhook secrets rotate-key``)."""
        await self.start()
        return await self.store.reseal_secrets()

    # -- operating --------------------------------------------------------------------------------
    async def retry_delivery(self, delivery_id: str) -> DeliveryRecord:
        """Make a failed delivery due now (ConflictError when it succeeded or is in flight)."""
        await self.start()
        record = await self.store.retry_delivery(delivery_id, time.time())
        self._wake_workers()
        return record

    async def replay(
        self,
        endpoint_id: str,
        *,
        since: float | None = None,
        status: DeliveryStatus | None = "failed",
    ) -> int:
        """Requeue the endpoint's finished deliveries (by default the failed ones) since a time."""
        await self.start()
        await self.store.get_endpoint(endpoint_id)  # NotFound before anything else
        count = await self.store.replay(endpoint_id, since=since, status=status, now=time.time())
        self._wake_workers()
        return count

    async def circuit_holding(self, endpoint_id: str) -> Endpoint | None:
        """The endpoint when its circuit is open or half-open, so that what is requeued for it
        waits for the circuit (None when it is closed, or the endpoint is gone)."""
        await self.start()
        try:
            endpoint = await self.store.get_endpoint(endpoint_id)
        except NotFound:
            return None
        return endpoint if endpoint.circuit_open_until is not None else None

    async def send_test(self, endpoint_id: str, event_type: str = "finished_scan") -> HttpResult:
        """Send one sample notification to the endpoint now, outside the queue, as a delivery
        of it would go: signed, in the endpoint's format, with its credentials. Nothing is
        stored (no delivery, no ticket reference, no note). Returns what the receiver did."""
        await self.start()
        endpoint = await self.store.get_endpoint(endpoint_id)
        notification = sample(event_type, random.Random())
        now = time.time()
        timeout = endpoint.timeout or self.settings.request_timeout
        delivery = ClaimedDelivery(
            id=new_id("test"),
            event_id=new_id("evt"),
            event_type=notification.event_type,
            body=encode(notification, self.tz),
            attempt=1,
            endpoint=endpoint,
            lease_until=now + timeout,
            event_created_at=now,
        )
        from scanhook.delivery.destinations import DestinationSender
        from scanhook.delivery.http import HttpClient

        async with HttpClient(self.network_policy(), user_agent=self.user_agent) as client:
            sender = DestinationSender(
                self.store, client, user_agent=self.user_agent, tz=self.tz, keep_lifecycle=False
            )
            return (await sender.attempt(delivery, now, timeout)).result

    async def attention_notes(self, delivery_ids: Sequence[str]) -> dict[str, dict[int, str]]:
        """Attention notes of deliveries: delivery id -> attempt number -> note."""
        await self.start()
        return await self.store.attention_notes(delivery_ids)

    def _wake_workers(self) -> None:
        for worker in self._workers:
            worker.wake()

    # -- schedules ------------------------------------------------------------------------------
    async def add_schedule(self, data: Mapping[str, Any]) -> ScheduleRecord:
        """Create a schedule from decoded JSON (docs/schedules.md); InvalidSchedule names each bad
        field. It announces runs whose notice time is after now."""
        spec = parse_schedule(data)
        now = self.clock()
        record = ScheduleRecord(
            id=new_id("sch"), spec=spec, created_at=now, updated_at=now, notices_through=now
        )
        await self.start()
        created = await self.store.create_schedule(record)
        self.scheduler.wake()
        return created

    async def get_schedule(self, schedule_id: str) -> ScheduleRecord:
        await self.start()
        return await self.store.get_schedule(schedule_id)

    async def list_schedules(
        self, *, after: str | None = None, limit: int = 100
    ) -> list[ScheduleRecord]:
        await self.start()
        return await self.store.list_schedules(after=after, limit=limit)

    async def update_schedule(self, schedule_id: str, changes: Mapping[str, Any]) -> ScheduleRecord:
        """Apply a partial update. A change of when or whether notices are sent (recurrence,
        timezone, leads, enabled) affects only notices sent after it: what was due before it is
        published first under the old rule, then the watermark moves to now."""
        patch = parse_patch(changes)
        await self.start()
        current = await self.store.get_schedule(schedule_id)
        spec = patch.apply(current.spec)
        if patch.affects_notices:
            await self.scheduler.run_pass(only=schedule_id)
        updated = await self.store.update_schedule(
            schedule_id, spec, self.clock(), move_watermark=patch.affects_notices
        )
        self.scheduler.wake()
        return updated

    async def delete_schedule(self, schedule_id: str) -> None:
        """Stop announcing it; its notice log stays (GET …/notices)."""
        await self.start()
        await self.store.delete_schedule(schedule_id, self.clock())
        self.scheduler.wake()

    async def next_notices(self, schedule_id: str, count: int) -> list[Notice]:
        """The schedule's next ``count`` notices after now, in send order."""
        schedule = await self.get_schedule(schedule_id)
        now = datetime.fromtimestamp(self.clock(), UTC)
        return upcoming_notices(self.scheduler.plan(schedule), after=now, count=count)

    async def schedule_notices(
        self, schedule_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[NoticeRecord]:
        """The notice log (sent and skipped), also of a deleted schedule."""
        await self.start()
        return await self.store.list_notices(schedule_id, after=after, limit=limit)

    async def run_scheduler_pass(self) -> PassResult:
        """One scheduler pass now (the running Hub does this every second or sooner)."""
        await self.start()
        return await self.scheduler.run_pass()

    # -- API tokens -------------------------------------------------------------------------------
    async def create_token(self, name: str) -> tuple[str, str]:
        """A new API token named ``name``: returns ``(id, token)``. Only the token's hash is
        stored, so this is the one time the token can be seen."""
        name = name.strip()
        if not name or len(name) > 255:
            raise InvalidRequest("name: give a token name of 1 to 255 characters", field="name")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = ApiToken(
            id=new_id("tok"), name=name, token_hash=hash_token(token), created_at=time.time()
        )
        await self.start()
        await self.store.create_token(record)
        return record.id, token

    async def list_tokens(self) -> list[ApiToken]:
        """Every token (revoked ones too), oldest first; the tokens themselves are not kept."""
        await self.start()
        return await self.store.list_tokens()

    async def revoke_token(self, token_id: str) -> ApiToken:
        """Revoke a token at once (NotFound when there is none with this id)."""
        await self.start()
        return await self.store.revoke_token(token_id, time.time())

    async def ensure_initial_token(self) -> str | None:
        """For ``scanhook serve``: when SCANHOOK_API_TOKEN is not set and no active token
        exists, create one named "initial" and return it (to print once); else None."""
        if self.settings.api_token is not None:
            return None
        if any(t.active for t in await self.list_tokens()):
            return None
        _, token = await self.create_token("initial")
        return token

    async def authenticate(self, token: str) -> bool:
        """Whether ``token`` is SCANHOOK_API_TOKEN or an active stored token (compared in
        constant time); a stored token's last use is recorded (at most once a minute)."""
        fixed = self.settings.api_token
        if fixed is not None and hmac.compare_digest(
            token.encode("utf-8"), fixed.get_secret_value().encode("utf-8")
        ):
            return True
        digest = hash_token(token)
        await self.start()
        record = await self.store.find_token(digest)
        if record is None or not hmac.compare_digest(record.token_hash, digest):
            return False
        if not record.active:
            return False
        now = time.time()
        if record.last_used_at is None or now - record.last_used_at >= TOKEN_TOUCH_EVERY:
            await self.store.touch_token(record.id, now)
        return True

    # -- running ----------------------------------------------------------------------------------
    def add_attempt_listener(self, listener: AttemptListener) -> None:
        """Call ``listener`` with every batch of attempts this Hub's workers record."""
        self._attempt_listeners.append(listener)

    def _attempts_recorded(self, outcomes: Sequence[AttemptOutcome]) -> None:
        for listener in self._attempt_listeners:
            try:
                listener(outcomes)
            except Exception:  # a listener's bug must not stop delivery
                log.exception("attempt listener failed")

    def network_policy(self) -> NetworkPolicy:
        return NetworkPolicy(
            allow_private=self.settings.allow_private_networks,
            allowed_networks=self.settings.networks,
        )

    def new_worker(self, client: HttpClient, **overrides: Any) -> Worker:
        s = self.settings
        options: dict[str, Any] = {
            "user_agent": self.user_agent,
            "request_timeout": s.request_timeout,
            "lease": s.seconds("lease"),
            "claim_batch": s.claim_batch,
            "max_concurrency": s.max_concurrency,
            "poll_interval": s.seconds("poll_interval"),
            "on_recorded": self._attempts_recorded,
            "tz": self.tz,
        }
        options.update(overrides)
        from scanhook.delivery.worker import Worker

        return Worker(self.store, client, RetryPolicy(s.retry_delays), **options)

    async def run(self, stop: asyncio.Event, **worker_options: Any) -> None:
        """Run a worker and the background jobs until ``stop`` is set, then drain gracefully."""
        from scanhook.delivery.http import HttpClient

        await self.start()
        async with HttpClient(self.network_policy(), user_agent=self.user_agent) as client:
            worker = self.new_worker(client, **worker_options)
            self._workers.append(worker)
            jobs = asyncio.create_task(self._background(stop))
            try:
                await worker.run(stop, grace=self.settings.seconds("shutdown_grace"))
            finally:
                self._workers.remove(worker)
                jobs.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await jobs

    @contextlib.asynccontextmanager
    async def run_workers(self, **worker_options: Any) -> AsyncIterator[None]:
        """Deliver in the background while the ``async with`` body runs."""
        stop = asyncio.Event()
        task = asyncio.create_task(self.run(stop, **worker_options))
        try:
            await asyncio.sleep(0)
            yield
        finally:
            stop.set()
            await task

    async def _background(self, stop: asyncio.Event) -> None:
        scheduler = asyncio.create_task(self._while_leading("scheduler", self.scheduler.run, stop))
        try:
            await self._while_leading("retention", self._prune_loop, stop)
        finally:
            scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler

    async def _prune_loop(self, stop: asyncio.Event) -> None:
        retention = self.settings.seconds("retention")
        while not stop.is_set():
            try:
                removed = await self.store.prune(time.time() - retention)
                if removed:
                    log.info("pruned old deliveries", count=removed)
            except ScanhookError as exc:
                log.warning("pruning failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PRUNE_EVERY):
                    await stop.wait()

    async def _while_leading(
        self,
        name: str,
        job: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
        stop: asyncio.Event,
    ) -> None:
        """Run ``job(until)`` while this Hub's store leads ``name`` among every process on the
        database (:meth:`Store.try_lead`, checked every ``poll_interval``). When the lead is lost
        the job is stopped (``until`` set, the task cancelled) and this waits to lead again;
        a job that ends by itself is started again at the next check. Ends when ``stop`` is set.
        """
        every = max(0.05, self.settings.seconds("poll_interval"))
        while not stop.is_set():
            if not await self._leads(name):
                await _wait(stop, every)
                continue
            until = asyncio.Event()
            task = asyncio.create_task(job(until), name=f"scanhook-{name}")
            try:
                while not stop.is_set() and not task.done():
                    await _wait(stop, every, task)
                    if stop.is_set() or task.done():
                        break
                    if not await self._leads(name):
                        log.warning("lost the lead of a background job; stopping it", job=name)
                        break
            finally:
                until.set()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    try:
                        await task
                    except Exception:
                        log.exception("background job failed", job=name)
            if not stop.is_set():
                await _wait(stop, every)

    async def _leads(self, name: str) -> bool:
        try:
            return await self.store.try_lead(name)
        except ScanhookError as exc:
            log.warning("could not check the lead of a background job", job=name, error=str(exc))
            return False


async def _wait(
    stop: asyncio.Event, seconds: float, task: asyncio.Task[None] | None = None
) -> None:
    """Return when ``stop`` is set (or ``task`` is done), or after ``seconds``."""
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
    if task is not None:
        waiters.append(task)
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiters[0].cancel()
