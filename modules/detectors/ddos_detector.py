"""ddos_detector: volumetric floods towards one destination (SYN floods, reflection, UDP floods).

Two rules share one alert stream, one alert per attack episode:

* NEMEA's rule (ddos_reference): 60-s windows, a sudden rise of bytes and source prefixes against
  the destination's own history. It needs minutes of normal traffic first, and floods over
  1 Mb/s.
* The short-window rule (ddos_episodes): per `--bin` of flow time (1 s), flood-class packets
  (ddos_classes: half-open SYNs, reflected SYN-ACKs/RSTs, amplifier responses, small UDP/ICMP...)
  >= `--min-pps` from >= `--min-sources` distinct addresses. It needs no history, so it sees the
  onset of a flood, a capture that starts with one, and floods of small packets.

Both decide on flow time only. Alerts: `ATTACK_TYPE` (SYN flood, SYN-ACK reflection, UDP flood,
DNS/SNMP/... amplification, ICMP flood, volumetric), counts of the whole episode (bytes, packets,
flows, sources, span), `EVENT_ID` (same on every report of an episode) and `EVENT_SEQ`;
AVG_BYTES_* are bytes per second, AVG_IP_CNT_* sources per bin (per window for NEMEA's rule),
*_ORIGINAL from the destination's history when the detector has one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param
from unirec import RecordBatch

from .alerts import send_alerts
from .ddos_classes import CLASSES, NONE, REPLY_CLASSES, attack_name, class_note, classify
from .ddos_episodes import EpisodeEngine, EpisodeParams, Report, Thresholds
from .ddos_keys import address_keys, mask_addresses
from .ddos_reference import FloodReport, ReferenceDdos
from .ddos_rows import REQUEST, VOLUME, FlowRows
from .flow_columns import FLOW_FIELDS, optional

NS = 1_000_000_000
KBPS_WINDOW = 1000 / 8 * 60          # bytes in a 60-s window per kb/s
log = logging.getLogger("ddos_detector")

OUTPUT_TEMPLATE = (
    "ipaddr DST_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint64 EVENT_ID,uint16 EVENT_SEQ,"
    "uint64 AVG_BYTES_CURRENT,uint64 AVG_BYTES_ORIGINAL,uint32 AVG_IP_CNT_CURRENT,"
    "uint32 AVG_IP_CNT_ORIGINAL,uint64 FLOWS,uint64 PACKETS,uint32 SRC_CNT,uint8 PROTOCOL,"
    "uint16 SRC_PORT,uint16 DST_PORT,string ATTACK_TYPE,string NOTE")


@dataclass
class DdosParams(EpisodeParams):
    dst_prefix: int = param(32, "-d", "Group destinations by this IPv4 prefix length.")
    src_prefix: int = param(24, "-s", "Count sources by this IPv4 prefix (NEMEA's rule).")
    threshold: float = param(4.0, "-t", "NEMEA's rule: bytes must exceed this x their average.")
    min_rate: float = param(1000.0, "-m", "NEMEA's rule: minimum flood rate, kb/s.")
    sources_factor: float = param(4.0, "-c", "NEMEA's rule: sources must exceed this x average.")
    base_rate: float = param(1.0, "-b", "NEMEA's rule: report only if the pre-attack average "
                                        "reaches this many kb/s.")
    prune_rate: float = param(10.0, "-p", "NEMEA's rule: forget destinations under kb/s.")
    dst_prefix6: int = param(128, None, "Group IPv6 destinations by this prefix length.")
    bin: float = param(1.0, None, "Short-window rule: bin of flow time, seconds.")
    min_pps: float = param(1000.0, None, "Short-window rule: flood packets per second.")
    min_sources: int = param(50, None, "Short-window rule: distinct source addresses per bin.")
    min_bps: float = param(0.0, None, "Short-window rule: flood bits per second (0 = any).")
    sketch_cells: int = param(1 << 14, None, "Cells of the candidate sketch (power of two).")
    no_reference: bool = param(False, None, "Disable NEMEA's 60-s window rule.")

    def validate(self) -> None:
        if not 0 <= self.dst_prefix <= 32 or not 0 <= self.src_prefix <= 32:
            raise ValueError("-d/-s: prefix lengths must be 0..32")
        if not 0 <= self.dst_prefix6 <= 128:
            raise ValueError("--dst-prefix6: must be 0..128")
        self.check_episode_options(self.bin)
        if self.min_pps < 0 or self.min_sources < 0 or self.min_bps < 0:
            raise ValueError("--min-pps, --min-sources, --min-bps: must be >= 0")
        if self.sketch_cells < 16 or self.sketch_cells & (self.sketch_cells - 1):
            raise ValueError("--sketch-cells: a power of two >= 16")


class DdosDetector(Module):
    name = "ddos_detector"
    description = ("Detect volumetric floods towards one destination: NEMEA's 60-s window rule "
                   "and a short-window rule (SYN floods, reflection, amplification, UDP/ICMP "
                   "floods) on flow time. One alert per attack episode.")
    Params = DdosParams
    required = FLOW_FIELDS

    def setup(self) -> None:
        p = self.params
        bin_ns = int(p.bin * NS)
        self.engine = EpisodeEngine(
            bin_ns=bin_ns, delay_ns=int(p.delay * NS), idle_ns=int(p.idle * NS),
            report_ns=int(p.report_interval * NS),
            hot=Thresholds(packets=p.min_pps * p.bin, bytes=p.min_bps / 8 * p.bin,
                           sources=p.min_sources),
            warm_ratio=p.continue_ratio, classes=CLASSES, cells=p.sketch_cells)
        self.reference = None if p.no_reference else ReferenceDdos(
            threshold=p.threshold, min_bytes=p.min_rate * KBPS_WINDOW,
            sources_factor=p.sources_factor, base_bytes=p.base_rate * KBPS_WINDOW,
            prune_bytes=p.prune_rate * KBPS_WINDOW * 7, report_ns=int(p.report_interval * NS))
        self.set_output_template(OUTPUT_TEMPLATE)
        self.flows_seen = self.alerts_sent = 0

    def on_batch(self, batch: RecordBatch, index: int) -> None:
        if not batch.length:
            return
        self.flows_seen += batch.length
        p = self.params
        src, dst = batch.column("SRC_IP"), batch.column("DST_IP")
        tf, tl = batch.column("TIME_FIRST"), batch.column("TIME_LAST")
        octets = batch.column("BYTES").astype(np.float64)
        victims = mask_addresses(dst, p.dst_prefix, p.dst_prefix6)   # masked once, keyed once
        victim_keys = address_keys(victims)
        alerts = []
        if self.reference is not None:
            floods = self.reference.add(victim_keys, victims,
                                        address_keys(src, p.src_prefix, 64), tf, tl, octets)
            alerts += self._reference_alerts(floods)
        rows = self._rows(batch, src, dst, victims, victim_keys, tf, tl, octets)
        alerts += [self._alert(report) for report in self.engine.add(rows)]
        self._send(alerts)

    def _rows(self, batch, src, dst, victims, victim_keys, tf, tl, octets) -> FlowRows:
        p = self.params
        packets = batch.column("PACKETS")
        sport, dport = batch.column("SRC_PORT"), batch.column("DST_PORT")
        proto = batch.column("PROTOCOL")
        cls, request = classify(proto, optional(batch, "TCP_FLAGS"), packets, sport, dport)
        flood = np.flatnonzero(cls != NONE)
        asks = np.flatnonzero(request)
        parts = []
        if len(flood):
            parts.append(FlowRows(
                vkey=victim_keys[flood], victim=victims[flood],
                skey=address_keys(src[flood]), source=src[flood], tf=tf[flood], tl=tl[flood],
                packets=packets[flood], bytes=octets[flood], flows=np.ones(len(flood)),
                cls=cls[flood], sport=sport[flood], dport=dport[flood], proto=proto[flood],
                kind=np.full(len(flood), VOLUME), reply=np.isin(cls[flood], REPLY_CLASSES)))
        if len(asks):
            asking = mask_addresses(src[asks], p.dst_prefix, p.dst_prefix6)
            parts.append(FlowRows(
                vkey=address_keys(asking), victim=asking,
                skey=address_keys(dst[asks]), source=dst[asks], tf=tf[asks], tl=tl[asks],
                packets=packets[asks], bytes=octets[asks], flows=np.ones(len(asks)),
                cls=np.zeros(len(asks)), sport=dport[asks], dport=sport[asks],
                proto=proto[asks], kind=np.full(len(asks), REQUEST),
                reply=np.zeros(len(asks), bool)))
        return FlowRows.concat(parts)

    def _alert(self, report: Report) -> dict:
        span = (report.time_last - report.time_first) / NS
        seconds = max(span, self.params.bin)
        kind = attack_name(report.classes, report.sport)
        baseline = None
        if self.reference is not None:
            key = int(address_keys(np.frombuffer(report.victim, dtype="V16"))[0])
            baseline = self.reference.baseline(key, report.time_first)
        note = (f"{report.sources} sources, {report.flows} flows, {report.packets} packets, "
                f"{report.bytes} bytes in {span:.3f} s; peak {report.peak_packets:.0f} "
                f"packets and {report.peak_sources} sources per {self.params.bin:g} s; "
                f"{class_note(report.classes)}")
        if report.solicited:
            note += f"; {report.solicited} solicited replies ignored"
        return {
            "DST_IP": report.victim, "BYTES": report.bytes, "TIME_FIRST": report.time_first,
            "TIME_LAST": report.time_last, "EVENT_ID": report.event_id,
            "EVENT_SEQ": min(report.seq, 65535),
            "AVG_BYTES_CURRENT": round(report.bytes / seconds),
            "AVG_BYTES_ORIGINAL": round(baseline[0]) if baseline else 0,
            "AVG_IP_CNT_CURRENT": min(report.peak_sources, 2**32 - 1),
            "AVG_IP_CNT_ORIGINAL": round(baseline[1]) if baseline else 0,
            "FLOWS": report.flows, "PACKETS": report.packets, "SRC_CNT": report.sources,
            "PROTOCOL": report.proto, "SRC_PORT": report.sport, "DST_PORT": report.dport,
            "ATTACK_TYPE": kind, "NOTE": note}

    def _reference_alerts(self, floods: list[FloodReport]) -> list[dict]:
        alerts = []
        for flood in floods:
            if self.engine.active(flood.key):     # the short-window rule reports this episode
                log.debug("NEMEA rule flood on %s is part of a short-window episode", flood.key)
                continue
            alerts.append({
                "DST_IP": flood.victim, "BYTES": flood.bytes, "TIME_FIRST": flood.time_first,
                "TIME_LAST": flood.time_last, "EVENT_ID": flood.event_id,
                "EVENT_SEQ": min(flood.seq, 65535),
                "AVG_BYTES_CURRENT": round(flood.avg_bytes_current),
                "AVG_BYTES_ORIGINAL": round(flood.avg_bytes_original),
                "AVG_IP_CNT_CURRENT": round(flood.avg_sources_current),
                "AVG_IP_CNT_ORIGINAL": round(flood.avg_sources_original),
                "ATTACK_TYPE": "volumetric",
                "NOTE": (f"bytes rose from {flood.avg_bytes_original:.0f} to "
                         f"{flood.avg_bytes_current:.0f} B/s, source /{self.params.src_prefix} "
                         f"prefixes from {flood.avg_sources_original:.0f} to "
                         f"{flood.avg_sources_current:.0f} per minute")})
        return alerts

    def _send(self, alerts: list[dict]) -> None:
        self.alerts_sent += send_alerts(self, alerts)

    def finish(self) -> None:
        alerts = []
        if self.reference is not None:
            alerts += self._reference_alerts(self.reference.finish())
        alerts += [self._alert(report) for report in self.engine.finish()]
        self._send(alerts)

    def stats(self) -> dict:
        return {"flows": self.flows_seen, "alerts": self.alerts_sent,
                "episodes": len(self.engine.episodes)}


main = module_command(DdosDetector)

if __name__ == "__main__":
    main()
