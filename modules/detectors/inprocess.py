"""Run a Module in-process on RecordBatches, without sockets (unit tests, benchmarks).

    ports = run(VportscanDetector(params), [batch1, batch2])
    alerts = ports[0].records()
"""

from __future__ import annotations

from collections.abc import Iterable

from libtrap_py.formats import DataFormat
from libtrap_py.message import Message
from libtrap_py.module import Module, OutputPort
from unirec import Record, RecordBatch, Template


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


def start(module: Module, outputs: int = 1) -> list[CollectingPort]:
    """Give the module collecting outputs and call setup()."""
    ports = [CollectingPort() for _ in range(outputs)]
    module.ports = ports  # type: ignore[assignment]
    module.input_count = 1
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


def run(module: Module, batches: Iterable[RecordBatch], outputs: int = 1) -> list[CollectingPort]:
    """setup, every batch, EOF and finish: the whole life of a module on a finite input."""
    ports = start(module, outputs)
    for batch in batches:
        feed(module, batch)
    module.on_eof(0)
    module.finish()
    return ports


BIFLOW_TEMPLATE = ("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
                   "uint32 PACKETS,uint32 PACKETS_REV,uint64 BYTES,uint64 BYTES_REV,"
                   "uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV,time TIME_FIRST,time TIME_LAST")
UNIFLOW_TEMPLATE = ("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
                    "uint32 PACKETS,uint64 BYTES,uint8 TCP_FLAGS,time TIME_FIRST,time TIME_LAST")


def flow_batch(flows: Iterable[dict], template: str = BIFLOW_TEMPLATE) -> RecordBatch:
    """Flows given as {field: value}: addresses as text, TIME_FIRST/TIME_LAST as float seconds
    (TIME_LAST defaults to TIME_FIRST); fields left out are 0, fields the template lacks
    (*_REV for a uniflow template) are dropped."""
    known = Template.of(template).index
    records = []
    for flow in flows:
        values = {name: value for name, value in flow.items() if name in known}
        for name in ("TIME_FIRST", "TIME_LAST"):
            seconds = values.get(name, flow.get("TIME_FIRST", 0.0))
            values[name] = round(seconds * 1_000_000_000)
        records.append(Record(template, values))
    return RecordBatch.from_records(records, template)
