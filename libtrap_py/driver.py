"""The in-process driver: run any Module's hooks on record batches, without sockets, and
collect what it sends (unit tests, benchmarks).

    ports = run(VportscanDetector(params), [batch1, batch2])
    alerts = ports[0].records()
"""

from __future__ import annotations

from collections.abc import Iterable

from unirec import Record, RecordBatch

from .formats import DataFormat
from .message import Message
from .module import Module, OutputPort


class CollectingPort(OutputPort):
    """An output that keeps what the module sends."""

    def __init__(self) -> None:
        self.format: DataFormat | None = None
        self.batches: list[RecordBatch] = []
        self.messages: list = []

    def set_format(self, fmt: DataFormat) -> None:
        self.format = fmt

    def send_batch(self, batch: RecordBatch) -> None:
        if batch.length:
            self.batches.append(batch)

    def send_record(self, record: Record) -> None:
        self.batches.append(RecordBatch.from_records([record]))

    def send_payload(self, payload: bytes, count: int) -> None:
        self.batches.append(Message(self.format, payload).batch())

    def send_messages(self, messages: list) -> None:
        self.messages.extend(messages)

    def records(self) -> list[Record]:
        return [record for batch in self.batches for record in batch.records()]


def start(module: Module, outputs: int = 1, inputs: int = 1) -> list[CollectingPort]:
    """Validate the module's parameters as the command line does, give the module collecting
    outputs and call setup()."""
    check = getattr(module.params, "validate", None)
    if check is not None:
        check()
    ports = [CollectingPort() for _ in range(outputs)]
    module.ports = ports  # type: ignore[assignment]
    module.input_count = inputs
    module.setup()
    return ports


def feed(module: Module, batch: RecordBatch, index: int = 0) -> None:
    """One received batch, as the runtime delivers it."""
    fmt = DataFormat.unirec(batch.template)
    formats = module.__dict__.setdefault("_inprocess_formats", {})
    if formats.get(index) != fmt:
        formats[index] = fmt
        module.on_format(fmt, index)
    module.on_message(Message(fmt, batch=batch), index)


def run(module: Module, batches: Iterable[RecordBatch], outputs: int = 1,
        more_inputs: Iterable[Iterable[RecordBatch]] = ()) -> list[CollectingPort]:
    """setup, every batch, EOF and finish: the whole life of a module on finite inputs
    (`batches` for input 0, `more_inputs` for inputs 1, 2, ...)."""
    inputs = [batches, *more_inputs]
    ports = start(module, outputs, len(inputs))
    for index, input_batches in enumerate(inputs):
        for batch in input_batches:
            feed(module, batch, index)
        module.on_eof(index)
    module.finish()
    return ports
