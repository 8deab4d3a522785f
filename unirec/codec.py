"""Batch codec: a RecordBatch to one msgpack payload and back, in one call.

Payload = msgpack array `[count, column, column, ...]` in canonical field order. A fixed-size
column is one `bin` of its little-endian values (ipaddr 16 B, macaddr 6 B, time int64 ns, ...),
so decoding it is a zero-copy `numpy.frombuffer`; a variable-size column is an array of `str`,
`bin` or arrays of raw element values. The template is not in the payload: it travels in the
framing (interfaces) or the file header.
"""

from __future__ import annotations

import msgpack
import numpy as np

from .batch import RecordBatch
from .errors import CodecError
from .record import Record
from .template import Template

_VARIABLE_ITEM_TYPES = {"string": str, "bytes": bytes}


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
        except (ValueError, msgpack.UnpackException) as exc:
            raise CodecError(f"undecodable batch payload ({len(payload)} bytes): {exc}") from None
        if not isinstance(parts, list) or len(parts) != len(self._fixed) + 1 \
                or not isinstance(parts[0], int) or parts[0] < 0:
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
            columns.append(np.frombuffer(column, dtype=fixed[0]))
        return RecordBatch(self.template, columns, length)

    def _check_variable(self, position: int, column, length: int) -> None:
        ftype = self.template.types[position]
        expected = _VARIABLE_ITEM_TYPES.get(ftype.kind, list)
        if not isinstance(column, list) or len(column) != length \
                or not all(type(item) is expected for item in column):
            raise CodecError(f"batch column {self.template.names[position]}: expected "
                             f"{length} {ftype.name} values")

    def encode_records(self, records: list[Record]) -> bytes:
        return self.encode(RecordBatch.from_records(records, self.template))

    def decode_records(self, payload: bytes) -> list[Record]:
        return self.decode(payload).records()


def batch_length(payload: bytes) -> int:
    """Number of records in a payload, read from its head without decoding the columns."""
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(payload[:16])
    try:
        unpacker.read_array_header()
        return int(unpacker.unpack())
    except (ValueError, msgpack.UnpackException, msgpack.OutOfData) as exc:
        raise CodecError(f"undecodable batch payload head: {exc}") from None
