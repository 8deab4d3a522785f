"""pcapng files, read by a small block reader on the memory-mapped file: libpcap refuses
pcapng files whose interfaces differ in link type or snapshot length, and pypcap does not
expose the original length. Several sections (either byte order), several interfaces,
Enhanced/Simple/Obsolete packet blocks, `if_tsresol` and `if_tsoffset`; other blocks are
skipped. A truncated or corrupt block ends the file with a warning (what came before it is
read)."""

from __future__ import annotations

import logging
import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from .chunks import CaptureError, PacketChunk, apply_bpf, compile_bpf, normalize_linktype

log = logging.getLogger("flow_meter.capture")

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


def read_pcapng(path: str, chunk: int, bpf: str) -> Iterator[PacketChunk]:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 12:
            raise CaptureError(f"{path}: truncated pcapng file")
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield from _pcapng_blocks(path, mapped, chunk, bpf)
        finally:
            mapped.close()


def _pcapng_blocks(path: str, data: mmap.mmap, chunk: int, bpf: str) -> Iterator[PacketChunk]:
    end = len(data)
    order = "<"
    head = struct.Struct("<II")
    interfaces: list[_Interface] = []
    filters: dict[int, object] = {}
    out: PacketChunk | None = None
    offset = 0
    problem = ""
    unknown_interface = last_ts = 0
    while offset + 12 <= end:
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
            if length < 28 or offset + length > end:
                problem = f"truncated or corrupt section header at byte {offset}"
                break
            major = struct.unpack_from(order + "H", data, offset + 12)[0]
            if major != 1:
                problem = f"unsupported pcapng version {major} at byte {offset}"
                break
            interfaces = []
        if length < 12 or length % 4 or offset + length > end:
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
            ts = iface.ns((high << 32) | low)
            packet = data[offset + 28:offset + 28 + caplen]
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
            packet = data[offset + 12:offset + 12 + caplen]
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
        linktype = normalize_linktype(iface.linktype)
        if out is None or out.linktype != linktype or len(out.packets) >= chunk:
            if out is not None and out.packets:
                yield _filtered(out, filters, bpf, path)
            out = PacketChunk(linktype)
        out.times_ns.append(ts)
        out.packets.append(packet)
        out.wire_lengths.append(wire)
    else:
        if offset != end:
            problem = f"{end - offset} trailing bytes at byte {offset}"
    if out is not None and out.packets:
        yield _filtered(out, filters, bpf, path)
    if unknown_interface:
        log.warning("%s: %d packets of undeclared interfaces skipped", path, unknown_interface)
    if problem:
        log.warning("%s: reading stopped early: %s", path, problem)


def _filtered(out: PacketChunk, filters: dict, bpf: str, path: str) -> PacketChunk:
    if not bpf:
        return out
    if out.linktype not in filters:
        filters[out.linktype] = compile_bpf(bpf, out.linktype, path)
    return apply_bpf(filters[out.linktype], out)


# --------------------------------------------------------------------------------------------
# live

