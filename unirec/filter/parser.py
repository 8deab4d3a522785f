"""Recursive-descent parser: NEMEA's grammar, `and`/`or` strictly left to right."""

from __future__ import annotations

from .errors import FilterError
from .lexer import Token, tokenize
from .syntax import Binary, Constant, Literal, Not, Term

_OPERATORS = {"==": "==", "=": "==", "!=": "!=", "<>": "!=", "<": "<", ">": ">",
              "<=": "<=", "=<": "<=", ">=": ">=", "=>": ">="}
_VALUE_KINDS = {"INT", "FLOAT", "DATETIME", "IP", "STRING", "IDENT"}


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, token: Token) -> FilterError:
        return FilterError(f"bad filter: {message}", self.text, token.position)

    def expect(self, kind: str, what: str) -> Token:
        token = self.take()
        if token.kind != kind:
            found = f"{token.text!r}" if token.text else "the end"
            raise self.error(f"expected {what}, found {found}", token)
        return token

    def expr(self):
        node = self.unary()
        while self.peek().kind in ("AND", "OR"):
            op = self.take().kind
            node = Binary(op, node, self.unary())
        return node

    def unary(self):
        token = self.peek()
        if token.kind == "NOT":
            self.take()
            return Not(self.unary())
        if token.kind == "LPAREN":
            self.take()
            node = self.expr()
            self.expect("RPAREN", "')'")
            return node
        if token.kind in ("TRUE", "FALSE"):
            self.take()
            return Constant(token.kind == "TRUE")
        if token.kind == "IDENT":
            return self.term()
        found = f"{token.text!r}" if token.text else "the end"
        raise self.error(f"expected a field name, '(', 'not', true or false; found {found}",
                         token)

    def term(self) -> Term:
        field = self.take()
        op_token = self.take()
        if op_token.kind == "IN":
            return Term(field.text, "in", self.array(), field.position)
        if op_token.kind == "REGEX":
            value = self.expect("STRING", "a quoted regular expression")
            return Term(field.text, "=~", (self.literal(value),), field.position)
        if op_token.kind != "CMP":
            raise self.error(f"expected an operator (==, !=, <, >, <=, >=, in, =~) after "
                             f"{field.text}", op_token)
        value = self.take()
        if value.kind not in _VALUE_KINDS:
            raise self.error(f"expected a value after {op_token.text!r}", value)
        return Term(field.text, _OPERATORS[op_token.text], (self.literal(value),),
                    field.position)

    def array(self) -> tuple[Literal, ...]:
        self.expect("LBRACK", "'[' after 'in'")
        values = []
        while True:
            token = self.take()
            if token.kind not in _VALUE_KINDS - {"IDENT"}:
                raise self.error("expected a value in the array", token)
            values.append(self.literal(token))
            separator = self.take()
            if separator.kind == "RBRACK":
                break
            if separator.kind != "COMMA":
                raise self.error("expected ',' or ']' in the array", separator)
        odd = [v for v in values if _array_kind(v) != _array_kind(values[0])]
        if odd:
            raise FilterError("bad filter: array values must all be of one kind (numbers, "
                              "addresses or times)", self.text, odd[0].position)
        return tuple(values)

    @staticmethod
    def literal(token: Token) -> Literal:
        text = token.text
        if token.kind == "STRING":
            text = text[1:-1]
        return Literal(token.kind, text, token.position)


def _array_kind(value: Literal) -> str:
    return "number" if value.kind in ("INT", "FLOAT") else value.kind


def parse_filter(text: str):
    """Parse a filter; an empty filter is an error (a module treats "no filter" as pass-all)."""
    parser = _Parser(text)
    if parser.peek().kind == "END":
        raise FilterError("bad filter: empty filter", text, 0)
    node = parser.expr()
    token = parser.peek()
    if token.kind != "END":
        raise parser.error(f"unexpected {token.text!r} (missing 'and'/'or'?)", token)
    return node
