"""Classic pcap files (both byte orders, microsecond and nanosecond magic, the "modified"
variant). A walker process finds the record offsets (pcap_walk.py; the first chunk is walked
here, while that process starts) and this process reads each chunk's bytes with one pread,
gathers its timestamps and lengths from the record headers with numpy and hands the parser
the packets in that one buffer (no Python object per packet). A truncated or corrupt record
ends the file with a warning; the records before it are read."""

from __future__ import annotations

import itertools
import os
import struct
from collections.abc import Iterator

import numpy as np

from . import pcap_walk, prestart
from .chunks import (
    CaptureError,
    PacketChunk,
    buffered_chunk,
    normalize_linktype,
    read_span,
)
from .pcap_walk import (
    END_OF_WALK,
    FIRST_CHUNK_BYTES,
    MAX_CAPLEN,
    PCAP_HEADER,
    PCAP_MAGICS,
    caplen_reader,
    walk,
)
from .walker_process import WalkerProcess, read_walked


def read_pcap(path: str, chunk: int, bpf: str) -> Iterator[PacketChunk]:
    started = prestart.take(path, chunk)      # a walker flow_meter started before its imports
    walker = WalkerProcess(path, started.process) if started else None
    try:
        with (os.fdopen(started.fd, "rb", buffering=0) if started
              else open(path, "rb", buffering=0)) as f:
            header = f.read(PCAP_HEADER)
            if len(header) < PCAP_HEADER:
                raise CaptureError(f"{path}: truncated pcap file header")
            order, nano, record = PCAP_MAGICS[header[:4]]
            linktype = normalize_linktype(struct.unpack_from(order + "I", header, 20)[0]
                                          & 0xFFFF)
            size = os.fstat(f.fileno()).st_size
            if size <= PCAP_HEADER:
                return
            snaplen = struct.unpack_from(order + "I", header, 16)[0]
            records = _Records(f.fileno(), order, nano, record, snaplen)
            first, notes = [], []
            if walker is None:
                starts, offset, problem = _first_chunk(f.fileno(), size, order, record, chunk)
                if offset < size and not problem:
                    walker = WalkerProcess.run(path, f.fileno(), pcap_walk.__name__, size,
                                               offset, order, record, chunk)
                first = [(linktype, np.array(starts, dtype=np.int64), offset)] if starts else []
                notes = [f"reading stopped early: {problem}"] if problem else []
            frames = itertools.chain(first, _walked(walker, linktype) if walker else ())
            yield from read_walked(path, bpf, frames, records.chunk_at, walker, notes)
    finally:
        if walker is not None:
            walker.close()


def _walked(walker: WalkerProcess, linktype: int) -> Iterator[tuple[int, np.ndarray, int]]:
    """(link type, int64 record offsets, the offset after the last record) per chunk."""
    while (count := int(walker.ints(1)[0])) != END_OF_WALK:
        values = walker.ints(count + 1)
        yield linktype, values[:count], int(values[count])


def _first_chunk(fd: int, size: int, order: str, record: int,
                 chunk: int) -> tuple[list[int], int, str]:
    """The first chunk's record offsets, walked in this process from the file's first bytes
    (the walker process starts while this chunk is parsed): the offsets, the offset after
    them, and a problem that ends the file ("" = the walker goes on from there)."""
    prefix = os.pread(fd, min(size, FIRST_CHUNK_BYTES), 0)
    starts, offset, problem = walk(prefix, len(prefix), PCAP_HEADER, chunk, record,
                                   caplen_reader(order))
    if problem and len(prefix) < size and offset + record + MAX_CAPLEN > len(prefix):
        problem = ""   # a record across the end of the prefix: the walker reads it
    return starts, offset, problem


class _Records:
    """The records of chunks, read from the file with one pread per chunk: timestamps and
    lengths gathered with numpy from the record headers, the packets left in the buffer
    (PacketChunk.buffer)."""

    def __init__(self, fd: int, order: str, nano: bool, record: int, snaplen: int):
        self.fd = fd
        self.snaplen = snaplen or MAX_CAPLEN
        self.record = record
        self.scale = 1 if nano else 1000
        self.dtype = np.dtype(order + "u4")

    def chunk_at(self, linktype: int, starts: np.ndarray, end: int) -> PacketChunk | None:
        """The chunk of the records at `starts` (file offsets) that end at `end`; None when
        the file no longer holds them."""
        first = int(starts[0])
        size = end - first
        buffer = read_span(self.fd, first, size)
        if buffer is None:
            return None
        offsets = starts - first
        headers = np.ndarray(shape=(size - 15,), dtype="V16", buffer=buffer, strides=(1,))
        fields = headers[offsets].view(self.dtype).reshape(len(starts), 4).astype(np.int64)
        lengths = np.minimum(fields[:, 2], self.snaplen)   # as libpcap cuts them
        times = fields[:, 0] * 1_000_000_000 + fields[:, 1] * self.scale
        return buffered_chunk(linktype, buffer, offsets + self.record, lengths, times,
                              fields[:, 3])
