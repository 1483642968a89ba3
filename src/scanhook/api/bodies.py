"""What a request body must be before any route reads it: JSON by its ``Content-Type``, UTF-8
text, and nested at most :data:`MAX_DEPTH` levels.

The checks run on the raw bytes (at most the 1 MiB body limit), in time linear in their length
and without recursion, so a body that would make a JSON parser recurse 100,000 levels deep is
refused before one sees it. The nesting is measured on the structural bytes alone: every byte
but ``"``, ``\\``, brackets and braces is dropped (in UTF-8, no byte of a multi-byte character
is one of them), escapes are removed, then the strings, leaving the brackets outside strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_DEPTH", "BodyRefusal", "check_body", "is_json_media_type"]

#: Arrays and objects may nest this many levels (the outermost is level 1).
MAX_DEPTH = 64

_STRUCTURAL = b'"\\[]{}'
_DROP = bytes(c for c in range(256) if c not in _STRUCTURAL)
_BRACKETS = bytes.maketrans(b"{}", b"[]")


def _nesting(levels: int) -> re.Pattern[bytes]:
    """Balanced brackets at most ``levels`` deep. Possessive repeats never give back what they
    matched, so a failure is found in one pass over the text."""
    pattern = b""
    for _ in range(levels):
        pattern = rb"(?:\[" + pattern + rb"\])*+"
    return re.compile(pattern)


_WITHIN_DEPTH = _nesting(MAX_DEPTH)


@dataclass(frozen=True, slots=True)
class BodyRefusal:
    """Why a body is refused: the HTTP status, the error code and the message."""

    status: int
    code: str
    message: str


def is_json_media_type(content_type: str | None) -> bool:
    """True for ``application/json`` and ``application/<anything>+json``, any parameters."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def check_body(content_type: str | None, body: bytes) -> BodyRefusal | None:
    """The reason to refuse a non-empty request ``body``, or None when routes may read it."""
    if not body:
        return None
    if not is_json_media_type(content_type):
        given = f"not {content_type!r}" if content_type else "and none was given"
        return BodyRefusal(
            415,
            "unsupported_media_type",
            f"the body must be JSON with Content-Type: application/json, {given}"[:300],
        )
    # JSON text is UTF-8 (RFC 8259) and never holds a NUL byte: that also refuses UTF-16/32,
    # which json.loads would otherwise guess and read.
    if b"\x00" in body or not _is_utf8(body):
        return BodyRefusal(
            422, "malformed_json", "the body is not valid JSON (it is not UTF-8 JSON text)"
        )
    return _depth_refusal(body)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _depth_refusal(body: bytes) -> BodyRefusal | None:
    structure = body.translate(_BRACKETS, _DROP)
    if structure.count(b"[") <= MAX_DEPTH:
        return None  # cannot be deeper, whatever is inside strings
    # Escapes first (a backslash pairs with the byte after it), then the strings: what is
    # left between the 1st and 2nd quote, the 3rd and 4th, … is inside strings.
    structure = structure.replace(b"\\\\", b"").replace(b'\\"', b"").replace(b"\\", b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])
    if _WITHIN_DEPTH.fullmatch(structure):
        return None
    if structure.count(b"[") != structure.count(b"]"):
        return BodyRefusal(
            422,
            "malformed_json",
            "the body is not valid JSON (its brackets and braces do not balance)",
        )
    return BodyRefusal(
        422,
        "too_deep",
        f"the body is JSON nested deeper than {MAX_DEPTH} levels of arrays and objects",
    )
