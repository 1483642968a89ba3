"""``jira``: Jira Cloud REST API v3.

- Any notification creates an issue: ``POST /rest/api/3/issue`` with an ADF description.
- ``ticket.closed`` with the remote issue key known (``context.remote_id``, stored by the engine
  from the create response, see :func:`scanhook.formats.extract_remote_id`) transitions it:
  ``POST /rest/api/3/issue/{key}/transitions`` with ``close_transition_id`` and a comment; without a
  ``close_transition_id`` it only comments (``POST /rest/api/3/issue/{key}/comment``), flagged.
- ``ticket.closed`` with no key known falls back to creating an issue, flagged for attention.
- A key is put into a path only when it has an issue key's shape (``SEC-42``, see
  :mod:`scanhook.formats.remote_ids`); any other stored key fails the close (a RenderError).

The endpoint's URL is the site, e.g. ``https://example.atlassian.net``; authentication (an API
token as basic auth, or OAuth2) is the endpoint's ``auth``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from pydantic import Field

from scanhook.formats.adf import document
from scanhook.formats.base import (
    FormatContext,
    FormattedRequest,
    Options,
    RenderError,
    correlation_key,
    json_body,
    summary,
    truncate,
)
from scanhook.formats.remote_ids import UnexpectedRemoteId, check_remote_id
from scanhook.notifications import Notification, Severity, Ticket

__all__ = ["CREATE_PATH", "JiraOptions", "render"]

CREATE_PATH = "/rest/api/3/issue"
_SUMMARY_LIMIT = 255
_HEADERS = {"Accept": "application/json"}
_Label = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^\S+$")]


class JiraOptions(Options):
    #: The project's key, e.g. ``SEC``.
    project_key: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Z][A-Z0-9_]*$")]
    #: The issue type's name.
    issue_type: Annotated[str, Field(min_length=1, max_length=255)] = "Task"
    #: The id of the workflow transition that closes an issue (``GET …/transitions`` lists them).
    close_transition_id: Annotated[str, Field(pattern=r"^[0-9]+$")] | None = None
    labels: Annotated[list[_Label], Field(max_length=20, default_factory=lambda: ["scanhook"])]
    #: Jira priority name per severity, e.g. ``{"Critical": "Highest", "High": "High"}``.
    priorities: dict[Severity, Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=dict
    )
    #: Further fields of the create request, e.g. a required custom field.
    fields: dict[str, Any] = Field(default_factory=dict)


def _create(
    notification: Notification,
    options: JiraOptions,
    context: FormatContext,
    attention: str | None,
) -> FormattedRequest:
    fields: dict[str, Any] = {
        "project": {"key": options.project_key},
        "issuetype": {"name": options.issue_type},
        "summary": truncate(summary(notification, context.tz), _SUMMARY_LIMIT),
        "description": document(notification, context.tz),
    }
    if options.labels:
        fields["labels"] = list(options.labels)
    if isinstance(notification, Ticket) and notification.severity in options.priorities:
        fields["priority"] = {"name": options.priorities[notification.severity]}
    fields.update(options.fields)
    return FormattedRequest(
        path_suffix=CREATE_PATH,
        headers=dict(_HEADERS),
        body=json_body({"fields": fields}),
        content_type="application/json",
        correlation_key=correlation_key(notification),
        expects_remote_id=context.event_type == "ticket.opened",
        attention=attention,
    )


def render(
    notification: Notification, options: JiraOptions, context: FormatContext
) -> FormattedRequest:
    key = correlation_key(notification)
    if context.event_type != "ticket.closed":
        return _create(notification, options, context, None)
    if context.remote_id is None:
        return _create(
            notification,
            options,
            context,
            f"no Jira issue is known for {key}: created a new issue instead of closing one",
        )
    try:
        issue = quote(check_remote_id("jira", context.remote_id), safe="")
    except UnexpectedRemoteId as exc:
        raise RenderError(
            f"the Jira issue stored for {key} is not usable: {exc}; no request is built from it"
        ) from None
    comment = document(
        notification,
        context.tz,
        f"Closed in the Security Center: {summary(notification, context.tz)}",
    )
    if options.close_transition_id is None:
        return FormattedRequest(
            path_suffix=f"{CREATE_PATH}/{issue}/comment",
            headers=dict(_HEADERS),
            body=json_body({"body": comment}),
            content_type="application/json",
            correlation_key=key,
            attention=(
                f"no close_transition_id configured: commented on {context.remote_id} "
                "instead of transitioning it"
            ),
        )
    transition = {
        "transition": {"id": options.close_transition_id},
        "update": {"comment": [{"add": {"body": comment}}]},
    }
    return FormattedRequest(
        path_suffix=f"{CREATE_PATH}/{issue}/transitions",
        headers=dict(_HEADERS),
        body=json_body(transition),
        content_type="application/json",
        correlation_key=key,
    )
