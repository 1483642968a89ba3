"""``template``: a user's Jinja2 template, rendered in a sandbox with a size and a time budget.

The template runs in :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` (no access to
Python internals, no mutation of lists/dicts). On top of the sandbox:

- output is streamed and stops at ``max_bytes``;
- every loop iteration, call and filter checks the render's deadline (:data:`RENDER_SECONDS`);
- results of calls, filters, ``~``, ``+``, ``*``, ``%`` and ``**`` larger than the output budget are
  refused before they can eat memory, and so are huge widths in format strings.

When an endpoint is saved the template is compiled and rendered once against a sample of each
event type, so syntax errors and budget overruns are reported then, not at delivery time.
"""

from __future__ import annotations

import contextvars
import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Annotated, Any

from jinja2 import TemplateError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from pydantic import Field, field_validator

from scanhook.formats.base import (
    FormatContext,
    FormattedRequest,
    Options,
    RenderError,
    correlation_key,
    event_datetime,
    rfc3339,
)
from scanhook.notifications import Notification, parse
from scanhook.notifications.encoding import to_wire

__all__ = ["MAX_TEMPLATE_LENGTH", "RENDER_SECONDS", "TemplateOptions", "check_template", "render"]

MAX_TEMPLATE_LENGTH = 16_384
#: Wall-clock budget of one render, in seconds.
RENDER_SECONDS = 1.0
_MAX_OUTPUT = 1_048_576
_HUGE_WIDTH = re.compile(r"\d{7,}")


@dataclass(slots=True)
class _Budget:
    deadline: float
    max_bytes: int

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderError(f"template took longer than its {RENDER_SECONDS:g} s budget")

    def check_size(self, value: object, what: str) -> None:
        if isinstance(value, str | bytes | list | tuple | dict) and len(value) > self.max_bytes:
            raise RenderError(f"{what} is larger than the output budget of {self.max_bytes} bytes")
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4096:
            raise RenderError(f"{what} is an integer too large for a template")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:  # pragma: no cover - templates render only inside _render_checked
        raise RenderError("template rendered outside of its budget")
    return budget


def _check_arguments(args: Iterable[object], what: str, budget: _Budget) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > budget.max_bytes:
            raise RenderError(f"{what} was given {arg}, more than the output budget allows")


def _check_format(text: object, budget: _Budget) -> None:
    if isinstance(text, str) and _HUGE_WIDTH.search(text):
        raise RenderError("format string asks for a width beyond the output budget")


