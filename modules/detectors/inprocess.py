"""Helpers for running detectors in-process: the runtime's driver, and flows from dicts.

    ports = run(VportscanDetector(params), [flow_batch([{...}, ...])])
    alerts = ports[0].records()
"""

from __future__ import annotations

from collections.abc import Iterable

from libtrap_py.driver import CollectingPort, feed, run, start
from unirec import Record, RecordBatch, Template

__all__ = ["BIFLOW_TEMPLATE", "UNIFLOW_TEMPLATE", "CollectingPort", "feed", "flow_batch", "run",
           "start"]


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
