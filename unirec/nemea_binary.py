"""NEMEA's binary UniRec record layout: one libtrap message holds one record.

Layout (little-endian, no padding): the fixed-size fields in canonical order (time as 32.32 fixed
point: high 32 bits Unix seconds, low 32 bits fraction of 2^-32 s), then one `u16 offset, u16
length` header per variable-length field, then the variable data in canonical order. Offsets are
relative to the start of the variable data area. Strings are UTF-8 without a NUL; arrays are packed
elements in the same encoding as the scalars.

Time: NEMEA makes the fraction from nanoseconds as `frac = (ns * 0x44B82FA0A) >> 32` (also for µs
and ms sources). We decode with its exact inverse, `ns = ceil(frac * 2^32 / 0x44B82FA0A)`, so every
NEMEA-made timestamp decodes to its original ns and re-encodes byte for byte. Upstream's
`ur_time_get_nsec` (`ceil(frac * 10^9 / 2^32)`, `UrTime.from_nemea`) gives 1 ns more for ~3.4 % of
values, which would not re-encode; the µs text differs only when the original ns ends in 999.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .batch import RecordBatch
from .errors import CodecError
from .field_types import FieldType
from .record import MAX_RECORD_SIZE
from .template import Template
from .urtime import NEMEA_FRACTION as _TO_FRAC
from .urtime import nemea_to_ns, ns_to_nemea

_NS = 1_000_000_000
_MAX_SEC = 0xFFFFFFFF
_CODES = {"int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i", "uint32": "I",
          "int64": "q", "uint64": "Q", "char": "B", "float": "f", "double": "d",
          "ipaddr": "16s", "macaddr": "6s", "time": "Q"}


_time_from_wire = nemea_to_ns


def _time_to_wire(ns: int) -> int:
    if not 0 <= ns // _NS <= _MAX_SEC:
        raise CodecError(f"time {ns} ns does not fit NEMEA's 32-bit seconds")
    return ns_to_nemea(ns)


def _element_codec(element: FieldType) -> tuple[Callable[[bytes], list], Callable[[list], bytes]]:
    """Decoder and encoder of the packed elements of an array type."""
    size = element.order_size
    if element.kind in ("ipaddr", "macaddr"):
        def split(data: bytes) -> list:
            return [data[i:i + size] for i in range(0, len(data), size)]

        def join(items: list) -> bytes:
            if any(len(item) != size for item in items):
                raise CodecError(f"{element.name} element is not {size} bytes")
            return b"".join(items)
        return split, join
    code = _CODES[element.name]
    if element.kind == "time":
        def unpack_time(data: bytes) -> list:
            return [_time_from_wire(v) for v in struct.unpack(f"<{len(data) // 8}Q", data)]

        def pack_time(items: list) -> bytes:
            return struct.pack(f"<{len(items)}Q", *map(_time_to_wire, items))
        return unpack_time, pack_time

    def unpack(data: bytes) -> list:
        return list(struct.unpack(f"<{len(data) // size}{code}", data))

    def pack(items: list) -> bytes:
        return struct.pack(f"<{len(items)}{code}", *items)
    return unpack, pack


def _variable_codec(ftype: FieldType) -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    if ftype.kind == "string":
        return (lambda data: data.decode("utf-8", errors="replace")), str.encode
    if ftype.kind == "bytes":
        return bytes, bytes
    return _element_codec(ftype.element)  # type: ignore[arg-type]


class NemeaRecordCodec:
    """Decoder and encoder of NEMEA binary records, precompiled for one template."""

    def __init__(self, template: Template | str):
        self.template = Template.of(template)
        fixed = self.template.fixed_fields
        variable = self.template.variable_fields
        self._nfixed = len(fixed)
        self._names = self.template.names
        self._struct = struct.Struct(
            "<" + "".join(_CODES[f.type.name] for f in fixed) + "HH" * len(variable))
        self.static_size = self._struct.size
        self._times = [i for i, f in enumerate(fixed) if f.type.kind == "time"]
        self._sized = [(i, f.type.order_size) for i, f in enumerate(fixed)
                       if f.type.kind in ("ipaddr", "macaddr")]
        self._var = [(f.name, f.type.order_size if f.type.is_array else 1,
                      *_variable_codec(f.type)) for f in variable]
        formats = [("<u8" if f.type.kind == "time" else f.type.dtype) for f in fixed]
        self._dtype = np.dtype({
            "names": [f"f{i}" for i in range(len(fixed))]
            + [f"{p}{k}" for k in range(len(variable)) for p in ("o", "l")],
            "formats": formats + ["<u2"] * (2 * len(variable))})
        assert self._dtype.itemsize == self.static_size
        ends = [(self._dtype.fields[name][0].itemsize + self._dtype.fields[name][1])
                for name in self._dtype.names]           # end offset of each fixed-part item
        self._layout = [(f"field {f.name}", end) for f, end in zip(fixed, ends, strict=False)]
        self._layout += [(f"the offset/length header of field {f.name}",
                          ends[self._nfixed + 2 * k + 1]) for k, f in enumerate(variable)]

    # --- one record ---------------------------------------------------------------------------

    def decode(self, message: bytes) -> list:
        """Raw values of the record in one message, canonical order."""
        if type(message) is not bytes:
            message = bytes(message)
        size = len(message)
        if size < self.static_size:
            what, end = next((w, e) for w, e in self._layout if e > size)
            raise CodecError(f"message of {size} bytes ends inside {what} (needs {end} bytes); "
                             f"the fixed part of template {self.template.spec!r} is "
                             f"{self.static_size} bytes")
        values = list(self._struct.unpack_from(message))
        for i in self._times:
            values[i] = _time_from_wire(values[i])
        nfixed = self._nfixed
        if not self._var:
            if size != self.static_size:
                raise CodecError(f"message of {size} bytes, records of template "
                                 f"{self.template.spec!r} are {self.static_size} bytes")
            return values
        heads = values[nfixed:]
        del values[nfixed:]
        base = self.static_size
        for k, (name, step, unpack, _) in enumerate(self._var):
            offset, length = heads[2 * k], heads[2 * k + 1]
            self._check_area(name, offset, length, size - base, step)
            values.append(unpack(message[base + offset:base + offset + length]))
        return values

    @staticmethod
    def _check_area(name: str, offset: int, length: int, available: int, step: int) -> None:
        if offset + length > available:
            raise CodecError(f"field {name}: offset {offset} + length {length} is past the end "
                             f"of the {available}-byte variable data area")
        if length % step:
            raise CodecError(f"field {name}: length {length} is not a multiple of the "
                             f"{step}-byte element size")

    def encode(self, raw_values: Sequence) -> bytes:
        """One message from raw values in canonical order."""
        if len(raw_values) != len(self._names):
            raise CodecError(f"{len(raw_values)} values for the {len(self._names)} fields of "
                             f"template {self.template.spec!r}")
        nfixed = self._nfixed
        values = list(raw_values[:nfixed])
        try:
            for i in self._times:
                values[i] = _time_to_wire(values[i])
            for i, size in self._sized:
                if len(values[i]) != size:
                    raise CodecError(f"value of {len(values[i])} bytes, expected {size}")
            parts = [pack(value) for (_, _, _, pack), value
                     in zip(self._var, raw_values[nfixed:], strict=True)]
        except (CodecError, TypeError, ValueError, OverflowError, struct.error) as exc:
            raise CodecError(f"{self._culprit(raw_values)}: {exc}") from None
        offset = 0
        for part in parts:
            values.append(offset)
            values.append(len(part))
            offset += len(part)
        total = self.static_size + offset
        if total > MAX_RECORD_SIZE:
            raise CodecError(f"record of {total} bytes is over the UniRec limit of "
                             f"{MAX_RECORD_SIZE} bytes")
        try:
            head = self._struct.pack(*values)
        except (struct.error, OverflowError) as exc:
            raise CodecError(f"{self._culprit(raw_values)}: {exc}") from None
        return head + b"".join(parts) if parts else head

    def _culprit(self, raw_values: Sequence) -> str:
        """`field NAME` of the first value that does not encode alone (for error messages)."""
        fields = self.template.fields
        for position, (field, value) in enumerate(zip(fields, raw_values, strict=True)):
            try:
                if position >= self._nfixed:
                    self._var[position - self._nfixed][3](value)
                    continue
                if field.type.kind == "time":
                    value = _time_to_wire(value)
                code = _CODES[field.type.name]
                if code.endswith("s") and len(value) != int(code[:-1]):
                    return f"field {field.name}"
                struct.pack("<" + code, value)
            except (CodecError, TypeError, ValueError, OverflowError, struct.error):
                return f"field {field.name}"
        return "record"

    # --- many records -------------------------------------------------------------------------

    def decode_batch(self, messages: Sequence[bytes]) -> RecordBatch:
        """Records of many messages as one column batch."""
        if not messages or not self.template.fields:
            if any(messages):
                self._raise_for(messages, next(i for i, m in enumerate(messages) if m))
            return RecordBatch(self.template, RecordBatch.empty(self.template).columns,
                               len(messages))
        messages = [m if type(m) is bytes else bytes(m) for m in messages]
        static = self.static_size
        sizes = np.fromiter(map(len, messages), dtype=np.int64, count=len(messages))
        bad = sizes < static if self._var else sizes != static
        if bad.any():
            self._raise_for(messages, int(np.flatnonzero(bad)[0]))
        if self._var:
            fixed = np.frombuffer(b"".join([m[:static] for m in messages]), dtype=self._dtype)
        else:
            fixed = np.frombuffer(b"".join(messages), dtype=self._dtype)
        columns: list = []
        for i in range(self._nfixed):
            column = fixed[f"f{i}"]
            if i in self._times:
                column = _times_from_wire(column)
            columns.append(np.ascontiguousarray(column))
        for k, (_, step, unpack, _) in enumerate(self._var):
            offsets = fixed[f"o{k}"].astype(np.int64)
            lengths = fixed[f"l{k}"].astype(np.int64)
            bad = (offsets + lengths > sizes - static) | (lengths % step != 0)
            if bad.any():
                self._raise_for(messages, int(np.flatnonzero(bad)[0]))
            starts = (offsets + static).tolist()
            ends = (offsets + lengths + static).tolist()
            columns.append([unpack(m[s:e]) for m, s, e in zip(messages, starts, ends,
                                                              strict=True)])
        return RecordBatch(self.template, columns, len(messages))

    def _raise_for(self, messages: list[bytes], position: int) -> None:
        try:
            self.decode(messages[position])
        except CodecError as exc:
            raise CodecError(f"message {position}: {exc}") from None
        raise AssertionError("unreachable: message decodes alone")  # pragma: no cover

    def encode_batch(self, batch: RecordBatch) -> list[bytes]:
        """One message per record of the batch."""
        if batch.template != self.template:
            raise CodecError(f"batch template {batch.template.spec!r} is not the codec's "
                             f"{self.template.spec!r}")
        count = batch.length
        if not self.template.fields:
            return [b""] * count
        fixed = np.zeros(count, dtype=self._dtype)
        for i in range(self._nfixed):
            column = batch.columns[i]
            if i in self._times:
                column = self._times_to_wire(self._names[i], np.asarray(column))
            fixed[f"f{i}"] = column
        static = self.static_size
        if not self._var:
            data = fixed.tobytes()
            return [data[p:p + static] for p in range(0, count * static, static)]
        parts_by_field = []
        total = np.full(count, static, dtype=np.int64)
        for k, (name, _, _, pack) in enumerate(self._var):
            try:
                parts = [pack(value) for value in batch.columns[self._nfixed + k]]
            except (CodecError, TypeError, ValueError, OverflowError, struct.error) as exc:
                raise CodecError(f"field {name}: {exc}") from None
            lengths = np.fromiter(map(len, parts), dtype=np.int64, count=count)
            fixed[f"o{k}"] = np.minimum(total - static, 0xFFFF)
            fixed[f"l{k}"] = np.minimum(lengths, 0xFFFF)
            total += lengths
            parts_by_field.append(parts)
        if (total > MAX_RECORD_SIZE).any():
            position = int(np.flatnonzero(total > MAX_RECORD_SIZE)[0])
            raise CodecError(f"record {position} is {int(total[position])} bytes, over the "
                             f"UniRec limit of {MAX_RECORD_SIZE} bytes")
        data = fixed.tobytes()
        join = b"".join
        return [data[p:p + static] + join(parts) for p, parts
                in zip(range(0, count * static, static), zip(*parts_by_field, strict=True),
                       strict=True)]

    @staticmethod
    def _times_to_wire(name: str, ns: np.ndarray) -> np.ndarray:
        ns = ns.astype(np.int64, copy=False)
        sec, nsec = np.divmod(ns, _NS)
        if len(ns) and (sec.min() < 0 or sec.max() > _MAX_SEC):
            raise CodecError(f"field {name}: time outside NEMEA's 32-bit seconds")
        frac = (nsec.astype(np.uint64) * np.uint64(_TO_FRAC)) >> np.uint64(32)
        return (sec.astype(np.uint64) << np.uint64(32)) | frac


def _times_from_wire(wire: np.ndarray) -> np.ndarray:
    sec = wire >> np.uint64(32)
    quotient, rest = np.divmod((wire & np.uint64(0xFFFFFFFF)) << np.uint64(32), np.uint64(_TO_FRAC))
    return (sec * np.uint64(_NS) + quotient + (rest != 0)).astype(np.int64)
