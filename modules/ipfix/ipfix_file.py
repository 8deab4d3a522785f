"""IPFIX files: a file of concatenated IPFIX messages (RFC 5655's basic form), as written by
`ipfixexport -x file:PATH` or ipfixcol2's IPFIX output; read message by message."""

from __future__ import annotations

import mmap
from collections.abc import Iterator

from .parser import IPFIX_HEADER


class IpfixFileError(ValueError):
    pass


def is_ipfix_file(path: str) -> bool:
    with open(path, "rb") as stream:
        head = stream.read(IPFIX_HEADER.size)
    if len(head) < IPFIX_HEADER.size:
        return False
    version, length = head[0] << 8 | head[1], head[2] << 8 | head[3]
    return version == 10 and length >= IPFIX_HEADER.size


def read_messages(path: str) -> Iterator[tuple[int, bytes]]:
    """(export time, message) for each message of the file, in order."""
    for view, position, length, export_time in _walk(path):
        yield export_time, bytes(view[position:position + length])


def export_times(path: str) -> list[int]:
    """The export time of each message (a quick pass over the headers)."""
    return [export_time for _, _, _, export_time in _walk(path)]


def _walk(path: str) -> Iterator[tuple[memoryview, int, int, int]]:
    with open(path, "rb") as stream:
        try:
            mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:          # an empty file cannot be mapped
            return
    view = memoryview(mapped)
    try:
        position, size = 0, len(view)
        while position < size:
            if size - position < IPFIX_HEADER.size:
                raise IpfixFileError(f"{path}: {size - position} stray bytes at the end "
                                     f"(offset {position})")
            version, length, export_time, _, _ = IPFIX_HEADER.unpack_from(view, position)
            if version != 10 or length < IPFIX_HEADER.size or position + length > size:
                raise IpfixFileError(f"{path}: no IPFIX message at offset {position} "
                                     f"(version {version}, length {length})")
            yield view, position, length, export_time
            position += length
    finally:
        view.release()
        mapped.close()
