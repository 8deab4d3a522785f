"""Our `.trapcap` file format: a magic with version, then blocks.

    file  := MAGIC block*
    block := kind (1 byte) length (u32 little-endian) body
    kind  := 'F' body = msgpack [format type, spec]     (a format; every file starts with one)
           | 'D' body = one wire batch payload           (records of the last format)
           | 'E' body = empty                           (the writer sent end-of-stream)
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

import msgpack

from .errors import TrapIOError
from .formats import DataFormat, FormatType

MAGIC = b"PYTRAP\x00\x01"        # name, NUL, format version 1
BLOCK_HEAD = struct.Struct("<cI")
FORMAT_BLOCK, DATA_BLOCK, EOF_BLOCK = b"F", b"D", b"E"


def format_block(fmt: DataFormat) -> bytes:
    body = msgpack.packb([int(fmt.type), fmt.spec])
    return BLOCK_HEAD.pack(FORMAT_BLOCK, len(body)) + body


def data_block_head(payload_length: int) -> bytes:
    return BLOCK_HEAD.pack(DATA_BLOCK, payload_length)


EOF_BLOCK_BYTES = BLOCK_HEAD.pack(EOF_BLOCK, 0)


def read_blocks(stream: BinaryIO, path: str) -> Iterator[tuple[bytes, bytes | DataFormat]]:
    """Yield (kind, body) after the magic; a format block's body is a DataFormat. Raises
    TrapIOError naming the file and offset at the first truncated or corrupt block, after
    every complete block before it."""
    offset = len(MAGIC)
    while True:
        head = stream.read(BLOCK_HEAD.size)
        if not head:
            return
        if len(head) < BLOCK_HEAD.size:
            raise TrapIOError(f"{path}: truncated block header at offset {offset}")
        kind, length = BLOCK_HEAD.unpack(head)
        if kind not in (FORMAT_BLOCK, DATA_BLOCK, EOF_BLOCK):
            raise TrapIOError(f"{path}: corrupt block (kind {kind!r}) at offset {offset}")
        body = stream.read(length)
        if len(body) < length:
            raise TrapIOError(f"{path}: truncated block at offset {offset}: "
                              f"{len(body)} of {length} bytes")
        if kind == FORMAT_BLOCK:
            yield kind, _parse_format(body, path, offset)
        else:
            yield kind, body
        offset += BLOCK_HEAD.size + length


def _parse_format(body: bytes, path: str, offset: int) -> DataFormat:
    try:
        fmt_type, spec = msgpack.unpackb(body, raw=False)
        return DataFormat(FormatType(fmt_type), spec)
    except (ValueError, TypeError, msgpack.UnpackException):
        raise TrapIOError(f"{path}: corrupt format block at offset {offset}") from None
