"""logreplay: send the records of a CSV file (header = template), as NEMEA's logreplay does."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param
from unirec import CsvError, CsvParser

log = logging.getLogger("logreplay")
CHUNK_LINES = 2000


@dataclass
class LogreplayParams:
    file: str = param("", "-f", "CSV file to replay (first line = UniRec template).",
                      required=True)
    count: int = param(0, "-c", "Send at most this many records (0 = all).")
    no_delay: bool = param(False, "-d", "Do not pace by the time column; send at full speed.")
    no_eof: bool = param(False, "-n", "Do not send end-of-stream at the end.")
    speed: float = param(1.0, "-s", "Pacing speed factor (2 = twice as fast).")
    stop_on_error: bool = param(False, "-e", "Stop at the first bad line instead of skipping it.")

    def validate(self) -> None:
        if self.count < 0:
            raise ValueError(f"-c {self.count}: must be > 0")
        if self.speed <= 0:
            raise ValueError(f"-s {self.speed}: the speed factor must be > 0")


class Logreplay(Module):
    name = "logreplay"
    description = ("Replay a CSV file (as printed by logger -t) as UniRec records; a leading "
                   "time column paces the replay.")
    inputs, outputs = 0, 1
    Params = LogreplayParams

    def setup(self) -> None:
        p = self.params
        self.send_eof_at_end = not p.no_eof
        try:
            self.stream = open(p.file, encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError as exc:
            raise ValueError(f"-f {p.file}: {exc.strerror}") from None
        header = self.stream.readline()
        if not header.strip():
            raise CsvError(f"{p.file}:1: empty file, expected a header line", 1)
        self.parser = CsvParser(header, p.file)
        self.set_output_template(self.parser.template)
        self.sent = 0
        self.line = 2
        self.bad_lines = 0
        self.previous_time: int | None = None

    def finish(self) -> None:
        self.stream.close()
        if self.bad_lines:
            log.warning("%s: %d bad lines skipped", self.params.file, self.bad_lines)

    def produce(self) -> bool:
        """Send the next chunk of lines; False when the file (or -c) is done."""
        p = self.params
        lines = [line for _, line in zip(range(CHUNK_LINES), self.stream, strict=False)]
        if not lines:
            return False
        parsed = self.parser.parse(lines, self.line)
        self.line += len(lines)
        for error in parsed.errors:
            self.bad_lines += 1
            if p.stop_on_error:
                raise error
            log.warning("%s (line skipped)", error)
        batch = parsed.batch
        if p.count and self.sent + batch.length > p.count:
            batch = batch.take(range(p.count - self.sent))
        if parsed.times is not None and not p.no_delay:
            self._send_paced(batch, parsed.times)
        else:
            self.emit(batch)
        self.sent += batch.length
        return not (p.count and self.sent >= p.count)

    def _send_paced(self, batch, times: list[int]) -> None:
        start = 0
        for position, stamp in enumerate(times[:batch.length]):
            if self.previous_time is not None and stamp > self.previous_time:
                if position > start:
                    self.emit(batch.take(range(start, position)))
                    self.ports[0].flush()
                    start = position
                time.sleep((stamp - self.previous_time) / 1e9 / self.params.speed)
            self.previous_time = stamp
        if batch.length > start:
            self.emit(batch.take(range(start, batch.length)))


main = module_command(Logreplay)

if __name__ == "__main__":
    main()
