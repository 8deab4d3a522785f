"""flowcounter: count flows, packets and bytes; print the totals at the end or on SIGUSR1."""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.ifc_spec import NO_WAIT
from libtrap_py.message import Message
from libtrap_py.module import Module, param
from unirec import RecordBatch

OUTPUT_TEMPLATE = "uint64 BYTES,uint64 FLOWS,uint32 PACKETS"


@dataclass
class CounterParams:
    progress: int = param(0, "-p", "Print a progress character every N flows (0 = off).")
    progress_char: str = param(".", "-P", "The progress character.")
    interval: int = param(0, "-o", "Every SEC seconds (1..999) send a record "
                                   f"'{OUTPUT_TEMPLATE}' on the output.")
    deltas: bool = param(False, "-r", "-o records carry the change since the previous one.")

    def validate(self) -> None:
        if self.interval and not 1 <= self.interval <= 999:
            raise ValueError(f"-o {self.interval}: must be 1..999 seconds")
        if self.progress < 0:
            raise ValueError(f"-p {self.progress}: must be >= 0")


class FlowCounter(Module):
    name = "flowcounter"
    description = ("Count flows, packets and bytes of the input; print the totals at the end "
                   "and on SIGUSR1. With -o, also send them as records every SEC seconds.")
    inputs, outputs = 1, (0, 1)
    Params = CounterParams
    required = "uint32 PACKETS,uint64 BYTES"
    output_timeout = NO_WAIT

    def setup(self) -> None:
        if len(self.ports) != bool(self.params.interval):
            raise ValueError("flowcounter has an output exactly when -o is given")
        self.flows = self.packets = self.bytes = 0
        self.sent = (0, 0, 0)
        self.tick_interval = self.params.interval or 1.0
        self.next_progress = self.params.progress
        if self.ports:
            self.set_output_template(OUTPUT_TEMPLATE)
        signal.signal(signal.SIGUSR1, lambda *_: self._print(with_time=True))

    def on_message(self, message: Message, index: int) -> None:
        batch = message.batch()
        self.flows += batch.length
        self.packets += int(np.sum(batch.column("PACKETS"), dtype=np.uint64))
        self.bytes += int(np.sum(batch.column("BYTES"), dtype=np.uint64))
        if self.params.progress:
            while self.flows >= self.next_progress:
                sys.stdout.write(self.params.progress_char)
                sys.stdout.flush()
                self.next_progress += self.params.progress

    def on_tick(self, now: float) -> None:
        if not self.params.interval:
            return
        totals = (self.bytes, self.flows, self.packets)
        values = tuple(t - s for t, s in zip(totals, self.sent, strict=True)) \
            if self.params.deltas else totals
        self.sent = totals
        self.emit(RecordBatch.from_rows(self.output_template(), [values]))

    def finish(self) -> None:
        self._print(with_time=False)

    def _print(self, with_time: bool) -> None:
        if with_time:
            print(f"Time: {int(time.time())}")
        print(f"Flows:   {self.flows:20d}\nPackets: {self.packets:20d}\nBytes:   {self.bytes:20d}",
              flush=True)


main = module_command(FlowCounter)

if __name__ == "__main__":
    main()
