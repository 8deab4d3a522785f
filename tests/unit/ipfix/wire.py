"""Handmade IPFIX / NetFlow v9 / v5 messages for the parser tests (built field by field here,
independently of the encoder under test)."""

from __future__ import annotations

import socket
import struct

REVERSE = 29305


def field(element_id: int, length: int, pen: int = 0) -> bytes:
    if pen:
        return struct.pack(">HHI", element_id | 0x8000, length, pen)
    return struct.pack(">HH", element_id, length)


def template_record(template_id: int, fields: list[bytes]) -> bytes:
    return struct.pack(">HH", template_id, len(fields)) + b"".join(fields)


def options_template_record(template_id: int, scope: list[bytes], fields: list[bytes]) -> bytes:
    return struct.pack(">HHH", template_id, len(scope) + len(fields), len(scope)) + \
        b"".join(scope + fields)


def ipfix_set(set_id: int, body: bytes, pad: int = 0) -> bytes:
    body += b"\0" * pad
    return struct.pack(">HH", set_id, 4 + len(body)) + body


def ipfix_message(*sets: bytes, export_time: int = 1_700_000_000, sequence: int = 0,
                  odid: int = 0) -> bytes:
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), export_time, sequence, odid) + body


def v9_message(*flowsets: bytes, uptime: int = 100_000, unix_secs: int = 1_700_000_000,
               sequence: int = 0, source_id: int = 0, count: int = 1) -> bytes:
    return struct.pack(">HHIIII", 9, count, uptime, unix_secs, sequence, source_id) + \
        b"".join(flowsets)


def v5_message(records: list[bytes], uptime: int = 100_000, unix_secs: int = 1_700_000_000,
               unix_nsecs: int = 0, sequence: int = 0) -> bytes:
    return struct.pack(">HHIIIIBBH", 5, len(records), uptime, unix_secs, unix_nsecs, sequence,
                       0, 0, 0) + b"".join(records)


def v5_record(src: str, dst: str, sport: int, dport: int, proto: int, packets: int,
              octets: int, first: int, last: int, flags: int = 0, tos: int = 0) -> bytes:
    return struct.pack(">4s4s4sHHIIIIHHBBBBHHBBH", socket.inet_aton(src), socket.inet_aton(dst),
                       b"\0" * 4, 1, 2, packets, octets, first, last, sport, dport, 0, flags,
                       proto, tos, 0, 0, 24, 24, 0)


def ip4(text: str) -> bytes:
    return socket.inet_aton(text)


def ip6(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, text)


def u(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


# a basic uniflow IPv4 template: src, dst, sport, dport, proto, packets, bytes, start, end,
# flags (ms times)
BASIC_FIELDS = [field(8, 4), field(12, 4), field(7, 2), field(11, 2), field(4, 1), field(2, 8),
                field(1, 8), field(152, 8), field(153, 8), field(6, 1)]


def basic_record(src: str, dst: str, sport: int, dport: int, proto: int, packets: int,
                 octets: int, start_ms: int, end_ms: int, flags: int = 0) -> bytes:
    return ip4(src) + ip4(dst) + u(sport, 2) + u(dport, 2) + u(proto, 1) + u(packets, 8) + \
        u(octets, 8) + u(start_ms, 8) + u(end_ms, 8) + u(flags, 1)
