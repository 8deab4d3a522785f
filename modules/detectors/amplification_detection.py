"""dns_amplification: reflection/amplification attacks through DNS (default) or other UDP services.

Two rules, one alert per attack episode:

* NEMEA's rule (amplification_reference): one reflector and one victim, the victim's queries and
  the reflector's responses over `-w` (900 s) of flow time, histograms of their sizes. It needs
  the queries (spoofed by the attacker, so seen only where they leave) and 15 minutes of history.
* The victim-side rule (ddos_episodes): per `--bin` (10 s) of flow time, responses from the
  service port(s) to one address that it did not ask for (no query from it to that reflector):
  >= `--min-reflectors` distinct reflectors, >= `--min-rsp-pps` packets/s, >= `--min-rsp-bps`
  bytes/s, mean size >= `--min-rsp-size` bytes. Works on responses alone (a victim-side capture,
  a uniflow probe, or biflows where the responses arrive unsolicited), in milliseconds; IPv4
  fragments (UDP flows without ports) of the reflectors are added to the episode's counts.

`-p` takes a port, a list (`53,123`) or `known` (every UDP amplifier of amplification_ports).
Output as NEMEA's (SRC_IP reflector (the top one of an episode), DST_IP victim, SRC_PORT service,
REQ_*/RSP_* flows, packets, bytes, TIME_FIRST/LAST, EVENT_ID) plus SRC_CNT (reflectors),
ATTACK_TYPE ("DNS amplification", "SNMP amplification"...) and NOTE.
"""

from __future__ import annotations

import logging
import os
import zlib
from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param
from unirec import RecordBatch
from unirec.ipaddr import text_from_raw

from .alerts import send_alerts
from .amplification_ports import parse_ports, port_table, service_name
from .amplification_reference import PairConfig, PairReport, ReferenceAmplification
from .ddos_episodes import EpisodeEngine, EpisodeParams, Report, Thresholds
from .ddos_keys import address_keys
from .ddos_rows import CONDITIONAL, REQUEST, VOLUME, FlowRows
from .flow_columns import FLOW_FIELDS

NS = 1_000_000_000
UINT32 = 2**32 - 1
log = logging.getLogger("dns_amplification")

OUTPUT_TEMPLATE = (
    "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint32 REQ_FLOWS,uint32 REQ_PACKETS,"
    "uint64 REQ_BYTES,uint32 RSP_FLOWS,uint32 RSP_PACKETS,uint64 RSP_BYTES,time TIME_FIRST,"
    "time TIME_LAST,uint32 EVENT_ID,uint32 SRC_CNT,string ATTACK_TYPE,string NOTE")


@dataclass
class AmplificationParams(EpisodeParams):
    port: str = param("53", "-p", "Service port(s): a number, a list (53,123) or 'known'.")
    top: int = param(5, "-n", "NEMEA's rule: top-N histogram bins.")
    step: int = param(2, "-q", "NEMEA's rule: histogram bin width.")
    min_amplification: int = param(10, "-a", "NEMEA's rule: minimal amplification.")
    min_flows: int = param(300, "-t", "NEMEA's rule: minimal flows in the top-N bins.")
    min_count: float = param(0.9, None, "NEMEA's rule: minimal share of flows in the top-N.")
    min_rsp_packets: int = param(2, "-y", "NEMEA's rule: minimal mean response packets.")
    min_rsp_bytes: int = param(2000, "-l", "NEMEA's rule: minimal mean response bytes.")
    max_query_bytes: int = param(400, "-m", "NEMEA's rule: maximal mean query bytes.")
    window: int = param(900, "-w", "NEMEA's rule: detection window, seconds.")
    period: int = param(300, "-s", "NEMEA's rule: deletion period, seconds.")
    record_count: int = param(100_000, "-S", "NEMEA's rule: flows kept per direction.")
    log_dir: str = param("", "-d", "NEMEA's rule: write the flows of each reported pair here.")
    bin: float = param(10.0, None, "Victim-side rule: bin of flow time, seconds.")
    min_reflectors: int = param(20, None, "Victim-side rule: distinct reflectors per bin.")
    min_rsp_pps: float = param(30.0, None, "Victim-side rule: response packets per second.")
    min_rsp_bps: float = param(20_000.0, None, "Victim-side rule: response bytes per second.")
    min_rsp_size: float = param(200.0, None, "Victim-side rule: mean response packet bytes.")
    no_reference: bool = param(False, None, "Disable NEMEA's per-pair rule.")
    no_victim_side: bool = param(False, None, "Disable the victim-side rule.")

    def validate(self) -> None:
        self.ports = parse_ports(self.port)
        if self.top < 1 or self.step < 1 or self.window < 1 or not 0 <= self.period < self.window:
            raise ValueError("-n, -q, -w must be >= 1 and 0 <= -s < -w")
        if self.record_count < 1:
            raise ValueError("-S: must be >= 1")
        self.check_episode_options(self.bin)
        if self.log_dir and not os.path.isdir(self.log_dir):
            raise ValueError(f"-d {self.log_dir}: not a directory")


