"""Reading targets' answers: readable failure reasons, and the remote id of a created record.

Splunk HEC, PagerDuty, Jira and ServiceNow (and Slack) answer a refused request with a body that
says why; :func:`describe_failure` turns it into one line for the attempt record, and says when
the target will never accept the request as it is (so retrying cannot help).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scanhook.formats.remote_ids import check_remote_id

__all__ = ["Failure", "classify_failure", "describe_failure", "extract_remote_id"]

_MAX_REASON = 500
NEVER = "the target will never accept this request as it is; retrying cannot help"
#: Statuses that mean the request itself is wrong for these targets.
_REFUSED = frozenset({400, 413, 422})

#: Splunk HEC status codes (``{"text": …, "code": n}``) that mean the body is at fault.
_SPLUNK_BODY_CODES = frozenset({5, 6, 7, 12, 13, 15})
_SPLUNK_CODES = {
    1: "the HEC token is disabled",
    2: "the HEC token is missing (set the endpoint's auth to 'Authorization: Splunk <token>')",
    3: "the HEC authorization is invalid",
    4: "the HEC token is invalid",
    9: "Splunk is busy",
    14: "acknowledgements are disabled for this token",
    16: "query-string authorization is not enabled",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """A refused attempt, read: what the target said, and whether retrying can ever help."""

    reason: str | None
    permanent: bool


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):  # not JSON, or nested too deep to read
        return None


def _join(parts: list[str]) -> str | None:
    text = "; ".join(part.strip() for part in parts if part and part.strip())
    if not text:
        return None
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _splunk(status: int, data: Any) -> Failure:
    if not isinstance(data, dict) or "text" not in data:
        return Failure(None, status in _REFUSED)
    code = data.get("code")
    text = f"Splunk: {data['text']}"
    if isinstance(code, int):
        text += f" (code {code})"
        if code in _SPLUNK_CODES:
            text += f": {_SPLUNK_CODES[code]}"
    if "invalid-event-number" in data:
        text += f", event #{data['invalid-event-number']}"
    permanent = status in _REFUSED and (not isinstance(code, int) or code in _SPLUNK_BODY_CODES)
    return Failure(text, permanent)


def _pagerduty(status: int, data: Any) -> Failure:
    if not isinstance(data, dict):
        return Failure(None, status in _REFUSED)
    errors = data.get("errors")
    parts = [str(data.get("message") or data.get("status") or "")]
    if isinstance(errors, list):
        parts += [str(error) for error in errors]
    reason = _join(parts)
    return Failure(f"PagerDuty: {reason}" if reason else None, status in _REFUSED)


def _jira(status: int, data: Any) -> Failure:
    if not isinstance(data, dict):
        return Failure(None, status in _REFUSED)
    parts = [str(message) for message in data.get("errorMessages") or []]
    errors = data.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {message}" for field, message in errors.items()]
    reason = _join(parts)
    # 404 on a transition or comment: the issue is gone (deleted or moved).
    return Failure(f"Jira: {reason}" if reason else None, status in _REFUSED or status == 404)


def _servicenow(status: int, data: Any) -> Failure:
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return Failure(None, status in _REFUSED)
    reason = _join([str(error.get("message") or ""), str(error.get("detail") or "")])
    return Failure(f"ServiceNow: {reason}" if reason else None, status in _REFUSED or status == 404)


def _slack(status: int, body: bytes) -> Failure:
    text = body.decode("utf-8", errors="replace").strip()
    if not text or len(text) > 100 or " " in text:
        return Failure(None, status in _REFUSED)
    permanent = status in _REFUSED or text in ("no_service", "channel_is_archived")
    return Failure(f"Slack: {text}", permanent)


_READERS: dict[str, Callable[[int, Any], Failure]] = {
    "splunk": _splunk,
    "pagerduty": _pagerduty,
    "jira": _jira,
    "servicenow": _servicenow,
}


def classify_failure(format_name: str, status_code: int, body: bytes) -> Failure:
    """What a non-2xx answer of the target of ``format_name`` says, and whether it is final."""
    if 200 <= status_code < 300:
        return Failure(None, False)
    if format_name == "slack":
        return _slack(status_code, body)
    reader = _READERS.get(format_name)
    if reader is None:
        return Failure(None, False)
    return reader(status_code, _json(body))


def describe_failure(format_name: str, status_code: int, body: bytes) -> str | None:
    """A readable reason for a refused attempt, or None when the body says nothing useful.

    When the target will never accept the request (a 400 about the body, a 404 for a Jira issue
    or ServiceNow incident that no longer exists), the reason ends with
    ``"— the target will never accept this request as it is; retrying cannot help"``; use
    :func:`classify_failure` for the flag itself.
    """
    failure = classify_failure(format_name, status_code, body)
    if failure.reason is None:
        return None
    return f"{failure.reason} — {NEVER}" if failure.permanent else failure.reason


def extract_remote_id(format_name: str, body: bytes) -> str | None:
    """The remote id in a successful create response: a Jira issue key (``{"key": "SEC-42"}``)
    or a ServiceNow ``result.sys_id``; None for other formats or a body without one.

    An id that is not of its target's shape (``"../x"``) raises
    :class:`~scanhook.formats.remote_ids.UnexpectedRemoteId`: it must not be kept, since the
    close would put it into its request's path."""
    data = _json(body)
    if not isinstance(data, dict):
        return None
    found: object = None
    if format_name == "jira":
        found = data.get("key")
    elif format_name == "servicenow":
        result = data.get("result")
        if isinstance(result, dict):
            found = result.get("sys_id")
    if not isinstance(found, str) or not found:
        return None
    return check_remote_id(format_name, found)
