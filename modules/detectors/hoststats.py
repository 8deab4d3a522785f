"""hoststats: per-host traffic profiles in flow time, checked by NEMEA's rules when they expire.

Every address seen gets a profile (hoststats_profile); a profile expires `timeout-inactive`
after its last flow or `timeout-active` after its first (flow time, as NEMEA's offline mode `-F`:
replaying a capture gives the same events), or when the table is full (the oldest go first), and
at the end of the input. Expired profiles are checked by the rules (hoststats_rules): horizontal
SYN scans, DoS victims and attackers (SYN floods and other floods), SSH brute force, DNS
amplification. Nothing is reported for profiles that expire within `det-start-time` of the first
flow (their counts started in the middle).

Output: EVENT_TYPE (2 scan, 10 DoS, 15 DNS amplification, 30 SSH brute force), TIME_FIRST/LAST
of the profile, SRC_IP (the host when it is the actor) or DST_IP (when it is the target),
ports, PROTOCOL, EVENT_SCALE and NOTE as NEMEA writes them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param
from unirec import RecordBatch
from unirec.ipaddr import text_from_raw

from .alerts import send_alerts
from .flow_columns import FLOW_FIELDS, optional
from .hoststats_config import HostStatsConfig, load_config
from .hoststats_profile import HostTable
from .hoststats_rules import HostEvent, check

NS = 1_000_000_000
log = logging.getLogger("hoststats")

OUTPUT_TEMPLATE = ("uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,ipaddr DST_IP,"
                   "uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,uint32 EVENT_SCALE,string NOTE")
NULL_IP = b"\0" * 16


@dataclass
class HostStatsParams:
    config: str = param("", "-c", "hoststats.conf (NEMEA's keys: rules-generic, timeout-active, "
                                  "syn-scan-threshold...); built-in defaults without it.")
    offline: bool = param(False, "-F", "Accepted for NEMEA compatibility: hoststats always "
                                       "runs on flow time.")
    no_eof: bool = param(False, "-n", "Do not send end-of-stream at the end.")
    check_interval: float = param(1.0, None, "Look for expired profiles every SEC of flow time.")

    def validate(self) -> None:
        self.loaded = load_config(self.config) if self.config else HostStatsConfig()
        if self.check_interval <= 0:
            raise ValueError("--check-interval: must be > 0")


class HostStats(Module):
    name = "hoststats"
    description = ("Per-host traffic profiles in flow time, checked by NEMEA hoststats' rules "
                   "(horizontal SYN scan, DoS victim/attacker, SSH brute force, DNS "
                   "amplification) when they expire.")
    Params = HostStatsParams
    required = FLOW_FIELDS

    def setup(self) -> None:
        self.cfg: HostStatsConfig = self.params.loaded
        self.send_eof_at_end = not self.params.no_eof
        self.table = HostTable(self.cfg.dns_bytes_overlimit, self.cfg.port_flowdir)
        self.set_output_template(OUTPUT_TEMPLATE)
        self.start = self.now = 0
        self.next_check = 0
        self.next_rotation = 0
        self.flows_seen = self.events_sent = 0
        self.log_file = None
        if self.cfg.detection_log:
            self.log_file = open(self.cfg.detection_log, "a", encoding="utf-8")  # noqa: SIM115

    def on_batch(self, batch: RecordBatch, index: int) -> None:
        if not batch.length:
            return
        self.flows_seen += batch.length
        tf, tl = batch.column("TIME_FIRST"), batch.column("TIME_LAST")
        if not self.start:
            self.start = int(tf.min())
            self.next_check = self.start + int(self.params.check_interval * NS)
            self.next_rotation = self.start + (self.cfg.timeout_active + 10) * NS
        self.table.update(
            batch.column("SRC_IP"), batch.column("DST_IP"), batch.column("SRC_PORT"),
            batch.column("DST_PORT"), batch.column("PROTOCOL"), batch.column("PACKETS"),
            batch.column("BYTES"), optional(batch, "TCP_FLAGS"), tf, tl,
            optional(batch, "DIRECTION_FLAGS"))
        self.now = max(self.now, int(tl.max()))
        events = []
        if self.now >= self.next_check:
            self.next_check = self.now + int(self.params.check_interval * NS)
            events += self._expire(self.table.expired(self.now, self.cfg.timeout_inactive * NS,
                                                      self.cfg.timeout_active * NS))
        if self.now >= self.next_rotation:     # peers older than any profile are forgotten
            self.next_rotation = self.now + (self.cfg.timeout_active + 10) * NS
            self.table.pairs.rotate()
        overflow = len(self.table) - self.cfg.table_size
        if overflow > 0:
            events += self._expire(self.table.oldest(overflow))
        self._send(events)

    def _expire(self, slots: np.ndarray) -> list[dict]:
        if not len(slots):
            return []
        events = []
        if self.now >= self.start + self.cfg.det_start_time * NS:
            events = [self._alert(e) for e in check(self.table, slots, self.cfg)]
        self.table.remove(slots)
        return events

    def _alert(self, event: HostEvent) -> dict:
        host = self.table.addresses[event.slot].tobytes()
        alert = {
            "EVENT_TYPE": event.type, "TIME_FIRST": int(self.table.first[event.slot]),
            "TIME_LAST": int(self.table.last[event.slot]),
            "SRC_IP": host if event.host_is_source else NULL_IP,
            "DST_IP": NULL_IP if event.host_is_source else host,
            "SRC_PORT": event.src_port, "DST_PORT": event.dst_port, "PROTOCOL": event.protocol,
            "EVENT_SCALE": min(event.scale, 2**32 - 1), "NOTE": event.note}
        if self.log_file is not None:
            self.log_file.write(f"{event.type};{text_from_raw(host)};{event.scale};"
                                f"{event.note}\n")
        return alert

    def _send(self, alerts: list[dict]) -> None:
        self.events_sent += send_alerts(self, alerts)

    def finish(self) -> None:
        self._send(self._expire(self.table.all_live()))
        if self.log_file is not None:
            self.log_file.close()

    def stats(self) -> dict:
        return {"flows": self.flows_seen, "hosts": len(self.table), "events": self.events_sent}


main = module_command(HostStats)

if __name__ == "__main__":
    main()