class AmplificationDetector(Module):
    name = "dns_amplification"
    description = ("Detect DNS (or other UDP service) amplification: NEMEA's query/response "
                   "histogram rule per reflector and victim, and a victim-side rule on "
                   "unsolicited responses from many reflectors. One alert per attack episode.")
    Params = AmplificationParams
    required = FLOW_FIELDS

    def setup(self) -> None:
        p = self.params
        self.service_ports = p.ports
        self.table = port_table(self.service_ports)
        pair_config = PairConfig(
            top=p.top, step=p.step, min_amplification=p.min_amplification,
            min_flows=p.min_flows, min_count=p.min_count, min_rsp_packets=p.min_rsp_packets,
            min_rsp_bytes=p.min_rsp_bytes, max_query_bytes=p.max_query_bytes, window=p.window,
            period=p.period, record_count=p.record_count)
        self.reference = None if p.no_reference else ReferenceAmplification(self.service_ports,
                                                                            pair_config)
        self.engine = None if p.no_victim_side else EpisodeEngine(
            bin_ns=int(p.bin * NS), delay_ns=int(p.delay * NS), idle_ns=int(p.idle * NS),
            report_ns=int(p.report_interval * NS),
            hot=Thresholds(packets=p.min_rsp_pps * p.bin, bytes=p.min_rsp_bps * p.bin,
                           sources=p.min_reflectors, packet_size=p.min_rsp_size),
            warm_ratio=p.continue_ratio, classes=len(self.service_ports) + 1)
        self.set_output_template(OUTPUT_TEMPLATE)
        self.flows_seen = self.alerts_sent = 0

    def on_batch(self, batch: RecordBatch, index: int) -> None:
        if not batch.length:
            return
        self.flows_seen += batch.length
        src, dst = batch.column("SRC_IP"), batch.column("DST_IP")
        sport, dport = batch.column("SRC_PORT"), batch.column("DST_PORT")
        tf, tl = batch.column("TIME_FIRST"), batch.column("TIME_LAST")
        octets, packets = batch.column("BYTES"), batch.column("PACKETS")
        alerts = []
        if self.engine is not None:
            rows = self._rows(src, dst, sport, dport, batch.column("PROTOCOL"), tf, tl, octets,
                              packets)
            alerts += [self._episode_alert(r) for r in self.engine.add(rows)]
        if self.reference is not None:
            pairs = self.reference.add(src, dst, sport, dport, tf, tl, octets, packets)
            alerts += self._pair_alerts(pairs)
        self._send(alerts)

    def _rows(self, src, dst, sport, dport, proto, tf, tl, octets, packets) -> FlowRows:
        udp = proto == 17
        service = self.table[sport]
        kinds = ((VOLUME, np.flatnonzero(udp & (service > 0)), False),
                 (REQUEST, np.flatnonzero(udp & (self.table[dport] > 0)), True),
                 (CONDITIONAL, np.flatnonzero(udp & (sport == 0) & (dport == 0)), False))
        parts = []
        for kind, rows, reverse in kinds:
            if not len(rows):
                continue
            victim, source = (src[rows], dst[rows]) if reverse else (dst[rows], src[rows])
            cls = (service[rows] - 1 if kind == VOLUME
                   else np.full(len(rows), len(self.service_ports)))
            parts.append(FlowRows(
                vkey=address_keys(victim), victim=victim, skey=address_keys(source),
                source=source, tf=tf[rows], tl=tl[rows], packets=packets[rows],
                bytes=octets[rows], flows=np.ones(len(rows)), cls=cls, sport=sport[rows],
                dport=dport[rows], proto=np.full(len(rows), 17), kind=np.full(len(rows), kind),
                reply=np.full(len(rows), kind == VOLUME)))
        return FlowRows.concat(parts)

    def _episode_alert(self, report: Report) -> dict:
        port = self.service_ports[int(np.argmax(report.classes[:len(self.service_ports)]))]
        span = (report.time_last - report.time_first) / NS
        services = ", ".join(f"{service_name(int(p))} {100 * n / max(report.packets, 1):.0f}%"
                             for p, n in report.sports if int(p) in self.service_ports)
        note = (f"{report.sources} reflectors sent {report.flows} unsolicited response flows, "
                f"{report.packets} packets, {report.bytes} bytes in {span:.3f} s "
                f"(peak {report.peak_packets:.0f} packets, {report.peak_sources} reflectors per "
                f"{self.params.bin:g} s); services: {services}")
        if report.cond_flows:
            note += (f"; incl. {report.cond_flows} fragment flows, {report.cond_packets} packets, "
                     f"{report.cond_bytes} bytes")
        if report.solicited:
            note += f"; {report.solicited} solicited responses ignored"
        return {
            "SRC_IP": report.top_source, "DST_IP": report.victim, "SRC_PORT": port,
            "REQ_FLOWS": min(report.requests[0], UINT32),
            "REQ_PACKETS": min(report.requests[1], UINT32), "REQ_BYTES": report.requests[2],
            "RSP_FLOWS": min(report.flows, UINT32), "RSP_PACKETS": min(report.packets, UINT32),
            "RSP_BYTES": report.bytes, "TIME_FIRST": report.time_first,
            "TIME_LAST": report.time_last, "EVENT_ID": report.event_id & UINT32,
            "SRC_CNT": report.sources, "ATTACK_TYPE": f"{service_name(port)} amplification",
            "NOTE": note}

    def _pair_alerts(self, pairs: list[PairReport]) -> list[dict]:
        alerts = []
        for pair in pairs:
            victim_key = int(address_keys(np.frombuffer(pair.victim, dtype="V16"))[0])
            if self.engine is not None and self.engine.active(victim_key):
                log.debug("pair alert for %s is part of a victim-side episode",
                          text_from_raw(pair.victim))
                continue
            if self.params.log_dir:
                self._log_pair(pair)
            alerts.append({
                "SRC_IP": pair.reflector, "DST_IP": pair.victim, "SRC_PORT": pair.port,
                "REQ_FLOWS": pair.requests[0], "REQ_BYTES": pair.requests[1],
                "REQ_PACKETS": min(pair.requests[2], UINT32),
                "RSP_FLOWS": pair.responses[0], "RSP_BYTES": pair.responses[1],
                "RSP_PACKETS": min(pair.responses[2], UINT32),
                "TIME_FIRST": pair.time_first, "TIME_LAST": pair.time_last,
                "EVENT_ID": (zlib.crc32(pair.reflector + pair.victim) ^ pair.event_id) & UINT32,
                "SRC_CNT": 1, "ATTACK_TYPE": f"{service_name(pair.port)} amplification",
                "NOTE": (f"reflector {text_from_raw(pair.reflector)}: {pair.requests[0]} queries, "
                         f"{pair.responses[0]} responses (query/response histograms)")})
        return alerts

    def _log_pair(self, pair: PairReport) -> None:
        name = f"{text_from_raw(pair.reflector)}-{text_from_raw(pair.victim)}.log"
        try:
            with open(os.path.join(self.params.log_dir, name), "a", encoding="utf-8") as out:
                out.write(f"Abused server IP: {text_from_raw(pair.reflector)}   Target IP: "
                          f"{text_from_raw(pair.victim)}\tQ {pair.requests}\tR "
                          f"{pair.responses}\n")
        except OSError as exc:
            log.warning("-d: cannot write %s: %s", name, exc)

    def _send(self, alerts: list[dict]) -> None:
        self.alerts_sent += send_alerts(self, alerts)

    def finish(self) -> None:
        alerts = []
        if self.reference is not None:
            alerts += self._pair_alerts(self.reference.finish())
        if self.engine is not None:
            alerts += [self._episode_alert(r) for r in self.engine.finish()]
        self._send(alerts)

    def stats(self) -> dict:
        return {"flows": self.flows_seen, "alerts": self.alerts_sent}


main = module_command(AmplificationDetector)

if __name__ == "__main__":
    main()
