"""haddrscan_detector: horizontal scans, one source probing one port on many addresses.

NEMEA's rule is the core: per (source, destination port) the set of probed addresses; `-n`
distinct addresses make an alert with 4 sample victims, and an idle key that alerted sends a
last alert with what it probed since. Extended (see `probe_masks`): a probe is a failed TCP
attempt whatever its retransmissions (NEMEA: exactly one SYN packet), an unanswered UDP flow, or
an ICMP request flow (sweep, own threshold `-I`); the key includes the protocol; an address
already reported is not counted again (NEMEA clears the set), so the ADDR_CNT of one scan add up
to the addresses it probed. Time is flow time. `--classic` is NEMEA's counting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param
from unirec import RecordBatch

from .alerts import alert_batch
from .distinct_counter import DistinctCounter, Report
from .flow_columns import ACK, NS, SYN, ipv4_mask, latest, multicast_mask, optional, row_keys

SAMPLES = 4
OUTPUT_TEMPLATE = ("uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,uint16 DST_PORT,"
                   "uint8 PROTOCOL,uint32 ADDR_CNT,uint32 ADDR_THRSD,"
                   + ",".join(f"ipaddr DST_IP{i}" for i in range(SAMPLES)))
ICMP_PROTOCOLS = (1, 58)
ICMP_REQUESTS = {1: [8, 13, 15, 17], 58: [128]}   # echo, timestamp, information, mask; echo v6


@dataclass
class HaddrscanParams:
    threshold: int = param(50, "-n", "Alert when a source probed one port on this many new "
                                     "addresses.")
    icmp_threshold: int = param(16, "-I", "The same for ICMP requests (sweeps); 0 = no ICMP.")
    idle: int = param(300, "-d", "Forget a source/port idle this many seconds (flow time).")
    prune: int = param(60, "-p", "Look for idle keys every this many seconds (flow time).")
    max_packets: int = param(8, "-k", "Largest flow (packets) counted as a probe (NEMEA: 1).")
    classic: bool = param(False, None, "NEMEA's exact rule: IPv4 TCP flows of one SYN packet "
                                       "only, the address set cleared after an alert.")

    def validate(self) -> None:
        for name in ("idle", "prune", "max_packets"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.threshold < 2:
            raise ValueError("--threshold must be at least 2")
        if self.icmp_threshold < 0 or self.icmp_threshold == 1:
            raise ValueError("--icmp-threshold must be 0 (off) or at least 2")


def probe_masks(batch: RecordBatch, p: HaddrscanParams) -> np.ndarray:
    """Flows that are probes (forward counters; PACKETS_REV, L4_ICMP_TYPE_CODE if present).

    At most -k packets, not to a multicast/broadcast address: TCP with SYN and without ACK (a
    failed or half-open attempt, retransmissions included); UDP that got no answer, except a
    service port talking to a client port; ICMP/ICMPv6 requests (type from L4_ICMP_TYPE_CODE,
    else from a non-zero DST_PORT as ipfixprobe sets it; a zero DST_PORT counts as unknown).
    --classic: NEMEA's IPv4 TCP flows of exactly one pure-SYN packet."""
    proto, packets = batch.column("PROTOCOL"), batch.column("PACKETS")
    flags, dst = batch.column("TCP_FLAGS"), batch.column("DST_IP")
    if p.classic:
        v4 = ipv4_mask(batch.column("SRC_IP")) & ipv4_mask(dst)
        return (packets == 1) & (proto == 6) & (flags == SYN) & v4
    tcp = (proto == 6) & ((flags & (SYN | ACK)) == SYN)
    sport, dport = batch.column("SRC_PORT"), batch.column("DST_PORT")
    udp = (proto == 17) & ~((sport < 1024) & (dport >= 1024))
    rev_packets = optional(batch, "PACKETS_REV")
    if rev_packets is not None:
        udp &= rev_packets == 0
    icmp = np.isin(proto, ICMP_PROTOCOLS) if p.icmp_threshold else np.zeros(len(proto), bool)
    type_code = optional(batch, "L4_ICMP_TYPE_CODE")
    known = np.ones(len(proto), bool) if type_code is not None else dport != 0
    type_code = type_code if type_code is not None else dport   # ipfixprobe: type<<8 | code
    request = np.where(proto == 1, np.isin(type_code >> 8, ICMP_REQUESTS[1]),
                       np.isin(type_code >> 8, ICMP_REQUESTS[58]))
    icmp &= ~known | request
    return (packets <= p.max_packets) & (tcp | udp | icmp) & ~multicast_mask(dst)


class HaddrscanDetector(Module):
    name = "haddrscan_detector"
    description = ("Horizontal scan detector: one source probing one port (TCP, UDP) on many "
                   "addresses, or sweeping them with ICMP requests. Flow time.")
    Params = HaddrscanParams
    required = ("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
                "uint32 PACKETS,uint8 TCP_FLAGS,time TIME_FIRST,time TIME_LAST")

    def setup(self) -> None:
        self.set_output_template(OUTPUT_TEMPLATE)
        p = self.params
        self.sweeps = DistinctCounter(p.idle * NS, samples=SAMPLES,
                                      after_report="clear" if p.classic else "keep")
        self.now = 0

    def on_batch(self, batch: RecordBatch, index: int) -> None:
        if not batch.length:
            return
        probes = probe_masks(batch, self.params)
        icmp = np.isin(batch.column("PROTOCOL"), ICMP_PROTOCOLS)
        reports = []
        for mask, threshold in ((probes & ~icmp, self.params.threshold),
                                (probes & icmp, self.params.icmp_threshold)):
            rows = np.flatnonzero(mask)
            if rows.size:
                reports += self.sweeps.add(
                    row_keys(*(batch.column(n)[rows] for n in ("SRC_IP", "PROTOCOL",
                                                               "DST_PORT"))),
                    *(batch.column(n)[rows].tolist() for n in ("DST_IP", "TIME_FIRST",
                                                               "TIME_LAST")),
                    [0] * rows.size, rows.tolist(), threshold)
        self.now = latest(batch, self.now)
        reports += self.sweeps.advance(self.now, self.params.prune * NS)
        self._send(reports)

    def finish(self) -> None:
        self._send(self.sweeps.drain())

    def _send(self, reports: list[Report]) -> None:
        if reports:
            self.emit(alert_batch(self.output_template(), [self._alert(r) for r in reports]))

    def _alert(self, report: Report) -> dict:
        key = report.key
        threshold = self.params.icmp_threshold if key[16] in ICMP_PROTOCOLS \
            else self.params.threshold
        fields = {"EVENT_TYPE": 1, "TIME_FIRST": report.first, "TIME_LAST": report.last,
                  "SRC_IP": key[:16], "PROTOCOL": key[16],
                  "DST_PORT": int.from_bytes(key[17:19], "little"),
                  "ADDR_CNT": report.count, "ADDR_THRSD": threshold}
        fields.update({f"DST_IP{i}": ip for i, ip in enumerate(report.samples)})
        return fields


main = module_command(HaddrscanDetector)

if __name__ == "__main__":
    main()
