"""Reader of NEMEA's own binary trapcap files (written by C libtrap's `f:` output).

    header := u8 format type, 3 pad bytes, u32 big-endian spec length, spec bytes
    batch  := u32 big-endian length, then messages: u16 big-endian length + record
A message of length <= 1 is end-of-stream. Records are NEMEA binary UniRec.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from .errors import TrapIOError
from .formats import DataFormat, FormatType

HEADER = struct.Struct(">B3xI")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")


def looks_like_nemea(head: bytes) -> bool:
    return len(head) >= 8 and head[0] in (1, 2, 3) and head[1:4] == b"\0\0\0"


def read_nemea(stream: BinaryIO, path: str) -> Iterator[DataFormat | list[bytes]]:
    """Yield the file's format, then each batch as a list of record messages."""
    head = stream.read(HEADER.size)
    fmt_type, spec_length = HEADER.unpack(head)
    spec = stream.read(spec_length)
    if len(spec) < spec_length:
        raise TrapIOError(f"{path}: truncated NEMEA header at offset {HEADER.size}")
    yield DataFormat(FormatType(fmt_type), spec.rstrip(b"\0").decode("utf-8", "replace"))
    offset = HEADER.size + spec_length
    while True:
        length_bytes = stream.read(4)
        if not length_bytes:
            return
        if len(length_bytes) < 4:
            raise TrapIOError(f"{path}: truncated batch header at offset {offset}")
        (length,) = _U32.unpack(length_bytes)
        data = stream.read(length)
        if len(data) < length:
            raise TrapIOError(f"{path}: truncated batch at offset {offset}: "
                              f"{len(data)} of {length} bytes")
        yield _split_messages(data, path, offset + 4)
        offset += 4 + length


def _split_messages(data: bytes, path: str, offset: int) -> list[bytes]:
    messages = []
    position = 0
    while position < len(data):
        if position + 2 > len(data):
            raise TrapIOError(f"{path}: corrupt batch: message header cut at offset "
                              f"{offset + position}")
        (length,) = _U16.unpack_from(data, position)
        end = position + 2 + length
        if end > len(data):
            raise TrapIOError(f"{path}: corrupt batch: message of {length} bytes overruns "
                              f"the batch at offset {offset + position}")
        if length > 1:
            messages.append(data[position + 2:end])
        position = end
    return messages
