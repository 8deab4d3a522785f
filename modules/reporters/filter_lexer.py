"""Tokens of the rule condition language (pynspect's filter grammar, detectors.md §11).

Operators have word forms in lower or upper case and symbol forms: `or OR`, `xor XOR`,
`and AND`, `not NOT !`, `exists EXISTS ?`, tight-binding `|| ^^ &&`; `like LIKE =~`,
`in IN ~~`, `is IS`, `eq EQ ==`, `ne NE != <>`, `gt GT >`, `ge GE >=`, `lt LT <`, `le LE <=`;
`+ - * / %`. Constants: IPv4/IPv6 addresses with `/len` or `a-b` / `a..b` ranges, RFC 3339
datetimes, `[nD]HH:MM:SS` durations, integers, floats, quoted strings, `true`/`false`; names
are JSON paths (`Source.IP4`, `Node[0].SW`), address-group ids, or functions (`utcnow()`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from .errors import FilterSyntaxError
from .filter_values import IpRange
from .idea_values import parse_duration, parse_time

WORD_OPERATORS = {
    "or": "or", "xor": "xor", "and": "and", "not": "not", "exists": "exists",
    "like": "like", "in": "in", "is": "is", "eq": "eq", "ne": "ne",
    "gt": "gt", "ge": "ge", "lt": "lt", "le": "le",
}
SYMBOL_OPERATORS = {   # longest first
    "||": "or_p", "^^": "xor_p", "&&": "and_p", "=~": "like", "~~": "in", "==": "eq",
    "!=": "ne", "<>": "ne", ">=": "ge", "<=": "le", ">": "gt", "<": "lt", "!": "not",
    "?": "exists", "+": "+", "-": "-", "*": "*", "/": "/", "%": "%",
    "(": "(", ")": ")", "[": "[", "]": "]", ",": ",", ";": ",",
}
_SYMBOLS = sorted(SYMBOL_OPERATORS, key=len, reverse=True)

_STRING = re.compile(r""""([^"]*)"|'([^']*)'""")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?"
                       r"(?![\w:.])")
_DURATION = re.compile(r"(\d+[Dd])?\d{1,2}:\d{2}:\d{2}(\.\d+)?(?![\w:.])")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}(/\d{1,2}|(-|\.\.)\d{1,3}(\.\d{1,3}){3})?(?![\w.])")
_IPV6 = re.compile(r"[0-9A-Fa-f]*:[0-9A-Fa-f:]*(/\d{1,3}|(-|\.\.)[0-9A-Fa-f]*:[0-9A-Fa-f:]*)?")
_FLOAT = re.compile(r"\d+\.\d+(?![\w.])")
_INT = re.compile(r"\d+(?![\w.])")
_NAME = re.compile(r"[_A-Za-z][-_A-Za-z0-9]*(\[(-?\d+|#)\])?"
                   r"(\.[_A-Za-z][-_A-Za-z0-9]*(\[(-?\d+|#)\])?)*")
CONSTANT_WORDS = {"true": True, "false": False}


@dataclass(frozen=True)
class Token:
    kind: str          # "op" (value = operator name), "const", "name", "end"
    value: Any
    position: int


def _ipv6_range(text: str) -> IpRange | None:
    core = re.split(r"/|-|\.\.", text)[0]
    try:
        ipaddress.IPv6Address(core)
    except ValueError:
        return None
    return IpRange.parse(text)


def _constant(text: str, position: int) -> tuple[Any, int] | None:
    """A constant starting at `position`: (value, end) or None."""
    for pattern, convert in ((_DATETIME, _datetime), (_DURATION, parse_duration),
                             (_IPV4, IpRange.parse)):
        match = pattern.match(text, position)
        if match:
            value = convert(match.group())
            if value is None:
                raise FilterSyntaxError(f"bad constant {match.group()!r} at column "
                                        f"{position + 1}")
            return value, match.end()
    match = _IPV6.match(text, position)
    if match and ":" in match.group():
        value = _ipv6_range(match.group())
        if value is not None:
            return value, match.end()
    for pattern, convert in ((_FLOAT, float), (_INT, int)):
        match = pattern.match(text, position)
        if match:
            return convert(match.group()), match.end()
    return None


def _datetime(text: str) -> dt.datetime | None:
    if not re.search(r"([Zz]|[+-]\d{2}:\d{2})$", text):
        text += "Z"               # a datetime without a zone is UTC
    return parse_time(text)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
            continue
        match = _STRING.match(text, position)
        if match:
            value = match.group(1) if match.group(1) is not None else match.group(2)
            tokens.append(Token("const", value, position))
            position = match.end()
            continue
        constant = _constant(text, position)
        if constant is not None:
            tokens.append(Token("const", constant[0], position))
            position = constant[1]
            continue
        match = _NAME.match(text, position)
        if match:
            word = match.group()
            if word in WORD_OPERATORS or (word.isupper() and word.lower() in WORD_OPERATORS):
                tokens.append(Token("op", WORD_OPERATORS[word.lower()], position))
            elif word.lower() in CONSTANT_WORDS:
                tokens.append(Token("const", CONSTANT_WORDS[word.lower()], position))
            else:
                tokens.append(Token("name", word, position))
            position = match.end()
            continue
        for symbol in _SYMBOLS:
            if text.startswith(symbol, position):
                tokens.append(Token("op", SYMBOL_OPERATORS[symbol], position))
                position += len(symbol)
                break
        else:
            raise FilterSyntaxError(f"unexpected character {char!r} at column {position + 1}")
    tokens.append(Token("end", None, len(text)))
    return tokens
