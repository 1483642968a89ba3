"""Parsing and type-checking a filter into a tree of :mod:`scanhook.filters.nodes`.

Grammar, loosest binding first::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in" | "matches") sum]
    sum        := primary (("+" | "-") primary)*
    primary    := field | string | ["-"] integer | "true" | "false" | list | "(" expr ")"
    list       := "[" [literal ("," literal)* [","]] "]"
"""

from __future__ import annotations

from datetime import UTC
from typing import Literal, cast

from scanhook.filters.errors import FilterError
from scanhook.filters.fields import (
    BOOL,
    FIELDS,
    INT,
    STR,
    FieldSpec,
    Type,
    list_of,
    suggest,
)
from scanhook.filters.lexer import KEYWORDS, Token, tokenize
from scanhook.filters.nodes import (
    And,
    Arithmetic,
    Compare,
    CompareOp,
    Constant,
    FieldRef,
    Member,
    Node,
    Not,
    Or,
    RegexMatch,
)
from scanhook.filters.regex import MAX_FILTER_PROGRAM, compile_pattern
from scanhook.notifications import PAYLOAD_MODELS
from scanhook.notifications.timefmt import parse_date, parse_timestamp

__all__ = ["MAX_DEPTH", "MAX_LIST_ITEMS", "MAX_TEXT_LENGTH", "parse"]

MAX_TEXT_LENGTH = 4096
MAX_DEPTH = 32
MAX_LIST_ITEMS = 1000
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_ORDERED = ("int", "str", "date", "timestamp", "severity")


