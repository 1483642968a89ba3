"""Loopback stand-ins of the targets' APIs (aiohttp.web on 127.0.0.1, port 0), minimal but
answering with the status codes and bodies the real services document:

* Jira Cloud REST v3: ``POST /rest/api/3/issue`` → 201 ``{"id", "key", "self"}``;
  ``POST /rest/api/3/issue/{key}/transitions`` → 204; ``…/comment`` → 201; an unknown issue → 404
  ``{"errorMessages": ["Issue does not exist or you do not have permission to see it."],
  "errors": {}}``; a create without summary → 400 ``{"errorMessages": [], "errors": {…}}``.
* ServiceNow Table API: ``POST /api/now/table/incident`` → 201 ``{"result": {…the whole record…}}``
  (over 4 KiB, ``sys_id`` near its end, as real records are); ``PATCH …/incident/{sys_id}`` → 200;
  an unknown sys_id → 404 ``{"error": {"message": "No Record found", "detail": …},
  "status": "failure"}``.
* PagerDuty Events API v2: ``POST /v2/enqueue`` → 202 ``{"status": "success", "message": "Event
  processed", "dedup_key": …}``; an unknown routing key → 400 ``{"status": "invalid event",
  "message": "Event object is invalid", "errors": ["'routing_key' is invalid"]}``.
* Splunk HEC: ``POST /services/collector/event`` → 200 ``{"text": "Success", "code": 0}``; a bad
  token → 403 ``{"text": "Invalid token", "code": 4}``; an unknown index → 400 ``{"text":
  "Incorrect index", "code": 7, "invalid-event-number": 0}``.
* An OAuth2 token endpoint (client credentials, RFC 6749 §4.4): ``POST /oauth/token`` →
  ``{"access_token", "token_type": "Bearer", "expires_in"}``.

``fail_next`` makes the next requests to a route answer 5xx first (a failed attempt to retry).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

__all__ = ["Seen", "Target"]


@dataclass
class Seen:
    """One request as a stand-in saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data), content_type="application/json")


