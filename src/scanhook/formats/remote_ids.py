"""The shape of the ids that Jira and ServiceNow give the records scanhook creates.

A remote id comes from the target's answer and goes back into a request path (``…/issue/{key}/
transitions``, ``…/incident/{sys_id}``), so an answer must not be able to choose that path:
``..`` or ``a/../../x``, even percent-encoded, normalises into another path on the same host.
Only an id of the target's own shape is kept from an answer, and only such an id is put into a
URL: a Jira issue key (``SEC-42``: a project key, a dash, a number) or a ServiceNow ``sys_id``
(32 lowercase hexadecimal digits).
"""

from __future__ import annotations

import re

from scanhook.errors import ScanhookError

__all__ = ["UnexpectedRemoteId", "check_remote_id", "shown"]

#: A Jira issue key: the project key (``[A-Z][A-Z0-9_]*``, as ``JiraOptions.project_key``), ``-``,
#: the issue's number.
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]*-[0-9]+")
#: A ServiceNow ``sys_id``: a GUID written as 32 lowercase hexadecimal digits.
SYS_ID = re.compile(r"[0-9a-f]{32}")
#: The longest id kept (the ``remote_refs.remote_id`` column's size).
MAX_LENGTH = 255

_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "jira": (ISSUE_KEY, "a Jira issue key (PROJECT-123)"),
    "servicenow": (SYS_ID, "a ServiceNow sys_id (32 lowercase hex digits)"),
}


class UnexpectedRemoteId(ScanhookError):
    """A remote id that is not of its target's shape; it is neither kept nor put into a URL."""


def shown(value: str, limit: int = 40) -> str:
    """``value`` quoted, with its control characters escaped, cut to ``limit`` characters."""
    return repr(value[:limit]) + ("…" if len(value) > limit else "")


def check_remote_id(format_name: str, value: str) -> str:
    """``value`` when it has the shape of ``format_name``'s ids; UnexpectedRemoteId otherwise."""
    pattern, what = _SHAPES[format_name]
    if len(value) > MAX_LENGTH or not pattern.fullmatch(value):
        raise UnexpectedRemoteId(f"{shown(value)} is not {what}")
    return value
