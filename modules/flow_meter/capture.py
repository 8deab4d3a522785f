"""Packet input for flow_meter: pcap/pcapng files and live interfaces, in chunks.

`read_packets(paths)` reads one or more capture files, in order, as one stream of
`PacketChunk`s; `live_packets(interface, ...)` captures from a network interface.
A chunk holds the packets of one link type only (a new chunk starts where the link type
changes, e.g. at a file boundary or between the interfaces of a pcapng file).

* Classic pcap (both byte orders, microsecond and nanosecond magic, the "modified" variant)
  is read by libpcap through pypcap. pypcap hands over the captured bytes only, so the
  timestamps and original (wire) lengths are gathered with numpy from the record headers
  at offsets computed from the captured lengths (checked against the headers; a walk of the
  headers is the fallback).
* pcapng is read by the small block reader below: libpcap refuses pcapng files whose
  interfaces differ in link type or snapshot length, and pypcap does not expose the
  original length. It handles several sections (either byte order), several interfaces,
  Enhanced/Simple/Obsolete packet blocks, `if_tsresol` and `if_tsoffset`, and skips other
  blocks.
* A BPF filter (`bpf=`) on files is compiled by libpcap (`pcap.bpf`) for the file's link type
  and applied to the captured bytes; on a live interface it is set on the handle.
* A missing, unreadable or non-capture file raises `CaptureError` naming the file before
  any packet is produced. A capture that ends in a truncated record or a corrupt block is
  read up to that point, with a warning in the log (the stream goes on with the next file).

`PacketChunk.buffer` (a ChunkBuffer) is an optional extra the pcap reader fills so the
parser can skip joining the packets; chunks built by hand leave it None.

Timestamps are integer nanoseconds since the epoch. `chunk.linktype` uses the LINKTYPE_*
numbering of the file formats (raw IP = 101 even where libpcap reports DLT_RAW = 12/14).
Live capture: pypcap does not expose the original length, so `wire_lengths` are the
captured lengths there (equal unless `snaplen` cut the packet).
"""

from __future__ import annotations

import logging
import mmap
import os
import select
import struct
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pcap

log = logging.getLogger("flow_meter.capture")

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229

# libpcap's DLT values that differ from the LINKTYPE values of the file formats.
_DLT_TO_LINKTYPE = {12: LINKTYPE_RAW, 14: LINKTYPE_RAW}
_LINKTYPE_TO_DLT = {LINKTYPE_RAW: pcap.DLT_RAW}

_PCAP_MAGICS = {  # first 4 bytes -> (byte order, nanosecond timestamps, record header size)
    b"\xd4\xc3\xb2\xa1": ("<", False, 16),
    b"\xa1\xb2\xc3\xd4": (">", False, 16),
    b"\x4d\x3c\xb2\xa1": ("<", True, 16),
    b"\xa1\xb2\x3c\x4d": (">", True, 16),
    b"\x34\xcd\xb2\xa1": ("<", False, 24),  # "modified" (Kuznetzov) pcap
    b"\xa1\xb2\xcd\x34": (">", False, 24),
}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_PCAP_HEADER = 24


class CaptureError(Exception):
    """A capture file or interface cannot be read (the message names it)."""


@dataclass
class ChunkBuffer:
    """Optional companion of a PacketChunk: the same packets already laid out in one numpy
    buffer, so the parser need not join them. Valid only while `packets` is the chunk's own
    `packets` list (a chunk rebuilt with another list, e.g. by `dataclasses.replace`, drops
    back to joining); so do not change the items of `packets` in place."""

    packets: list[bytes]
    buffer: np.ndarray   # uint8, with at least 64 spare bytes after the last packet
    starts: np.ndarray   # int64 offset of each packet in `buffer`
    lengths: np.ndarray  # int64 captured length of each packet
    times: np.ndarray    # int64 timestamps (ns), as times_ns


@dataclass
class PacketChunk:
    """Packets of one link type, in capture order."""

    linktype: int
    times_ns: list[int] = field(default_factory=list)
    packets: list[bytes] = field(default_factory=list)
    wire_lengths: list[int] = field(default_factory=list)
    buffer: ChunkBuffer | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.packets)


def normalize_linktype(value: int) -> int:
    """libpcap DLT value -> LINKTYPE value (only raw IP differs on the platforms we run on)."""
    return _DLT_TO_LINKTYPE.get(value, value)


# --------------------------------------------------------------------------------------------
# files


def read_packets(paths: str | os.PathLike | Iterable[str | os.PathLike], chunk: int = 16384,
                 bpf: str = "") -> Iterator[PacketChunk]:
    """Chunks of at most `chunk` packets from pcap/pcapng files, in the order given.

    `paths` is one path or an iterable of paths. Every file is checked (exists, readable,
    a pcap or pcapng magic) before the first chunk is produced.
    """
    if isinstance(paths, str | bytes | os.PathLike):
        paths = [paths]
    paths = [os.fsdecode(p) for p in paths]
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    kinds = [_check_file(path) for path in paths]
    return _read_files(paths, kinds, chunk, bpf)


