"""`f:` input: one path, a glob or a space-separated list, read in order, then end-of-stream.

Each file is negotiated anew (a different template in the next file arrives as a format
change). Reads our `.trapcap` files and NEMEA's binary trapcap files, told apart by their header.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator

from unirec import CodecError, RecordBatch

from .errors import NegotiationFailed, TrapError, TrapIOError
from .file_blocks import DATA_BLOCK, FORMAT_BLOCK, MAGIC, read_blocks
from .file_output import expand_path
from .formats import ANY_UNIREC, DataFormat, FormatType
from .ifc_spec import IfcSpec
from .input_base import InputInterface
from .message import Message
from .nemea_trapcap import looks_like_nemea, read_nemea

NEMEA_BATCH_RECORDS = 1000


def expand_input_paths(text: str, label: str) -> list[str]:
    """Shell-like expansion: whitespace-separated words, `~`, `$VAR`, globs (sorted)."""
    paths: list[str] = []
    for word in text.split():
        word = expand_path(word)
        if glob.has_magic(word):
            matches = sorted(glob.glob(word))
            if not matches:
                raise TrapError(f"{label}: no file matches {word!r}")
            paths.extend(matches)
        elif not os.path.exists(word):
            raise TrapError(f"{label}: file {word!r} does not exist")
        else:
            paths.append(word)
    for path in paths:
        if not os.access(path, os.R_OK):
            raise TrapError(f"{label}: file {path!r} is not readable")
    return paths


class FileInput(InputInterface):
    def __init__(self, spec: IfcSpec, required: DataFormat = ANY_UNIREC):
        super().__init__(spec, required)
        self.paths = expand_input_paths(spec.name, spec.label)
        self.current_path = self.paths[0] if self.paths else ""
        self._messages = self._read_all()

    def receive(self, timeout_ms: int = -1) -> Message | None:
        if self.ended:
            return Message.eof(self.format)
        return next(self._messages)

    @property
    def ifc_id(self) -> str:
        return self.current_path

    def _read_all(self) -> Iterator[Message]:
        for path in self.paths:
            self.current_path = path
            yield from self._read_file(path)
        yield self._eof()

    def _read_file(self, path: str) -> Iterator[Message]:
        where = f"{self.spec.label} file {path}"
        try:
            stream = open(path, "rb")  # noqa: SIM115  (closed below; generator)
        except OSError as exc:
            raise TrapIOError(f"{where}: {exc.strerror}") from None
        with stream:
            head = stream.read(len(MAGIC))
            if not head:
                raise NegotiationFailed(f"{where}: empty file (its writer never set a format)")
            if head == MAGIC:
                yield from self._read_ours(stream, path, where)
            elif looks_like_nemea(head):
                stream.seek(0)
                yield from self._read_nemea(stream, path, where)
            else:
                raise TrapIOError(f"{where}: not a trapcap file (unknown header {head!r})")

    def _read_ours(self, stream, path: str, where: str) -> Iterator[Message]:
        has_format = False
        for kind, body in read_blocks(stream, path):
            if kind == FORMAT_BLOCK:
                self._accept_format(body, where)  # type: ignore[arg-type]
                has_format = True
            elif kind == DATA_BLOCK:
                if not has_format:
                    raise NegotiationFailed(f"{where}: data before any format block")
                yield self._data(payload=body)  # type: ignore[arg-type]
        if not has_format:
            raise NegotiationFailed(f"{where}: no format in file")

    def _read_nemea(self, stream, path: str, where: str) -> Iterator[Message]:
        from unirec.nemea_binary import NemeaRecordCodec

        blocks = read_nemea(stream, path)
        fmt = next(blocks)
        self._accept_format(fmt, where)  # type: ignore[arg-type]
        if fmt.type != FormatType.UNIREC:  # type: ignore[union-attr]
            raise TrapIOError(f"{where}: only UniRec NEMEA files can be read")
        codec = NemeaRecordCodec(fmt.template)  # type: ignore[union-attr]
        pending: list[RecordBatch] = []
        count = 0
        try:
            for messages in blocks:
                try:
                    batch = codec.decode_batch(messages)
                except CodecError as exc:
                    raise TrapIOError(f"{where}: {exc}") from None
                pending.append(batch)
                count += batch.length
                if count >= NEMEA_BATCH_RECORDS:
                    yield self._data(batch=RecordBatch.concat(pending))
                    pending, count = [], 0
        except TrapIOError:
            if count:       # every complete batch before a corrupt one is delivered first
                yield self._data(batch=RecordBatch.concat(pending))
            raise
        if count:
            yield self._data(batch=RecordBatch.concat(pending))
