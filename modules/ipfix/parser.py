"""The message parser: IPFIX (RFC 7011), NetFlow v9 (RFC 3954) and v5 messages on the wire.

It walks one message (header, then sets) and reports what it finds to a handler (the
collector): template and options template records, withdrawals, data sets (as byte ranges, not
decoded here), v5 records. A message that breaks the format raises Malformed with the reason;
the sets before the broken one have been reported already.

    IPFIX header  version=10 length exportTime sequence observationDomainId      (16 bytes)
    v9 header     version=9 count sysUpTime unixSecs sequence sourceId             (20 bytes)
    v5 header     version=5 count sysUpTime unixSecs unixNsecs flowSequence engine (24 bytes)
    set           setId length body        (IPFIX: 2 template, 3 options, >= 256 data;
                                             v9: 0 template, 1 options, >= 256 data)
"""

from __future__ import annotations

import struct
from typing import Protocol

from .templates import Template, TemplateField

IPFIX_HEADER = struct.Struct(">HHIII")
V9_HEADER = struct.Struct(">HHIIII")
V5_HEADER = struct.Struct(">HHIIIIBBH")
V5_RECORD_LENGTH = 48
SET_HEADER = struct.Struct(">HH")
PAIR = struct.Struct(">HH")
TRIPLE = struct.Struct(">HHH")
PEN = struct.Struct(">I")
V9_SCOPE = -1            # enterprise marker of NetFlow v9 options scope fields (not elements)
MIN_DATA_SET_ID = 256


class Malformed(ValueError):
    """The message does not follow the format; the text says where."""


class Handler(Protocol):
    def on_template(self, odid: int, template: Template) -> None: ...

    def on_withdraw(self, odid: int, template_id: int, options: bool) -> None: ...

    def on_data(self, odid: int, template_id: int, data: bytes, start: int, end: int,
                export_ms: int, uptime_ms: int | None) -> None: ...

    def on_v5(self, odid: int, data: bytes, start: int, count: int, export_ms: int,
              uptime_ms: int) -> None: ...

    def on_unknown_set(self, odid: int, set_id: int) -> None: ...


def message_length(data: bytes, start: int) -> int:
    """Length of the IPFIX or v5 message whose header (4 bytes at least) starts at `start`,
    as the header tells it (a v9 header does not give it); Malformed: no sane length."""
    version, second = PAIR.unpack_from(data, start)
    if version == 10:
        if second < 16:
            raise Malformed(f"IPFIX message length {second} < 16")
        return second
    if version == 5:
        if not 1 <= second <= 30:
            raise Malformed(f"NetFlow v5 count {second}")
        return V5_HEADER.size + second * V5_RECORD_LENGTH
    raise Malformed(f"no message length for version {version}")


def parse_message(data: bytes, start: int, end: int, handler: Handler, now: float) -> tuple:
    """Parse the message in data[start:end]; returns (version, odid, sequence)."""
    if end - start < 4:
        raise Malformed(f"{end - start} bytes: too short for a message header")
    version = PAIR.unpack_from(data, start)[0]
    if version == 10:
        return _ipfix(data, start, end, handler, now)
    if version == 9:
        return _v9(data, start, end, handler, now)
    if version == 5:
        return _v5(data, start, end, handler)
    raise Malformed(f"unknown version {version}")


def _ipfix(data: bytes, start: int, end: int, handler: Handler, now: float) -> tuple:
    if end - start < IPFIX_HEADER.size:
        raise Malformed(f"IPFIX message of {end - start} bytes: header truncated")
    _, length, export_time, sequence, odid = IPFIX_HEADER.unpack_from(data, start)
    if length < IPFIX_HEADER.size:
        raise Malformed(f"IPFIX header length {length} < 16")
    if length > end - start:
        raise Malformed(f"IPFIX message truncated: header says {length} bytes, got "
                        f"{end - start}")
    end = start + length
    export_ms = export_time * 1000
    position = start + IPFIX_HEADER.size
    while position < end:
        if end - position < SET_HEADER.size:
            raise Malformed(f"{end - position} bytes after the last set")
        set_id, set_length = SET_HEADER.unpack_from(data, position)
        if set_length < SET_HEADER.size or position + set_length > end:
            raise Malformed(f"set {set_id} length {set_length} at offset {position - start} "
                            f"runs past the message end ({length})")
        body, set_end = position + SET_HEADER.size, position + set_length
        if set_id >= MIN_DATA_SET_ID:
            handler.on_data(odid, set_id, data, body, set_end, export_ms, None)
        elif set_id in (2, 3):
            _ipfix_templates(data, body, set_end, set_id == 3, odid, handler, now)
        else:
            handler.on_unknown_set(odid, set_id)
        position = set_end
    return 10, odid, sequence


