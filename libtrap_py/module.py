"""The base a module author subclasses: declared interfaces, parameters and hooks.

    @dataclass
    class Params:
        threshold: int = param(100, "-t", "alerts above this many flows")

    class MyDetector(Module):
        name = "my_detector"
        description = "Counts flows per source."
        Params = Params
        required = "ipaddr SRC_IP,time TIME_FIRST"       # fields every input must provide

        def setup(self):
            self.set_output_template("ipaddr SRC_IP,uint32 EVENT_SCALE")

        def on_record(self, record, index):
            ...
            self.emit(Record(self.output_template(), SRC_IP=..., EVENT_SCALE=...))

Hooks never touch sockets: the runtime (or the in-process driver of the tests) connects them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from unirec import Record, RecordBatch, Template

from .formats import ANY_UNIREC, DataFormat, FormatType
from .ifc_spec import Count
from .message import Message


def param(default: Any, short: str | None = None, help: str = "", **extra: Any) -> Any:
    """A module parameter: its default, short option (`-t`) and help text."""
    metadata = {"short": short, "help": help, **extra}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default),
                                 metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class NoParams:
    pass


class OutputPort:
    """Where a module's emitted data goes; the runtime or the driver provides it."""

    format: DataFormat | None = None

    def set_format(self, fmt: DataFormat) -> None:
        raise NotImplementedError

    def send_batch(self, batch: RecordBatch) -> None:
        raise NotImplementedError

    def send_record(self, record: Record) -> None:
        raise NotImplementedError

    def send_payload(self, payload: bytes, count: int) -> None:
        raise NotImplementedError

    def send_messages(self, messages: list) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        pass


class Module:
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    inputs: ClassVar[Count] = 1               # int, (minimum, maximum), None = 1..32
    outputs: ClassVar[Count] = 1
    output_timeout: ClassVar[int | None] = None   # forced on every output (e.g. NO_WAIT)
    Params: ClassVar[type] = NoParams
    required: ClassVar[DataFormat | str] = ANY_UNIREC
    send_eof_at_end: bool = True
    ignore_eof: bool = False                      # socket inputs keep running after EOF

    def __init__(self, params: Any = None):
        self.params = params if params is not None else self.Params()
        self.ports: list[OutputPort] = []
        self.input_count = 0
        self.stop_requested = False

    # --- hooks ----------------------------------------------------------------------------
    def setup(self) -> None:
        """Called once after the interfaces are open, before any data."""

    def on_format(self, fmt: DataFormat, index: int) -> None:
        """An input announced (or changed) its format."""

    def on_message(self, message: Message, index: int) -> None:
        """A received batch; the default decodes it and calls on_batch."""
        self.on_batch(message.batch(), index)

    def on_batch(self, batch: RecordBatch, index: int) -> None:
        """Records of one batch; the default calls on_record for each."""
        for record in batch.records():
            self.on_record(record, index)

    def on_record(self, record: Record, index: int) -> None:
        """One record."""

    def produce(self) -> bool:
        """For modules without inputs: send the next piece of data; False when done. The
        runtime calls it back to back, so a producer that waits for something sleeps here."""
        return False

    def on_tick(self, now: float) -> None:
        """Called about every tick_interval seconds of wall time."""

    def on_eof(self, index: int) -> None:
        """Input `index` ended."""

    def finish(self) -> None:
        """All inputs ended (or the module is stopping): emit what is left."""

    tick_interval: float = 1.0

    # --- helpers for hooks ------------------------------------------------------------------
    def set_output_template(self, template: Template | str, output: int = 0) -> None:
        self.ports[output].set_format(DataFormat.unirec(template))

    def set_output_format(self, fmt: DataFormat, output: int = 0) -> None:
        self.ports[output].set_format(fmt)

    def output_template(self, output: int = 0) -> Template:
        return self.ports[output].format.template  # type: ignore[union-attr]

    def emit(self, data: Record | RecordBatch, output: int = 0) -> None:
        if isinstance(data, RecordBatch):
            self.ports[output].send_batch(data)
        else:
            self.ports[output].send_record(data)

    def emit_messages(self, messages: list, output: int = 0) -> None:
        self.ports[output].send_messages(messages)

    def forward(self, message: Message, output: int = 0) -> None:
        """Pass a received batch on unchanged (same format), without decoding it."""
        port = self.ports[output]
        if port.format != message.format:
            port.set_format(message.format)  # type: ignore[arg-type]
        if message.format.type == FormatType.UNIREC:  # type: ignore[union-attr]
            port.send_payload(message.payload, message.count)
        else:
            port.send_messages(message.messages())

    def stats(self) -> dict:
        """Module-specific counters for the service endpoint (for example packets seen)."""
        return {}

    def request_stop(self) -> None:
        """Stop after the current batch (for example after `-c N` records)."""
        self.stop_requested = True
