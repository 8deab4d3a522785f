"""haddrscan_aggregator: merge haddrscan_detector alerts into one event per scan.

As NEMEA's: per source and destination port (and protocol) the summed ADDR_CNT, first and last
time, and 16 sample victims (the first alert fills DST_IP0-3, the next two 4-7 and 8-11, later
ones overwrite 12-15); an event is sent `-t` minutes after it opened (flow time, see episodes)
and at the end of the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param
from unirec import RecordBatch
from unirec.ipaddr import IP_NULL

from .alerts import alert_batch
from .episodes import Episodes
from .flow_columns import NS, optional, row_keys

SAMPLES_IN, SAMPLES_OUT = 4, 16
OUTPUT_TEMPLATE = ("uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,uint16 DST_PORT,"
                   "uint8 PROTOCOL,uint32 ADDR_CNT,uint32 ADDR_THRSD,uint32 ALERT_CNT,"
                   + ",".join(f"ipaddr DST_IP{i}" for i in range(SAMPLES_OUT)))


@dataclass
class AggregatorParams:
    time: float = param(5.0, "-t", "Aggregation window in minutes (flow time).")

    def validate(self) -> None:
        if not self.time > 0:
            raise ValueError(f"-t {self.time}: the window must be positive")


class Scan:
    __slots__ = ("alerts", "count", "first", "key", "last", "samples", "threshold")

    def __init__(self, key: bytes):
        self.key = key
        self.samples = [IP_NULL] * SAMPLES_OUT
        self.first, self.last, self.count, self.alerts, self.threshold = 1 << 62, 0, 0, 0, 0


class HaddrscanAggregator(Module):
    name = "haddrscan_aggregator"
    description = ("Aggregate haddrscan_detector alerts: one event per source and port per -t "
                   "minutes of flow time, with summed address counts and 16 sample victims.")
    Params = AggregatorParams
    required = ("time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,uint16 DST_PORT,uint8 PROTOCOL,"
                "uint32 ADDR_CNT")

    def setup(self) -> None:
        self.set_output_template(OUTPUT_TEMPLATE)
        self.episodes = Episodes(int(self.params.time * 60 * NS))

    def on_batch(self, batch: RecordBatch, index: int) -> None:
        if not batch.length:
            return
        keys = row_keys(batch.column("SRC_IP"), batch.column("PROTOCOL"),
                        batch.column("DST_PORT"))
        samples = [optional(batch, f"DST_IP{i}") for i in range(SAMPLES_IN)]
        samples = [s.tolist() if s is not None else [IP_NULL] * batch.length for s in samples]
        thresholds = optional(batch, "ADDR_THRSD")
        thresholds = thresholds.tolist() if thresholds is not None else [0] * batch.length
        for row, (key, first, last, count, threshold) in enumerate(zip(
                keys, batch.column("TIME_FIRST").tolist(), batch.column("TIME_LAST").tolist(),
                batch.column("ADDR_CNT").tolist(), thresholds, strict=True)):
            self._send(self.episodes.advance(last))
            scan = self.episodes.event(key, last, lambda k=key: Scan(k))
            block = min(scan.alerts, SAMPLES_OUT // SAMPLES_IN - 1) * SAMPLES_IN
            scan.samples[block:block + SAMPLES_IN] = [column[row] for column in samples]
            scan.first, scan.last = min(scan.first, first), max(scan.last, last)
            scan.count += count
            scan.threshold = max(scan.threshold, threshold)
            scan.alerts += 1

    def on_tick(self, now: float) -> None:
        self._send(self.episodes.expire_wall())

    def finish(self) -> None:
        self._send(self.episodes.drain())

    def _send(self, scans: list[Scan]) -> None:
        if scans:
            self.emit(alert_batch(self.output_template(), [self._record(s) for s in scans]))

    @staticmethod
    def _record(scan: Scan) -> dict:
        record = {"EVENT_TYPE": 1, "TIME_FIRST": scan.first, "TIME_LAST": scan.last,
                  "SRC_IP": scan.key[:16], "PROTOCOL": scan.key[16],
                  "DST_PORT": int.from_bytes(scan.key[17:19], "little"),
                  "ADDR_CNT": scan.count, "ADDR_THRSD": scan.threshold,
                  "ALERT_CNT": scan.alerts}
        record.update({f"DST_IP{i}": ip for i, ip in enumerate(scan.samples)})
        return record


main = module_command(HaddrscanAggregator)

if __name__ == "__main__":
    main()
