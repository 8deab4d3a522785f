"""Rule conditions: parse a condition into a tree and evaluate it against an IDEA message.

Binding, loosest first: `or`, `xor`, `and`, `||`, `^^`, `&&`, `not`, `exists`, comparisons,
`+ -`, `* / %`, unary minus, then constants, `[lists]`, `(groups)`, paths and functions.
Comparisons are existential: with a list on either side (a path reaching several values, a list
constant, an address group) the comparison holds when any left item and any right item satisfy
it; `is` compares the whole lists instead. A path alone is true when it reaches a truthy value;
`exists PATH` when it reaches anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import FilterSyntaxError, ReporterError
from .filter_lexer import Token, tokenize
from .filter_values import IpRange, arithmetic, compare, equal, truthy
from .json_path import Segment, get_values, parse_path


def _items(value: Any) -> list:
    return value if isinstance(value, list) else [value]


class Node:
    def eval(self, message: dict) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Const(Node):
    value: Any

    def eval(self, message: dict) -> Any:
        return self.value


@dataclass(frozen=True)
class ListOf(Node):
    items: tuple[Node, ...]

    def eval(self, message: dict) -> Any:
        values: list = []
        for item in self.items:
            values += _items(item.eval(message))
        return values


@dataclass(frozen=True)
class Path(Node):
    segments: tuple[Segment, ...]

    def eval(self, message: dict) -> Any:
        return get_values(message, self.segments)


FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "utcnow": (0, lambda: dt.datetime.now(dt.UTC)),
    "size": (1, lambda value: len(_items(value))),
    "len": (1, lambda value: len(_items(value))),
}


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]

    def eval(self, message: dict) -> Any:
        return FUNCTIONS[self.name][1](*(arg.eval(message) for arg in self.args))


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node

    def eval(self, message: dict) -> Any:
        value = self.operand.eval(message)
        if self.op == "not":
            return not truthy(value)
        if self.op == "exists":
            return bool(_items(value)) and value is not None
        results = [arithmetic("-", 0, item) for item in _items(value)]
        return _one_or_list([r for r in results if r is not None])


def _one_or_list(values: list) -> Any:
    return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class Logical(Node):
    op: str            # or, xor, and
    left: Node
    right: Node

    def eval(self, message: dict) -> Any:
        left = truthy(self.left.eval(message))
        if self.op == "or":
            return left or truthy(self.right.eval(message))
        if self.op == "and":
            return left and truthy(self.right.eval(message))
        return left != truthy(self.right.eval(message))


@dataclass(frozen=True)
class Compare(Node):
    op: str
    left: Node
    right: Node

    def eval(self, message: dict) -> Any:
        lefts, rights = _items(self.left.eval(message)), _items(self.right.eval(message))
        if self.op == "is":
            return len(lefts) == len(rights) and all(
                equal(a, b) for a, b in zip(lefts, rights, strict=True))
        return any(compare(self.op, a, b) for a in lefts for b in rights)


@dataclass(frozen=True)
class Arith(Node):
    op: str
    left: Node
    right: Node

    def eval(self, message: dict) -> Any:
        results = [arithmetic(self.op, a, b) for a in _items(self.left.eval(message))
                   for b in _items(self.right.eval(message))]
        return _one_or_list([r for r in results if r is not None])


_LEVELS: tuple[tuple[str, ...], ...] = (("or",), ("xor",), ("and",), ("or_p",), ("xor_p",),
                                        ("and_p",))
_COMPARISONS = ("like", "in", "is", "eq", "ne", "gt", "ge", "lt", "le")


class _Parser:
    def __init__(self, text: str, groups: Mapping[str, Sequence[IpRange]]):
        self.text = text
        self.tokens = tokenize(text)
        self.position = 0
        self.groups = groups

    @property
    def token(self) -> Token:
        return self.tokens[self.position]

    def _is_op(self, *names: str) -> bool:
        return self.token.kind == "op" and self.token.value in names

    def _take(self) -> Token:
        token = self.token
        self.position += 1
        return token

    def _error(self, what: str) -> FilterSyntaxError:
        token = self.token
        found = "end of condition" if token.kind == "end" else repr(
            self.text[token.position:token.position + 20])
        return FilterSyntaxError(f"condition {self.text!r}: {what} at column "
                                 f"{token.position + 1}, found {found}")

    def parse(self) -> Node:
        node = self._logical(0)
        if self.token.kind != "end":
            raise self._error("expected an operator or the end")
        return node

    def _logical(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self._not()
        node = self._logical(level + 1)
        while self._is_op(*_LEVELS[level]):
            op = self._take().value.removesuffix("_p")
            node = Logical(op, node, self._logical(level + 1))
        return node

    def _not(self) -> Node:
        if self._is_op("not"):
            self._take()
            return Unary("not", self._not())
        if self._is_op("exists"):
            self._take()
            return Unary("exists", self._sum())
        return self._comparison()

    def _comparison(self) -> Node:
        node = self._sum()
        if self._is_op(*_COMPARISONS):
            op = self._take().value
            node = Compare(op, node, self._sum())
        return node

    def _sum(self) -> Node:
        node = self._product()
        while self._is_op("+", "-"):
            op = self._take().value
            node = Arith(op, node, self._product())
        return node

    def _product(self) -> Node:
        node = self._unary()
        while self._is_op("*", "/", "%"):
            op = self._take().value
            node = Arith(op, node, self._unary())
        return node

    def _unary(self) -> Node:
        if self._is_op("-"):
            self._take()
            return Unary("-", self._unary())
        return self._atom()

    def _atom(self) -> Node:
        token = self.token
        if token.kind == "const":
            self._take()
            return Const(token.value)
        if self._is_op("("):
            self._take()
            node = self._logical(0)
            self._expect(")")
            return node
        if self._is_op("["):
            self._take()
            items: list[Node] = []
            if not self._is_op("]"):
                items.append(self._sum())
                while self._is_op(","):
                    self._take()
                    items.append(self._sum())
            self._expect("]")
            return ListOf(tuple(items))
        if token.kind == "name":
            self._take()
            if self._is_op("("):
                return self._call(token)
            if token.value in self.groups:
                return Const(list(self.groups[token.value]))
            try:
                return Path(parse_path(token.value))
            except ReporterError as exc:
                raise FilterSyntaxError(f"condition {self.text!r}: {exc}") from None
        raise self._error("expected a value, a path or '('")

    def _call(self, token: Token) -> Node:
        name = token.value
        if name not in FUNCTIONS:
            raise FilterSyntaxError(f"condition {self.text!r}: unknown function {name!r} "
                                    f"(known: {', '.join(sorted(FUNCTIONS))})")
        self._take()   # (
        args: list[Node] = []
        if not self._is_op(")"):
            args.append(self._logical(0))
            while self._is_op(","):
                self._take()
                args.append(self._logical(0))
        self._expect(")")
        if len(args) != FUNCTIONS[name][0]:
            raise FilterSyntaxError(f"condition {self.text!r}: {name}() takes "
                                    f"{FUNCTIONS[name][0]} argument(s), got {len(args)}")
        return Call(name, tuple(args))

    def _expect(self, op: str) -> None:
        if not self._is_op(op):
            raise self._error(f"expected {op!r}")
        self._take()


ALWAYS_WORDS = ("none", "null", "true")


@dataclass(frozen=True)
class Condition:
    """A compiled rule condition; `text` is what the configuration said."""

    text: str
    tree: Node | None          # None: constant, see `constant`
    constant: bool = True

    def matches(self, message: dict) -> bool:
        if self.tree is None:
            return self.constant
        return truthy(self.tree.eval(message))


def compile_condition(condition: Any,
                      groups: Mapping[str, Sequence[IpRange]] | None = None) -> Condition:
    """`None`/`Null`/`true` (any case, or YAML null/true) = always, `false` = never, otherwise
    a filter expression."""
    if condition is None or condition is True:
        return Condition(str(condition), None, True)
    if condition is False:
        return Condition("false", None, False)
    if isinstance(condition, int | float):
        raise FilterSyntaxError(f"condition {condition!r}: expected an expression, "
                                "true/false or null")
    text = str(condition).strip()
    if text.lower() in ALWAYS_WORDS or not text:
        return Condition(text, None, True)
    if text.lower() == "false":
        return Condition(text, None, False)
    return Condition(text, _Parser(text, groups or {}).parse())