def _describe_token(token: Token) -> str:
    if token.kind == "eof":
        return "the end of the filter"
    if token.kind == "string":
        return f"the string {token.text!r}"
    return f"'{token.text}'"


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        #: The program sizes of the filter's ``matches`` patterns so far, together.
        self.program = 0

    # -- tokens ---------------------------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at(self, kind: str, text: str) -> bool:
        return self.token.kind == kind and self.token.text == text

    def expect(self, text: str, what: str) -> Token:
        if not self.at("op", text):
            raise FilterError(
                f"expected {what}, found {_describe_token(self.token)}", self.token.position
            )
        return self.advance()

    def enter(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"expression nests too deeply (at most {MAX_DEPTH} levels)", position)

    # -- grammar --------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.expression()
        if self.token.kind != "eof":
            hint = ""
            if self.token.kind == "name" and self.token.text not in KEYWORDS:
                hint = " (join conditions with 'and' or 'or')"
            raise FilterError(
                f"unexpected {_describe_token(self.token)}{hint}", self.token.position
            )
        _require_condition(node, "a filter")
        return node

    def expression(self) -> Node:
        node = self.conjunction()
        while self.at("name", "or"):
            self.advance()
            right = self.conjunction()
            _require_condition(node, "the left side of 'or'")
            _require_condition(right, "the right side of 'or'")
            node = Or(BOOL, node.position, node, right)
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.at("name", "and"):
            self.advance()
            right = self.negation()
            _require_condition(node, "the left side of 'and'")
            _require_condition(right, "the right side of 'and'")
            node = And(BOOL, node.position, node, right)
        return node

    def negation(self) -> Node:
        if self.at("name", "not"):
            start = self.advance()
            self.enter(start.position)
            operand = self.negation()
            self.depth -= 1
            _require_condition(operand, "the operand of 'not'")
            return Not(BOOL, start.position, operand)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        token = self.token
        if token.kind == "op" and token.text in _COMPARISONS:
            self.advance()
            right = self.sum()
            node = _compare(cast(CompareOp, token.text), left, right, token)
        elif self.at("name", "in") or (self.at("name", "not") and self.peek().text == "in"):
            negate = self.advance().text == "not"
            if negate:
                self.advance()
            right = self.sum()
            node = _member(left, right, negate, token)
        elif self.at("name", "matches"):
            self.advance()
            right = self.sum()
            node = _matches(left, right, token)
            self.program += node.pattern.program_size
            if self.program > MAX_FILTER_PROGRAM:
                raise FilterError(
                    f"the filter's regular expressions are too complex together (RE2 program "
                    f"size {self.program}, at most {MAX_FILTER_PROGRAM})",
                    right.position,
                )
        else:
            return left
        following = self.token
        if (following.kind == "op" and following.text in _COMPARISONS) or (
            following.kind == "name" and following.text in ("in", "matches")
        ):
            raise FilterError(
                "comparisons cannot be chained; join them with 'and'", following.position
            )
        return node

    def sum(self) -> Node:
        node = self.primary()
        while self.token.kind == "op" and self.token.text in ("+", "-"):
            operator = self.advance()
            right = self.primary()
            for operand in (node, right):
                if operand.type.kind != "int":
                    raise FilterError(
                        f"'{operator.text}' works on integers, not on {operand.type.describe()}",
                        operand.position,
                    )
            op: Literal["+", "-"] = "+" if operator.text == "+" else "-"
            node = Arithmetic(INT, node.position, op, node, right)
        return node

    def primary(self) -> Node:
        token = self.token
        if token.kind == "op" and token.text == "(":
            self.advance()
            self.enter(token.position)
            node = self.expression()
            self.depth -= 1
            self.expect(")", "')' to close the '(' at column " + str(token.position))
            return node
        if token.kind == "op" and token.text == "[":
            return self.list_literal()
        if token.kind == "name" and token.text not in KEYWORDS:
            self.advance()
            return FieldRef(_field(token).type, token.position, _field(token))
        return self.literal()

    def literal(self) -> Constant:
        token = self.advance()
        if token.kind == "string":
            return Constant(STR, token.position, token.text)
        if token.kind == "int":
            return Constant(INT, token.position, int(token.text))
        if token.kind == "op" and token.text == "-" and self.token.kind == "int":
            number = self.advance()
            return Constant(INT, token.position, -int(number.text))
        if token.kind == "name" and token.text in ("true", "false"):
            return Constant(BOOL, token.position, token.text == "true")
        raise FilterError(f"expected a value, found {_describe_token(token)}", token.position)

    def list_literal(self) -> Constant:
        start = self.advance()
        items: list[Constant] = []
        while not self.at("op", "]"):
            if self.token.kind == "eof":
                raise FilterError(
                    f"list opened at column {start.position} is not closed", start.position
                )
            if self.token.kind == "op" and self.token.text == "[":
                raise FilterError("lists cannot hold lists", self.token.position)
            item = self.literal()
            if items and items[0].type != item.type:
                raise FilterError(
                    f"a list holds values of one type: {item.type.describe()} after "
                    f"{items[0].type.describe()}",
                    item.position,
                )
            items.append(item)
            if len(items) > MAX_LIST_ITEMS:
                raise FilterError(
                    f"list is too long (at most {MAX_LIST_ITEMS} items)", item.position
                )
            if self.at("eof", ""):
                raise FilterError("list is not closed with ']'", start.position)
            if not self.at("op", "]"):
                self.expect(",", "',' or ']'")
        self.advance()
        item_type = items[0].type if items else None
        return Constant(
            Type("list", item=item_type), start.position, tuple(item.value for item in items)
        )


# -- checks ---------------------------------------------------------------------------------
def _field(token: Token) -> FieldSpec:
    spec = FIELDS.get(token.text)
    if spec is not None:
        return spec
    if token.text in PAYLOAD_MODELS:
        example = next(path for path in FIELDS if path.startswith(token.text + "."))
        raise FilterError(
            f"'{token.text}' is a notification, not a field: name one of its fields, "
            f"e.g. '{example}'",
            token.position,
        )
    close = suggest(token.text)
    hint = f"did you mean '{close}'?" if close else "fields are written like 'ticket.severity'"
    raise FilterError(f"unknown field '{token.text}' ({hint})", token.position)


def _require_condition(node: Node, where: str) -> None:
    if node.type.kind != "bool":
        raise FilterError(
            f"{where} must be a condition (true or false), not {node.type.describe()}",
            node.position,
        )


