"""vportscan_detector: vertical scans, one source probing many ports (or IP protocols) of one host.

NEMEA's rule is the core: per (source, destination, protocol) the set of probed destination
ports; `-n` distinct ports make an alert. What counts as a probe is wider than NEMEA's pure-SYN
TCP flow (see `probe_masks`): stealth TCP probes, unanswered UDP, and small flows of uncommon IP
protocols (protocol scan, own threshold `-P`). A repeated port only refreshes the pair (NEMEA
removes it, which retransmitted probes defeat); after an alert the pair keeps its ports, so the
next alert needs `-n` *new* ones and an idle pair that alerted sends a last alert with the rest:
the PORT_CNT of one scan add up to the ports it probed. Time is flow time. `--classic` is
NEMEA's counting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param
from unirec import RecordBatch

from .alerts import alert_batch
from .distinct_counter import DistinctCounter, Report
from .flow_columns import ACK, FIN, NS, PSH, RST, SYN, URG, ipv4_mask, latest, optional, row_keys

OUTPUT_TEMPLATE = ("uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,ipaddr DST_IP,"
                   "uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,uint32 PORT_CNT,uint8 TCP_FLAGS")
PORT_SCAN, PROTOCOL_SCAN = 1, 2                      # EVENT_TYPE; a protocol scan has PROTOCOL 0
STEALTH = np.array([0, FIN, FIN | PSH | URG, ACK, FIN | ACK], dtype=np.uint8)  # NULL FIN XMAS ACK
TRACEROUTE_PORTS = (33434, 33534)
COMMON_PROTOCOLS = np.array([1, 6, 17, 58], dtype=np.uint8)  # not counted for protocol scans


@dataclass
class VportscanParams:
    threshold: int = param(50, "-n", "Alert when a source probed this many new ports of a host.")
    protocol_threshold: int = param(10, "-P", "Alert when a source probed this many IP protocols "
                                               "(beyond TCP, UDP, ICMP) of a host (protocol "
                                               "scan; 0 = off).")
    max_packets: int = param(8, "-k", "Largest flow (packets) counted as a probe (NEMEA: 4; "
                                      "retried SYNs need more).")
    idle: int = param(300, "-d", "Forget a source/host pair idle this many seconds (flow time).")
    prune: int = param(60, "-p", "Look for idle pairs every this many seconds (flow time).")
    classic: bool = param(False, None, "NEMEA's exact rule: IPv4 pure-SYN TCP flows of at most "
                                       "4 packets, a repeated port is removed, a pair restarts "
                                       "after an alert.")

    def validate(self) -> None:
        for name in ("max_packets", "idle", "prune"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.threshold < 2:
            raise ValueError("--threshold must be at least 2")
        if self.protocol_threshold < 0 or self.protocol_threshold == 1:
            raise ValueError("--protocol-threshold must be 0 (off) or at least 2")


def probe_masks(batch: RecordBatch, p: VportscanParams) -> tuple[np.ndarray, np.ndarray]:
    """(port probes, protocol probes) of a batch of flows (forward counters; *_REV if present).

    Port probe (--classic: NEMEA's IPv4 pure SYN of at most 4 packets), at most -k packets:
    TCP whose flags (ECN bits aside) have SYN without ACK, or are a stealth probe (NULL, FIN,
    XMAS, ACK, FIN+ACK) answered by nothing or a RST; UDP that got no answer, except a service
    port talking to a client port and traceroute's ports.
    Protocol probe: a flow of at most -k packets of a protocol other than TCP, UDP, ICMP and
    ICMPv6 (the distinct PROTOCOL values are counted)."""
    proto, packets = batch.column("PROTOCOL"), batch.column("PACKETS")
    flags = batch.column("TCP_FLAGS")
    tcp = proto == 6
    if p.classic:
        v4 = ipv4_mask(batch.column("SRC_IP")) & ipv4_mask(batch.column("DST_IP"))
        return (packets <= 4) & tcp & (flags == SYN) & v4, np.zeros(batch.length, dtype=bool)
    small = packets <= p.max_packets
    core = flags & 0x3F
    syn = (core & (SYN | ACK)) == SYN
    stealth = np.isin(core, STEALTH)
    rev_flags = optional(batch, "TCP_FLAGS_REV")
    if rev_flags is not None:
        stealth &= (rev_flags == 0) | ((rev_flags & (0x3F ^ ACK)) == RST)
    sport, dport = batch.column("SRC_PORT"), batch.column("DST_PORT")
    udp = ((proto == 17) & ~((sport < 1024) & (dport >= 1024))
           & ~((dport >= TRACEROUTE_PORTS[0]) & (dport <= TRACEROUTE_PORTS[1])))
    rev_packets = optional(batch, "PACKETS_REV")
    if rev_packets is not None:
        udp &= rev_packets == 0
    protocols = small & ~np.isin(proto, COMMON_PROTOCOLS) if p.protocol_threshold \
        else np.zeros(batch.length, dtype=bool)
    return small & ((tcp & (syn | stealth)) | udp), protocols


class VportscanDetector(Module):
    name = "vportscan_detector"
    description = ("Vertical scan detector: one source probing many ports (TCP SYN, stealth, "
                   "UDP) or IP protocols of one host. Alerts every -n new ports; flow time.")
    Params = VportscanParams
    required = ("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
                "uint32 PACKETS,uint8 TCP_FLAGS,time TIME_FIRST,time TIME_LAST")

    def setup(self) -> None:
        self.set_output_template(OUTPUT_TEMPLATE)
        p = self.params
        self.pairs = DistinctCounter(p.idle * NS, after_report="drop" if p.classic else "keep",
                                     toggle=p.classic)
        self.now = 0

    def on_batch(self, batch: RecordBatch, index: int) -> None:
        if not batch.length:
            return
        ports, protocols = probe_masks(batch, self.params)
        src, dst, proto = batch.column("SRC_IP"), batch.column("DST_IP"), batch.column("PROTOCOL")
        reports = []
        for mask, values, kind, threshold in (
                (ports, batch.column("DST_PORT"), proto, self.params.threshold),
                (protocols, proto, np.zeros_like(proto), self.params.protocol_threshold)):
            rows = np.flatnonzero(mask)
            if rows.size:
                reports += self.pairs.add(
                    row_keys(src[rows], dst[rows], kind[rows]), values[rows].tolist(),
                    *(batch.column(n)[rows].tolist() for n in ("TIME_FIRST", "TIME_LAST",
                                                               "TCP_FLAGS")),
                    rows.tolist(), threshold)
        self.now = latest(batch, self.now)
        reports += self.pairs.advance(self.now, self.params.prune * NS)
        self._send(reports, batch)

    def finish(self) -> None:
        self._send(self.pairs.drain())

    def _send(self, reports: list[Report], batch: RecordBatch | None = None) -> None:
        if reports:
            self.emit(alert_batch(self.output_template(), [alert(r, batch) for r in reports]))


def alert(report: Report, batch: RecordBatch | None) -> dict:
    """The alert record of a report; ports from the flow that completed it (if any)."""
    key, port_scan = report.key, report.key[32] != 0
    fields = {"EVENT_TYPE": PORT_SCAN if port_scan else PROTOCOL_SCAN,
              "TIME_FIRST": report.first, "TIME_LAST": report.last, "SRC_IP": key[:16],
              "DST_IP": key[16:32], "PROTOCOL": key[32], "PORT_CNT": report.count,
              "TCP_FLAGS": report.flags if port_scan else 0}
    if batch is not None and report.row is not None and port_scan:
        fields["SRC_PORT"] = int(batch.column("SRC_PORT")[report.row])
        fields["DST_PORT"] = int(batch.column("DST_PORT")[report.row])
    return fields


main = module_command(VportscanDetector)

if __name__ == "__main__":
    main()
