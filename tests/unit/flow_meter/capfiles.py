"""Writers of small pcap and pcapng files for the capture tests."""

from __future__ import annotations

import struct
from pathlib import Path

PCAP_MAGIC = {(False, "<"): 0xA1B2C3D4, (True, "<"): 0xA1B23C4D,
              (False, ">"): 0xA1B2C3D4, (True, ">"): 0xA1B23C4D}


def write_pcap(path: Path, packets, linktype=1, order="<", nano=False, snaplen=65535,
               modified=False) -> Path:
    """packets: (time_ns, bytes[, wire length]) tuples."""
    magic = 0xA1B2CD34 if modified else PCAP_MAGIC[(nano, order)]
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for item in packets:
        ts, data = item[0], item[1]
        wire = item[2] if len(item) > 2 else len(data)
        sec, frac = divmod(ts, 1_000_000_000)
        frac = frac if nano else frac // 1000
        out.append(struct.pack(order + "IIII", sec, frac, len(data), wire))
        if modified:
            out.append(struct.pack(order + "iHBB", 0, 0, 0, 0))
        out.append(data)
    path.write_bytes(b"".join(out))
    return path


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def _block(order: str, kind: int, body: bytes) -> bytes:
    body = _pad(body)
    length = 12 + len(body)
    return struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)


def _options(order: str, options: list[tuple[int, bytes]]) -> bytes:
    if not options:
        return b""
    out = b"".join(struct.pack(order + "HH", code, len(value)) + _pad(value)
                   for code, value in options)
    return out + struct.pack(order + "HH", 0, 0)


def shb(order="<", major=1) -> bytes:
    body = struct.pack(order + "IHHq", 0x1A2B3C4D, major, 0, -1)
    return _block(order, 0x0A0D0D0A, body + _options(order, [(4, b"test writer")]))


def idb(linktype=1, order="<", snaplen=0, tsresol: int | None = None,
        tsoffset: int | None = None) -> bytes:
    options = [(2, b"eth0")]
    if tsresol is not None:
        options.append((9, bytes([tsresol])))
    if tsoffset is not None:
        options.append((14, struct.pack(order + "q", tsoffset)))
    body = struct.pack(order + "HHI", linktype, 0, snaplen) + _options(order, options)
    return _block(order, 1, body)


def epb(interface: int, ticks: int, data: bytes, order="<", wire: int | None = None,
        comment: bytes = b"") -> bytes:
    body = struct.pack(order + "IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(data),
                       len(data) if wire is None else wire) + _pad(data)
    return _block(order, 6, body + _options(order, [(1, comment)] if comment else []))


def spb(data: bytes, order="<", wire: int | None = None) -> bytes:
    return _block(order, 3, struct.pack(order + "I", len(data) if wire is None else wire)
                  + data)


def opb(interface: int, ticks: int, data: bytes, order="<") -> bytes:
    body = struct.pack(order + "HHIIII", interface, 0, ticks >> 32, ticks & 0xFFFFFFFF,
                       len(data), len(data)) + data
    return _block(order, 2, body)


def other_block(kind: int, order="<", body=b"\x01\x02\x03\x04") -> bytes:
    return _block(order, kind, body)
