"""Batch codec: a RecordBatch to one msgpack payload and back, in one call.

Payload = msgpack array `[count, column, column, ...]` in canonical field order. A fixed-size
column is one `bin` of its little-endian values (ipaddr 16 B, macaddr 6 B, time int64 ns, ...),
so decoding it is a zero-copy `numpy.frombuffer`; a variable-size column is an array of `str`,
`bin` or arrays of raw element values. The template is not in the payload: it travels in the
framing (interfaces) or the file header.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain

import msgpack
import numpy as np

from .batch import RecordBatch
from .errors import CodecError
from .field_types import FieldType
from .record import Record
from .template import Template

_VARIABLE_ITEM_TYPES = {"string": str, "bytes": bytes}


def _only(kind: type, items: list) -> bool:
    return not items or set(map(type, items)) == {kind}  # map/set: C speed, no Python loop


def _ints_valid(element: FieldType, items: list) -> bool:
    low, high = element.bounds  # type: ignore[misc]
    return _only(int, items) and (not items or (low <= min(items) and max(items) <= high))


def _sized_bytes(size: int) -> Callable[[FieldType, list], bool]:
    return lambda element, items: _only(bytes, items) and set(map(len, items)) <= {size}


# raw array elements as msgpack gives them back: is every one valid for the element type?
_ELEMENTS_VALID: dict[str, Callable[[FieldType, list], bool]] = {
    "int": _ints_valid,
    "time": _ints_valid,
    "float": lambda element, items: _only(float, items),
    "ipaddr": _sized_bytes(16),
    "macaddr": _sized_bytes(6),
}


class BatchCodec:
    """Encoder and decoder precompiled for one template."""

    __slots__ = ("_fixed", "template")

    def __init__(self, template: Template | str):
        self.template = Template.of(template)
        self._fixed = [(ftype.dtype, ftype.dtype.itemsize) if ftype.is_fixed else None
                       for ftype in self.template.types]

    def encode(self, batch: RecordBatch) -> bytes:
        if batch.template is not self.template and batch.template != self.template:
            raise CodecError(f"batch template {batch.template.spec!r} is not the codec's "
                             f"{self.template.spec!r}")
        parts: list = [batch.length]
        for fixed, column in zip(self._fixed, batch.columns, strict=True):
            if fixed is None:
                parts.append(column)
            else:
                parts.append(np.ascontiguousarray(column, dtype=fixed[0]).data)
        return msgpack.packb(parts, use_bin_type=True)

    def decode(self, payload: bytes) -> RecordBatch:
        try:
            parts = msgpack.unpackb(payload, raw=False, use_list=True)
        except (ValueError, TypeError, msgpack.UnpackException) as exc:
            raise CodecError(f"undecodable batch payload: {exc}") from None
        if not isinstance(parts, list) or len(parts) != len(self._fixed) + 1 \
                or type(parts[0]) is not int or parts[0] < 0:
            raise CodecError(f"batch payload does not match template {self.template.spec!r}")
        length = parts[0]
        columns = []
        for position, (fixed, column) in enumerate(zip(self._fixed, parts[1:], strict=True)):
            if fixed is None:
                self._check_variable(position, column, length)
                columns.append(column)
                continue
            if not isinstance(column, bytes) or len(column) != length * fixed[1]:
                raise CodecError(f"batch column {self.template.names[position]}: expected "
                                 f"{length * fixed[1]} bytes")
            values = np.frombuffer(column, dtype=fixed[0])
            if self.template.types[position].kind == "time" and length and values.min() < 0:
                raise CodecError(f"batch column {self.template.names[position]}: negative time")
            columns.append(values)
        return RecordBatch(self.template, columns, length)

    def _check_variable(self, position: int, column, length: int) -> None:
        ftype = self.template.types[position]
        expected = _VARIABLE_ITEM_TYPES.get(ftype.kind, list)
        if not isinstance(column, list) or len(column) != length \
                or not _only(expected, column) \
                or (ftype.element is not None and not _ELEMENTS_VALID[ftype.element.kind](
                    ftype.element, list(chain.from_iterable(column)))):
            raise CodecError(f"batch column {self.template.names[position]}: expected "
                             f"{length} {ftype.name} values")

    def encode_records(self, records: list[Record]) -> bytes:
        return self.encode(RecordBatch.from_records(records, self.template))

    def decode_records(self, payload: bytes) -> list[Record]:
        return self.decode(payload).records()


def batch_length(payload: bytes) -> int:
    """Number of records in a payload, read from its head without decoding the columns."""
    unpacker = msgpack.Unpacker(raw=False)
    try:
        unpacker.feed(payload[:16])
        unpacker.read_array_header()
        count = unpacker.unpack()
    except (ValueError, TypeError, msgpack.UnpackException, msgpack.OutOfData) as exc:
        raise CodecError(f"undecodable batch payload head: {exc}") from None
    if type(count) is not int or count < 0:
        raise CodecError(f"batch payload head: record count {count!r} is not a count")
    return count
