"""tls plugin: SNI, version and ALPN from the TLS ClientHello (parsed by hand: only the few
fields needed, with every length checked)."""

from __future__ import annotations

import struct

import numpy as np

from .plugin_base import FlowPlugin

_SNI, _ALPN, _SUPPORTED_VERSIONS = 0, 16, 43


class TlsPlugin(FlowPlugin):
    name = "tls"
    fields = "uint16 TLS_VERSION,string TLS_SNI,string TLS_ALPN"
    description = "ClientHello server name, version and ALPN protocols"

    def wants(self, columns) -> np.ndarray:
        return (columns.protocol == 6) & (columns.payload_offset >= 0)

    def update(self, flow, reverse, columns, position, packets) -> bool:
        if self.stored(flow) is not None:
            return False
        data = self.payload(columns, position, packets)
        if len(data) < 6 or data[0] != 0x16 or data[5] != 0x01:
            return False
        try:
            values = parse_client_hello(data)
        except (struct.error, IndexError, UnicodeDecodeError):
            return False
        self.store(flow, values)
        return False


def parse_client_hello(data: bytes) -> dict:
    """Record (5) + handshake header (4) + version (2) + random (32) + session id + ciphers +
    compression + extensions."""
    version = struct.unpack_from(">H", data, 9)[0]
    position = 9 + 2 + 32
    position += 1 + data[position]                                        # session id
    position += 2 + struct.unpack_from(">H", data, position)[0]           # cipher suites
    position += 1 + data[position]                                        # compression
    values = {"TLS_VERSION": version, "TLS_SNI": "", "TLS_ALPN": ""}
    if position + 2 > len(data):
        return values
    end = min(len(data), position + 2 + struct.unpack_from(">H", data, position)[0])
    position += 2
    while position + 4 <= end:
        kind, length = struct.unpack_from(">HH", data, position)
        body = data[position + 4:position + 4 + length]
        if kind == _SNI and len(body) >= 5:
            name_length = struct.unpack_from(">H", body, 3)[0]
            values["TLS_SNI"] = body[5:5 + name_length].decode("ascii", "replace")
        elif kind == _ALPN and len(body) >= 2:
            protocols, offset = [], 2
            while offset < len(body):
                size = body[offset]
                protocols.append(body[offset + 1:offset + 1 + size].decode("ascii", "replace"))
                offset += 1 + size
            values["TLS_ALPN"] = ";".join(protocols)
        elif kind == _SUPPORTED_VERSIONS and len(body) >= 3:
            offered = struct.unpack_from(f">{body[0] // 2}H", body, 1)
            if 0x0304 in offered:
                values["TLS_VERSION"] = 0x0304
        position += 4 + length
    return values
