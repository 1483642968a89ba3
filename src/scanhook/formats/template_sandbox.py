"""The Jinja2 sandbox of the ``template`` format: every operation bounded *before* it allocates.

The template runs in :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` (no access to
Python internals, no mutation of lists/dicts). On top of the sandbox, with ``budget`` the
endpoint's ``max_bytes``:

- output is streamed and stops at the budget; every loop iteration, call and filter checks the
  render's deadline (:data:`RENDER_SECONDS`);
- an operation whose result can be much larger than its inputs is refused when the size it
  would build, worked out from its arguments, exceeds the budget: ``~``, ``+``, ``*``,
  ``%``-formatting (widths, precisions, ``*`` widths and every value), ``str.format`` (per field),
  the string methods ``replace``, ``expandtabs``, ``center``, ``ljust``, ``rjust``, ``zfill``,
  ``join`` and ``translate``, the filters ``join``, ``replace``, ``indent``, ``wordwrap``,
  ``format``, ``tojson``, ``pprint``, ``string``, ``urlize``, ``xmlattr`` and ``sum``, the global
  ``lipsum``, and turning a value into text for the output;
- every other call's or filter's integer arguments are at most the budget, and every result
  larger than the budget is refused.

Whatever is left — an operation that builds at most a few times an already bounded value — is
held by the process the render runs in (:mod:`scanhook.formats.render_pool`): a memory limit
and a hard deadline.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import re
import time
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    Sequence,
    ValuesView,
)
from dataclasses import dataclass
from typing import Any, Literal

from jinja2 import TemplateError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
    safe_range,
)
from jinja2.utils import Namespace, generate_lorem_ipsum
from markupsafe import Markup

from scanhook.formats.base import RenderError

__all__ = ["MAX_OUTPUT", "RENDER_SECONDS", "compile_template", "render_template"]

#: Wall-clock budget of one render, in seconds.
RENDER_SECONDS = 1.0
#: The largest ``max_bytes`` an endpoint may set.
MAX_OUTPUT = 1_048_576
#: Integers in a template are at most this many bits (about 1,233 digits).
MAX_INT_BITS = 4096
#: ``tojson``'s ``indent`` is at most this much.
MAX_JSON_INDENT = 16
#: ``sum`` of lists copies the growing result once per item: at most this many times the budget.
MAX_SUM_WORK = 16
#: The longest lorem-ipsum word plus its separator, and the longest paragraph markup.
_LIPSUM_WORD, _LIPSUM_PARAGRAPH = 16, 16
#: The values whose size is their length.
_SEQUENCES = (str, bytes, list, tuple)
#: What a value of a type the estimate does not know is taken to print as, at most.
_OTHER_TEXT = 256


@dataclass(slots=True)
class _Budget:
    deadline: float
    max_bytes: int
    seconds: float = RENDER_SECONDS

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderError(f"template took longer than its {self.seconds:g} s budget")

    def allow(self, size: int, what: str) -> None:
        """Refuse ``what`` before it builds ``size`` characters (or items) beyond the budget."""
        if size > self.max_bytes:
            raise RenderError(
                f"{what} would build more than the output budget of {self.max_bytes} bytes"
            )

    def check_size(self, value: object, what: str) -> None:
        if isinstance(value, str | bytes | list | tuple | dict) and len(value) > self.max_bytes:
            raise RenderError(f"{what} is larger than the output budget of {self.max_bytes} bytes")
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise RenderError(f"{what} is an integer too large for a template")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("budget", default=None)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:  # pragma: no cover - templates render only inside render_template
        raise RenderError("template rendered outside of its budget")
    return budget


# -- how large a value's text is, worked out without building it -----------------------------------
#: How a value is written: ``str()`` (output, ``~``, ``join``), ``repr()`` (inside containers,
#: ``%r``) or JSON (``tojson``).
Mode = Literal["str", "repr", "json"]
_JSON_ESCAPED = ('"', "\\", "<", ">", "&", "'")


def _string_size(text: str, mode: Mode) -> int:
    if mode == "str":
        return len(text)
    if mode == "repr":
        if text.isprintable():
            return len(text) + text.count("\\") + text.count("'") + 2
        return 10 * len(text) + 2  # \U0001xxxx at worst
    if text.isascii() and text.isprintable():
        return len(text) + 5 * sum(text.count(char) for char in _JSON_ESCAPED) + 2
    return 12 * len(text) + 2  # a surrogate pair of \uXXXX escapes at worst


def _text_size(value: object, limit: int, *, mode: Mode = "str", indent: int = 0) -> int:
    """An upper bound of the length of ``value`` written as ``mode`` says (``indent`` more per
    nesting level and item, for ``tojson``/``pprint``), or a number above ``limit`` once it
    passes it."""
    return _size(value, limit, mode, indent, 0)


def _size(value: object, limit: int, mode: Mode, indent: int, depth: int) -> int:
    if isinstance(value, str):
        return _string_size(value, mode)
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return value.bit_length() * 3 // 10 + 2
    if isinstance(value, float):
        return 32
    if isinstance(value, bytes):
        return 4 * len(value) + 3
    if isinstance(value, Namespace):
        value = dict(value._Namespace__attrs)  # jinja's private dict of the attributes
    items: Iterable[Any]
    if isinstance(value, Mapping | KeysView | ValuesView | ItemsView):
        items = (
            (part for pair in value.items() for part in pair)
            if isinstance(value, Mapping)
            else value
        )
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return _OTHER_TEXT
    inner: Mode = "json" if mode == "json" else "repr"
    total = 16  # brackets, or the name of a view such as dict_items([...])
    for item in items:
        total += _size(item, limit - total, inner, indent, depth + 1) + 2 + indent * (depth + 1)
        if total > limit:
            break
    return total


def _materialised(value: Any) -> Any:
    """An iterator or generator as a list (so it can be measured and then used once)."""
    if isinstance(value, str | bytes | Mapping | list | tuple | set | frozenset):
        return value
    if isinstance(value, Iterable):
        budget = _budget()
        items = []
        for item in value:
            items.append(item)
            if len(items) > budget.max_bytes:
                budget.allow(len(items), "an iterable")
        return items
    return value


# -- %-formatting ----------------------------------------------------------------------------------
_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?[hlL]?"
    r"(?P<type>.?)",
    re.DOTALL,
)


def _number(text: str | None, take: Callable[[], object]) -> int:
    if text is None or text == "":
        return 0
    if text == "*":
        value = take()
        return abs(value) if isinstance(value, int) else 0
    if len(text) > 7:
        return MAX_OUTPUT + 1
    return int(text)


def _percent_size(template: str, values: object, budget: _Budget) -> int:
    """An upper bound of the length of ``template % values``."""
    positional = iter(values if isinstance(values, tuple) else (values,))
    mapping = values if isinstance(values, Mapping) else None
    limit = budget.max_bytes

    def take() -> object:
        return next(positional, None)

    total = len(template)
    for spec in _PERCENT.finditer(template):
        if spec["type"] == "%":
            continue
        total += _number(spec["width"], take) + _number(spec["precision"], take)
        if total > limit:
            return total
        key = spec["key"]
        value = mapping.get(key) if key is not None and mapping is not None else take()
        mode: Mode = "repr" if spec["type"] in ("r", "a") else "str"
        total += _text_size(value, limit - total, mode=mode)
        if total > limit:
            return total
    return total


# -- str.format ------------------------------------------------------------------------------------
_DIGITS = re.compile(r"\d+")


class _Formatter(SandboxedFormatter):
    """``str.format`` that measures each field before formatting it, and the running total."""

    _total = 0

    def vformat(self, format_string: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
        self._total = len(format_string)
        _budget().allow(self._total, "str.format")
        return super().vformat(format_string, args, kwargs)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion in ("r", "a"):
            self._add(_text_size(value, _budget().max_bytes, mode="repr"))
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        budget = _budget()
        budget.tick()
        widths = 0
        for digits in _DIGITS.findall(format_spec):
            widths += MAX_OUTPUT + 1 if len(digits) > 7 else int(digits)
        self._add(widths + _text_size(value, budget.max_bytes))
        return super().format_field(value, format_spec)

    def _add(self, size: int) -> None:
        self._total += size
        _budget().allow(self._total, "str.format")


class _EscapeFormatter(_Formatter, SandboxedEscapeFormatter):
    pass


# -- methods of strings and bytes ------------------------------------------------------------------
def _replace_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return 0
    found = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _expandtabs_size(text: Any, tabsize: Any = 8) -> int:
    size = tabsize if isinstance(tabsize, int) else 8
    tabs: int = text.count("\t" if isinstance(text, str) else b"\t")
    return len(text) + tabs * max(size, 0)


def _width_size(text: Any, width: Any = 0, *_: Any) -> int:
    return max(len(text), width if isinstance(width, int) else 0)


def _translate_size(text: Any, table: Any = None, *_: Any) -> int:
    if not isinstance(table, Mapping):
        return len(text)
    longest = max((_text_size(v, MAX_OUTPUT) for v in table.values()), default=1)
    return len(text) * max(longest, 1)


#: Predicted result sizes of the methods of str/bytes that can grow beyond their inputs.
_METHOD_SIZES: dict[str, Callable[..., int]] = {
    "replace": _replace_size,
    "expandtabs": _expandtabs_size,
    "center": _width_size,
    "ljust": _width_size,
    "rjust": _width_size,
    "zfill": _width_size,
    "translate": _translate_size,
}


def _join_size(separator: Any, items: list[Any], limit: int) -> int:
    total = len(separator) * max(len(items) - 1, 0)
    for item in items:
        if total > limit:
            break
        total += _text_size(item, limit - total)
    return total


# -- filters and globals ---------------------------------------------------------------------------
Arguments = dict[str, Any]


def _join_filter(args: Arguments, budget: _Budget) -> None:
    args["value"] = items = _materialised(args["value"])
    separator = str(args["d"])
    if args["attribute"] is not None:
        size = len(separator) * max(len(items) - 1, 0)
    else:
        size = _join_size(separator, list(items), budget.max_bytes)
    budget.allow(size, "filter 'join'")


def _replace_filter(args: Arguments, budget: _Budget) -> None:
    text = args["s"] if isinstance(args["s"], str) else None
    size = _text_size(args["s"], budget.max_bytes)
    budget.allow(size, "filter 'replace'")
    if text is not None:
        count = -1 if args["count"] is None else args["count"]
        budget.allow(
            _replace_size(text, str(args["old"]), str(args["new"]), count), "filter 'replace'"
        )


def _indent_filter(args: Arguments, budget: _Budget) -> None:
    text_size = _text_size(args["s"], budget.max_bytes)
    budget.allow(text_size, "filter 'indent'")
    width = args["width"]
    per_line = width if isinstance(width, int) else len(str(width))
    lines = str(args["s"]).count("\n") + 1
    budget.allow(text_size + lines * max(per_line, 0), "filter 'indent'")


def _wordwrap_filter(args: Arguments, budget: _Budget) -> None:
    text_size = _text_size(args["s"], budget.max_bytes)
    wrap = args["wrapstring"]
    breaks = len(wrap) if isinstance(wrap, str) else 2
    budget.allow(text_size * (1 + breaks), "filter 'wordwrap'")


def _format_filter(args: Arguments, budget: _Budget) -> None:
    values = args["kwargs"] or args["args"]
    text = args["value"] if isinstance(args["value"], str) else str(args["value"])
    budget.allow(_percent_size(text, values, budget), "filter 'format'")


def _tojson_filter(args: Arguments, budget: _Budget) -> None:
    indent = args["indent"]
    step = len(indent) if isinstance(indent, str) else indent or 0
    if not isinstance(step, int) or step > MAX_JSON_INDENT:
        raise RenderError(f"filter 'tojson': indent is at most {MAX_JSON_INDENT}")
    size = _text_size(args["value"], budget.max_bytes, mode="json", indent=step + 1)
    budget.allow(size, "filter 'tojson'")


def _pprint_filter(args: Arguments, budget: _Budget) -> None:
    size = _text_size(args["value"], budget.max_bytes, mode="repr", indent=1)
    budget.allow(size, "filter 'pprint'")


def _string_filter(args: Arguments, budget: _Budget) -> None:
    budget.allow(_text_size(args["s"], budget.max_bytes), "filter 'string'")


def _urlize_filter(args: Arguments, budget: _Budget) -> None:
    text_size = _text_size(args["value"], budget.max_bytes)
    extra = sum(len(str(args[name] or "")) for name in ("target", "rel")) + 64
    links = text_size // 4 + 1  # a link is at least "a.bc"
    budget.allow(2 * text_size + links * extra, "filter 'urlize'")


def _xmlattr_filter(args: Arguments, budget: _Budget) -> None:
    budget.allow(6 * _text_size(args["d"], budget.max_bytes), "filter 'xmlattr'")


def _sum_filter(args: Arguments, budget: _Budget) -> None:
    start = args["start"]
    if not isinstance(start, list | tuple):
        return
    args["iterable"] = items = _materialised(args["iterable"])
    total, work = len(start), 0
    for item in items:
        total += len(item) if isinstance(item, list | tuple) else 1
        work += total
        budget.allow(total, "filter 'sum'")
    budget.allow(work // MAX_SUM_WORK, "filter 'sum'")


#: Filters checked, on their bound arguments (defaults applied), before they run.
_FILTER_CHECKS: dict[str, Callable[[Arguments, _Budget], None]] = {
    "join": _join_filter,
    "replace": _replace_filter,
    "indent": _indent_filter,
    "wordwrap": _wordwrap_filter,
    "format": _format_filter,
    "tojson": _tojson_filter,
    "pprint": _pprint_filter,
    "string": _string_filter,
    "urlize": _urlize_filter,
    "xmlattr": _xmlattr_filter,
    "sum": _sum_filter,
}


def _check_arguments(args: Iterable[object], what: str, budget: _Budget) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > budget.max_bytes:
            raise RenderError(f"{what} was given {arg}, more than the output budget allows")


class _Binder:
    """A filter's arguments by parameter name, defaults filled in: ``inspect.Signature.bind``
    for filters with ``*args``/``**kwargs`` (``format``), a cheaper equivalent for the rest."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.signature = inspect.signature(function)
        parameters = list(self.signature.parameters.values())
        self.simple = all(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters
        )
        self.names = [p.name for p in parameters]
        self.defaults = {p.name: p.default for p in parameters if p.default is not p.empty}

    def call(
        self,
        function: Callable[..., Any],
        check: Callable[[Arguments, _Budget], None],
        budget: _Budget,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """``check`` the arguments (it may replace some), then call ``function`` with them."""
        if not self.simple or len(args) > len(self.names):
            bound = self.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            check(bound.arguments, budget)
            return function(*bound.args, **bound.kwargs)
        arguments = {**self.defaults, **dict(zip(self.names, args, strict=False)), **kwargs}
        missing = [name for name in self.names if name not in arguments]
        if missing:  # the filter itself says what is missing
            return function(*args, **kwargs)
        check(arguments, budget)
        positional = [arguments[name] for name in self.names[: len(args)]]
        return function(*positional, **{key: arguments[key] for key in kwargs})


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    check = _FILTER_CHECKS.get(name)
    binder = _Binder(function) if check is not None else None

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        _check_arguments([*args, *kwargs.values()], f"filter '{name}'", budget)
        if check is not None and binder is not None:
            result = binder.call(function, check, budget, args, kwargs)
        else:
            result = function(*args, **kwargs)
        budget.check_size(result, f"the result of filter '{name}'")
        return result

    return guarded


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    budget = _budget()
    per_paragraph = _LIPSUM_WORD * (max if isinstance(max, int) else 100) + _LIPSUM_PARAGRAPH
    budget.allow((n if isinstance(n, int) else 5) * per_paragraph, "lipsum()")
    return generate_lorem_ipsum(n, html, min, max)


# -- the environment -------------------------------------------------------------------------------
class _Generator(CodeGenerator):
    """Routes ``~`` (string concatenation) through the budget."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.scanhook_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _finalize(value: Any) -> Any:
    """Every ``{{ … }}`` value is measured before it is turned into text."""
    budget = _budget()
    budget.allow(_text_size(value, budget.max_bytes), "an output value")
    return value


class _Sandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _Generator
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(autoescape=False, keep_trailing_newline=True, finalize=_finalize)
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}
        self.globals["lipsum"] = _lipsum

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
        values = list(parts)
        total = 0
        for value in values:
            total += _text_size(value, budget.max_bytes - total)
            budget.allow(total, "'~'")
        return "".join(str(value) for value in values)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``format_map`` with a formatter that measures every field."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template: str = value.__self__
        is_format_map = value.__name__ == "format_map"
        formatter: SandboxedFormatter = (
            _EscapeFormatter(self, escape=template.escape)
            if isinstance(template, Markup)
            else _Formatter(self)
        )

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one positional argument")
                return type(template)(formatter.vformat(template, (), args[0]))
            return type(template)(formatter.vformat(template, args, kwargs))

        return functools.update_wrapper(bounded, value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        budget.tick()
        if operator == "**" and isinstance(right, int) and abs(right) > 256:
            raise RenderError("'**' exponent is too large for a template")
        if operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            budget.allow(len(left) + len(right), "'+'")
        if operator == "*":
            for count, other in ((left, right), (right, left)):
                if isinstance(count, int) and isinstance(other, str | bytes | list | tuple):
                    budget.allow(count * len(other), "'*'")
        if operator == "%" and isinstance(left, str):
            budget.allow(_percent_size(left, right, budget), "'%' formatting")
        result = super().call_binop(context, operator, left, right)
        budget.check_size(result, f"the result of '{operator}'")
        return result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        if __obj is not safe_range and __obj is not __self.scanhook_loop:
            _check_arguments([*args, *kwargs.values()], "a call", budget)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args:
                items = _materialised(args[0])
                budget.allow(_join_size(owner, list(items), budget.max_bytes), "'join'")
                args = (items, *args[1:])
            elif name in _METHOD_SIZES:
                budget.allow(_METHOD_SIZES[name](owner, *args, **kwargs), f"'{name}'")
        result = super().call(__context, __obj, *args, **kwargs)
        budget.check_size(result, "the result of a call")
        return result


_ENVIRONMENT = _Sandbox()


@functools.lru_cache(maxsize=256)
def compile_template(source: str) -> Any:
    """``source`` compiled; ValueError naming the line and the problem."""
    try:
        return _ENVIRONMENT.from_string(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f"line {line}: " if line else ""
        raise ValueError(f"template {where}{exc.message or exc}") from None
    except RecursionError:
        raise ValueError("template is nested too deeply") from None
    except SyntaxError as exc:  # the generated Python: e.g. more than 20 nested loops
        raise ValueError(f"template is nested too deeply ({exc.msg})") from None


def render_template(
    source: str, variables: Mapping[str, Any], max_bytes: int, seconds: float = RENDER_SECONDS
) -> bytes:
    """The body ``source`` renders with ``variables``, UTF-8; RenderError saying which budget
    it broke or how the template failed."""
    try:
        template = compile_template(source)
    except ValueError as exc:
        raise RenderError(str(exc)) from None
    token = _BUDGET.set(_Budget(time.monotonic() + seconds, max_bytes, seconds))
    try:
        budget = _budget()
        size = 0
        chunks: list[bytes] = []
        for chunk in template.generate(dict(variables)):
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
    except MemoryError:
        raise
    except Exception as exc:  # the template's own errors: undefined calls, security, types
        raise RenderError(f"template failed: {type(exc).__name__}: {exc}") from None
    finally:
        _BUDGET.reset(token)
