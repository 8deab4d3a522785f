"""The block walk of a pcapng file: where each packet's bytes are, its captured and original
lengths, its timestamp (ns) and link type, chunk by chunk (a chunk holds one link type).

Several sections (either byte order), several interfaces, Enhanced/Simple/Obsolete packet
blocks, `if_tsresol` and `if_tsoffset`; other blocks are skipped. A truncated or corrupt
block ends the walk (what came before it counts). Standard library only: flow_meter runs it
in a process of its own for large files (see walker_process.py), in its own process for
small ones. As a process (main): arguments FD SIZE CHUNK (FD: the file, open); frames on
stdout, native int64: count n >= 1, the raw link type, then n data offsets, n captured
lengths, n original lengths and n timestamps; at the end -1 and the lines to log (UTF-8).
"""

from __future__ import annotations

import mmap
import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from .pcap_walk import END_OF_WALK, release_pages

_SHB, _IDB, _OPB, _SPB, _EPB = 0x0A0D0D0A, 1, 2, 3, 6
_NS_MIN, _NS_MAX = -(1 << 63), (1 << 63) - 1


@dataclass
class _Interface:
    linktype: int
    snaplen: int
    multiplier: int = 1000  # ticks -> ns: ts * multiplier // divisor + offset_ns
    divisor: int = 1
    offset_ns: int = 0

    def ns(self, ticks: int) -> int:
        """Nanoseconds since the epoch, clamped to int64 (a corrupt resolution or offset
        must not break the int64 time columns)."""
        value = ticks * self.multiplier // self.divisor + self.offset_ns
        return value if _NS_MIN <= value <= _NS_MAX else max(_NS_MIN, min(value, _NS_MAX))


def _interface(data, offset: int, length: int, order: str) -> _Interface:
    linktype, _, snaplen = struct.unpack_from(order + "HHI", data, offset + 8)
    iface = _Interface(linktype, snaplen)
    position, end = offset + 16, offset + length - 4
    while position + 4 <= end:
        code, size = struct.unpack_from(order + "HH", data, position)
        value = position + 4
        if code == 0 or value + size > end:
            break
        if code == 9 and size >= 1:  # if_tsresol
            resolution = data[value]
            if resolution & 0x80:
                iface.multiplier, iface.divisor = 1_000_000_000, 1 << (resolution & 0x7F)
            elif resolution <= 9:
                iface.multiplier, iface.divisor = 10 ** (9 - resolution), 1
            else:
                iface.multiplier, iface.divisor = 1, 10 ** (resolution - 9)
        elif code == 14 and size >= 8:  # if_tsoffset, seconds
            iface.offset_ns = struct.unpack_from(order + "q", data, value)[0] * 1_000_000_000
        position = value + (size + 3) // 4 * 4
    return iface


@dataclass
class Frame:
    """The packets of one chunk: one link type (as the file states it), then per packet."""

    linktype: int
    offsets: list[int]
    caplens: list[int]
    wires: list[int]
    times: list[int]
    end: int = 0          # the offset after the chunk's last block


def walk(data, size: int, chunk: int, notes: list[str]) -> Iterator[Frame]:
    """The frames of the first `size` bytes of `data`; what the log should say (skipped
    packets, why the walk stopped early) is appended to `notes` at the end."""
    order = "<"
    head = struct.Struct("<II")
    interfaces: list[_Interface] = []
    frame: Frame | None = None
    offset = 0
    problem = ""
    unknown_interface = last_ts = last_end = 0
    while offset + 12 <= size:
        block_type, length = head.unpack_from(data, offset)
        if block_type == _SHB:
            magic = data[offset + 8:offset + 12]
            if magic == b"\x4d\x3c\x2b\x1a":
                order = "<"
            elif magic == b"\x1a\x2b\x3c\x4d":
                order = ">"
            else:
                problem = f"bad byte-order magic in the section header at byte {offset}"
                break
            head = struct.Struct(order + "II")
            block_type, length = head.unpack_from(data, offset)
            if length < 28 or offset + length > size:
                problem = f"truncated or corrupt section header at byte {offset}"
                break
            major = struct.unpack_from(order + "H", data, offset + 12)[0]
            if major != 1:
                problem = f"unsupported pcapng version {major} at byte {offset}"
                break
            interfaces = []
        if length < 12 or length % 4 or offset + length > size:
            problem = f"truncated or corrupt block at byte {offset}"
            break
        if block_type in (_EPB, _OPB):
            if length < 32:
                problem = f"corrupt packet block at byte {offset}"
                break
            if block_type == _EPB:
                number, high, low, caplen, wire = struct.unpack_from(order + "IIIII", data,
                                                                     offset + 8)
            else:
                number, _, high, low, caplen, wire = struct.unpack_from(order + "HHIIII", data,
                                                                        offset + 8)
            if caplen > length - 32:
                problem = f"packet longer than its block at byte {offset}"
                break
            if number >= len(interfaces):
                unknown_interface += 1
                offset += length
                continue
            iface = interfaces[number]
            ts = (high << 32 | low) * iface.multiplier // iface.divisor + iface.offset_ns
            if not _NS_MIN <= ts <= _NS_MAX:
                ts = iface.ns((high << 32) | low)   # clamped
            start = offset + 28
        elif block_type == _SPB:
            if length < 16:
                problem = f"corrupt packet block at byte {offset}"
                break
            if not interfaces:
                unknown_interface += 1
                offset += length
                continue
            iface = interfaces[0]
            wire = struct.unpack_from(order + "I", data, offset + 8)[0]
            caplen = min(wire, length - 16)
            if iface.snaplen:
                caplen = min(caplen, iface.snaplen)
            ts = last_ts  # a simple packet block has no timestamp: the previous packet's
            start = offset + 12
        else:
            if block_type == _IDB:
                if length < 20:
                    problem = f"corrupt interface block at byte {offset}"
                    break
                interfaces.append(_interface(data, offset, length, order))
            offset += length
            continue
        offset += length
        last_ts = ts
        if frame is not None and frame.linktype != iface.linktype:
            frame.end = last_end
            yield frame
            frame = None
        if frame is None:
            frame = Frame(iface.linktype, [], [], [], [])
            add_offset, add_caplen = frame.offsets.append, frame.caplens.append
            add_wire, add_time = frame.wires.append, frame.times.append
        add_offset(start)
        add_caplen(caplen)
        add_wire(wire)
        add_time(ts)
        last_end = offset
        if len(frame.offsets) >= chunk:        # full: out at once, not at the next packet
            frame.end = last_end
            yield frame
            frame = None
    else:
        if offset != size:
            problem = f"{size - offset} trailing bytes at byte {offset}"
    if frame is not None:
        frame.end = last_end
        yield frame
    if unknown_interface:
        notes.append(f"{unknown_interface} packets of undeclared interfaces skipped")
    if problem:
        notes.append(f"reading stopped early: {problem}")


def main(argv: list[str]) -> int:
    fd, size, chunk = int(argv[0]), int(argv[1]), int(argv[2])
    out = sys.stdout.buffer
    notes: list[str] = []
    with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped:
        try:
            for frame in walk(mapped, min(size, len(mapped)), chunk, notes):
                out.write(array("q", [len(frame.offsets), frame.linktype, *frame.offsets,
                                      *frame.caplens, *frame.wires, *frame.times]))
                out.flush()   # at once: a walker killed later loses no frame
                release_pages(mapped, frame.end)
            out.write(array("q", [END_OF_WALK]))
            out.write("\n".join(notes).encode())
            out.flush()
        except BrokenPipeError:   # the reader stopped early (-c, a signal): nothing to say
            return 0
    return 0
