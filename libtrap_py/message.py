"""What an input returns: one wire batch of records (or JSON/raw messages), or end-of-stream."""

from __future__ import annotations

from functools import lru_cache

import msgpack

from unirec import BatchCodec, RecordBatch, Template, batch_length

from .formats import DataFormat, FormatType


@lru_cache(maxsize=256)
def codec_for(template: Template) -> BatchCodec:
    return BatchCodec(template)


def encode_messages(messages: list[bytes | str]) -> bytes:
    """Payload of a JSON or RAW batch: a msgpack array of the messages."""
    return msgpack.packb(messages, use_bin_type=True)


class Message:
    """A received batch. `payload` is the encoded form (forward it as is); `batch()` decodes."""

    __slots__ = ("_batch", "_payload", "count", "format", "format_changed", "is_eof")

    def __init__(self, fmt: DataFormat | None, payload: bytes | None = None,
                 batch: RecordBatch | None = None, format_changed: bool = False,
                 is_eof: bool = False):
        self.format = fmt
        self._payload = payload
        self._batch = batch
        self.format_changed = format_changed
        self.is_eof = is_eof
        if is_eof:
            self.count = 0
        elif batch is not None:
            self.count = batch.length
        elif fmt is not None and fmt.type == FormatType.UNIREC:
            self.count = batch_length(payload)  # type: ignore[arg-type]
        else:
            self.count = len(msgpack.unpackb(payload, raw=False))  # type: ignore[arg-type]

    @classmethod
    def eof(cls, fmt: DataFormat | None = None) -> Message:
        return cls(fmt, is_eof=True)

    @property
    def template(self) -> Template:
        return self.format.template  # type: ignore[union-attr]

    @property
    def payload(self) -> bytes:
        if self._payload is None:
            self._payload = codec_for(self._batch.template).encode(self._batch)  # type: ignore
        return self._payload

    def batch(self) -> RecordBatch:
        if self._batch is None:
            self._batch = codec_for(self.template).decode(self.payload)
        return self._batch

    def messages(self) -> list:
        """The messages of a JSON or RAW batch."""
        return msgpack.unpackb(self.payload, raw=False)

    def __repr__(self) -> str:
        if self.is_eof:
            return "<Message EOF>"
        return f"<Message {self.count} of {self.format}>"