def _subject(node: Node) -> str:
    if isinstance(node, FieldRef):
        return f"'{node.field.path}'"
    return node.type.describe()


def _coerce(node: Node, target: Type, against: Node) -> Node:
    """``node`` as a value of ``target`` when it is a string literal that can be read as one."""
    if not isinstance(node, Constant) or node.type.kind != "str" or not isinstance(node.value, str):
        return node
    text = node.value
    if target.values is not None:
        if text not in target.values:
            allowed = ", ".join(repr(value) for value in target.values)
            raise FilterError(
                f"{text!r} is never a value of {_subject(against)} (expected one of {allowed})",
                node.position,
            )
        return Constant(target, node.position, text)
    try:
        if target.kind == "date":
            return Constant(target, node.position, parse_date(text))
        if target.kind == "timestamp":
            return Constant(target, node.position, parse_timestamp(text, UTC))
    except ValueError as exc:
        raise FilterError(str(exc), node.position) from None
    return node


def _compare(op: CompareOp, left: Node, right: Node, token: Token) -> Node:
    left = _coerce(left, right.type, right)
    right = _coerce(right, left.type, left)
    if not left.type.comparable_with(right.type):
        raise FilterError(
            f"cannot compare {_subject(left)} ({left.type.describe()}) with "
            f"{right.type.describe()} using '{op}'",
            token.position,
        )
    if op not in ("==", "!=") and left.type.kind not in _ORDERED:
        raise FilterError(f"'{op}' does not order {left.type.describe()}s", token.position)
    if op not in ("==", "!=") and left.type.kind == "str" and left.type.values is not None:
        raise FilterError(
            f"'{op}' does not order {_subject(left)}: use '==' or 'in'", token.position
        )
    return Compare(BOOL, left.position, op, left, right)


def _member(left: Node, right: Node, negate: bool, token: Token) -> Node:
    word = "not in" if negate else "in"
    if right.type.kind == "str" and left.type.kind == "str" and right.type.values is None:
        return Member(BOOL, left.position, left, right, negate)
    if right.type.kind != "list" or not isinstance(right, Constant):
        raise FilterError(
            f'\'{word}\' needs a list such as ["High", "Critical"] (or a string to search in) '
            f"on its right, not {right.type.describe()}",
            right.position,
        )
    if left.type.kind == "list":
        raise FilterError(f"the left side of '{word}' cannot be a list", left.position)
    assert isinstance(right.value, tuple)
    items: list[object] = []
    for value in right.value:
        item = Constant(right.type.item or left.type, right.position, value)
        coerced = _coerce(item, left.type, left)
        if not coerced.type.comparable_with(left.type):
            raise FilterError(
                f"cannot look for {_subject(left)} ({left.type.describe()}) in "
                f"{right.type.describe()}",
                right.position,
            )
        assert isinstance(coerced, Constant)
        items.append(coerced.value)
    checked = Constant(list_of(left.type), right.position, tuple(items))
    return Member(BOOL, left.position, left, checked, negate)


def _matches(left: Node, right: Node, token: Token) -> RegexMatch:
    if left.type.kind not in ("str", "severity"):
        raise FilterError(
            f"'matches' works on strings, not on {_subject(left)} ({left.type.describe()})",
            left.position,
        )
    if not isinstance(right, Constant) or not isinstance(right.value, str):
        raise FilterError(
            "the pattern after 'matches' must be a string literal such as \"^prod-\"",
            right.position,
        )
    try:
        pattern = compile_pattern(right.value)
    except ValueError as exc:
        raise FilterError(str(exc), right.position) from None
    return RegexMatch(BOOL, left.position, left, pattern)


def parse(text: str) -> Node:
    """The checked tree of ``text``; :class:`FilterError` with the column of the first problem."""
    if len(text) > MAX_TEXT_LENGTH:
        raise FilterError(
            f"filter is too long ({len(text)} characters, at most {MAX_TEXT_LENGTH})",
            MAX_TEXT_LENGTH + 1,
        )
    if not text.strip():
        raise FilterError("filter is empty", 1)
    return _Parser(text).parse()