def _ipfix_templates(data: bytes, position: int, end: int, options: bool, odid: int,
                     handler: Handler, now: float) -> None:
    kind = "options template" if options else "template"
    while end - position >= 4:
        template_id, count = PAIR.unpack_from(data, position)
        position += 4
        if count == 0:                          # withdrawal (RFC 7011 section 8.1)
            if template_id < MIN_DATA_SET_ID and template_id != (3 if options else 2):
                raise Malformed(f"withdrawal of {kind} id {template_id}")
            handler.on_withdraw(odid, template_id, options)
            continue
        if template_id < MIN_DATA_SET_ID:
            raise Malformed(f"{kind} id {template_id} < 256")
        scope = 0
        if options:
            if end - position < 2:
                raise Malformed(f"{kind} {template_id} truncated")
            scope = int.from_bytes(data[position:position + 2], "big")
            position += 2
            if scope == 0 or scope > count:
                raise Malformed(f"{kind} {template_id}: scope field count {scope} of {count}")
        fields = []
        for _ in range(count):
            if end - position < 4:
                raise Malformed(f"{kind} {template_id} truncated after {len(fields)} of "
                                f"{count} fields")
            element_id, length = PAIR.unpack_from(data, position)
            position += 4
            pen = 0
            if element_id & 0x8000:
                if end - position < 4:
                    raise Malformed(f"{kind} {template_id}: enterprise number truncated")
                pen = PEN.unpack_from(data, position)[0]
                position += 4
                element_id &= 0x7FFF
            if length == 0:
                raise Malformed(f"{kind} {template_id}: field {element_id} has length 0")
            fields.append(TemplateField(pen, element_id, length))
        handler.on_template(odid, Template(template_id, tuple(fields), scope, now))


def _v9(data: bytes, start: int, end: int, handler: Handler, now: float) -> tuple:
    if end - start < V9_HEADER.size:
        raise Malformed(f"NetFlow v9 message of {end - start} bytes: header truncated")
    _, _count, uptime, unix_secs, sequence, source_id = V9_HEADER.unpack_from(data, start)
    export_ms = unix_secs * 1000
    position = start + V9_HEADER.size
    while end - position >= SET_HEADER.size:
        set_id, set_length = SET_HEADER.unpack_from(data, position)
        if set_length < SET_HEADER.size or position + set_length > end:
            raise Malformed(f"flowset {set_id} length {set_length} at offset "
                            f"{position - start} runs past the message end ({end - start})")
        body, set_end = position + SET_HEADER.size, position + set_length
        if set_id >= MIN_DATA_SET_ID:
            handler.on_data(source_id, set_id, data, body, set_end, export_ms, uptime)
        elif set_id == 0:
            _v9_templates(data, body, set_end, source_id, handler, now)
        elif set_id == 1:
            _v9_options(data, body, set_end, source_id, handler, now)
        else:
            handler.on_unknown_set(source_id, set_id)
        position = set_end
    return 9, source_id, sequence


def _v9_templates(data: bytes, position: int, end: int, source_id: int, handler: Handler,
                  now: float) -> None:
    while end - position >= 4:
        template_id, count = PAIR.unpack_from(data, position)
        position += 4
        if count == 0:                         # padding
            break
        if template_id < MIN_DATA_SET_ID:
            raise Malformed(f"v9 template id {template_id} < 256")
        if end - position < 4 * count:
            raise Malformed(f"v9 template {template_id} truncated: {count} fields")
        fields = []
        for _ in range(count):
            element_id, length = PAIR.unpack_from(data, position)
            position += 4
            if length == 0:
                raise Malformed(f"v9 template {template_id}: field {element_id} has length 0")
            fields.append(TemplateField(0, element_id, length))
        handler.on_template(source_id, Template(template_id, tuple(fields), 0, now))


def _v9_options(data: bytes, position: int, end: int, source_id: int, handler: Handler,
                now: float) -> None:
    while end - position >= 6:
        template_id, scope_length, option_length = TRIPLE.unpack_from(data, position)
        position += 6
        if template_id < MIN_DATA_SET_ID:
            if template_id == 0 and scope_length == 0:
                break                          # padding
            raise Malformed(f"v9 options template id {template_id} < 256")
        if scope_length % 4 or option_length % 4 or scope_length == 0:
            raise Malformed(f"v9 options template {template_id}: scope length {scope_length},"
                            f" option length {option_length}")
        if end - position < scope_length + option_length:
            raise Malformed(f"v9 options template {template_id} truncated")
        fields = []
        for index in range((scope_length + option_length) // 4):
            element_id, length = PAIR.unpack_from(data, position)
            position += 4
            if length == 0:
                raise Malformed(f"v9 options template {template_id}: zero-length field")
            pen = V9_SCOPE if index < scope_length // 4 else 0
            fields.append(TemplateField(pen, element_id, length))
        handler.on_template(source_id, Template(template_id, tuple(fields),
                                                scope_length // 4, now))


def _v5(data: bytes, start: int, end: int, handler: Handler) -> tuple:
    if end - start < V5_HEADER.size:
        raise Malformed(f"NetFlow v5 message of {end - start} bytes: header truncated")
    (_, count, uptime, unix_secs, unix_nsecs, sequence, engine_type, engine_id,
     _sampling) = V5_HEADER.unpack_from(data, start)
    if not 1 <= count <= 30:
        raise Malformed(f"NetFlow v5 count {count} not in 1..30")
    if end - start < V5_HEADER.size + count * V5_RECORD_LENGTH:
        raise Malformed(f"NetFlow v5 message truncated: {count} records need "
                        f"{V5_HEADER.size + count * V5_RECORD_LENGTH} bytes, got {end - start}")
    engine = engine_type << 8 | engine_id
    handler.on_v5(engine, data, start + V5_HEADER.size, count,
                  unix_secs * 1000 + unix_nsecs // 1_000_000, uptime)
    return 5, engine, sequence
