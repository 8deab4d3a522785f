"""Messages out of a TCP byte stream.

IPFIX headers carry the message length, v5 headers a record count (24 + 48 * count bytes).
A NetFlow v9 header has neither, so a v9 stream is cut at flowset boundaries: a flowset id is
0, 1 or >= 256, and a v9 header starts with version 9, which no flowset id can be; each complete
flowset is handed on behind a copy of the last v9 header, as a one-flowset message.
A stream that stops making sense (an impossible version or length) cannot be resynchronised:
StreamError, and the connection is closed.
"""

from __future__ import annotations

from .parser import PAIR, V9_HEADER, Malformed, message_length

MAX_BUFFERED = 1 << 20


class StreamError(ValueError):
    pass


class StreamFramer:
    def __init__(self) -> None:
        self.buffer = b""
        self.v9_header: bytes | None = None

    def feed(self, chunk: bytes) -> list[tuple[bytes, int, int]]:
        """Complete messages as (data, start, end); the rest waits for more bytes."""
        data = self.buffer + chunk if self.buffer else chunk
        position, size, out = 0, len(data), []
        while size - position >= 4:
            first, second = PAIR.unpack_from(data, position)
            if first in (10, 5):
                try:
                    length = message_length(data, position)
                except Malformed as exc:
                    raise StreamError(str(exc)) from None
                if size - position < length:
                    break
                out.append((data, position, position + length))
                position += length
                self.v9_header = None
            elif first == 9:
                if size - position < V9_HEADER.size:
                    break
                self.v9_header = data[position:position + V9_HEADER.size]
                position += V9_HEADER.size
            elif self.v9_header is not None and (first in (0, 1) or first >= 256):
                if second < 4:
                    raise StreamError(f"v9 flowset length {second}")
                if size - position < second:
                    break
                message = self.v9_header + data[position:position + second]
                out.append((message, 0, len(message)))
                position += second
            else:
                raise StreamError(f"unexpected value {first} where a message or flowset "
                                  f"starts")
        self.buffer = data[position:]
        if len(self.buffer) > MAX_BUFFERED:
            raise StreamError("incomplete message of more than 1 MiB")
        return out
