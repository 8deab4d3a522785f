"""The IPFIX encoder: UniRec batches to IPFIX messages (templates and data sets).

Fields of the input template with a row in mapping.EXPORT_ELEMENTS are exported, in template
order; the others are left out. IPFIX templates fix the address family, so each UniRec template
becomes two IPFIX templates: one with IPv4 address elements, one with IPv6 ones (a record with
one IPv4 and one IPv6 address goes in the IPv6 one, its IPv4 address as ::ffff:a.b.c.d).
Records are laid out by one numpy structured (big-endian) array per batch and cut into
messages of at most `max_message` bytes; the sequence number counts the data records sent
before each message (RFC 7011 section 3.1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from unirec import RecordBatch, Template
from unirec.ipaddr import ipv4_mask
from unirec.standard_fields import STANDARD_FIELDS

from .elements import ie
from .mapping import EXPORT_ELEMENTS, EXPORT_IPV6_ELEMENTS, EXPORT_LENGTHS
from .parser import IPFIX_HEADER, SET_HEADER

_V4_MAPPED = np.array([0] * 10 + [0xFF, 0xFF], dtype=np.uint8)


@dataclass
class ExportTemplate:
    template_id: int
    fields: list[tuple[str, int, int, int]]    # (UniRec field, enterprise, element id, length)
    ipv6: bool

    def __post_init__(self) -> None:
        self.dtype = np.dtype({
            "names": [name for name, *_ in self.fields],
            "formats": [_wire_format(name, length) for name, _, _, length in self.fields],
            "offsets": list(np.cumsum([0] + [length for *_, length in self.fields])[:-1]),
            "itemsize": self.record_length})
        record = struct.pack(">HH", self.template_id, len(self.fields))
        for _, pen, element_id, length in self.fields:
            if pen:
                record += struct.pack(">HHI", element_id | 0x8000, length, pen)
            else:
                record += struct.pack(">HH", element_id, length)
        self.record = record

    @property
    def record_length(self) -> int:
        return sum(length for *_, length in self.fields)


def _wire_format(name: str, length: int) -> str:
    if name in ("SRC_IP", "DST_IP", "SRC_MAC", "DST_MAC"):
        return f"V{length}"
    return f">u{length}"


def export_fields(template: Template, ipv6: bool) -> list[tuple[str, int, int, int]]:
    fields = []
    for field in template.fields:
        name = field.name
        if name not in EXPORT_ELEMENTS or field.type.name != _expected_type(name):
            continue
        if ipv6 and name in EXPORT_IPV6_ELEMENTS:
            element, length = EXPORT_IPV6_ELEMENTS[name]
        else:
            element, length = EXPORT_ELEMENTS[name], EXPORT_LENGTHS[name]
        pen, element_id = ie(element)
        fields.append((name, pen, element_id, length))
    return fields


def _expected_type(name: str) -> str:
    return STANDARD_FIELDS[name]


class IpfixEncoder:
    def __init__(self, odid: int = 0, max_message: int = 1400, template_every: int = 0):
        if max_message < 256:
            raise ValueError(f"message size {max_message} too small (>= 256 bytes)")
        self.odid = odid
        self.max_message = min(max_message, 65535)
        self.template_every = template_every      # template set in every Nth message (0: no)
        self.sequence = 0
        self.next_id = 256
        self.source: Template | None = None
        self.templates: list[ExportTemplate] = []
        self.skipped: list[str] = []
        self.messages_since_templates = 0

    def use_template(self, template: Template) -> None:
        """Export batches of this UniRec template from now on (new template ids)."""
        if template == self.source:
            return
        self.source = template
        has_ip = any(f.name in EXPORT_IPV6_ELEMENTS for f in template.fields)
        variants = [False, True] if has_ip else [False]
        self.templates = []
        for ipv6 in variants:
            self.templates.append(ExportTemplate(self.next_id, export_fields(template, ipv6),
                                                 ipv6))
            self.next_id = self.next_id + 1 if self.next_id < 65535 else 256
        self.skipped = [f.name for f in template.fields if f.name not in EXPORT_ELEMENTS]

    def template_set(self) -> bytes:
        body = b"".join(t.record for t in self.templates)
        return SET_HEADER.pack(2, SET_HEADER.size + len(body)) + body

    def header(self, length: int, export_time: int) -> bytes:
        return IPFIX_HEADER.pack(10, length, export_time & 0xFFFFFFFF, self.sequence,
                                 self.odid)

    def templates_message(self, export_time: int) -> bytes:
        templates = self.template_set()
        self.messages_since_templates = 0
        return self.header(IPFIX_HEADER.size + len(templates), export_time) + templates

    def encode(self, batch: RecordBatch, export_time: int,
               with_templates: bool = False) -> list[bytes]:
        """Messages carrying the batch's records (and the templates first when asked, or
        when `template_every` messages went out since they were last sent)."""
        if batch.template != self.source:
            self.use_template(batch.template)
        messages: list[bytes] = []
        first_templates = with_templates
        for template, records in self._groups(batch):
            data = memoryview(records).cast("B")      # sliced without copies below
            length = template.record_length
            position = 0
            while position < len(data):
                templates = b""
                if first_templates or (self.template_every and
                                       self.messages_since_templates >= self.template_every):
                    templates = self.template_set()
                    self.messages_since_templates = 0
                    first_templates = False
                room = self.max_message - IPFIX_HEADER.size - len(templates) - SET_HEADER.size
                count = max(room // length, 1) if length else 0
                chunk = data[position:position + count * length]
                set_bytes = SET_HEADER.pack(template.template_id, SET_HEADER.size + len(chunk))
                total = IPFIX_HEADER.size + len(templates) + len(set_bytes) + len(chunk)
                messages.append(b"".join((self.header(total, export_time), templates, set_bytes,
                                          chunk)))
                self.sequence = (self.sequence + len(chunk) // length) & 0xFFFFFFFF
                self.messages_since_templates += 1
                position += len(chunk)
        if first_templates:
            messages.append(self.templates_message(export_time))
        return messages

    def _groups(self, batch: RecordBatch):
        if not batch.length or not self.templates or not self.templates[0].record_length:
            return
        if len(self.templates) == 1:
            yield self.templates[0], self._records(batch, self.templates[0], None)
            return
        v4 = np.ones(batch.length, dtype=bool)
        for name in ("SRC_IP", "DST_IP"):
            if name in batch.template.index:
                v4 &= ipv4_mask(batch.column(name))
        for template, mask in ((self.templates[0], v4), (self.templates[1], ~v4)):
            if mask.all():
                yield template, self._records(batch, template, None)
            elif mask.any():
                yield template, self._records(batch, template, np.flatnonzero(mask))

    @staticmethod
    def _records(batch: RecordBatch, template: ExportTemplate, rows) -> np.ndarray:
        count = batch.length if rows is None else len(rows)
        out = np.empty(count, dtype=template.dtype)
        for name, *_ in template.fields:
            column = batch.column(name)
            if rows is not None:
                column = column[rows]
            if name in ("SRC_IP", "DST_IP"):
                octets = np.ascontiguousarray(column).view(np.uint8).reshape(count, 16)
                if template.ipv6:
                    v4 = ipv4_mask(column)
                    if v4.any():
                        octets = octets.copy()
                        address = octets[v4, 8:12].copy()
                        octets[v4, :12] = _V4_MAPPED
                        octets[v4, 12:] = address
                    out[name] = octets.view("V16").reshape(count)
                else:
                    out[name] = np.ascontiguousarray(octets[:, 8:12]).view("V4").reshape(count)
            elif name in ("SRC_MAC", "DST_MAC"):
                out[name] = column
            elif name in ("TIME_FIRST", "TIME_LAST"):
                out[name] = column // 1_000_000
            else:
                out[name] = column
        return out

