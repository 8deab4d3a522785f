"""bruteforce_detector: password guessing on SSH, RDP, Telnet, FTP and services given by
--service.

NEMEA's brute_force_detector algorithm on flow time: a flow to the service port (incoming,
attacker = SRC_IP) or from it (outgoing, attacker = DST_IP) that is not scan-like is added to
the attacker's list for that direction (the last 1000 flows of -r seconds); it *matches* when
its flags hold SYN+ACK+PSH and its packets and bytes fit the service's window. A new attack:
-n matched flows among at most 50, or beyond 50 flows a -x share of them. While an attack
lasts, every --report-interval a report of the flows matched since the last one (if at least
--min-events); it ends when fewer than 10 % of the new flows match, after --attack-timeout
without a report, or at the end of the stream (a final report if at least --min-events).
Whitelisted flows (-w, NEMEA's format) are ignored; SIGUSR1 (or SIGUSR2) reloads the whitelist.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections import Counter, deque
from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param
from unirec import RecordBatch
from unirec.ipaddr import IP_NULL, text_from_raw

from .alerts import alert_batch
from .bruteforce_services import BUILTIN, Service, parse_service
from .bruteforce_whitelist import Whitelist
from .flow_columns import ACK, NS, PSH, RST, SYN, latest

log = logging.getLogger(__name__)
OUTPUT_TEMPLATE = ("time DETECTION_TIME,time TIME_FIRST,time TIME_LAST,uint8 WARDEN_TYPE,"
                   "uint8 EVENT_TYPE,ipaddr SRC_IP,ipaddr DST_IP,uint8 PROTOCOL,uint16 DST_PORT,"
                   "uint32 EVENT_SCALE,string NOTE,string SERVICE")
NEW, CONTINUING, FINAL = 1, 2, 3                  # EVENT_TYPE: what the report is
WARDEN_BRUTEFORCE = 2
SIGNATURE = SYN | ACK | PSH
# (packets, flags) of scan-like flows, ignored entirely (NEMEA's list, its SSH extras for all)
SCAN_LIKE = np.array([(1 << 8) | SYN, (2 << 8) | SYN, (3 << 8) | SYN, (4 << 8) | SYN,
                      (2 << 8) | SYN | RST, (1 << 8) | SYN | ACK, (1 << 8) | RST | ACK,
                      (1 << 8) | ACK], dtype=np.int64)
LIST_CAPACITY, LIST_THRESHOLD, KEEP_RATIO = 1000, 50, 0.1
CHECK_INTERVAL, HOST_TIMEOUT = 60, 4200


@dataclass
class BruteforceParams:
    ssh: bool = param(False, "-S", "Watch SSH (22). Without -S/-R/-T/-F all four are watched.")
    rdp: bool = param(False, "-R", "Watch RDP (3389).")
    telnet: bool = param(False, "-T", "Watch Telnet (23).")
    ftp: bool = param(False, "-F", "Watch FTP (21).")
    service: tuple = param((), "-s", "Also watch NAME:PORT[:INC_PKTS:INC_BYTES[:OUT_PKTS:"
                                     "OUT_BYTES]] (ranges MIN-MAX; ssh:2222 reuses SSH's).",
                           multiple=True)
    whitelist: str = param("", "-w", "Whitelist file ([src|dst] IP[/PREFIX][/PORTS] a line); "
                                     "SIGUSR1 reloads it.")
    threshold: int = param(30, "-n", "Matched flows (one direction) that start an attack.")
    ratio: float = param(0.9, "-x", "Beyond 50 flows of a host, the matched share that starts "
                                    "an attack.")
    record_timeout: int = param(1800, "-r", "Seconds a flow stays in a host's list.")
    report_interval: int = param(300, None, "Seconds between reports of a continuing attack.")
    min_events: int = param(10, None, "Matched flows a continuing or final report needs.")
    attack_timeout: int = param(600, None, "An attack without a report this long has ended.")

    def validate(self) -> None:
        self.services()
        if self.whitelist:
            Whitelist.load(self.whitelist)
        if not 0 < self.ratio <= 1:
            raise ValueError(f"-x {self.ratio}: the share must be in (0, 1]")
        for name in ("threshold", "record_timeout", "report_interval", "min_events",
                     "attack_timeout"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")

    def services(self) -> list[Service]:
        chosen = [name for name in BUILTIN if getattr(self, name)] or list(BUILTIN)
        services = [BUILTIN[name] for name in chosen] + [parse_service(s) for s in self.service]
        ports = [s.port for s in services]
        for port in ports:
            if ports.count(port) > 1:
                raise ValueError(f"port {port} is given to two services")
        return services


class Host:
    """One attacker of one service: its recent flows per direction, and the attack state."""

    __slots__ = ("flows", "last_report", "last_seen", "matched", "new_matched", "new_total",
                 "period", "reported", "victims")

    def __init__(self) -> None:
        self.flows: tuple[deque, deque] = (deque(), deque())   # (first, last, matched, victim)
        self.matched = [0, 0]
        self.reported = False
        self.last_seen = self.last_report = 0
        self.new_matched, self.new_total, self.period = [0, 0], [0, 0], [0, 0]  # clear_period
        self.victims: tuple[Counter, ...] = ()

    def clear_period(self) -> None:
        """Start counting for the next report."""
        self.new_matched, self.new_total = [0, 0], [0, 0]
        self.victims = (Counter(), Counter())
        self.period = [1 << 62, 0]                             # first, last matched flow

    def expire(self, direction: int, horizon: int) -> None:
        """Drop the flows that ended before `horizon`, and the oldest beyond the capacity."""
        flows = self.flows[direction]
        while flows and (len(flows) >= LIST_CAPACITY or flows[0][1] < horizon):
            self.matched[direction] -= flows.popleft()[2]

    def record(self, direction: int, matched: bool, first: int, last: int,
               victim: bytes) -> None:
        """A flow of a host under attack: counted for the next report."""
        self.new_total[direction] += 1
        if matched:
            self.matched[direction] += 1
            self.new_matched[direction] += 1
            self.count_victim(direction, first, last, victim)

    def count_victim(self, direction: int, first: int, last: int, victim: bytes) -> None:
        self.victims[direction][victim] += 1
        self.period[0], self.period[1] = min(self.period[0], first), max(self.period[1], last)


class BruteforceDetector(Module):
    name = "bruteforce_detector"
    description = ("Brute-force (password guessing) detector for SSH, RDP, Telnet, FTP and "
                   "services given by --service; NEMEA's flow signatures, flow time.")
    Params = BruteforceParams
    required = ("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
                "uint32 PACKETS,uint64 BYTES,uint8 TCP_FLAGS,time TIME_FIRST,time TIME_LAST")

    def setup(self) -> None:
        self.set_output_template(OUTPUT_TEMPLATE)
        self.services = self.params.services()
        self.hosts: list[dict[bytes, Host]] = [{} for _ in self.services]
        self.whitelist = Whitelist.load(self.params.whitelist) if self.params.whitelist \
            else None
        self.now = 0
        self.next_check: int | None = None
        self.alerts: list[dict] = []
        self.reload_requested = False
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGUSR1, signal.SIGUSR2):
                signal.signal(sig, self._request_reload)

    def _request_reload(self, *_) -> None:
        self.reload_requested = True

    def reload_whitelist(self) -> None:
        """Read the whitelist file again; a bad file keeps the old list (and is logged)."""
        self.reload_requested = False
        if not self.params.whitelist:
            log.warning("no whitelist file (-w) to reload")
            return
        try:
            self.whitelist = Whitelist.load(self.params.whitelist)
            log.info("whitelist reloaded: %d rules", self.whitelist.rules)
        except ValueError as exc:
            log.error("whitelist not reloaded, keeping the old one: %s", exc)

    def on_batch(self, batch: RecordBatch, index: int) -> None:
        if self.reload_requested:
            self.reload_whitelist()
        if not batch.length:
            return
        if self.next_check is None:
            self.next_check = int(batch.column("TIME_LAST").min()) + CHECK_INTERVAL * NS
        proto, sport, dport = (batch.column(n) for n in ("PROTOCOL", "SRC_PORT", "DST_PORT"))
        packets, flags = batch.column("PACKETS"), batch.column("TCP_FLAGS")
        relevant = (proto == 6) & ~np.isin((packets.astype(np.int64) << 8) | flags, SCAN_LIKE)
        if self.whitelist is not None:
            relevant &= ~self.whitelist.mask(batch)
        signed = (flags & SIGNATURE) == SIGNATURE
        for number, service in enumerate(self.services):
            incoming = relevant & (dport == service.port)
            outgoing = relevant & (sport == service.port) & ~incoming
            rows = np.flatnonzero(incoming | outgoing)
            if rows.size:
                self._add(batch, number, service, rows, incoming[rows], signed[rows])
        self._advance(latest(batch, self.now))
        self._send()

    def _advance(self, now: int) -> None:
        """Flow time moves on to `now`: check the attacks every CHECK_INTERVAL seconds of it."""
        self.now = max(self.now, now)
        if self.next_check is not None and self.now >= self.next_check:
            self._check_attacks()
            self.next_check = self.now + CHECK_INTERVAL * NS

    def _add(self, batch: RecordBatch, number: int, service: Service, rows: np.ndarray,
             incoming: np.ndarray, signed: np.ndarray) -> None:
        packets, octets = batch.column("PACKETS")[rows], batch.column("BYTES")[rows]
        no = np.zeros(rows.size, dtype=bool)
        inc = service.inc.matches(packets, octets) if service.inc else no
        out = service.out.matches(packets, octets) if service.out else no
        matched = signed & np.where(incoming, inc, out)
        src, dst = batch.column("SRC_IP")[rows], batch.column("DST_IP")[rows]
        attackers = np.where(incoming, src, dst).tolist()
        victims = np.where(incoming, dst, src).tolist()
        hosts, p = self.hosts[number], self.params
        keep = p.record_timeout * NS
        horizon = self.now - keep
        for attacker, victim, is_in, hit, first, last in zip(
                attackers, victims, incoming.tolist(), matched.tolist(),
                batch.column("TIME_FIRST")[rows].tolist(),
                batch.column("TIME_LAST")[rows].tolist(), strict=True):
            if last > self.now:
                self._advance(last)
                horizon = self.now - keep
            host = hosts.get(attacker)
            if host is None:
                host = hosts[attacker] = Host()
            direction = 0 if is_in else 1
            flows = host.flows[direction]
            if flows and (flows[0][1] < horizon or len(flows) >= LIST_CAPACITY):
                host.expire(direction, horizon)
            flows.append((first, last, hit, victim))
            if last > host.last_seen:
                host.last_seen = last
            if host.reported:
                host.record(direction, hit, first, last, victim)
            elif hit:
                count = host.matched[direction] = host.matched[direction] + 1
                if (count >= p.threshold if len(flows) <= LIST_THRESHOLD
                        else count >= p.ratio * len(flows)):
                    self._new_attack(service, attacker, host, direction)

    def _new_attack(self, service: Service, attacker: bytes, host: Host, direction: int) -> None:
        host.clear_period()
        for d, flows in enumerate(host.flows):
            for first, last, matched, victim in flows:
                if matched:
                    host.count_victim(d, first, last, victim)
        self._report(NEW, service, attacker, host, host.matched[direction])
        host.reported = True

    def _check_attacks(self) -> None:
        p = self.params
        for service, hosts in zip(self.services, self.hosts, strict=True):
            for attacker in list(hosts):
                host = hosts[attacker]
                if not host.reported:
                    if host.last_seen < self.now - HOST_TIMEOUT * NS:
                        del hosts[attacker]
                    continue
                since = self.now - host.last_report
                new = max(host.new_matched)
                if since >= p.report_interval * NS:
                    shares = [m / t for m, t in zip(host.new_matched, host.new_total,
                                                    strict=True) if t]
                    if not shares or max(shares) < KEEP_RATIO:
                        self._end(service, attacker, host)
                    elif new >= p.min_events:
                        self._report(CONTINUING, service, attacker, host, new)
                        continue
                if host.reported and since >= p.attack_timeout * NS:
                    self._end(service, attacker, host)

    def _end(self, service: Service, attacker: bytes, host: Host) -> None:
        if max(host.new_matched) >= self.params.min_events:
            self._report(FINAL, service, attacker, host, max(host.new_matched))
        host.reported = False
        host.flows[0].clear(), host.flows[1].clear()
        host.matched = [0, 0]

    def _report(self, kind: int, service: Service, attacker: bytes, host: Host,
                scale: int) -> None:
        victims = host.victims[0] + host.victims[1]
        note = "".join(f"{part}:" + "".join(f"{text_from_raw(v)}," for v in sorted(counter))
                       for part, counter in zip("IO", host.victims, strict=True))
        self.alerts.append({
            "DETECTION_TIME": self.now, "TIME_FIRST": min(host.period[0], host.period[1]),
            "TIME_LAST": host.period[1], "WARDEN_TYPE": WARDEN_BRUTEFORCE, "EVENT_TYPE": kind,
            "SRC_IP": attacker, "DST_IP": victims.most_common(1)[0][0] if victims else IP_NULL,
            "PROTOCOL": 6, "DST_PORT": service.port, "EVENT_SCALE": scale, "NOTE": note,
            "SERVICE": service.name})
        host.last_report = self.now
        host.clear_period()

    def _send(self) -> None:
        if self.alerts:
            self.emit(alert_batch(self.output_template(), self.alerts))
            self.alerts = []

    def finish(self) -> None:
        for service, hosts in zip(self.services, self.hosts, strict=True):
            for attacker, host in hosts.items():
                if host.reported:
                    self._end(service, attacker, host)
        self._send()


main = module_command(BruteforceDetector)

if __name__ == "__main__":
    main()
