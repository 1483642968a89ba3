"""One attempt of a delivery to an endpoint with a ``format`` other than ``raw`` or with
``auth``: render, authenticate, send, read the answer in the format's terms, and keep
the ticket lifecycle (remote ids, attention notes) in the store.

The worker sends ``raw`` endpoints without ``auth`` itself (its hot path) and hands every other
attempt to :meth:`DestinationSender.attempt`, which returns what the worker records:

* ``Skip`` → a succeeded attempt with no request: status None, ``error`` ``"skipped: <reason>"``.
* ``RenderError`` (or options that no longer validate) → a failed attempt, ``error_kind``
  ``"render"``, final (no retries).
* a non-2xx answer the format reads as final (``classify_failure(...).permanent``) → failed,
  final, the readable reason as ``error``; other non-2xx answers retry with the readable reason.
* an OAuth2 token that cannot be had → failed, ``error_kind`` ``"auth"``, retried; unless the
  network policy refused the token URL: ``error_kind`` ``"policy"``, final like any refusal.
* a 401 from an OAuth2 endpoint → the token is fetched again and the request sent once more
  within the same attempt.
* a ``ticket.opened`` to Jira/ServiceNow that succeeds → its remote id is stored against the
  ticket's correlation key before the attempt is reported, so that the matching close (after it,
  on an ``ordered`` endpoint) finds it; an id not of the target's shape is refused (an attention
  note), never stored.
* a request the format flags with ``attention`` → sent, and the note stored for the attempt.

Credentials are masked in every error and response body reported.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import UTC, tzinfo

import structlog

from scanhook.delivery.auth import Authenticator, AuthError
from scanhook.delivery.formatting import (
    notification_of,
    prepare_off_loop,
    read_failure,
    remote_key,
)
from scanhook.delivery.http import HttpClient, HttpResult
from scanhook.delivery.request import delivery_headers
from scanhook.errors import InvalidNotification, InvalidRequest, ScanhookError
from scanhook.formats import RenderError, Skip, extract_remote_id
from scanhook.formats.remote_ids import UnexpectedRemoteId
from scanhook.store.base import Store
from scanhook.store.records import ClaimedDelivery

__all__ = ["DestinationSender", "Sent"]

log = structlog.get_logger("scanhook.destinations")


@dataclass(frozen=True, slots=True)
class Sent:
    """What one attempt did: the result to record, and whether retrying can help."""

    result: HttpResult
    #: True: record the delivery as failed now, whatever the retry schedule says.
    final: bool = False


class DestinationSender:
    """Attempts of formatted and authenticated endpoints, through the worker's client."""

    def __init__(
        self,
        store: Store,
        client: HttpClient,
        *,
        user_agent: str,
        tz: tzinfo = UTC,
        authenticator: Authenticator | None = None,
        keep_lifecycle: bool = True,
    ) -> None:
        """``keep_lifecycle=False`` stores nothing (no remote id, no attention note): a test
        send outside the queue, which must not make a later close find a test record."""
        self._store = store
        self._keep_lifecycle = keep_lifecycle
        self._client = client
        self._user_agent = user_agent
        self._tz = tz
        self.auth = authenticator or Authenticator(client, base_ssl=client.ssl_context)

    async def attempt(
        self,
        delivery: ClaimedDelivery,
        started: float,
        timeout: float,  # noqa: ASYNC109 - the deadline is per endpoint
    ) -> Sent:
        sent = await self._attempt(delivery, started, timeout)
        endpoint = delivery.endpoint
        if endpoint.auth is None and not endpoint.secret_headers:
            return sent
        result = dataclasses.replace(  # no credential in what is recorded
            sent.result,
            body=self.auth.scrub_bytes(endpoint, sent.result.body),
            error=self.auth.scrub(endpoint, sent.result.error),
        )
        return Sent(result, sent.final)

    async def _attempt(self, delivery: ClaimedDelivery, started: float, timeout: float) -> Sent:  # noqa: ASYNC109
        endpoint = delivery.endpoint
        clock = time.perf_counter()
        if endpoint.format == "raw":
            url, method, body, content_type = (
                endpoint.url,
                "POST",
                delivery.body,
                "application/json",
            )
            format_headers: dict[str, str] = {}
            prepared = None
        else:
            try:
                notification = notification_of(delivery, self._tz)
                key = remote_key(delivery, notification)
                remote_id = None
                if key is not None:
                    remote_id = await self._store.get_remote_ref(endpoint.id, key)
                rendered = await prepare_off_loop(delivery, notification, self._tz, remote_id)
            except (RenderError, InvalidRequest, InvalidNotification) as exc:
                return Sent(
                    _failed(clock, "render", f"cannot render for {endpoint.format}: {exc}"),
                    final=True,
                )
            if isinstance(rendered, Skip):
                return Sent(
                    HttpResult(None, b"", _since(clock), None, f"skipped: {rendered.reason}")
                )
            prepared = rendered
            request = rendered.request
            url, method, body = rendered.url, request.method, request.body
            content_type, format_headers = request.content_type, request.headers
            if request.attention:
                await self._note(delivery, request.attention)

        headers = delivery_headers(
            delivery, started, self._user_agent, body=body, content_type=content_type
        )
        headers.update(format_headers)
        limit = prepared.response_limit if prepared is not None else None
        tls = None
        try:
            if endpoint.auth is not None:
                tls = self.auth.ssl_context(endpoint)
                headers.update(await self.auth.headers(endpoint, timeout))
        except AuthError as exc:
            if exc.refusal is not None:  # the token URL is refused: as final as the url
                return Sent(_refused(clock, str(exc), exc.refusal))
            return Sent(_failed(clock, "auth", str(exc)))
        except (OSError, ValueError) as exc:  # a stored client certificate that no longer loads
            return Sent(_failed(clock, "tls", f"client certificate: {type(exc).__name__}"))

        result = await self._client.send(
            url, headers, body, timeout, method=method, max_response_bytes=limit, ssl_context=tls
        )
        if (
            result.status_code == 401
            and endpoint.auth is not None
            and self.auth.is_oauth2(endpoint)
        ):
            self.auth.invalidate(endpoint, headers)
            try:
                headers.update(await self.auth.headers(endpoint, timeout))
            except AuthError as exc:
                return Sent(_failed(clock, "auth", f"after a 401: {exc}"))
            result = await self._client.send(
                url,
                headers,
                body,
                timeout,
                method=method,
                max_response_bytes=limit,
                ssl_context=tls,
            )
        result = dataclasses.replace(result, duration_ms=_since(clock))

        if prepared is None:
            return Sent(result)
        request = prepared.request
        if result.succeeded:
            if request.expects_remote_id and request.correlation_key is not None:
                await self._keep_remote_id(delivery, request.correlation_key, result.body)
            return Sent(result)
        reason, permanent = read_failure(endpoint.format, result.status_code, result.body)
        if reason is not None:
            result = dataclasses.replace(result, error=f"{result.error}: {reason}")
        elif permanent:
            result = dataclasses.replace(
                result,
                error=f"{result.error} — the target will never accept this request as it is; "
                "retrying cannot help",
            )
        return Sent(result, final=permanent)

    async def _keep_remote_id(self, delivery: ClaimedDelivery, key: str, body: bytes) -> None:
        if not self._keep_lifecycle:
            return
        endpoint = delivery.endpoint
        try:
            remote_id = extract_remote_id(endpoint.format, body)
        except UnexpectedRemoteId as exc:
            await self._note(
                delivery,
                f"needs attention: the {endpoint.format} answer's id for {key} was refused: "
                f"{exc}; it is not kept, so its close will create a new record instead of "
                "closing this one",
            )
            return
        if remote_id is None:
            await self._note(
                delivery,
                f"needs attention: the {endpoint.format} answer carried no id for {key}, so its "
                "close will create a new record instead of closing this one",
            )
            return
        try:
            await self._store.put_remote_ref(endpoint.id, key, remote_id, delivery.id, time.time())
        except ScanhookError as exc:
            log.warning("could not store a remote id", delivery_id=delivery.id, error=str(exc))
            await self._note(
                delivery, f"needs attention: {remote_id} for {key} could not be stored: {exc}"
            )

    async def _note(self, delivery: ClaimedDelivery, note: str) -> None:
        if not self._keep_lifecycle:
            return
        try:
            await self._store.note_attention(delivery.id, delivery.attempt, note, time.time())
        except ScanhookError as exc:
            log.warning(
                "could not store an attention note", delivery_id=delivery.id, error=str(exc)
            )


def _since(clock: float) -> float:
    return (time.perf_counter() - clock) * 1000.0


def _failed(clock: float, kind: str, error: str) -> HttpResult:
    return HttpResult(None, b"", _since(clock), kind, error)


def _refused(clock: float, error: str, reason: str) -> HttpResult:
    return HttpResult(None, b"", _since(clock), "policy", error, refusal=reason)
