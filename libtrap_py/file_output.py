"""`f:` output: our `.trapcap` files, with NEMEA's naming for `w`, `a`, `time=` and `size=`.

    f:out.trapcap               out.trapcap
    f:out.trapcap:a             out.trapcap.00000, or the next free .00001 ...
    f:out.trapcap:size=10       out.trapcap.00000, .00001 ... (new file after 10 MiB)
    f:out.trapcap:time=30       out.trapcap.202403011000, .202403011030 ... (local time)
A format change closes the file and continues in the next name.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from .errors import TrapIOError
from .file_blocks import EOF_BLOCK_BYTES, MAGIC, data_block_head, format_block
from .formats import DataFormat
from .ifc_spec import IfcSpec
from .output_base import OutputInterface

MIB = 1_048_576
_STREAMS = ("/dev/stdout", "/dev/stderr", "/dev/null")


def expand_path(text: str) -> str:
    return os.path.expandvars(os.path.expanduser(text))


class FileOutput(OutputInterface):
    def __init__(self, spec: IfcSpec, clock: Callable[[], float] = time.time):
        super().__init__(spec)
        self.base = expand_path(spec.name)
        stream = self.base in _STREAMS
        self.mode = "w" if stream else spec.file_mode
        self.rotate_seconds = 0 if stream else spec.rotate_minutes * 60
        self.rotate_bytes = 0 if stream else spec.rotate_mib * MIB
        self._clock = clock
        self._force_suffix = False
        self._index = 0
        self._slot: int | None = None
        self._file = None
        self.current_name = self.base
        self._has_data = False
        if not stream:
            try:
                os.makedirs(os.path.dirname(self.base) or ".", exist_ok=True)
            except OSError as exc:
                raise TrapIOError(f"{spec.label}: cannot create directory for {self.base}: "
                                  f"{exc.strerror}") from None

    # --- naming -------------------------------------------------------------------------
    def _time_slot(self) -> int | None:
        if not self.rotate_seconds:
            return None
        now = int(self._clock())
        return now - now % self.rotate_seconds

    def _name(self, slot: int | None, index: int) -> str:
        stem = self.base
        if slot is not None:
            stem += "." + time.strftime("%Y%m%d%H%M", time.localtime(slot))
        if self.mode == "a" or self.rotate_bytes or self._force_suffix:
            return f"{stem}.{index:05d}"
        return stem

    def _open(self, slot: int | None, index: int) -> None:
        self._close_file()
        if self.mode == "a":
            while os.path.exists(self._name(slot, index)):
                index += 1
        self._slot, self._index = slot, index
        self.current_name = self._name(slot, index)
        try:
            self._file = open(self.current_name, "wb")  # noqa: SIM115  (kept open across calls)
            self._file.write(MAGIC + format_block(self.format))  # type: ignore[arg-type]
        except OSError as exc:
            raise TrapIOError(f"{self.spec.label}: cannot write {self.current_name}: "
                              f"{exc.strerror}") from None
        self._has_data = False

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _rotate_if_due(self) -> None:
        slot = self._time_slot()
        if slot != self._slot:
            self._open(slot, 0)
        elif self.rotate_bytes and self._file.tell() >= self.rotate_bytes:  # type: ignore
            self._open(slot, self._index + 1)

    # --- transport hooks ----------------------------------------------------------------
    def _announce(self, fmt: DataFormat) -> None:
        if self._file is None or not self._has_data:
            self._open(self._time_slot(), self._index)
            return
        if self.mode == "a" or self.rotate_bytes or self._force_suffix:
            self._open(self._time_slot(), self._index + 1)
        else:
            self._force_suffix = True
            self._open(self._time_slot(), 0)

    def _write(self, data: bytes) -> None:
        try:
            self._file.write(data)  # type: ignore[union-attr]
        except OSError as exc:
            raise TrapIOError(f"{self.spec.label}: cannot write {self.current_name}: "
                              f"{exc.strerror}") from None

    def _deliver(self, payload: bytes, count: int) -> int:
        self._rotate_if_due()
        self._write(data_block_head(len(payload)) + payload)
        self._file.flush()  # type: ignore[union-attr]  # a batch is on disk when sent
        self._has_data = True
        return count

    def _deliver_eof(self, wait_for_reader: bool) -> None:
        if self._file is not None:
            self._write(EOF_BLOCK_BYTES)
            self._file.flush()

    def _finish(self, grace: float) -> None:
        self._close_file()

    @property
    def num_clients(self) -> int:
        return 1

    @property
    def ifc_id(self) -> str:
        return self.current_name
