"""Set decoders: the data records of many data sets of one template, decoded at once by numpy.

A template gets a DecodePlan (compiled once, cached on the template): which of its fields feed
which UniRec field (mapping.IMPORT_MAP) and a numpy structured dtype over the record. Data sets
of a fixed-length template are kept as raw bytes (trimmed of padding); those of a template with
variable-length fields are walked record by record once, keeping only the mapped (fixed-size)
fields in a compact layout. Either way, at flush time all the sets collected for one template
are joined and decoded by a single `np.frombuffer` and a few vector operations per field.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from unirec import field_type
from unirec.standard_fields import STANDARD_FIELDS

from .elements import IPV4, IPV6, MAC, MSEC, NSEC, SEC, USEC, VARIABLE, ie
from .mapping import IMPORT_MAP
from .templates import Template, TemplateField

NTP_TO_UNIX = 2_208_988_800            # seconds from 1900-01-01 to 1970-01-01
UPTIME_IDS = {21, 22}                   # flowEnd/StartSysUpTime
DELTA_IDS = {158, 159}                  # flowStart/EndDeltaMicroseconds
FLAG_IDS = {6}                          # tcpControlBits (and its reverse)
SYSTEM_INIT = ie("systemInitTimeMilliseconds")
TARGET_DTYPES = {name: field_type(STANDARD_FIELDS[name]).dtype for name in IMPORT_MAP}


@dataclass(frozen=True)
class Source:
    """One template field feeding a UniRec field."""

    name: str            # its name in the structured dtype
    offset: int          # in the (compact) record
    length: int
    conversion: str      # ipv4 ipv6 mac uint flags sec msec ntp_us ntp_ns uptime delta_us


def conversion_of(tfield: TemplateField) -> str | None:
    element = tfield.element
    if element is None or not tfield.known or tfield.length == VARIABLE:
        return None
    if element.id in UPTIME_IDS:
        return "uptime"
    if element.id in DELTA_IDS:
        return "delta_us"
    if element.id in FLAG_IDS:
        return "flags"
    return {IPV4: "ipv4", IPV6: "ipv6", MAC: "mac", SEC: "sec", MSEC: "msec", USEC: "ntp_us",
            NSEC: "ntp_ns"}.get(element.type, "uint" if element.type.startswith("unsigned")
                                else None)


class DecodePlan:
    """How to turn the records of one data template into UniRec columns."""

    def __init__(self, template: Template, wanted: frozenset[str]):
        fields = template.fields
        first: dict[tuple[int, int], int] = {}
        for index, tfield in enumerate(fields):
            if conversion_of(tfield) is not None:
                first.setdefault((tfield.pen, tfield.id), index)
        chosen: dict[str, list[tuple[int, str]]] = {}
        for name, candidates in IMPORT_MAP.items():
            if name not in wanted:
                continue
            present = [(first[c], conversion_of(fields[first[c]])) for c in candidates
                       if c in first]
            if present:
                chosen[name] = present   # type: ignore[assignment]
        self.init_index = first.get(SYSTEM_INIT)
        used = sorted({i for sources in chosen.values() for i, _ in sources}
                      | ({self.init_index} if self.init_index is not None else set()))
        self.fixed = template.record_length is not None
        self.record_length = template.record_length or 0
        self.min_length = template.min_length
        self.template_lengths = [f.length for f in fields]
        self.used = used
        # where each used field sits: in the template's record (fixed length), or in the
        # compact record of the used fields only that extract() builds (variable length)
        kept = range(len(fields)) if self.fixed else used
        layout, position = {}, 0
        for index in kept:
            layout[index] = position
            position += fields[index].length
        self.item_size = position
        self.sources = {name: [Source(f"f{i}", layout[i], fields[i].length, conv)
                               for i, conv in present] for name, present in chosen.items()}
        self.init_source = (Source(f"f{self.init_index}", layout[self.init_index], 8, "msec")
                            if self.init_index is not None else None)
        names, formats, offs = [], [], []
        for index in used:
            names.append(f"f{index}")
            formats.append(_raw_format(fields[index].length, conversion_of(fields[index])))
            offs.append(layout[index])
        self.dtype = np.dtype({"names": names, "formats": formats, "offsets": offs,
                               "itemsize": max(self.item_size, 1)})

    # --- per data set ---------------------------------------------------------------------
    def extract(self, data: bytes, start: int, end: int) -> tuple[bytes, int]:
        """The records of one data set body as bytes of this plan's layout, and their count.
        Raises ValueError when a variable-length record runs past the end of the set."""
        if self.fixed:
            length = self.record_length
            if length == 0:
                return b"", 0
            count = (end - start) // length
            return data[start:start + count * length], count
        return self._compact(data, start, end)

    def _compact(self, data: bytes, start: int, end: int) -> tuple[bytes, int]:
        used = set(self.used)
        out: list[bytes] = []
        count = 0
        for fields in walk_records(self.template_lengths, self.min_length, data, start, end):
            out += [data[position:position + length]
                    for index, (position, length) in enumerate(fields) if index in used]
            count += 1
        return b"".join(out), count

    # --- many data sets at once -----------------------------------------------------------
    def columns(self, raw: bytes, counts: np.ndarray, export_ms: np.ndarray,
                boot_ms: np.ndarray) -> dict[str, np.ndarray]:
        """UniRec columns of all records in `raw` (the concatenated extracts of data sets with
        `counts` records each; per set its message's export time and the exporter's boot time,
        -1 when unknown)."""
        total = int(counts.sum())
        records = np.frombuffer(raw, dtype=self.dtype, count=total)
        context = _Context(counts, export_ms, boot_ms, records, self)
        out: dict[str, np.ndarray] = {}
        for name, sources in self.sources.items():
            raw_values = _raw_values(records, sources[0])
            value = _convert(name, sources[0], raw_values, context)
            if len(sources) > 1:
                zero = _is_zero(raw_values)
                for source in sources[1:]:
                    if not zero.any():
                        break
                    raw_values = _raw_values(records, source)
                    value = np.where(zero, _convert(name, source, raw_values, context), value)
                    zero &= _is_zero(raw_values)
            out[name] = value
        return out


class _Context:
    """Per-record export and boot times, built only when a relative time needs them, and
    then once (both times of a flow may be relative)."""

    def __init__(self, counts, export_ms, boot_ms, records, plan: DecodePlan):
        self.counts, self.export_ms_sets, self.boot_ms_sets = counts, export_ms, boot_ms
        self.records, self.plan = records, plan

    @functools.cached_property
    def export_ms(self) -> np.ndarray:
        return np.repeat(self.export_ms_sets, self.counts)

    @functools.cached_property
    def boot_ms(self) -> np.ndarray:
        boot = self.boot_ms_sets.copy()
        if self.plan.init_source is not None:       # systemInitTimeMilliseconds per record
            per_record = _raw_values(self.records, self.plan.init_source).astype(np.int64)
            return np.where(per_record > 0, per_record, np.repeat(boot, self.counts))
        unknown = boot < 0
        if unknown.any():   # assume the latest end uptime of each set is its export time
            uptime = [s for name in ("TIME_LAST", "TIME_FIRST")
                      for s in self.plan.sources.get(name, []) if s.conversion == "uptime"]
            latest = np.zeros(len(boot), dtype=np.int64)
            if uptime:
                values = _raw_values(self.records, uptime[0]).astype(np.int64)
                starts = np.concatenate(([0], np.cumsum(self.counts)[:-1]))
                latest = np.maximum.reduceat(values, starts) if len(values) else latest
            boot = np.where(unknown, self.export_ms_sets - latest, boot)
        return np.repeat(boot, self.counts)


def walk_records(lengths: list[int], min_length: int, data: bytes, start: int,
                 end: int) -> Iterator[list[tuple[int, int]]]:
    """The records of a set of a template with variable-length fields (`lengths`: the
    template's field lengths, VARIABLE where the record gives it): per record, each field's
    (position, length). ValueError where a record runs past the set's end."""
    position = start
    while end - position >= max(min_length, 1):
        fields = []
        for length in lengths:
            if length == VARIABLE:
                if position >= end:
                    raise ValueError("variable-length field past the end of the set")
                length = data[position]
                position += 1
                if length == 255:
                    if position + 2 > end:
                        raise ValueError("variable-length field past the end of the set")
                    length = int.from_bytes(data[position:position + 2], "big")
                    position += 2
            if position + length > end:
                raise ValueError("record runs past the end of the set")
            fields.append((position, length))
            position += length
        yield fields


def _raw_format(length: int, conversion: str | None) -> str:
    if conversion in ("ipv4", "ipv6", "mac"):
        return f"V{length}"
    if length in (1, 2, 4, 8):
        return f">u{length}"
    return f"V{length}"


def _raw_values(records: np.ndarray, source: Source) -> np.ndarray:
    column = records[source.name]
    if column.dtype.kind == "V":
        column = np.ascontiguousarray(column)
        if source.conversion in ("ipv4", "ipv6", "mac"):
            return column
        octets = column.view(np.uint8).reshape(len(column), source.length).astype(np.uint64)
        value = np.zeros(len(column), dtype=np.uint64)
        for i in range(source.length):
            value = (value << np.uint64(8)) | octets[:, i]
        return value
    return column


def _is_zero(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "V":
        return ~values.view(np.uint8).reshape(len(values), -1).any(axis=1)
    return values == 0


def _convert(name: str, source: Source, values: np.ndarray, context: _Context) -> np.ndarray:
    conversion, target = source.conversion, TARGET_DTYPES[name]
    count = len(values)
    if conversion == "ipv4":
        if target.kind != "V" or target.itemsize != 16:
            return np.zeros(count, dtype=target)
        out = np.empty((count, 16), dtype=np.uint8)
        out[:, :8] = 0
        out[:, 8:12] = values.view(np.uint8).reshape(count, 4)
        out[:, 12:] = 0xFF
        return out.view("V16").reshape(count)
    if conversion in ("ipv6", "mac"):
        if values.dtype != target:
            return np.zeros(count, dtype=target)
        return values
    if target.kind == "V":                       # a number for an address field: ignore
        return np.zeros(count, dtype=target)
    if target == np.int64:                       # time
        return np.maximum(_time_ns(conversion, values, context), 0)
    if conversion == "flags":
        return (values & 0xFF).astype(target)
    if conversion in ("uint", "uptime", "delta_us", "sec", "msec"):
        limit = np.iinfo(target).max
        if values.dtype.itemsize > target.itemsize:
            values = np.minimum(values, limit)
        return values.astype(target)
    return np.zeros(count, dtype=target)


def _time_ns(conversion: str, values: np.ndarray, context: _Context) -> np.ndarray:
    if conversion == "sec":
        return values.astype(np.int64) * 1_000_000_000
    if conversion == "msec":
        return values.astype(np.int64) * 1_000_000
    if conversion in ("ntp_us", "ntp_ns"):
        values = values.astype(np.uint64)
        seconds = (values >> np.uint64(32)).astype(np.int64) - NTP_TO_UNIX
        fraction = values & np.uint64(0xFFFFFFFF)
        if conversion == "ntp_us":               # RFC 7011 6.1.9: lower 11 bits ignored
            fraction &= np.uint64(0xFFFFF800)
        nanos = ((fraction * np.uint64(1_000_000_000)) >> np.uint64(32)).astype(np.int64)
        return seconds * 1_000_000_000 + nanos
    if conversion == "uptime":
        return (context.boot_ms + values.astype(np.int64)) * 1_000_000
    if conversion == "delta_us":
        return context.export_ms * 1_000_000 - values.astype(np.int64) * 1_000
    return np.zeros(len(values), dtype=np.int64)
