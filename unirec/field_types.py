"""The 29 UniRec field types as one declarative table.

Each type knows its canonical ordering size, its fixed size in NEMEA's binary layout, the numpy
dtype of its column, and how a Python value becomes its *raw* value (the form kept in columns and
on the wire) and back:

| type              | Python value                    | raw value                           |
|-------------------|---------------------------------|-------------------------------------|
| int8 .. uint64    | int (range-checked)             | int                                 |
| char              | str of length 1                 | int (character code 0..255)         |
| float, double     | float (float rounded to 32 bit) | float                               |
| ipaddr            | IPv4Address / IPv6Address       | 16 bytes, NEMEA layout (see ipaddr) |
| macaddr           | MacAddr                         | 6 bytes                             |
| time              | UrTime (int nanoseconds)        | int nanoseconds                     |
| string            | str                             | str                                 |
| bytes             | bytes                           | bytes                               |
| T* arrays         | list of T's Python values       | list of T's raw values              |
"""

from __future__ import annotations

import datetime as _dt
import operator
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import ipaddr
from .errors import FieldValueError
from .macaddr import MacAddr
from .urtime import UrTime

MAX_TIME_NS = (1 << 63) - 1
_F32 = struct.Struct("<f")


@dataclass(frozen=True, slots=True)
class FieldType:
    name: str
    kind: str                      # int, char, float, ipaddr, macaddr, time, string, bytes, array
    order_size: int                # canonical order key: size, negative for variable-length types
    dtype: np.dtype | None         # column dtype of a fixed-size type
    bounds: tuple[int, int] | None = None   # valid raw range of int, char and time values
    element: FieldType | None = None

    @property
    def is_fixed(self) -> bool:
        return self.order_size > 0

    @property
    def is_array(self) -> bool:
        return self.element is not None

    @property
    def fixed_size(self) -> int:
        return self.order_size if self.order_size > 0 else 0

    @property
    def default_raw(self) -> Any:
        """The raw default value (a new list for arrays)."""
        return [] if self.element is not None else _DEFAULTS[self.kind]

    def to_raw(self, value: Any) -> Any:
        """Validate a Python value (or raw value) for this type and return its raw form."""
        if self.element is not None:
            return _array_to_raw(self, value)
        try:
            return _TO_RAW[self.kind](self, value)
        except FieldValueError:
            raise
        except (ValueError, TypeError, OverflowError, struct.error) as exc:
            raise FieldValueError(f"{self.name}: {exc}") from None

    def from_raw(self, raw: Any) -> Any:
        """The Python value of a raw value."""
        if self.element is not None:
            convert = _FROM_RAW[self.element.kind]
            return [convert(item) for item in raw]
        return _FROM_RAW[self.kind](raw)

    def __str__(self) -> str:
        return self.name

    def __reduce__(self):
        # one object per type: templates compare types by identity, so copies must not be made
        return field_type, (self.name,)


def _check_bounds(ftype: FieldType, number: int) -> int:
    low, high = ftype.bounds  # type: ignore[misc]
    if not low <= number <= high:
        raise FieldValueError(f"{ftype.name}: {number} out of range {low}..{high}")
    return number


def round_float32(number: float) -> float:
    """A double rounded to the nearest IEEE single, as C stores it (OverflowError if too big)."""
    return _F32.unpack(_F32.pack(number))[0]


def _int_to_raw(ftype: FieldType, value: Any) -> int:
    if isinstance(value, str):
        value = int(value)
    return _check_bounds(ftype, operator.index(value))


def _char_to_raw(ftype: FieldType, value: Any) -> int:
    if isinstance(value, str | bytes) and len(value) == 1:
        code = ord(value)
    elif isinstance(value, int):
        code = value
    else:
        raise FieldValueError(f"char: expected one character, got {value!r}")
    if not 0 <= code <= 255:
        raise FieldValueError(f"char: {value!r} is not a single-byte character")
    return code


def _float_to_raw(ftype: FieldType, value: Any) -> float:
    if isinstance(value, str | bytes):
        raise FieldValueError(f"{ftype.name}: expected a number, got {value!r}")
    number = float(value)
    if ftype.name == "float":
        return round_float32(number)
    return number


