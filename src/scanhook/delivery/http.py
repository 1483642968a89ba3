"""One HTTP attempt of a delivery: POST the body, read a capped piece of the answer, and report
what happened as an :class:`HttpResult` (network trouble is a result, never an exception)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from scanhook.delivery.resolver import GuardedResolver
from scanhook.delivery.retry import parse_retry_after
from scanhook.delivery.ssrf import DestinationBlocked, NetworkPolicy

__all__ = ["ERROR_KINDS", "HttpClient", "HttpResult"]

#: What ``HttpResult.error_kind`` can be when an attempt failed.
ERROR_KINDS = ("http", "timeout", "connect", "tls", "policy", "other")

_NO_AIOHTTP_TIMEOUT = aiohttp.ClientTimeout(
    total=None, connect=None, sock_read=None, sock_connect=None
)
_TARGET_CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class HttpResult:
    """The outcome of one attempt."""

    #: The response status, or None when no response arrived.
    status_code: int | None
    #: The start of the response body, at most the client's cap.
    body: bytes
    duration_ms: float
    #: None for a 2xx; else "http", "timeout", "connect", "tls", "policy" or "other".
    error_kind: str | None = None
    #: Human-readable: "HTTP 503", "timed out after 15.0 s", "refused: 10.0.0.1 is a private …".
    error: str | None = None
    #: Seconds from the ``Retry-After`` header of a 429 or 503.
    retry_after: float | None = None
    #: Why the network policy refused the destination (``error_kind`` "policy"): one of
    #: :data:`~scanhook.delivery.ssrf.REFUSAL_REASONS`.
    refusal: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error_kind is None


class HttpClient:
    """Sends deliveries over one pooled aiohttp session whose every connection passes the
    network policy. Use as ``async with HttpClient(policy, user_agent=…) as client``.

    ``resolver`` replaces the system resolver (tests pass a static one); ``ssl_context`` replaces
    the default verifying context (e.g. to trust a private CA); ``dns_cache_ttl`` is how long the
    connector keeps the (already checked) answers, 0 for not at all.
    """

    def __init__(
        self,
        policy: NetworkPolicy,
        *,
        user_agent: str,
        max_response_bytes: int = 4096,
        resolver: AbstractResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        dns_cache_ttl: float = 10.0,
    ) -> None:
        if max_response_bytes < 0:
            raise ValueError(f"max_response_bytes: {max_response_bytes} must not be negative")
        self.policy = policy
        self.user_agent = user_agent
        self.max_response_bytes = max_response_bytes
        self._inner_resolver = resolver
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._dns_cache_ttl = dns_cache_ttl
        self._session: aiohttp.ClientSession | None = None
        self._resolver: GuardedResolver | None = None
        self._targets: dict[str, URL | DestinationBlocked] = {}

    async def __aenter__(self) -> Self:
        resolver = GuardedResolver(self.policy, self._inner_resolver)
        connector = aiohttp.TCPConnector(
            limit=0,  # per-endpoint concurrency is the engine's business
            limit_per_host=0,
            resolver=resolver,
            use_dns_cache=self._dns_cache_ttl > 0,
            ttl_dns_cache=int(self._dns_cache_ttl) if self._dns_cache_ttl > 0 else None,
            ssl=self._ssl,
        )
        self._resolver = resolver
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=_NO_AIOHTTP_TIMEOUT,  # send() puts one deadline on the whole attempt
            cookie_jar=aiohttp.DummyCookieJar(),  # nothing leaks from one delivery to the next
            headers={"User-Agent": self.user_agent},
            trust_env=False,  # no proxy from the environment: we connect where we checked
            raise_for_status=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context given to the client (None: the system's default verification)."""
        return self._ssl if isinstance(self._ssl, ssl.SSLContext) else None

    async def close(self) -> None:
        session, resolver = self._session, self._resolver
        self._session = self._resolver = None
        if session is not None:
            await session.close()
        if resolver is not None:
            await resolver.close()

    def _target(self, url: str) -> URL | DestinationBlocked:
        target = self._targets.get(url)
        if target is None:
            try:
                target = self.policy.check_url(url)
            except DestinationBlocked as exc:
                target = exc
            if len(self._targets) >= _TARGET_CACHE_MAX:
                self._targets.clear()
            self._targets[url] = target
        return target

    async def send(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float,  # noqa: ASYNC109 - the deadline is per endpoint, so it is a parameter
        *,
        method: str = "POST",
        max_response_bytes: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> HttpResult:
        """Send ``body`` to ``url`` with ``method`` (POST) within ``timeout`` seconds for
        everything (connecting, sending, the status and the capped body). Never raises for
        network trouble. ``max_response_bytes`` replaces the client's cap for this request (e.g.
        a create response whose id is needed); ``ssl_context`` replaces its TLS context (e.g. an
        endpoint's client certificate)."""
        session = self._session
        if session is None:
            raise RuntimeError("HttpClient is not open: use 'async with HttpClient(…)'")
        started = time.perf_counter()
        target = self._target(url)
        if isinstance(target, DestinationBlocked):
            return _refused(started, target)

        response: aiohttp.ClientResponse | None = None
        chunks: list[bytes] = []
        complete = False
        try:
            async with asyncio.timeout(timeout):
                if ssl_context is None:
                    response = await session.request(
                        method, target, data=body, headers=headers, allow_redirects=False
                    )
                else:
                    response = await session.request(
                        method,
                        target,
                        data=body,
                        headers=headers,
                        allow_redirects=False,
                        ssl=ssl_context,
                    )
                complete = await self._read(response, chunks, max_response_bytes)
        except TimeoutError:
            status = response.status if response is not None else None
            return _failure(
                started, status, b"".join(chunks), "timeout", f"timed out after {timeout} s"
            )
        except DestinationBlocked as exc:
            return _refused(started, exc)
        except aiohttp.ClientConnectorCertificateError as exc:
            return _failure(
                started,
                None,
                b"",
                "tls",
                f"TLS certificate of {exc.host}:{exc.port} not trusted: {_cert_reason(exc)}",
            )
        except aiohttp.ClientSSLError as exc:
            return _failure(
                started, None, b"", "tls", f"TLS with {exc.host}:{exc.port} failed: {exc.os_error}"
            )
        except ssl.SSLError as exc:
            return _failure(started, None, b"", "tls", f"TLS failed: {exc}")
        except aiohttp.ClientConnectorDNSError as exc:
            return _failure(
                started, None, b"", "connect", f"could not resolve {exc.host}: {_reason(exc)}"
            )
        except aiohttp.ClientConnectorError as exc:
            return _failure(
                started,
                None,
                b"",
                "connect",
                f"could not connect to {exc.host}:{exc.port}: {_reason(exc)}",
            )
        except aiohttp.ServerDisconnectedError:
            return _failure(
                started, None, b"", "connect", "the server closed the connection without answering"
            )
        except (aiohttp.ClientOSError, ConnectionError) as exc:
            return _failure(started, None, b"", "connect", f"connection failed: {exc}")
        except (aiohttp.ClientError, ValueError) as exc:
            status = response.status if response is not None else None
            detail = str(exc) or type(exc).__name__
            return _failure(started, status, b"".join(chunks), "other", detail)
        finally:
            if response is not None:
                if complete:
                    response.release()  # the connection goes back to the pool
                else:
                    response.close()  # unread body: drop the connection, don't drain it

        duration_ms = (time.perf_counter() - started) * 1000.0
        status = response.status
        data = b"".join(chunks) if len(chunks) != 1 else chunks[0]
        if 200 <= status < 300:
            return HttpResult(status, data, duration_ms)
        retry_after = None
        if status in (429, 503):
            value = response.headers.get("Retry-After")
            if value is not None:
                retry_after = parse_retry_after(value, time.time())
        if 300 <= status < 400:
            location = response.headers.get("Location", "none")
            error = f"HTTP {status}: redirect not followed (Location: {location})"
        else:
            error = f"HTTP {status}"
        return HttpResult(status, data, duration_ms, "http", error, retry_after)

    async def _read(
        self, response: aiohttp.ClientResponse, chunks: list[bytes], cap: int | None = None
    ) -> bool:
        """Read at most the cap into ``chunks``; True when that was the whole body."""
        content = response.content
        remaining = self.max_response_bytes if cap is None else cap
        while remaining > 0:
            chunk = await content.read(remaining)
            if not chunk:
                return True
            chunks.append(chunk)
            remaining -= len(chunk)
        return content.at_eof()


def _failure(started: float, status: int | None, body: bytes, kind: str, error: str) -> HttpResult:
    return HttpResult(status, body, (time.perf_counter() - started) * 1000.0, kind, error)


def _refused(started: float, exc: DestinationBlocked) -> HttpResult:
    duration_ms = (time.perf_counter() - started) * 1000.0
    return HttpResult(
        None, b"", duration_ms, "policy", f"refused: {exc.message}", refusal=exc.reason
    )


def _cert_reason(exc: aiohttp.ClientConnectorCertificateError) -> str:
    error = exc.certificate_error
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return str(error.verify_message)
    return str(error)


def _reason(exc: aiohttp.ClientConnectorError) -> str:
    os_error = exc.os_error
    if isinstance(os_error, ConnectionRefusedError):
        return "connection refused"
    return os_error.strerror or str(os_error) or type(os_error).__name__
