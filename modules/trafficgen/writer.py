"""Classic pcap output (microsecond timestamps, Ethernet), packets in time order."""

from __future__ import annotations

import struct
from typing import BinaryIO

from .packets import Packet

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65_535, 1)


def time_ordered(packets: list[Packet]) -> list[Packet]:
    """Sorted by time; packets of equal time keep the order they were built in (stable)."""
    return sorted(packets, key=lambda packet: packet.time_us)


def write_pcap(stream: BinaryIO, packets: list[Packet]) -> int:
    """Write the capture (packets already in time order); returns the bytes written."""
    parts = [PCAP_HEADER]
    for time_us, frame, _tag in packets:
        seconds, micros = divmod(time_us, 1_000_000)
        parts.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)))
        parts.append(frame)
    data = b"".join(parts)
    stream.write(data)
    return len(data)
