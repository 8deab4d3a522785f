"""What the capture readers hand to the parser: PacketChunk (packets of one link type, in
capture order), its optional ChunkBuffer, the LINKTYPE numbers, CaptureError, and the BPF
filter applied to chunks read from files (compiled by libpcap through pypcap)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

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


class CaptureError(Exception):
    """A capture file or interface cannot be read (the message names it)."""


@dataclass(eq=False)   # (numpy arrays: == would compare them element by element)
class ChunkBuffer:
    """Optional companion of a PacketChunk: the same packets already laid out in one numpy
    buffer, so the parser need not join them. Valid only while `packets` is the chunk's own
    `packets` list (a chunk rebuilt with another list, e.g. by `dataclasses.replace`, drops
    back to joining); so do not change the items of `packets` in place."""

    packets: Sequence[bytes]
    buffer: np.ndarray   # uint8, with at least 64 spare bytes after the last packet
    starts: np.ndarray   # int64 offset of each packet in `buffer`
    lengths: np.ndarray  # int64 captured length of each packet
    times: np.ndarray    # int64 timestamps (ns), as times_ns


@dataclass(eq=False)
class PacketChunk:
    """Packets of one link type, in capture order. `times_ns` and `wire_lengths` are lists
    where packets are collected one by one (live capture, pcapng) and int64 arrays from the
    pcap reader; `packets` is a list or a lazy sequence (PacketView)."""

    linktype: int
    times_ns: Sequence[int] = field(default_factory=list)
    packets: Sequence[bytes] = field(default_factory=list)
    wire_lengths: Sequence[int] = field(default_factory=list)
    buffer: ChunkBuffer | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.packets)


def normalize_linktype(value: int) -> int:
    """libpcap DLT value -> LINKTYPE value (only raw IP differs on the platforms we run on)."""
    return _DLT_TO_LINKTYPE.get(value, value)


# --------------------------------------------------------------------------------------------
# files

class FileFilter:
    """A BPF filter on the chunks of one capture file, compiled by libpcap for each link type
    the first time it is needed ("" = no filter)."""

    def __init__(self, expression: str, path: str):
        self.expression, self.path = expression, path
        self._compiled: dict[int, object] = {}

    def __call__(self, out: PacketChunk) -> PacketChunk:
        if not self.expression:
            return out
        flt = self._compiled.get(out.linktype)
        if flt is None:
            flt = self._compiled[out.linktype] = self._compile(out.linktype)
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

    def _compile(self, linktype: int):
        try:
            import pcap  # (libpcap: loaded for a filter only)
            dlt = pcap.DLT_RAW if linktype == LINKTYPE_RAW else linktype
            return pcap.bpf(self.expression.encode(), dlt)
        except OSError:
            raise CaptureError(f"{self.path}: BPF filter {self.expression!r} does not compile "
                               f"for link type {linktype}") from None


class PacketView(Sequence[bytes]):
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


def read_span(fd: int, start: int, size: int) -> np.ndarray | None:
    """`size` bytes of a file from `start` (one pread) with 64 zero bytes after them, as a
    chunk buffer needs; None when the file no longer holds them."""
    buffer = np.empty(size + 64, dtype=np.uint8)   # (zeroing the whole buffer would cost
    buffer[size:] = 0                                #  as much as the read itself)
    if os.preadv(fd, [memoryview(buffer)[:size]], start) != size:
        return None
    return buffer


def buffered_chunk(linktype: int, buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                   times: np.ndarray, wires: np.ndarray) -> PacketChunk:
    """A chunk whose packets lie in `buffer` at `starts` (no bytes object per packet)."""
    packets = PacketView(buffer, starts, lengths)
    return PacketChunk(linktype, times, packets, wires,
                       ChunkBuffer(packets, buffer, starts, lengths, times))