def _read_files(paths, kinds, chunk, bpf) -> Iterator[PacketChunk]:
    for path, kind in zip(paths, kinds, strict=True):
        if kind == "pcapng":
            yield from _read_pcapng(path, chunk, bpf)
        else:
            yield from _read_pcap(path, chunk, bpf)


def _check_file(path: str) -> str:
    if not os.path.exists(path):
        raise CaptureError(f"capture file {path!r} does not exist")
    if os.path.isdir(path):
        raise CaptureError(f"capture file {path!r} is a directory")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise CaptureError(f"capture file {path!r} cannot be read: {e.strerror or e}") from None
    if magic == _PCAPNG_MAGIC:
        return "pcapng"
    if magic in _PCAP_MAGICS:
        return "pcap"
    if len(magic) < 4:
        raise CaptureError(f"capture file {path!r} is empty or too short to be a capture")
    if magic[:2] == b"\x1f\x8b":
        raise CaptureError(f"capture file {path!r} is gzip-compressed; decompress it first")
    raise CaptureError(f"{path!r} is not a pcap or pcapng capture file (starts with "
                       f"{magic.hex()})")


def _compile_bpf(expression: str, linktype: int, path: str):
    try:
        return pcap.bpf(expression.encode(), _LINKTYPE_TO_DLT.get(linktype, linktype))
    except OSError:
        raise CaptureError(f"{path}: BPF filter {expression!r} does not compile for link type "
                           f"{linktype}") from None


def _apply_bpf(flt, out: PacketChunk) -> PacketChunk:
    keep = [i for i, packet in enumerate(out.packets) if flt.filter(packet)]
    if len(keep) == len(out.packets):
        return out
    packets = [out.packets[i] for i in keep]
    buffer = None
    if out.buffer is not None:
        raw = out.buffer
        buffer = ChunkBuffer(packets, raw.buffer, raw.starts[keep], raw.lengths[keep],
                             raw.times[keep])
    return PacketChunk(out.linktype, [out.times_ns[i] for i in keep], packets,
                       [out.wire_lengths[i] for i in keep], buffer)


MAX_CAPLEN = 262144   # libpcap's own limit; a larger record length means a corrupt file


class _PacketView(Sequence[bytes]):
    """A chunk's packets as slices of its buffer, made only when asked for (the plugins look
    at a few payloads; the flow path never needs per-packet bytes objects)."""

    def __init__(self, buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray):
        self._buffer, self._starts, self._lengths = buffer, starts, lengths

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        start = int(self._starts[index])
        return self._buffer[start:start + int(self._lengths[index])].tobytes()


def _read_pcap(path: str, chunk: int, bpf: str) -> Iterator[PacketChunk]:
    """Classic pcap, memory-mapped: record headers are walked once, fields gathered with numpy,
    and each chunk's packets copied to one buffer (no Python object per packet)."""
    with open(path, "rb") as f:
        header = f.read(_PCAP_HEADER)
        if len(header) < _PCAP_HEADER:
            raise CaptureError(f"{path}: truncated pcap file header")
        order, nano, record = _PCAP_MAGICS[header[:4]]
        linktype = normalize_linktype(struct.unpack_from(order + "I", header, 20)[0] & 0xFFFF)
        flt = _compile_bpf(bpf, linktype, path) if bpf else None
        if os.fstat(f.fileno()).st_size <= _PCAP_HEADER:
            return
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        snaplen = struct.unpack_from(order + "I", header, 16)[0]
        records = _RecordHeaders(mapped, order, nano, record, snaplen)
        try:
            offset = _PCAP_HEADER
            while offset < len(mapped):
                starts, offset, problem = records.walk(offset, chunk)
                if len(starts):
                    out = records.chunk_at(linktype, starts)
                    if flt is not None:
                        out = _apply_bpf(flt, out)
                    if out.packets:
                        yield out
                if problem:
                    log.warning("%s: reading stopped early: %s", path, problem)
                    return
        finally:
            records = None  # drop the numpy views of the mapping before closing it
            mapped.close()


