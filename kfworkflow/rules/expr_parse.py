"""Tokenizer and recursive-descent parser of the rule condition language.

Grammar, lowest precedence first::

    or_expr    := and_expr ('or' and_expr)*
    and_expr   := not_expr ('and' not_expr)*
    not_expr   := 'not' not_expr | comparison
    comparison := additive (comp_op additive | 'is' ['not'] 'none')*      # chains like Python
    comp_op    := '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not' 'in'
    additive   := term (('+' | '-') term)*
    term       := unary (('*' | '/') unary)*
    unary      := '-' unary | primary
    primary    := NUMBER | PERCENT | STRING | DATE | 'true' | 'false' | 'none'
                | NAME | NAME '(' [or_expr (',' or_expr)*] ')'
                | '(' or_expr ')' | '[' [or_expr (',' or_expr)*] ']'

A date (`2022-11-30`) is one token; digits written like a date but not in ISO form
(`2022-1-5`, `2022/11/30`) are rejected rather than silently read as arithmetic.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict

from kfworkflow.errors import Finding, InputError
from kfworkflow.rules.expr_ast import (
    Arithmetic,
    BoolOp,
    Call,
    Compare,
    ListLiteral,
    LiteralValue,
    Name,
    Negate,
    Node,
    Not,
    line_col,
)

_Rule = Callable[[], Node]


class _Span(TypedDict):
    pos: int
    text: str


SYNTAX_CODE = "KFW-E001"
KEYWORDS = frozenset({"and", "or", "not", "in", "is", "true", "false", "none"})

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w.])")
_DATE_LOOKALIKE = re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}(?![\w.])")
_NUMBER = re.compile(r"\d+(\.\d+)?(%?)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",")
_MISTAKES: dict[str, tuple[str, str]] = {
    "=": ("'='", "use == to compare"),
    "!": ("'!'", "use 'not' to negate, or != to compare"),
    "&&": ("'&&'", "use 'and'"),
    "&": ("'&'", "use 'and'"),
    "||": ("'||'", "use 'or'"),
    "|": ("'|'", "use 'or'"),
    "%": ("'%'", "write a percentage right after its number, e.g. 95%"),
    ".": ("'.'", "write decimals with a leading digit, e.g. 0.5"),
}
_FULL_WIDTH = {
    "（": "(", "）": ")", "，": ",", "＝": "=", "＜": "<", "＞": ">", "！": "!",
    "‘": "'", "’": "'", "“": '"', "”": '"', "【": "[", "】": "]", "－": "-", "＋": "+",
}


class ExprSyntaxError(InputError):
    """The expression text cannot be parsed. ``pos`` is the 0-based offset of the problem."""

    def __init__(self, message: str, pos: int, hint: str | None = None) -> None:
        finding = Finding(code=SYNTAX_CODE, message=message, hint=hint)
        super().__init__(message, [finding])
        self.message = message
        self.pos = pos
        self.hint = hint
        self.code = SYNTAX_CODE

    def line_col(self, source: str) -> tuple[int, int]:
        """1-based (line, column) of the problem within ``source``."""
        return line_col(source, self.pos)


@dataclass(frozen=True)
class Token:
    kind: str  # 'number', 'str', 'date', 'name', 'keyword', 'op', 'end'
    value: object
    pos: int
    end: int

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.value in ops

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "keyword" and self.value in words

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the expression"
        if self.kind == "name":
            return f"name '{self.value}'"
        if self.kind == "str":
            return f"string {self.value!r}"
        if self.kind == "date":
            return f"date {self.value}"
        if self.kind == "number":
            return f"number {self.value}"
        return f"'{self.value}'"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an 'end' token; raises ExprSyntaxError."""
    tokens: list[Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            tokens.append(Token("end", None, pos, pos))
            return tokens
        token = _next_token(text, pos)
        tokens.append(token)
        pos = token.end


def _next_token(text: str, pos: int) -> Token:
    char = text[pos]
    if char.isdigit():
        return _number_or_date(text, pos)
    if char.isascii() and (char.isalpha() or char == "_"):
        return _name(text, pos)
    if char in "'\"":
        return _string(text, pos)
    for op in _OPERATORS:
        if text.startswith(op, pos):
            return Token("op", op, pos, pos + len(op))
    for mistake, (shown, hint) in sorted(_MISTAKES.items(), key=lambda kv: -len(kv[0])):
        if text.startswith(mistake, pos):
            raise ExprSyntaxError(f"unexpected {shown}", pos, hint)
    if char in _FULL_WIDTH:
        raise ExprSyntaxError(
            f"unexpected full-width character '{char}'", pos, f"use the ASCII '{_FULL_WIDTH[char]}'"
        )
    if not char.isascii():
        raise ExprSyntaxError(
            f"unexpected character '{char}'", pos, "text values must be in quotes, e.g. 'red'"
        )
    raise ExprSyntaxError(f"unexpected character '{char}'", pos)


def _number_or_date(text: str, pos: int) -> Token:
    date_match = _DATE.match(text, pos)
    if date_match:
        try:
            day = dt.date.fromisoformat(date_match.group())
        except ValueError:
            raise ExprSyntaxError(f"'{date_match.group()}' is not a valid date", pos) from None
        return Token("date", day, pos, date_match.end())
    lookalike = _DATE_LOOKALIKE.match(text, pos)
    if lookalike:
        raise ExprSyntaxError(
            f"'{lookalike.group()}' looks like a date but is not written YYYY-MM-DD",
            pos,
            "write dates as e.g. 2022-01-05; put spaces around '-' or '/' for arithmetic",
        )
    match = _NUMBER.match(text, pos)
    assert match is not None  # text[pos] is a digit
    end = match.end()
    if end < len(text) and (text[end].isalnum() or text[end] in "_."):
        raise ExprSyntaxError(
            f"unexpected '{text[end]}' right after the number {text[pos:end]}", end
        )
    digits = text[pos:end].rstrip("%")
    value: int | float
    if match.group(2):
        value = float(Decimal(digits) / 100)
    elif match.group(1):
        value = float(digits)
    else:
        value = int(digits)
    return Token("number", value, pos, end)


def _name(text: str, pos: int) -> Token:
    match = _NAME.match(text, pos)
    assert match is not None  # text[pos] starts a name
    end = match.end()
    if end < len(text) and text[end] == ".":
        raise ExprSyntaxError(
            f"expected a name after '{match.group()}.'", end + 1, "dotted names look like a.b"
        )
    word = match.group()
    kind = "keyword" if word in KEYWORDS else "name"
    return Token(kind, word, pos, end)


def _string(text: str, pos: int) -> Token:
    quote = text[pos]
    chars: list[str] = []
    index = pos + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            chars.append(text[index + 1])
            index += 2
            continue
        if char == quote:
            return Token("str", "".join(chars), pos, index + 1)
        chars.append(char)
        index += 1
    raise ExprSyntaxError("this string is never closed", pos, f"end it with {quote}")


def parse(text: str) -> Node:
    """Parse ``text`` into a syntax tree; raises ExprSyntaxError(message, pos)."""
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- token helpers -------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def span(self, start: int, end: int) -> _Span:
        return {"pos": start, "text": self.text[start:end]}

    def last_end(self) -> int:
        return self.tokens[self.index - 1].end

    def expect_value(self, after: str) -> None:
        token = self.peek()
        if token.kind == "end" or token.is_op(")", "]", ",") or token.is_keyword("and", "or"):
            raise ExprSyntaxError(f"expected a value after {after}, found {token.describe()}",
                                  token.pos)

    # -- grammar -------------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise ExprSyntaxError("the expression is empty", self.peek().pos)
        node = self.or_expr()
        token = self.peek()
        if token.kind != "end":
            if token.is_op(")"):
                raise ExprSyntaxError("unmatched ')'", token.pos)
            raise ExprSyntaxError(
                f"unexpected {token.describe()} after a complete expression",
                token.pos,
                "join conditions with 'and' or 'or'",
            )
        return node

    def or_expr(self) -> Node:
        return self._bool_chain("or", self.and_expr)

    def and_expr(self) -> Node:
        return self._bool_chain("and", self.not_expr)

    def _bool_chain(self, word: str, operand: _Rule) -> Node:
        node = operand()
        while self.peek().is_keyword(word):
            op_token = self.advance()
            self.expect_value(f"'{word}'")
            right = operand()
            node = BoolOp(word, node, right, op_token.pos, **self.span(node.pos, right.end))
        return node

    def not_expr(self) -> Node:
        if self.peek().is_keyword("not"):
            token = self.advance()
            self.expect_value("'not'")
            operand = self.not_expr()
            return Not(operand, **self.span(token.pos, operand.end))
        return self.comparison()

    def comparison(self) -> Node:
        first = self.additive()
        operands: list[Node] = [first]
        ops: list[str] = []
        positions: list[int] = []
        while True:
            token = self.peek()
            if token.is_op("==", "!=", "<", "<=", ">", ">=") or token.is_keyword("in"):
                self.advance()
                op = str(token.value)
                self.expect_value(f"'{op}'")
                operand = self.additive()
            elif token.is_keyword("not") and self.peek(1).is_keyword("in"):
                self.advance()
                self.advance()
                op = "not in"
                self.expect_value("'not in'")
                operand = self.additive()
            elif token.is_keyword("is"):
                self.advance()
                op = "is"
                if self.peek().is_keyword("not"):
                    self.advance()
                    op = "is not"
                none_token = self.peek()
                if not none_token.is_keyword("none"):
                    raise ExprSyntaxError(
                        f"'{op}' must be followed by 'none', found {none_token.describe()}",
                        none_token.pos,
                        "use == or != to compare values",
                    )
                self.advance()
                operand = LiteralValue(None, "none", **self.span(none_token.pos, none_token.end))
            else:
                break
            ops.append(op)
            positions.append(token.pos)
            operands.append(operand)
        if not ops:
            return first
        return Compare(
            tuple(operands), tuple(ops), tuple(positions), **self.span(first.pos, operands[-1].end)
        )

    def additive(self) -> Node:
        return self._arithmetic_chain(("+", "-"), self.term)

    def term(self) -> Node:
        return self._arithmetic_chain(("*", "/"), self.unary)

    def _arithmetic_chain(self, ops: tuple[str, ...], operand: _Rule) -> Node:
        node = operand()
        while self.peek().is_op(*ops):
            op_token = self.advance()
            self.expect_value(f"'{op_token.value}'")
            right = operand()
            node = Arithmetic(
                str(op_token.value), node, right, op_token.pos, **self.span(node.pos, right.end)
            )
        return node

    def unary(self) -> Node:
        if self.peek().is_op("-"):
            token = self.advance()
            self.expect_value("'-'")
            operand = self.unary()
            return Negate(operand, **self.span(token.pos, operand.end))
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token.kind in ("number", "str", "date"):
            self.advance()
            kind = token.kind
            if kind == "number":
                kind = "int" if isinstance(token.value, int) else "number"
            value = token.value
            assert isinstance(value, int | float | str | dt.date)
            return LiteralValue(value, kind, **self.span(token.pos, token.end))
        if token.is_keyword("true", "false", "none"):
            self.advance()
            constants = {"true": (True, "bool"), "false": (False, "bool"), "none": (None, "none")}
            value, kind = constants[str(token.value)]
            return LiteralValue(value, kind, **self.span(token.pos, token.end))
        if token.kind == "name":
            self.advance()
            if self.peek().is_op("("):
                return self.call(token)
            return Name(str(token.value), **self.span(token.pos, token.end))
        if token.is_op("("):
            return self.parenthesised()
        if token.is_op("["):
            return self.list_literal()
        if token.kind == "keyword":
            raise ExprSyntaxError(f"expected a value, found the keyword '{token.value}'",
                                  token.pos)
        raise ExprSyntaxError(f"expected a value, found {token.describe()}", token.pos)

    def call(self, name_token: Token) -> Node:
        open_token = self.advance()
        args = self._items(open_token, ")", "function call")
        return Call(str(name_token.value), tuple(args),
                    **self.span(name_token.pos, self.last_end()))

    def parenthesised(self) -> Node:
        open_token = self.advance()
        self.expect_value("'('")
        inner = self.or_expr()
        self._close(open_token, ")")
        return dataclasses.replace(inner, **self.span(open_token.pos, self.last_end()))

    def list_literal(self) -> Node:
        open_token = self.advance()
        items = self._items(open_token, "]", "list")
        return ListLiteral(tuple(items), **self.span(open_token.pos, self.last_end()))

    def _items(self, open_token: Token, closer: str, what: str) -> list[Node]:
        items: list[Node] = []
        if self.peek().is_op(closer):
            self.advance()
            return items
        while True:
            self.expect_value(f"'{self.tokens[self.index - 1].value}'")
            items.append(self.or_expr())
            if self.peek().is_op(","):
                self.advance()
                continue
            self._close(open_token, closer, what)
            return items

    def _close(self, open_token: Token, closer: str, what: str = "") -> None:
        token = self.peek()
        if token.is_op(closer):
            self.advance()
            return
        if token.kind == "end":
            raise ExprSyntaxError(
                f"this '{open_token.value}' is never closed", open_token.pos, f"add '{closer}'"
            )
        expected = f"',' or '{closer}'" if what else f"'{closer}'"
        raise ExprSyntaxError(f"expected {expected}, found {token.describe()}", token.pos)