class _Generator(CodeGenerator):
    """Routes ``~`` (string concatenation) through the budget."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.scanhook_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Sandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _Generator
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(autoescape=False, keep_trailing_newline=True)
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(
                nodes.EnvironmentAttribute("scanhook_loop", lineno=loop.lineno),
                [loop.iter],
                [],
                None,
                None,
                lineno=loop.lineno,
            )
        return tree

    @staticmethod
    def scanhook_loop(iterable: Iterable[Any]) -> Iterator[Any]:
        budget = _budget()
        for item in iterable:
            budget.tick()
            yield item

    @staticmethod
    def scanhook_concat(parts: Iterable[Any]) -> str:
        budget = _budget()
        pieces = [str(part) for part in parts]
        total = sum(len(piece) for piece in pieces)
        if total > budget.max_bytes:
            raise RenderError(f"'~' builds a string beyond the output budget of {budget.max_bytes}")
        return "".join(pieces)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        budget.tick()
        if operator == "**" and isinstance(right, int) and abs(right) > 256:
            raise RenderError("'**' exponent is too large for a template")
        if operator == "*":
            for count, other in ((left, right), (right, left)):
                if (
                    isinstance(count, int)
                    and isinstance(other, str | list | tuple)
                    and count * len(other) > budget.max_bytes
                ):
                    raise RenderError("'*' builds a value beyond the output budget")
        if operator == "%":
            _check_format(left, budget)
        result = super().call_binop(context, operator, left, right)
        budget.check_size(result, f"the result of '{operator}'")
        return result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        if __obj is not safe_range and __obj is not __self.scanhook_loop:
            _check_arguments([*args, *kwargs.values()], "a call", budget)
        if getattr(__obj, "__name__", "") in ("format", "format_map"):
            target = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
            _check_format(getattr(target, "__self__", None), budget)
        result = super().call(__context, __obj, *args, **kwargs)
        budget.check_size(result, "the result of a call")
        return result


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        _check_arguments([*args, *kwargs.values()], f"filter '{name}'", budget)
        if name == "format" and args:
            _check_format(args[0], budget)
        result = function(*args, **kwargs)
        budget.check_size(result, f"the result of filter '{name}'")
        return result

    return guarded


_ENVIRONMENT = _Sandbox()


@functools.lru_cache(maxsize=256)
def _compile(source: str) -> Any:
    try:
        return _ENVIRONMENT.from_string(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f"line {line}: " if line else ""
        raise ValueError(f"template {where}{exc.message or exc}") from None


_SAMPLES: dict[str, dict[str, Any]] = {
    "scheduled_scan": {
        "scheduled_scan": {
            "name": "Sample scan",
            "type": "network",
            "starts_at": "2026-01-01 02:30",
            "link": "https://sc.example.com/scans/schedules/view/1",
        }
    },
    "finished_scan": {
        "finished_scan": {
            "name": "Sample scan",
            "type": "network",
            "started": "2026-01-01 02:30",
            "finished": "2026-01-01 03:27",
            "duration": "00:57",
            "status": "Completed",
            "errors": "",
            "critical_cnt": 1,
            "high_cnt": 2,
            "medium_cnt": 3,
            "low_cnt": 4,
            "link": "https://sc.example.com/scans/view/1",
        }
    },
    "ticket.opened": {
        "ticket": {
            "number": 1,
            "status": "Open",
            "severity": "High",
            "vulnerability_name": "Sample vulnerability",
            "asset_name": "sample-host",
            "asset_link": "https://sc.example.com/assets/view/1",
            "due_date": "2026-01-31",
            "owner": "owner@example.com",
        }
    },
}
_SAMPLES["ticket.closed"] = {
    "ticket": {**_SAMPLES["ticket.opened"]["ticket"], "status": "Closed (Fixed)"}
}


class TemplateOptions(Options):
    #: The Jinja2 template of the request body.
    template: Annotated[str, Field(min_length=1, max_length=MAX_TEMPLATE_LENGTH)]
    content_type: Annotated[
        str, Field(max_length=255, pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;.*)?$")
    ] = "application/json"
    #: The largest body the template may produce, in bytes.
    max_bytes: Annotated[int, Field(ge=1, le=_MAX_OUTPUT)] = 65_536
    #: Appended to the endpoint's URL.
    path_suffix: Annotated[str, Field(max_length=1024, pattern=r"^(/[^\s]*)?$")] = ""

    @field_validator("template")
    @classmethod
    def _compiles(cls, value: str) -> str:
        _compile(value)
        return value


def _variables(
    notification: Notification, event_type: str, event_id: str, event_time: str, tz: tzinfo
) -> dict[str, Any]:
    wire = to_wire(notification, tz)
    fields = wire[notification.KEY]
    return {
        "event_type": event_type,
        "event_id": event_id,
        "event_time": event_time,
        "payload": wire,
        "notification": fields,
        "scheduled_scan": fields if notification.KEY == "scheduled_scan" else None,
        "finished_scan": fields if notification.KEY == "finished_scan" else None,
        "ticket": fields if notification.KEY == "ticket" else None,
    }


def _render_checked(source: str, variables: dict[str, Any], max_bytes: int) -> bytes:
    template = _compile(source)
    token = _BUDGET.set(_Budget(time.monotonic() + RENDER_SECONDS, max_bytes))
    try:
        budget = _budget()
        size = 0
        chunks: list[bytes] = []
        for chunk in template.generate(variables):
            data = str(chunk).encode("utf-8")
            size += len(data)
            if size > max_bytes:
                raise RenderError(f"template output is larger than max_bytes ({max_bytes})")
            budget.tick()
            chunks.append(data)
        return b"".join(chunks)
    except RenderError:
        raise
    except RecursionError:
        raise RenderError("template recursed too deeply") from None
    except Exception as exc:  # the template's own errors: undefined calls, security, types
        raise RenderError(f"template failed: {type(exc).__name__}: {exc}") from None
    finally:
        _BUDGET.reset(token)


def check_template(options: TemplateOptions) -> None:
    """Render ``options.template`` once per event type on sample notifications; ValueError saying
    which event type fails and why."""
    for event_type, wire in _SAMPLES.items():
        variables = _variables(parse(wire), event_type, "evt_sample", "2026-01-01T00:00:00Z", UTC)
        try:
            _render_checked(options.template, variables, options.max_bytes)
        except RenderError as exc:
            raise ValueError(
                f"template fails on a sample {event_type} notification: {exc}"
            ) from None


def render(
    notification: Notification, options: TemplateOptions, context: FormatContext
) -> FormattedRequest:
    variables = _variables(
        notification,
        context.event_type,
        context.event_id,
        rfc3339(event_datetime(context)),
        context.tz,
    )
    body = _render_checked(options.template, variables, options.max_bytes)
    return FormattedRequest(
        path_suffix=options.path_suffix,
        headers={},
        body=body,
        content_type=options.content_type,
        correlation_key=correlation_key(notification),
    )
