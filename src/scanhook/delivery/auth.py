"""Endpoint authentication (docs/destinations.md): checking an endpoint's ``auth`` when it is
saved, and applying it to each attempt.

``auth`` is one of::

    {"type": "none"}
    {"type": "basic", "username": "…", "password": "…"}
    {"type": "bearer", "token": "…"}
    {"type": "header", "name": "Authorization", "value": "Splunk …"}
    {"type": "oauth2", "token_url": "https://…", "client_id": "…", "client_secret": "…",
     "scope"?: "…", "audience"?: "…", "client_auth"?: "body" | "basic"}

each with an optional ``"mtls": {"cert_pem": "…", "key_pem": "…"}`` (a client certificate).
OAuth2 is the client-credentials grant: the token is fetched from ``token_url`` through the
delivery :class:`~scanhook.delivery.http.HttpClient` (so the SSRF guard applies to it too), kept
until shortly before it expires, and fetched again once when the target answers 401.

Credentials never leave this module in text meant for people: :meth:`Authenticator.scrub`
masks them in attempt errors and response bodies, and the API masks them (``api/render.py``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import os
import re
import ssl
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote, quote_plus, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from scanhook.delivery.request import HEADER_NAME, PROTECTED_HEADERS
from scanhook.errors import InvalidRequest, ScanhookError
from scanhook.store.records import Endpoint, is_secret_header

if TYPE_CHECKING:
    from scanhook.delivery.http import HttpClient

__all__ = [
    "MASK",
    "AuthConfig",
    "AuthError",
    "Authenticator",
    "BasicAuth",
    "BearerAuth",
    "HeaderAuth",
    "MutualTls",
    "NoAuth",
    "OAuth2Auth",
    "keep_masked_credentials",
    "keep_masked_headers",
    "load_auth",
    "validate_auth",
    "written_forms",
]

MASK = "********"
#: The token response is small; this leaves room for large JWTs.
_TOKEN_RESPONSE_LIMIT = 65536
#: Tokens without ``expires_in`` are kept this long.
_DEFAULT_TOKEN_LIFETIME = 300.0


def _no_line_breaks(value: str) -> str:
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError("must not contain line breaks")
    return value


_Text = Annotated[str, Field(min_length=1, max_length=4096)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class MutualTls(_Model):
    """A client certificate (PEM) and its private key (PEM, unencrypted)."""

    cert_pem: Annotated[str, Field(min_length=1, max_length=65536)]
    key_pem: Annotated[str, Field(min_length=1, max_length=65536)]


class _Auth(_Model):
    mtls: MutualTls | None = None


class NoAuth(_Auth):
    type: Literal["none"]


class BasicAuth(_Auth):
    type: Literal["basic"]
    username: Annotated[str, Field(min_length=1, max_length=256)]
    password: _Text

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if ":" in value:
            raise ValueError("must not contain ':'")
        return _no_line_breaks(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return _no_line_breaks(value)


class BearerAuth(_Auth):
    type: Literal["bearer"]
    token: _Text

    @field_validator("token")
    @classmethod
    def _token(cls, value: str) -> str:
        return _no_line_breaks(value)


class HeaderAuth(_Auth):
    type: Literal["header"]
    name: Annotated[str, Field(min_length=1, max_length=256, pattern=HEADER_NAME)]
    value: _Text

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value.lower() in PROTECTED_HEADERS:
            raise ValueError(f"{value!r} is set by scanhook and cannot be replaced")
        return value

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        return _no_line_breaks(value)


class OAuth2Auth(_Auth):
    type: Literal["oauth2"]
    token_url: Annotated[str, Field(min_length=1, max_length=2048)]
    client_id: Annotated[str, Field(min_length=1, max_length=1024)]
    client_secret: _Text
    scope: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    audience: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    #: How the client authenticates to the token URL: form fields (``client_secret_post``) or
    #: HTTP Basic (``client_secret_basic``).
    client_auth: Literal["body", "basic"] = "body"

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an absolute http(s) URL")
        if parts.username or parts.password:
            raise ValueError("put the client's credentials in client_id and client_secret")
        return value


AuthConfig = NoAuth | BasicAuth | BearerAuth | HeaderAuth | OAuth2Auth
_ADAPTER: TypeAdapter[AuthConfig] = TypeAdapter(Annotated[AuthConfig, Field(discriminator="type")])
_TYPES = "none, basic, bearer, header, oauth2"


class AuthError(ScanhookError):
    """The endpoint's credentials could not be applied (e.g. the OAuth2 token request failed)."""

    def __init__(self, message: str | None = None, *, refusal: str | None = None) -> None:
        #: Set when the network policy refused the token URL: its reason.
        self.refusal = refusal
        super().__init__(message)


