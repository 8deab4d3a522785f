"""logger: print records as CSV text, exactly as NEMEA's logger does."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from libtrap_py.cli import module_command
from libtrap_py.formats import DataFormat
from libtrap_py.message import Message
from libtrap_py.module import Module, param
from unirec import CsvFormatter

_DELIMITER_ESCAPES = {"\\f": "\f", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\v": "\v"}


@dataclass
class LoggerParams:
    header: bool = param(False, "-t", "Print the template as a header line first.")
    receive_time: bool = param(False, "-T", "Prepend a column with the receive time (UTC).")
    count: int = param(0, "-c", "Stop after this many records (0 = no limit).")
    write: str = param("", "-w", "Write to this file (truncate) instead of stdout.")
    append: str = param("", "-a", "Append to this file instead of stdout.")
    delimiter: str = param(",", "-d", "Column delimiter: one character or \\t \\n \\r \\f \\v.")

    def validate(self) -> None:
        self.delimiter = _DELIMITER_ESCAPES.get(self.delimiter, self.delimiter)
        if len(self.delimiter) != 1:
            raise ValueError(f"-d {self.delimiter!r}: the delimiter must be one character")
        if self.count < 0:
            raise ValueError(f"-c {self.count}: must be 0 (no limit) or more")
        if self.write and self.append:
            raise ValueError("-w and -a cannot be used together")


class Logger(Module):
    name = "logger"
    description = "Print received UniRec records as CSV text (header = template with -t)."
    inputs, outputs = 1, 0
    Params = LoggerParams

    def setup(self) -> None:
        p = self.params
        target = p.write or p.append
        self.out = open(target, "a" if p.append else "w") if target else sys.stdout  # noqa: SIM115
        self.formatter: CsvFormatter | None = None
        self.header_done = not p.header
        self.printed = 0

    def on_format(self, fmt: DataFormat, index: int) -> None:
        self.formatter = CsvFormatter(fmt.template, self.params.delimiter)

    def on_message(self, message: Message, index: int) -> None:
        p = self.params
        if not self.header_done:
            header = self.formatter.header()  # type: ignore[union-attr]
            self.out.write(("time" + p.delimiter + header if p.receive_time else header) + "\n")
            self.header_done = True
        batch = message.batch()
        if p.count:
            left = p.count - self.printed
            if left <= 0:
                self.request_stop()
                return
            if batch.length > left:
                batch = batch.take(range(left))
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) if p.receive_time else None
        self.out.write(self.formatter.format_batch(batch, prefix))  # type: ignore[union-attr]
        self.out.flush()
        self.printed += batch.length
        if p.count and self.printed >= p.count:
            self.request_stop()

    def finish(self) -> None:
        if not self.header_done and self.formatter is not None:
            self.out.write(self.formatter.header() + "\n")
        self.out.flush()
        if self.out is not sys.stdout:
            self.out.close()


main = module_command(Logger)

if __name__ == "__main__":
    main()