@dataclass
class Target:
    """One stand-in server; ``kind`` is "jira", "servicenow", "pagerduty", "splunk" or "oauth"."""

    kind: str
    #: What the Authorization header (or Splunk's) must be; None accepts anything.
    expect_auth: str | Callable[[str | None], bool] | None = None
    seen: list[Seen] = field(default_factory=list)
    #: Paths (prefixes) whose next requests answer 503 (Jira, ServiceNow) or 500, once each.
    fail_next: list[str] = field(default_factory=list)
    #: Jira issues / ServiceNow incidents that exist, by key / sys_id, with their state.
    records: dict[str, str] = field(default_factory=dict)
    routing_keys: set[str] = field(default_factory=lambda: {"R0UT1NGKEY"})
    #: OAuth2: the access tokens handed out, newest last.
    tokens: list[str] = field(default_factory=list)
    token_lifetime: int = 3600
    #: Echo the Authorization header in 500 answers (a careless target: must be scrubbed).
    echo_auth: bool = False
    #: Ids to answer creates with (Jira ``key``, ServiceNow ``sys_id``), first one first, instead
    #: of well-formed ones: a hostile or broken target.
    hand_out: list[str] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Target:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def requests_to(self, prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith(prefix)]

    # -- dispatch -------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        seen = Seen(
            request.method,
            request.path,
            {k.lower(): v for k, v in request.headers.items()},
            await request.read(),
        )
        self.seen.append(seen)
        for prefix in list(self.fail_next):
            if seen.path.startswith(prefix):
                self.fail_next.remove(prefix)
                return web.Response(status=503, text="upstream busy")
        if self.kind == "oauth":
            return self._oauth(seen)
        authorization = seen.headers.get("authorization")
        if not self._authorized(authorization):
            if self.echo_auth:
                return web.Response(status=500, text=f"rejected credentials {authorization}")
            return self._unauthorized()
        handler = getattr(self, f"_{self.kind}")
        response: web.StreamResponse = handler(seen)
        return response

    def _authorized(self, authorization: str | None) -> bool:
        if self.expect_auth is None:
            return True
        if callable(self.expect_auth):
            return self.expect_auth(authorization)
        return authorization == self.expect_auth

    def _unauthorized(self) -> web.Response:
        if self.kind == "splunk":
            return _json({"text": "Invalid token", "code": 4}, 403)
        if self.kind == "servicenow":
            return _json(
                {
                    "error": {
                        "message": "User Not Authenticated",
                        "detail": "Required to provide Auth information",
                    },
                    "status": "failure",
                },
                401,
            )
        return web.Response(status=401, text="Unauthorized")

    # -- OAuth2 ---------------------------------------------------------------------------------
    def _oauth(self, seen: Seen) -> web.Response:
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_secret") != "s3cret-client"
        ):
            return _json(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                401,
            )
        token = f"at-{uuid.uuid4().hex}"
        self.tokens.append(token)
        return _json(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        )

    # -- Jira -----------------------------------------------------------------------------------
    def _jira(self, seen: Seen) -> web.Response:
        base = "/rest/api/3/issue"
        if seen.method == "POST" and seen.path == base:
            fields = seen.json().get("fields", {})
            if not fields.get("summary"):
                return _json(
                    {
                        "errorMessages": [],
                        "errors": {"summary": "You must specify a summary of the issue."},
                    },
                    400,
                )
            number = 10000 + len(self.records) + 1
            key = f"{fields['project']['key']}-{len(self.records) + 1}"
            if self.hand_out:
                key = self.hand_out.pop(0)
            self.records[key] = "To Do"
            return _json(
                {"id": str(number), "key": key, "self": f"{self.url}/rest/api/3/issue/{number}"},
                201,
            )
        parts = seen.path.removeprefix(base + "/").split("/")
        if seen.method == "POST" and len(parts) == 2 and parts[1] in ("transitions", "comment"):
            if parts[0] not in self.records:
                return _json(
                    {
                        "errorMessages": [
                            "Issue does not exist or you do not have permission to see it."
                        ],
                        "errors": {},
                    },
                    404,
                )
            if parts[1] == "transitions":
                self.records[parts[0]] = "Done"
                return web.Response(status=204)
            return _json({"id": "10100", "self": f"{self.url}{seen.path}/10100"}, 201)
        return _json({"errorMessages": ["Not found"], "errors": {}}, 404)

    # -- ServiceNow -----------------------------------------------------------------------------
    def _servicenow(self, seen: Seen) -> web.Response:
        base = "/api/now/table/incident"
        if seen.method == "POST" and seen.path == base:
            sys_id = self.hand_out.pop(0) if self.hand_out else uuid.uuid4().hex
            self.records[sys_id] = "1"
            record: dict[str, Any] = dict(seen.json())
            # Real records carry ~90 fields, references as {"link", "value"}: well over 4 KiB.
            for index in range(90):
                record[f"u_field_{index:02d}"] = {
                    "link": f"{self.url}/api/now/table/x/{index:032d}",
                    "value": f"{index:032d}",
                }
            record |= {"number": f"INC00{len(self.records):05d}", "state": "1", "sys_id": sys_id}
            return _json({"result": record}, 201)
        sys_id = seen.path.removeprefix(base + "/")
        if seen.method == "PATCH" and sys_id in self.records:
            self.records[sys_id] = str(seen.json().get("state"))
            return _json({"result": {"sys_id": sys_id, "state": self.records[sys_id]}})
        return _json(
            {
                "error": {
                    "message": "No Record found",
                    "detail": "Record doesn't exist or ACL restricts the record retrieval",
                },
                "status": "failure",
            },
            404,
        )

    # -- PagerDuty ------------------------------------------------------------------------------
    def _pagerduty(self, seen: Seen) -> web.Response:
        if seen.method != "POST" or seen.path != "/v2/enqueue":
            return web.Response(status=404)
        event = seen.json()
        if event.get("routing_key") not in self.routing_keys:
            return _json(
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["'routing_key' is invalid"],
                },
                400,
            )
        return _json(
            {
                "status": "success",
                "message": "Event processed",
                "dedup_key": event.get("dedup_key"),
            },
            202,
        )

    # -- Splunk HEC -----------------------------------------------------------------------------
    def _splunk(self, seen: Seen) -> web.Response:
        if seen.method != "POST" or seen.path != "/services/collector/event":
            return _json(
                {"text": "The requested URL was not found on this server.", "code": 404}, 404
            )
        if seen.json().get("index") not in (None, "security"):
            return _json({"text": "Incorrect index", "code": 7, "invalid-event-number": 0}, 400)
        return _json({"text": "Success", "code": 0})
