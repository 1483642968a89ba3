"""Making what a sender controls safe to print on a terminal.

A request's body and headers are the sender's: printed raw, an ``ESC [ …`` or ``ESC ] …``
sequence (or its one-byte C1 form, ``\\x9b``) could recolour the screen, retitle the window,
move the cursor over earlier lines or, on some terminals, write to the clipboard; a bidi override
(U+202E) or a line separator could make one value read as another. Every such character is shown
as a visible escape instead (``\\x1b``, ``\\u202e``), so the text stays readable and nothing in it
acts on the terminal.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["json_line", "printable"]

#: DEL and C1 controls; bidi embeddings, overrides, isolates and marks; the line and paragraph
#: separators; lone surrogates (a header's undecodable bytes, which no terminal can be sent).
_UNSAFE_OUTSIDE_C0 = (
    "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
)
#: … and the C0 controls (tab and newline too: a display line is one line).
_UNSAFE = re.compile(f"[\x00-\x1f{_UNSAFE_OUTSIDE_C0}]")
#: What JSON (``ensure_ascii=False``) leaves as is: all but C0, which it escapes itself.
_UNSAFE_IN_JSON = re.compile(f"[{_UNSAFE_OUTSIDE_C0}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, limit: int | None = None) -> str:
    """``text`` with every terminal control shown as an escape, cut to ``limit`` characters
    (``…`` marks a cut) before escaping, so a huge value stays one short line."""
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return _UNSAFE.sub(_escape, text)


def json_line(value: Any) -> str:
    """``value`` as one line of JSON that keeps non-ASCII text readable, with every character
    that could act on a terminal written as a ``\\uXXXX`` escape (JSON readers get the same
    value back)."""
    text = json.dumps(value, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
