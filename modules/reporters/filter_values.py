"""Values of the condition language and how they compare: numbers, strings, booleans, IP ranges,
datetimes and durations. Message values are JSON (IPs and times are strings); a comparison
converts the message side to the constant's kind (`Source.IP4 in 192.0.2.0/24` compares
addresses, `DetectTime > 2024-03-01T00:00:00Z` compares times). A pair that cannot be converted
is simply not equal (and not ordered)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import operator
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .idea_values import parse_duration, parse_time

Number = int | float


@dataclass(frozen=True)
class IpRange:
    """An address, CIDR network or `a-b` / `a..b` range, as the first and last address."""

    version: int
    first: int
    last: int
    text: str

    @classmethod
    def parse(cls, text: str) -> IpRange | None:
        return _parse_range(text.strip())

    def within(self, other: IpRange) -> bool:
        return (self.version == other.version and other.first <= self.first
                and self.last <= other.last)

    def key(self) -> tuple[int, int, int]:
        return (self.version, self.first, self.last)

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=4096)
def _parse_range(text: str) -> IpRange | None:
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            return IpRange(net.version, int(net.network_address), int(net.broadcast_address),
                           text)
        for separator in ("..", "-"):
            if separator in text:
                first_text, last_text = text.split(separator, 1)
                first = ipaddress.ip_address(first_text.strip())
                last = ipaddress.ip_address(last_text.strip())
                if first.version != last.version or first > last:
                    return None
                return IpRange(first.version, int(first), int(last), text)
        address = ipaddress.ip_address(text)
        return IpRange(address.version, int(address), int(address), text)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _to_number(value: Any) -> Number | None:
    if _is_number(value):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _to_kind(value: Any, like: Any) -> Any:
    """`value` converted to the kind of `like`; None when it cannot be."""
    if isinstance(like, IpRange):
        return value if isinstance(value, IpRange) else (
            IpRange.parse(value) if isinstance(value, str) else None)
    if isinstance(like, dt.datetime):
        return value if isinstance(value, dt.datetime) else parse_time(value)
    if isinstance(like, dt.timedelta):
        return value if isinstance(value, dt.timedelta) else parse_duration(value)
    if isinstance(like, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return None
    if _is_number(like):
        return _to_number(value)
    if isinstance(like, str):
        return value if isinstance(value, str) else None
    return value


def _pair(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both sides as one kind: the special kinds (IP, time, duration, bool, number) win."""
    for anchor in (right, left):
        if isinstance(anchor, IpRange | dt.datetime | dt.timedelta | bool) or _is_number(anchor):
            converted_left, converted_right = _to_kind(left, anchor), _to_kind(right, anchor)
            if converted_left is None or converted_right is None:
                return None
            return converted_left, converted_right
    if type(left) is type(right):
        return left, right
    return None


def equal(left: Any, right: Any) -> bool:
    pair = _pair(left, right)
    if pair is None:
        return False
    a, b = pair
    if isinstance(a, IpRange):
        return a.within(b) or b.within(a)
    return a == b


_ORDER = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}


def ordered(op: str, left: Any, right: Any) -> bool:
    pair = _pair(left, right)
    if pair is None:
        return False
    a, b = pair
    if isinstance(a, IpRange):
        if a.version != b.version:
            return False
        a, b = a.key(), b.key()
    try:
        return bool(_ORDER[op](a, b))
    except TypeError:
        return False


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def like(left: Any, right: Any) -> bool:
    pattern = _regex(str(right))
    return pattern is not None and pattern.search(text_of(left)) is not None


def text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def compare(op: str, left: Any, right: Any) -> bool:
    """One pair: `eq` (also `in`), `ne`, `gt`, `ge`, `lt`, `le`, `like`."""
    if op in ("eq", "in"):
        return equal(left, right)
    if op == "ne":
        return not equal(left, right)
    if op == "like":
        return like(left, right)
    return ordered(op, left, right)


_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul,
               "/": operator.truediv, "%": operator.mod}


def arithmetic(op: str, left: Any, right: Any) -> Any:
    """`left op right` after converting strings to numbers or times; None when undefined."""
    candidates = []
    if isinstance(left, dt.datetime | dt.timedelta) or isinstance(right, dt.datetime |
                                                                   dt.timedelta):
        candidates.append(_pair(left, right) if _same_time_kind(left, right)
                          else (_time_like(left), _time_like(right)))
    else:
        candidates.append((_to_number(left), _to_number(right)))
        candidates.append((parse_time(left), parse_time(right)))
        candidates.append((_time_like(left), _time_like(right)))
    if isinstance(left, str) and isinstance(right, str) and op == "+":
        candidates.append((left, right))
    for pair in candidates:
        if pair is None or pair[0] is None or pair[1] is None:
            continue
        try:
            return _ARITHMETIC[op](*pair)
        except (TypeError, ZeroDivisionError, OverflowError):
            continue
    return None


def _same_time_kind(left: Any, right: Any) -> bool:
    return type(left) is type(right)


def _time_like(value: Any) -> Any:
    """A datetime, a timedelta or a number, from whichever form `value` has."""
    if isinstance(value, dt.datetime | dt.timedelta) or _is_number(value):
        return value
    if isinstance(value, str):
        return parse_time(value) or parse_duration(value) or _to_number(value)
    return None


def truthy(value: Any) -> bool:
    if isinstance(value, list):
        return any(truthy(item) for item in value)
    return bool(value) and value is not None
