"""vportscan_aggregator: merge vportscan_detector alerts into one event per scan.

As NEMEA's: per source and protocol (and destination with --noblockscans) the destinations and
their summed PORT_CNT, first and last time; an event is sent `-t` minutes after it opened and
at the end of the stream, split in chunks of 1000 destinations (sorted by address). The window
runs in flow time (see episodes). Output: UniRec (OUTPUT_TEMPLATE, one record per event chunk)
or, with --json, NEMEA's JSON documents (label `aggregated_portscan`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.formats import DataFormat
from libtrap_py.module import Module, param
from unirec import RecordBatch
from unirec.ipaddr import text_from_raw

from .alerts import alert_batch
from .episodes import Episodes
from .flow_columns import NS, optional, row_keys

OUTPUT_TEMPLATE = ("uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,ipaddr DST_IP,"
                   "uint8 PROTOCOL,uint8 TCP_FLAGS,uint32 PORT_CNT,uint32 DST_CNT,"
                   "uint32 ALERT_CNT,string DST_IPS")
JSON_LABEL = "aggregated_portscan"
CHUNK = 1000


@dataclass
class AggregatorParams:
    time: float = param(5.0, "-t", "Aggregation window in minutes (flow time).")
    noblockscans: bool = param(False, None, "One event per source and destination (no block "
                                            "scans over several destinations).")
    json: bool = param(False, "-j", f"Send NEMEA's JSON events (label {JSON_LABEL}).")

    def validate(self) -> None:
        if not self.time > 0:
            raise ValueError(f"-t {self.time}: the window must be positive")


class Scan:
    __slots__ = ("alerts", "dsts", "event_type", "first", "flags", "last", "protocol", "src")

    def __init__(self, key: bytes):
        self.src, self.protocol, self.event_type = key[:16], key[16], key[17]
        self.dsts: dict[bytes, int] = {}
        self.first, self.last, self.flags, self.alerts = 1 << 62, 0, 0, 0


class VportscanAggregator(Module):
    name = "vportscan_aggregator"
    description = ("Aggregate vportscan_detector alerts: one event per scanning source "
                   "(and protocol) per -t minutes of flow time, with summed port counts.")
    Params = AggregatorParams
    required = ("uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,ipaddr DST_IP,"
                "uint8 PROTOCOL,uint32 PORT_CNT")

    def setup(self) -> None:
        if self.params.json:
            self.set_output_format(DataFormat.json(JSON_LABEL))
        else:
            self.set_output_template(OUTPUT_TEMPLATE)
        self.episodes = Episodes(int(self.params.time * 60 * NS))

    def on_batch(self, batch: RecordBatch, index: int) -> None:
        if not batch.length:
            return
        src, dst = batch.column("SRC_IP"), batch.column("DST_IP")
        key_cols = [src, batch.column("PROTOCOL"), batch.column("EVENT_TYPE")]
        if self.params.noblockscans:
            key_cols.append(dst)
        flags = optional(batch, "TCP_FLAGS")
        flags = flags if flags is not None else np.zeros(batch.length, dtype=np.uint8)
        for key, d, first, last, ports, flag in zip(
                row_keys(*key_cols), dst.tolist(), batch.column("TIME_FIRST").tolist(),
                batch.column("TIME_LAST").tolist(), batch.column("PORT_CNT").tolist(),
                flags.tolist(), strict=True):
            self._send(self.episodes.advance(last))
            scan = self.episodes.event(key, last, lambda k=key: Scan(k))
            scan.dsts[d] = scan.dsts.get(d, 0) + ports
            scan.first, scan.last = min(scan.first, first), max(scan.last, last)
            scan.flags |= flag
            scan.alerts += 1

    def on_tick(self, now: float) -> None:
        self._send(self.episodes.expire_wall())

    def finish(self) -> None:
        self._send(self.episodes.drain())

    def _send(self, scans: list[Scan]) -> None:
        if not scans:
            return
        chunks = [(scan, dsts[i:i + CHUNK]) for scan in scans
                  for dsts in [sorted(scan.dsts)] for i in range(0, len(dsts), CHUNK)]
        if self.params.json:
            self.emit_messages([json.dumps(self._document(scan, dsts)) for scan, dsts in chunks])
            return
        self.emit(alert_batch(self.output_template(), [self._record(s, d) for s, d in chunks]))

    @staticmethod
    def _record(scan: Scan, dsts: list[bytes]) -> dict:
        counts = [scan.dsts[d] for d in dsts]
        return {"EVENT_TYPE": scan.event_type, "TIME_FIRST": scan.first, "TIME_LAST": scan.last,
                "SRC_IP": scan.src, "DST_IP": dsts[int(np.argmax(counts))],
                "PROTOCOL": scan.protocol, "TCP_FLAGS": scan.flags, "PORT_CNT": sum(counts),
                "DST_CNT": len(dsts), "ALERT_CNT": scan.alerts,
                "DST_IPS": ",".join(f"{text_from_raw(d)}={c}" for d, c in zip(dsts, counts,
                                                                             strict=True))}

    @staticmethod
    def _document(scan: Scan, dsts: list[bytes]) -> dict:
        return {"src_ip": text_from_raw(scan.src),
                "dst_ips": {text_from_raw(d): scan.dsts[d] for d in dsts},
                "ts_first": scan.first / NS, "ts_last": scan.last / NS,
                "protocol": scan.protocol, "event_type": scan.event_type}


main = module_command(VportscanAggregator)

if __name__ == "__main__":
    main()
