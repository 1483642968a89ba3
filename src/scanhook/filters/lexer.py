"""Tokens of the filter language: paths, strings, integers, brackets and operators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scanhook.filters.errors import FilterError

__all__ = ["KEYWORDS", "MAX_INT_DIGITS", "Token", "TokenKind", "tokenize"]

TokenKind = Literal["name", "string", "int", "op", "eof"]

#: Words that are operators or literals, never field names.
KEYWORDS = frozenset({"and", "or", "not", "in", "matches", "true", "false"})
#: Integer literals are at most this long (they fit a signed 64-bit integer).
MAX_INT_DIGITS = 18

_OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "(", ")", "[", "]", ",")
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    #: The operator or name as written; for strings the decoded value; for ints the digits.
    text: str
    #: 1-based column of the token's first character.
    position: int


def _is_name_start(char: str) -> bool:
    return char.isascii() and (char.isalpha() or char == "_")


def _is_name_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "_.")


def _string(text: str, start: int) -> tuple[Token, int]:
    quote = text[start]
    index = start + 1
    chars: list[str] = []
    while index < len(text):
        char = text[index]
        if char == quote:
            return Token("string", "".join(chars), start + 1), index + 1
        if char == "\\":
            if index + 1 >= len(text):
                break
            escaped = text[index + 1]
            if escaped not in _ESCAPES:
                raise FilterError(
                    f"unknown escape '\\{escaped}' in a string (use \\\\, \\\", \\', \\n, \\t)",
                    index + 1,
                )
            chars.append(_ESCAPES[escaped])
            index += 2
            continue
        chars.append(char)
        index += 1
    raise FilterError(f"string opened here is not closed with {quote}", start + 1)


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``eof`` token; FilterError on a stray character."""
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "\"'":
            token, index = _string(text, index)
            tokens.append(token)
        elif char.isascii() and char.isdigit():
            end = index
            while end < len(text) and text[end].isascii() and text[end].isdigit():
                end += 1
            if end < len(text) and _is_name_start(text[end]):
                raise FilterError(f"{text[index : end + 1]!r} is not a number", index + 1)
            if end - index > MAX_INT_DIGITS:
                raise FilterError(
                    f"number is too long (at most {MAX_INT_DIGITS} digits)", index + 1
                )
            tokens.append(Token("int", text[index:end], index + 1))
            index = end
        elif _is_name_start(char):
            end = index
            while end < len(text) and _is_name_char(text[end]):
                end += 1
            tokens.append(Token("name", text[index:end], index + 1))
            index = end
        else:
            for operator in _OPERATORS:
                if text.startswith(operator, index):
                    tokens.append(Token("op", operator, index + 1))
                    index += len(operator)
                    break
            else:
                hint = " (use '==' to compare)" if char == "=" else ""
                hint = " (use 'and', 'or', 'not')" if char in "&|!" else hint
                raise FilterError(f"unexpected character {char!r}{hint}", index + 1)
    tokens.append(Token("eof", "", len(text) + 1))
    return tokens