def _problem(error: Any) -> tuple[str, str]:
    loc = [str(part) for part in error["loc"]]
    if error["type"] in ("union_tag_not_found", "union_tag_invalid"):
        return "auth.type", f"auth.type: expected one of {_TYPES}"
    if error["type"] == "model_type" and not loc:
        return "auth", "auth: expected an object"
    loc = loc[1:]  # the first part is the type tag
    where = ".".join(["auth", *loc])
    if error["type"] == "missing":
        return where, f"{where}: required"
    if error["type"] == "extra_forbidden":
        return where, f"{where}: unknown field"
    # Never echo the input: it may be a credential.
    return where, f"{where}: {error['msg'].removeprefix('Value error, ')}"


def load_auth(auth: Mapping[str, Any] | None) -> AuthConfig | None:
    """The typed ``auth``; InvalidRequest naming each bad field (values are never repeated)."""
    if auth is None:
        return None
    try:
        return _ADAPTER.validate_python(dict(auth) if isinstance(auth, Mapping) else auth)
    except ValidationError as exc:
        problems = [_problem(error) for error in exc.errors(include_url=False)]
        raise InvalidRequest("; ".join(p[1] for p in problems), field=problems[0][0]) from None


def _load_cert_chain(context: ssl.SSLContext, tls: MutualTls) -> None:
    """Load a PEM certificate and key into ``context`` (the ssl module reads files only: they
    are written to a private temporary directory and removed at once)."""
    with tempfile.TemporaryDirectory(prefix="scanhook-mtls-") as folder:
        cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        for path, text in ((cert, tls.cert_pem), (key, tls.key_pem)):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
        context.load_cert_chain(cert, key)