class _RecordHeaders:
    """Timestamps and lengths of pcap records, gathered with numpy from the mapped file at the
    record offsets; the packets' bytes are copied from the mapping in one piece for the parser
    (PacketChunk.buffer)."""

    def __init__(self, mapped: mmap.mmap, order: str, nano: bool, record: int, snaplen: int):
        self.mapped = mapped
        self.snaplen = snaplen or MAX_CAPLEN
        self.data = np.frombuffer(mapped, dtype=np.uint8)
        self.headers = np.ndarray(shape=(max(len(self.data) - 15, 0),), dtype="V16",
                                  buffer=self.data, strides=(1,))
        self.record = record
        self.scale = 1 if nano else 1000
        self.dtype = np.dtype(order + "u4")
        self.caplen = struct.Struct(order + "I").unpack_from

    def walk(self, offset: int, count: int) -> tuple[np.ndarray, int, str]:
        """Offsets of up to `count` complete records from `offset`, the offset after them, and
        why reading must stop there ("" = it need not)."""
        size, record, caplen = len(self.mapped), self.record, self.caplen
        mapped = self.mapped
        starts = []
        problem = ""
        for _ in range(count):
            if offset + record > size:
                problem = "" if offset == size else f"truncated record header at {offset}"
                break
            length = caplen(mapped, offset + 8)[0]
            if length > MAX_CAPLEN or offset + record + length > size:
                problem = f"truncated or corrupt record at offset {offset}"
                break
            starts.append(offset)
            offset += record + length
        return np.array(starts, dtype=np.int64), offset, problem

    def chunk_at(self, linktype: int, starts: np.ndarray) -> PacketChunk:
        count = len(starts)
        fields = self.headers[starts].view(self.dtype).reshape(count, 4).astype(np.int64)
        lengths = np.minimum(fields[:, 2], self.snaplen)   # as libpcap cuts them
        times = fields[:, 0] * 1_000_000_000 + fields[:, 1] * self.scale
        first = int(starts[0]) + self.record
        end = int(starts[-1]) + self.record + int(fields[-1, 2])
        size = end - first
        buffer = np.empty(size + 64, dtype=np.uint8)
        buffer[:size] = self.data[first:end]
        buffer[size:] = 0
        self._release(end)
        offsets = starts + (self.record - first)
        packets = _PacketView(buffer, offsets, lengths)
        raw = ChunkBuffer(packets, buffer, offsets, lengths, times)  # type: ignore[arg-type]
        return PacketChunk(linktype, times.tolist(), packets,  # type: ignore[arg-type]
                           fields[:, 3].tolist(), raw)

    def _release(self, end: int) -> None:
        """Drop the mapped pages already copied, so memory does not grow with the file."""
        done = end - end % mmap.PAGESIZE
        if done > 0 and hasattr(mmap, "MADV_DONTNEED"):
            self.mapped.madvise(mmap.MADV_DONTNEED, 0, done)


# --------------------------------------------------------------------------------------------
# pcapng

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


def _read_pcapng(path: str, chunk: int, bpf: str) -> Iterator[PacketChunk]:
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
        filters[out.linktype] = _compile_bpf(bpf, out.linktype, path)
    return _apply_bpf(filters[out.linktype], out)


# --------------------------------------------------------------------------------------------
# live


def live_packets(interface: str, snaplen: int = 65535, promisc: bool = True, bpf: str = "",
                 chunk: int = 16384, timeout_ms: int = 100,
                 stop: threading.Event | None = None) -> Iterator[PacketChunk]:
    """Chunks of packets captured on `interface`.

    A chunk is produced when `chunk` packets are waiting or `timeout_ms` has passed since the
    previous chunk, so an idle interface still gives (empty) chunks about every `timeout_ms`
    and the caller can run its timeouts. The capture ends when `stop` is set (checked at
    least every `timeout_ms`) or when the generator is closed; the handle is closed then.
    The interface is opened (and errors raised as CaptureError) on the first `next()`.
    """
    if not interface:
        raise CaptureError("no capture interface given")
    if os.path.isfile(interface):
        raise CaptureError(f"{interface!r} is a file, not a network interface; read it as a "
                           "capture file")
    if chunk < 1 or timeout_ms < 1:
        raise ValueError("chunk and timeout_ms must be positive")
    return _live(interface, snaplen, promisc, bpf, chunk, timeout_ms, stop)


def _live(interface, snaplen, promisc, bpf, chunk, timeout_ms, stop) -> Iterator[PacketChunk]:
    try:
        handle = pcap.pcap(name=interface, snaplen=snaplen, promisc=promisc,
                           timeout_ms=timeout_ms, timestamp_in_ns=True)
    except OSError as e:
        raise CaptureError(f"cannot capture on interface {interface!r}: {e}") from None
    try:
        linktype = normalize_linktype(handle.datalink())
        if bpf:
            try:
                handle.setfilter(bpf)
            except OSError as e:
                raise CaptureError(f"interface {interface!r}: BPF filter {bpf!r}: {e}") from None
        handle.setnonblock(True)
        fd = handle.fileno()
        period = timeout_ms / 1000.0
        while stop is None or not stop.is_set():
            times: list[int] = []
            packets: list[bytes] = []

            def take(ts, packet, times_append=times.append, packets_append=packets.append):
                times_append(ts)
                packets_append(packet)

            deadline = time.monotonic() + period
            while len(packets) < chunk:
                left = deadline - time.monotonic()
                if left <= 0 or (stop is not None and stop.is_set()):
                    break
                select.select([fd], [], [], min(left, 0.05))
                got = handle.dispatch(chunk - len(packets), take)
                if got < 0:
                    message = handle.geterr()
                    raise CaptureError(f"capture on interface {interface!r} failed: "
                                       f"{message.decode(errors='replace')}")
            yield PacketChunk(linktype, times, packets, [len(p) for p in packets])
    finally:
        handle.close()
