"""pcapng files (libpcap refuses those whose interfaces differ in link type or snapshot
length, and pypcap does not expose the original length): the blocks are walked by
pcapng_walk, in a process of its own for a large file (walker_process.py) and here for a
small one; each chunk's bytes are then read with one pread and handed to the parser in that
buffer (no Python object per packet). A truncated or corrupt block ends the file with a
warning; what came before it is read."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import numpy as np

from . import pcapng_walk
from .chunks import (
    CaptureError,
    PacketChunk,
    buffered_chunk,
    normalize_linktype,
    read_span,
)
from .pcap_walk import END_OF_WALK
from .walker_process import WalkerProcess, read_walked

_IN_PROCESS = 16 << 20   # files up to this size are walked here (no walker process)
# a chunk as walked: the link type, then per packet: data offset, captured length, original
# length, time (ns)
Frame = tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def read_pcapng(path: str, chunk: int, bpf: str) -> Iterator[PacketChunk]:
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if size < 12:
            raise CaptureError(f"{path}: truncated pcapng file")
        notes: list[str] = []
        walker = None
        if size <= _IN_PROCESS:
            frames = _walked_here(f.fileno(), size, chunk, notes)
        else:
            walker = WalkerProcess.run(path, f.fileno(), pcapng_walk.__name__, size, chunk)
            frames = _walked(walker)
        yield from read_walked(path, bpf, frames, functools.partial(_chunk, f.fileno()),
                               walker, notes)


def _walked_here(fd: int, size: int, chunk: int, notes: list[str]) -> Iterator[Frame]:
    data = os.pread(fd, size, 0)
    for frame in pcapng_walk.walk(data, len(data), chunk, notes):
        yield (frame.linktype, *(np.array(values, dtype=np.int64) for values in
                                 (frame.offsets, frame.caplens, frame.wires, frame.times)))


def _walked(walker: WalkerProcess) -> Iterator[Frame]:
    while (count := int(walker.ints(1)[0])) != END_OF_WALK:
        values = walker.ints(1 + 4 * count)
        offsets, caplens, wires, times = values[1:].reshape(4, count)
        yield int(values[0]), offsets, caplens, wires, times


def _chunk(fd: int, linktype: int, offsets: np.ndarray, caplens: np.ndarray,
           wires: np.ndarray, times: np.ndarray) -> PacketChunk | None:
    first = int(offsets[0])
    buffer = read_span(fd, first, int((offsets + caplens).max()) - first)
    if buffer is None:
        return None
    return buffered_chunk(normalize_linktype(linktype), buffer, offsets - first, caplens,
                          times, wires)