def validate_auth(auth: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Check an endpoint's ``auth`` when it is saved; return it normalised (None for no auth).

    Raises :class:`~scanhook.errors.InvalidRequest` with ``field`` ``auth.<name>``.
    """
    config = load_auth(auth)
    if config is None or (isinstance(config, NoAuth) and config.mtls is None):
        return None
    if config.mtls is not None:
        try:
            _load_cert_chain(ssl.create_default_context(), config.mtls)
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise InvalidRequest(
                "auth.mtls: the certificate and key do not load as PEM, or do not match "
                f"({reason})",
                field="auth.mtls",
            ) from None
    checked: dict[str, Any] = config.model_dump(mode="json", exclude_none=True)
    return checked


_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def written_forms(secret: str) -> set[str]:
    """``secret`` as a receiver may echo it back: as is, JSON-escaped (with and without
    ``\\u`` escapes and ``\\/`` for ``/``), HTML-escaped, and URL-encoded (``%20`` or ``+``,
    upper- or lower-case hex)."""
    forms = {secret, html.escape(secret)}
    for ensure_ascii in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ensure_ascii)[1:-1]
        forms |= {escaped, escaped.replace("/", "\\/")}
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        forms |= {encoded, _PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), encoded)}
    return forms


def keep_masked_credentials(
    new: Mapping[str, Any], current: Mapping[str, Any] | None, *, url_changed: bool
) -> dict[str, Any]:
    """A changed ``auth`` in which each value still equal to the mask (as the API shows stored
    credentials) takes the stored value, so an endpoint read back can be saved unchanged.

    Only while the credentials would go where they went before: the endpoint's url, the auth
    type and the OAuth2 ``token_url`` all unchanged. Otherwise InvalidRequest asks for the
    credentials again, so that nobody who can only see the mask can send the stored secret to
    a server of their choosing."""
    masked = [key for key, value in new.items() if isinstance(value, str) and value == MASK]
    if not masked:
        return dict(new)
    stored = dict(current or {})
    changed = [
        name
        for name, differs in (
            ("url", url_changed),
            ("auth.type", new.get("type") != stored.get("type")),
            ("auth.token_url", new.get("token_url") != stored.get("token_url")),
        )
        if differs
    ]
    field = f"auth.{masked[0]}"
    wanted = ", ".join(f"auth.{key}" for key in masked)
    if changed:
        raise InvalidRequest(
            f"{field}: {' and '.join(changed)} changed, so the stored credentials are not "
            f"kept: give {wanted} again instead of {MASK!r}",
            field=field,
        )
    missing = [key for key in masked if key not in stored]
    if missing:
        raise InvalidRequest(
            f"auth.{missing[0]}: there is no stored value to keep; give it instead of {MASK!r}",
            field=f"auth.{missing[0]}",
        )
    return {key: (stored[key] if key in masked else value) for key, value in new.items()}


@dataclass
class _Token:
    value: str
    good_until: float


class Authenticator:
    """Applies endpoints' ``auth`` to attempts: headers, OAuth2 tokens (cached per endpoint and
    configuration), client-certificate contexts (cached likewise), and scrubbing.

    ``base_ssl`` is the context the client verifies servers with (None: the system's), which
    client-certificate contexts copy their trust from.
    """

    def __init__(
        self,
        client: HttpClient,
        *,
        base_ssl: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        token_timeout: float = 15.0,
        refresh_margin: float = 60.0,
    ) -> None:
        self._client = client
        self._base_ssl = base_ssl
        self._clock = clock
        self._token_timeout = token_timeout
        self._margin = refresh_margin
        self._configs: dict[tuple[str, str], AuthConfig] = {}
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._contexts: dict[tuple[str, str], ssl.SSLContext] = {}
        #: How many token requests were made (for tests and metrics).
        self.token_requests = 0

    # -- configuration ------------------------------------------------------------------------
    def _key(self, endpoint: Endpoint) -> tuple[str, str]:
        raw = json.dumps(endpoint.auth, sort_keys=True, separators=(",", ":"))
        return endpoint.id, hashlib.sha256(raw.encode("utf-8")).hexdigest()

    def config(self, endpoint: Endpoint) -> tuple[tuple[str, str], AuthConfig | None]:
        if endpoint.auth is None:
            return (endpoint.id, ""), None
        key = self._key(endpoint)
        config = self._configs.get(key)
        if config is None:
            if len(self._configs) > 10_000:
                self._configs.clear()
            config = load_auth(endpoint.auth)
            assert config is not None
            self._configs[key] = config
        return key, config

    # -- per attempt --------------------------------------------------------------------------
    async def headers(self, endpoint: Endpoint, timeout: float) -> dict[str, str]:  # noqa: ASYNC109
        """The headers that authenticate an attempt to ``endpoint``; AuthError when an OAuth2
        token cannot be had."""
        key, config = self.config(endpoint)
        if config is None or isinstance(config, NoAuth):
            return {}
        if isinstance(config, BasicAuth):
            pair = f"{config.username}:{config.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        if isinstance(config, BearerAuth):
            return {"Authorization": f"Bearer {config.token}"}
        if isinstance(config, HeaderAuth):
            return {config.name: config.value}
        token = await self._token(key, config, endpoint, timeout)
        return {"Authorization": f"Bearer {token}"}

    def is_oauth2(self, endpoint: Endpoint) -> bool:
        return isinstance(self.config(endpoint)[1], OAuth2Auth)

    def invalidate(self, endpoint: Endpoint, headers: Mapping[str, str]) -> None:
        """Forget the OAuth2 token that ``headers`` carried (the target answered 401), unless a
        newer one is already cached."""
        key, _ = self.config(endpoint)
        cached = self._tokens.get(key)
        if cached is not None and headers.get("Authorization") == f"Bearer {cached.value}":
            del self._tokens[key]

    def ssl_context(self, endpoint: Endpoint) -> ssl.SSLContext | None:
        """The client-certificate context of the endpoint, or None (the client's default)."""
        key, config = self.config(endpoint)
        if config is None or config.mtls is None:
            return None
        context = self._contexts.get(key)
        if context is None:
            context = ssl.create_default_context()
            if self._base_ssl is not None:
                context.check_hostname = self._base_ssl.check_hostname
                context.verify_mode = self._base_ssl.verify_mode
                trusted = self._base_ssl.get_ca_certs(binary_form=True)
                if trusted:
                    context.load_verify_locations(cadata=b"".join(trusted))
            _load_cert_chain(context, config.mtls)
            if len(self._contexts) > 1000:
                self._contexts.clear()
            self._contexts[key] = context
        return context

    # -- scrubbing ----------------------------------------------------------------------------
    def secrets(self, endpoint: Endpoint) -> list[str]:
        """Every credential of the endpoint (``auth``, and the values of its secret headers) in
        every form it could appear in text (longest first)."""
        key, config = self.config(endpoint)
        found: list[str] = [
            value
            for name, value in endpoint.headers.items()
            if is_secret_header(name, endpoint.secret_headers)
        ]
        if isinstance(config, BasicAuth):
            pair = f"{config.username}:{config.password}".encode()
            found += [config.password, base64.b64encode(pair).decode("ascii")]
        elif isinstance(config, BearerAuth):
            found.append(config.token)
        elif isinstance(config, HeaderAuth):
            found.append(config.value)
        elif isinstance(config, OAuth2Auth):
            found.append(config.client_secret)
            token = self._tokens.get(key)
            if token is not None:
                found.append(token.value)
        if config is not None and config.mtls is not None:
            found.append(config.mtls.key_pem)
        return sorted(
            {form for s in found if len(s) >= 4 for form in written_forms(s)},
            key=len,
            reverse=True,
        )

    def scrub(self, endpoint: Endpoint, text: str | None) -> str | None:
        """``text`` with every credential of the endpoint replaced by the mask."""
        if not text:
            return text
        for secret in self.secrets(endpoint):
            text = text.replace(secret, MASK)
        return text

    def scrub_bytes(self, endpoint: Endpoint, data: bytes) -> bytes:
        """``data`` (a response body, cut at the size the client reads) with every credential
        masked, and a credential cut off by that limit too: a body that ends with the start
        of one (4 bytes or more) has that end masked."""
        if not data:
            return data
        forms = [secret.encode("utf-8") for secret in self.secrets(endpoint)]
        for form in forms:
            data = data.replace(form, MASK.encode("ascii"))
        for form in forms:
            start = data.find(form[:4], max(0, len(data) - len(form) + 1))
            while start >= 0:
                if form.startswith(data[start:]):
                    return data[:start] + MASK.encode("ascii")
                start = data.find(form[:4], start + 1)
        return data

    # -- OAuth2 -------------------------------------------------------------------------------
    async def _token(
        self,
        key: tuple[str, str],
        config: OAuth2Auth,
        endpoint: Endpoint,
        timeout: float,  # noqa: ASYNC109
    ) -> str:
        cached = self._tokens.get(key)
        if cached is not None and cached.good_until > self._clock():
            return cached.value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one request per endpoint, however many attempts wait for it
            cached = self._tokens.get(key)
            if cached is not None and cached.good_until > self._clock():
                return cached.value
            token = await self._fetch(config, endpoint, timeout)
            self._tokens[key] = token
            return token.value

    async def _fetch(
        self,
        config: OAuth2Auth,
        endpoint: Endpoint,
        timeout: float,  # noqa: ASYNC109
    ) -> _Token:
        form = {"grant_type": "client_credentials"}
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        if config.client_auth == "basic":
            pair = f"{config.client_id}:{config.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form |= {"client_id": config.client_id, "client_secret": config.client_secret}
        if config.scope is not None:
            form["scope"] = config.scope
        if config.audience is not None:
            form["audience"] = config.audience
        self.token_requests += 1
        started = self._clock()
        result = await self._client.send(
            config.token_url,
            headers,
            urlencode(form).encode("ascii"),
            min(timeout, self._token_timeout),
            max_response_bytes=_TOKEN_RESPONSE_LIMIT,
            ssl_context=self.ssl_context(endpoint),
        )
        where = f"OAuth2 token request to {config.token_url}"
        if not result.succeeded:
            detail = result.error or "failed"
            reason = _oauth_error(result.body)
            message = f"{where} failed: {detail}" + (f": {reason}" if reason else "")
            raise AuthError(self.scrub(endpoint, message) or message, refusal=result.refusal)
        try:
            data = json.loads(result.body.decode("utf-8"))
        except (ValueError, RecursionError):  # not JSON, or nested too deep to read
            data = None
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or "\n" in token or "\r" in token:
            raise AuthError(f"{where}: the answer has no access_token")
        assert isinstance(data, dict)
        lifetime = data.get("expires_in")
        seconds = (
            float(lifetime)
            if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0
            else _DEFAULT_TOKEN_LIFETIME
        )
        margin = min(self._margin, seconds * 0.1)
        return _Token(token, started + seconds - margin)


def _oauth_error(body: bytes) -> str | None:
    """``invalid_client (Client authentication failed)`` from an RFC 6749 error answer."""
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("error"), str):
        return None
    text = str(data["error"])[:100]
    description = data.get("error_description")
    if isinstance(description, str) and description:
        text += f" ({description[:300]})"
    return text


def keep_masked_headers(
    new: Mapping[str, str],
    current_headers: Mapping[str, str],
    current_secret: Sequence[str],
    secret: Sequence[str],
    *,
    url_changed: bool,
) -> dict[str, str]:
    """Changed ``headers`` in which a secret header's value still equal to the mask keeps the
    stored value, as long as the URL it is sent to stays the same: a new ``url`` needs the
    values again (InvalidRequest), so that a stored credential never goes to a new server
    unless it is given again. ``current_secret`` and ``secret`` are the secret header names
    before and after the change."""
    stored = {name.lower(): value for name, value in current_headers.items()}
    kept = {}
    for name, value in new.items():
        if value == MASK and is_secret_header(name, secret):
            field = f"headers.{name}"
            if name.lower() not in stored or not is_secret_header(name, current_secret):
                raise InvalidRequest(
                    f"{field}: no stored value to keep; give the value", field=field
                )
            if url_changed:
                raise InvalidRequest(
                    f"{field}: the URL changes, so give this secret header's value again",
                    field=field,
                )
            value = stored[name.lower()]
        kept[name] = value
    return kept
