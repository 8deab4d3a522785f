"""Text forms of raw values, both ways, exactly as NEMEA's logger prints and logreplay reads them.

`FORMATTERS[kind]` and `PARSERS[kind]` map one raw value to text and back; `format_column` and
`parse_column` apply them to a whole column.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import ipaddr
from .field_types import FieldType, round_float32
from .macaddr import parse_mac
from .urtime import NS_PER_SEC, UrTime

MAX_TEXT_BYTES = 16384
_CACHE_LIMIT = 1 << 16
_second_text: dict[int, str] = {}
_second_value: dict[str, int] = {}
_mac_value: dict[str, bytes] = {}


def _cache_put(cache: dict, key, value) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def format_time(ns: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffff`, UTC, microseconds floored."""
    sec, frac = divmod(ns, NS_PER_SEC)
    prefix = _second_text.get(sec)
    if prefix is None:
        prefix = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(sec))
        _cache_put(_second_text, sec, prefix)
    return f"{prefix}.{frac // 1000:06d}"


def format_string(text: str) -> str:
    """Quoted; `"` doubled; newline to space; non-printable and non-ASCII characters dropped."""
    if not (text.isascii() and text.isprintable()):
        text = "".join(" " if ch == "\n" else ch for ch in text
                       if ch == "\n" or " " <= ch <= "~")
    return '"' + text.replace('"', '""') + '"'


def _format_float(value: float) -> str:
    return "%f" % value  # noqa: UP031  (C's %f, as NEMEA prints)


FORMATTERS: dict[str, Callable[[Any], str]] = {
    "int": str,
    "char": chr,
    "float": _format_float,
    "ipaddr": ipaddr.text_from_raw,
    "macaddr": lambda raw: raw.hex(":"),
    "time": format_time,
    "string": format_string,
    "bytes": bytes.hex,
}


def format_value(ftype: FieldType, raw: Any) -> str:
    if ftype.element is not None:
        element = FORMATTERS[ftype.element.kind]
        return "[" + "|".join(map(element, raw)) + "]"
    return FORMATTERS[ftype.kind](raw)


def format_column(ftype: FieldType, column) -> list[str]:
    values = column.tolist() if isinstance(column, np.ndarray) else column
    if ftype.element is not None:
        element = FORMATTERS[ftype.element.kind]
        return ["[" + "|".join(map(element, v)) + "]" for v in values]
    return list(map(FORMATTERS[ftype.kind], values))


def parse_time(text: str) -> int:
    """`YYYY-MM-DDTHH:MM:SS[.fraction][Z]` to ns; a dict lookup for an already seen second."""
    second = _second_value.get(text[:19])
    if second is not None:
        rest = text[19:]
        if rest[-1:] in ("Z", "z"):
            rest = rest[:-1]
        if not rest:
            return second
        digits = rest[1:]
        if rest[0] == "." and digits.isdigit() and digits.isascii():
            return second + int(digits[:9].ljust(9, "0"))
    return int(UrTime.parse(text))


def _learn_second(text: str, value: int) -> None:
    """Remember the whole-second part of a parsed time so the next ones are a dict lookup."""
    prefix = text[:19]
    if prefix in _second_value:
        return
    second = value - value % NS_PER_SEC
    if format_time(second)[:19] == prefix:  # only the exact canonical form (no spaces, ...)
        _cache_put(_second_value, prefix, second)


def _parse_time_cached(text: str) -> int:
    value = parse_time(text)
    _learn_second(text, value)
    return value


def _parse_char(text: str) -> int:
    if not text:
        return 0
    code = ord(text[0])
    if code > 255:
        raise ValueError(f"{text[0]!r} is not a single-byte character")
    return code


def _parse_bytes(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = None
    if value is None or 2 * len(value) != len(text):  # fromhex skips whitespace
        raise ValueError(f"bad hex {text!r}: expected pairs of hex digits")
    return value[:MAX_TEXT_BYTES]


def _parse_string(text: str) -> str:
    if len(text) > MAX_TEXT_BYTES // 4 and len(text.encode()) > MAX_TEXT_BYTES:
        return text.encode()[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore")
    return text


def _parse_mac(text: str) -> bytes:
    raw = _mac_value.get(text)
    if raw is None:
        raw = parse_mac(text)
        _cache_put(_mac_value, text, raw)
    return raw


def _parse_float(text: str) -> float:
    return float(text)


def _to_float32(value: float) -> float:
    try:
        return round_float32(value)
    except OverflowError:
        raise ValueError(f"{value} is too big for a float") from None


PARSERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "char": _parse_char,
    "float": _parse_float,
    "ipaddr": ipaddr.raw_from_text,
    "macaddr": _parse_mac,
    "time": _parse_time_cached,
    "string": _parse_string,
    "bytes": _parse_bytes,
}


def _parse_array(element: FieldType, text: str) -> list:
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    if not inner.strip():
        return []
    parse = PARSERS[element.kind]
    values = [parse(item) for item in inner.split("|")]
    if element.bounds is not None:
        _check_bounds(element, values)
    if element.name == "float":
        values = [_to_float32(value) for value in values]
    return values


def _check_bounds(ftype: FieldType, values: list) -> None:
    low, high = ftype.bounds  # type: ignore[misc]
    for value in values:
        if not low <= value <= high:
            if ftype.kind == "time":
                raise ValueError(f"time {value} ns is outside 1970..2262")
            raise ValueError(f"{value} out of range {low}..{high}")


def parse_value(ftype: FieldType, text: str) -> Any:
    """One text value to its raw value; ValueError with the reason when it does not fit."""
    if ftype.element is not None:
        return _parse_array(ftype.element, text)
    value = PARSERS[ftype.kind](text)
    if ftype.bounds is not None:
        _check_bounds(ftype, [value])
    if ftype.name == "float":
        value = _to_float32(value)
    return value


def parse_column(ftype: FieldType, texts: list[str]) -> list:
    """Fast path for a whole column; raises ValueError if any value is bad (caller retries
    value by value to find which)."""
    if ftype.element is not None or ftype.name == "float":
        return [parse_value(ftype, text) for text in texts]
    values = list(map(PARSERS[ftype.kind], texts))
    if ftype.bounds is not None and values:
        low, high = ftype.bounds
        if min(values) < low or max(values) > high:
            raise ValueError("out of range")
    return values
