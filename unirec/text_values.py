"""Text forms of raw values, both ways, exactly as NEMEA's logger prints and logreplay reads them.

`FORMATTERS[kind]` and `PARSERS[kind]` map one raw value to text and back; `format_column` and
`parse_column` apply them to a whole column. `column_conversion` gives a printf-style conversion and
its arguments for a whole column, for renderers that build a line format once per template.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import ipaddr
from .field_types import FIELD_TYPES, FieldType, round_float32
from .macaddr import parse_mac
from .urtime import NS_PER_SEC, UrTime

MAX_TEXT_BYTES = 16384
_CACHE_LIMIT = 1 << 16
_second_value: dict[str, int] = {}


def _cache_put(cache: dict, key, value) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


class _Memo:
    """`convert` remembering its results (up to _CACHE_LIMIT of them)."""

    __slots__ = ("convert", "results")

    def __init__(self, convert: Callable[[Any], Any]):
        self.convert = convert
        self.results: dict = {}

    def __call__(self, key):
        value = self.results.get(key)
        if value is None:
            value = self.convert(key)
            _cache_put(self.results, key, value)
        return value

    def map(self, keys: Sequence) -> list:
        """`self(key)` for every key; dict lookups at C speed when all are remembered."""
        values = list(map(self.results.get, keys))
        if None in values:
            values = [self(key) if value is None else value
                      for key, value in zip(keys, values, strict=True)]
        return values


def _second_prefix(sec: int) -> str:
    return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(sec))


_format_second = _Memo(_second_prefix)
_format_mac = _Memo(lambda raw: raw.hex(":"))
_format_ip = _Memo(ipaddr.text_from_raw)


def format_time(ns: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffff`, UTC, microseconds floored."""
    sec, frac = divmod(ns, NS_PER_SEC)
    return f"{_format_second(sec)}.{frac // 1000:06d}"


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


# --- printf-style rendering of whole columns: each gives the arguments of its conversion ---

def _listed(column) -> list:
    return column.tolist() if isinstance(column, np.ndarray) else list(column)


def _time_arguments(column) -> list[list]:
    ns = np.asarray(column, dtype=np.int64)
    seconds = (ns // NS_PER_SEC).tolist()
    return [_format_second.map(seconds),
            (ns % NS_PER_SEC // 1000).tolist()]


_CONVERSIONS: dict[str, tuple[str, Callable[[Any], list[list]]]] = {
    # %d, %c and %f print exactly what str, chr and _format_float do
    "int": ("%d", lambda column: [_listed(column)]),
    "char": ("%c", lambda column: [_listed(column)]),
    "float": ("%f", lambda column: [_listed(column)]),
    "time": ("%s.%06d", _time_arguments),
    "ipaddr": ("%s", lambda column: [_format_ip.map(_listed(column))]),
    "macaddr": ("%s", lambda column: [_format_mac.map(_listed(column))]),
}


def column_conversion(ftype: FieldType) -> tuple[str, Callable[[Any], list[list]]]:
    """A printf-style conversion printing one value of the type as `format_value` does, and a
    function giving a column's arguments for it: one list per `%` in the conversion."""
    if ftype.element is None and ftype.kind in _CONVERSIONS:
        return _CONVERSIONS[ftype.kind]
    return "%s", lambda column: [format_column(ftype, column)]


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


_parse_mac = _Memo(parse_mac)
_parse_ip = _Memo(ipaddr.raw_from_text)


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
    "ipaddr": _parse_ip,
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


# NEMEA's own time text, digit by digit ("0" is any digit); "|" ends each value of a column
_TIME_PATTERN = "0000-00-00T00:00:00.000000|"
_TIME_LOW = np.frombuffer(_TIME_PATTERN.encode(), dtype=np.uint8)
_TIME_SPAN = np.array([9 if ch == "0" else 0 for ch in _TIME_PATTERN], dtype=np.uint8)
_MAX_TIME_US = FIELD_TYPES["time"].bounds[1] // 1000  # type: ignore[index]


def _parse_time_column(texts: Sequence[str]) -> np.ndarray | None:
    """Times all in logger's exact form (`YYYY-MM-DDTHH:MM:SS.ffffff`) parsed by numpy, or None
    when any is in another form, invalid or out of range (the caller parses them one by one)."""
    joined = "|".join(texts) + "|"
    if len(joined) != len(_TIME_PATTERN) * len(texts) or not joined.isascii():
        return None
    grid = np.frombuffer(joined.encode(), dtype=np.uint8).reshape(len(texts), -1)
    # uint8 arithmetic wraps, so a byte below its pattern's low end is also far above the span
    if not ((grid - _TIME_LOW) <= _TIME_SPAN).all():
        return None
    try:
        # microseconds: years up to 9999 fit without wrapping around, unlike nanoseconds
        micro = np.array(texts, dtype="datetime64[us]").view(np.int64)
    except ValueError:  # day, hour, ... out of range: the slow path says which
        return None
    if micro.min() < 0 or micro.max() > _MAX_TIME_US:
        return None
    return micro * 1000


def _parse_int_column(ftype: FieldType, texts: Sequence[str]) -> np.ndarray:
    """int() of every text, as a column of the type; ValueError or OverflowError when any is
    bad or out of range (also for a "-0" in a uint64 column: the slow path takes that)."""
    # numpy 1.x wraps values too big for the dtype around instead of raising: parse as 64 bits
    if ftype.dtype == np.uint64:
        if "-" in "".join(texts):
            raise ValueError("negative")
        return np.array(texts, dtype=np.uint64)
    wide = np.array(texts, dtype=np.int64)
    low, high = ftype.bounds  # type: ignore[misc]
    if len(wide) and (wide.min() < low or wide.max() > high):
        raise ValueError("out of range")
    return wide.astype(ftype.dtype)


def parse_column(ftype: FieldType, texts: Sequence[str]) -> list | np.ndarray:
    """Fast path for a whole column: raw values, or a numpy array of the column's dtype for some
    fixed-size types; raises ValueError if any value is bad (caller retries value by value to
    find which)."""
    if ftype.element is not None or ftype.name == "float":
        return [parse_value(ftype, text) for text in texts]
    if ftype.kind == "int":
        return _parse_int_column(ftype, texts)
    if ftype.kind == "ipaddr":
        return _parse_ip.map(texts)
    if ftype.kind == "macaddr":
        return _parse_mac.map(texts)
    if ftype.kind == "time" and texts:
        column = _parse_time_column(texts)
        if column is not None:
            return column
    values = list(map(PARSERS[ftype.kind], texts))
    if ftype.bounds is not None and values:
        low, high = ftype.bounds
        if min(values) < low or max(values) > high:
            raise ValueError("out of range")
    return values
