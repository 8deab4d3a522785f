"""The record walk of a classic pcap file: the offset of every record, found by following the
captured lengths from header to header. It is the one step of reading a pcap that cannot be
vectorised (each offset depends on the previous record), so flow_meter runs it in a process
of its own (walker_process.py) while the main process copies, parses and accounts the chunks
already found: the two steps run on two cores. Standard library only, so that process starts
in milliseconds.

As a process (main): arguments FD SIZE START BYTE_ORDER RECORD_HEADER_SIZE CHUNK (FD: the
capture file, open); it walks the file's first SIZE bytes from the record at offset START and
writes frames to stdout in native byte order: for every CHUNK records an int64 count n >= 1,
the n int64 record offsets and the int64 offset after the last of them; at the end an int64
-1 and, when the walk stopped early, the line to log (UTF-8).
"""

from __future__ import annotations

import mmap
import struct
import sys
from array import array
from collections.abc import Callable

MAX_CAPLEN = 262144   # libpcap's own limit; a larger record length means a corrupt file
PCAP_HEADER = 24
END_OF_WALK = -1
PCAP_MAGICS = {  # first 4 bytes -> (byte order, nanosecond timestamps, record header size)
    b"\xd4\xc3\xb2\xa1": ("<", False, 16),
    b"\xa1\xb2\xc3\xd4": (">", False, 16),
    b"\x4d\x3c\xb2\xa1": ("<", True, 16),
    b"\xa1\xb2\x3c\x4d": (">", True, 16),
    b"\x34\xcd\xb2\xa1": ("<", False, 24),  # "modified" (Kuznetzov) pcap
    b"\xa1\xb2\xcd\x34": (">", False, 24),
}
FIRST_CHUNK_BYTES = 16 << 20   # flow_meter walks its first chunk within these bytes itself


def walk(data, size: int, offset: int, count: int, record: int,
         caplen: Callable[[object, int], tuple[int]]) -> tuple[list[int], int, str]:
    """Offsets of up to `count` complete records from `offset` in the first `size` bytes of
    `data`, the offset after them, and why reading must stop there ("" = it need not).
    `caplen(data, offset)` unpacks a record header's captured length (caplen_reader)."""
    starts: list[int] = []
    append = starts.append
    roomy = size - record - MAX_CAPLEN   # below this, any valid record fits in the file
    for _ in range(count):
        if offset >= roomy:
            break
        (length,) = caplen(data, offset)
        if length > MAX_CAPLEN:
            return starts, offset, _corrupt(length, offset)
        append(offset)
        offset += record + length
    else:
        return starts, offset, ""
    while len(starts) < count:
        if offset + record > size:
            return starts, offset, ("" if offset == size
                                    else f"truncated record header at offset {offset}")
        (length,) = caplen(data, offset)
        if length > MAX_CAPLEN:
            return starts, offset, _corrupt(length, offset)
        if offset + record + length > size:
            return starts, offset, f"truncated record at offset {offset}"
        append(offset)
        offset += record + length
    return starts, offset, ""


def _corrupt(length: int, offset: int) -> str:
    return f"corrupt record length {length} at offset {offset}"


def caplen_reader(order: str) -> Callable[[object, int], tuple[int]]:
    return struct.Struct(order + "8xI").unpack_from


def release_pages(mapped: mmap.mmap, end: int) -> None:
    """Drop the mapped pages before `end` (walked), so memory does not grow with the file."""
    done = end - end % mmap.PAGESIZE
    if done > 0 and hasattr(mmap, "MADV_DONTNEED"):
        mapped.madvise(mmap.MADV_DONTNEED, 0, done)


def main(argv: list[str]) -> int:
    fd, order = int(argv[0]), argv[3]
    size, offset, record, count = int(argv[1]), int(argv[2]), int(argv[4]), int(argv[5])
    out = sys.stdout.buffer
    caplen = caplen_reader(order)
    with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as mapped:
        problem, size = "", min(size, len(mapped))
        try:
            while offset < size and not problem:
                starts, offset, problem = walk(mapped, size, offset, count, record, caplen)
                if starts:
                    out.write(array("q", [len(starts), *starts, offset]))
                    out.flush()   # at once: a walker killed later loses no frame
                release_pages(mapped, offset)
            out.write(array("q", [END_OF_WALK]))
            if problem:
                out.write(f"reading stopped early: {problem}".encode())
            out.flush()
        except BrokenPipeError:   # the reader stopped early (-c, a signal): nothing to say
            return 0
    return 0