def _time_to_raw(ftype: FieldType, value: Any) -> int:
    if isinstance(value, _dt.datetime):
        number = int(UrTime.from_datetime(value))
    elif isinstance(value, str):
        number = int(UrTime.parse(value))
    elif isinstance(value, float):
        raise FieldValueError("time: a bare float is ambiguous; use UrTime.from_float(seconds)")
    else:
        number = operator.index(value)
    if not 0 <= number <= MAX_TIME_NS:
        raise FieldValueError(f"time: {number} ns is outside 1970..2262")
    return number


def _string_to_raw(ftype: FieldType, value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if not isinstance(value, str):
        raise FieldValueError(f"string: expected str, got {type(value).__name__}")
    if not value.isascii():
        value.encode("utf-8")  # UnicodeEncodeError (a ValueError) for lone surrogates
    return value


def _bytes_to_raw(ftype: FieldType, value: Any) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise FieldValueError(f"bytes: expected bytes, got {type(value).__name__}")
    return bytes(value)


def _mac_to_raw(ftype: FieldType, value: Any) -> bytes:
    return bytes(MacAddr(value))


def _ip_to_raw(ftype: FieldType, value: Any) -> bytes:
    if isinstance(value, bytes) and len(value) == 16:
        return value
    return ipaddr.raw_from_value(value)


def _array_to_raw(array: FieldType, value: Any) -> list:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, list | tuple):
        value = [value]
    element: FieldType = array.element  # type: ignore[assignment]
    raw = []
    for position, item in enumerate(value):
        try:
            raw.append(element.to_raw(item))
        except FieldValueError as exc:
            raise FieldValueError(f"{array.name} element {position}: {exc}") from None
    return raw


_TO_RAW: dict[str, Callable[[FieldType, Any], Any]] = {
    "int": _int_to_raw,
    "char": _char_to_raw,
    "float": _float_to_raw,
    "ipaddr": _ip_to_raw,
    "macaddr": _mac_to_raw,
    "time": _time_to_raw,
    "string": _string_to_raw,
    "bytes": _bytes_to_raw,
}

_FROM_RAW: dict[str, Callable[[Any], Any]] = {
    "int": int,
    "char": chr,
    "float": float,
    "ipaddr": ipaddr.address_from_raw,
    "macaddr": MacAddr,
    "time": UrTime,
    "string": str,
    "bytes": bytes,
}

_DEFAULTS: dict[str, Any] = {
    "int": 0, "char": 0, "float": 0.0, "ipaddr": ipaddr.IP_NULL, "macaddr": b"\0" * 6,
    "time": 0, "string": "", "bytes": b"",
}


def _int_type(name: str, size: int, signed: bool) -> FieldType:
    bits = size * 8
    bounds = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    dtype = np.dtype(f"<{'i' if signed else 'u'}{size}")
    return FieldType(name, "int", size, dtype, bounds)


_SCALARS = [
    _int_type("int8", 1, True), _int_type("uint8", 1, False),
    _int_type("int16", 2, True), _int_type("uint16", 2, False),
    _int_type("int32", 4, True), _int_type("uint32", 4, False),
    _int_type("int64", 8, True), _int_type("uint64", 8, False),
    FieldType("char", "char", 1, np.dtype("u1"), (0, 255)),
    FieldType("float", "float", 4, np.dtype("<f4")),
    FieldType("double", "float", 8, np.dtype("<f8")),
    FieldType("ipaddr", "ipaddr", 16, np.dtype("V16")),
    FieldType("macaddr", "macaddr", 6, np.dtype("V6")),
    FieldType("time", "time", 8, np.dtype("<i8"), (0, MAX_TIME_NS)),
    FieldType("string", "string", -1, None),
    FieldType("bytes", "bytes", -1, None),
]
_ARRAY_ELEMENTS = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
                   "float", "double", "ipaddr", "macaddr", "time")

FIELD_TYPES: dict[str, FieldType] = {t.name: t for t in _SCALARS}
for _name in _ARRAY_ELEMENTS:
    _element = FIELD_TYPES[_name]
    FIELD_TYPES[_name + "*"] = FieldType(_name + "*", "array", -_element.order_size, None,
                                         element=_element)


def field_type(name: str) -> FieldType:
    """Look a type up by its UniRec name (`uint16`, `ipaddr*`); KeyError when unknown."""
    return FIELD_TYPES[name]
