"""bruteforce_detector: password guessing on SSH, RDP, Telnet, FTP, services given by --service,
and on any other TCP port.

Port rules (NEMEA's brute_force_detector algorithm, on flow time): a flow to the service port
(incoming, attacker = SRC_IP) or from it (outgoing, attacker = DST_IP) that is not scan-like is
added to the attacker's list for that direction (the last 1000 flows of -r seconds); it
*matches* when its flags hold SYN+ACK+PSH and its packets and bytes fit the service's window. A
new attack: -n matched flows among at most 50, or beyond 50 flows a -x share of them.

The any-port rule (bruteforce_anyport; off with --no-any-port) watches the TCP ports no port rule
watches, per client and server port, on biflows: a matched flow is a balanced login-sized
dialogue, and an attack is --any-attempts of them within --any-window seconds (beyond 50 flows,
a -x share).

While an attack lasts it is checked every --report-interval: it ends when fewer than 10 % of
the flows since the last check matched, when no check has seen --min-events matched flows for
--attack-timeout, or at the end of the stream. Reports (--reports):

* `episode` (default): one report per attack when it ends, EVENT_TYPE 4, with the whole
  episode: EVENT_SCALE = all matched attempts, TIME_FIRST/TIME_LAST = first and last matched
  flow, NOTE = every victim (DST_IP = the most attacked one).
* `nemea`: NEMEA's reports: NEW (1) when the attack starts (EVENT_SCALE = the matched flows that
  started it), CONTINUING (2) at each check with at least --min-events matched flows since the
  last report, FINAL (3) at the end if at least --min-events; each counts its own flows.

Whitelisted flows (-w, NEMEA's format) are ignored; SIGUSR1 (or SIGUSR2) reloads the whitelist.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.formats import DataFormat
from libtrap_py.module import Module, param
from unirec import RecordBatch
from unirec.ipaddr import IP_NULL, text_from_raw

from . import bruteforce_anyport as any_port
from .alerts import send_alerts
from .bruteforce_hosts import Host, Limits, Tally
from .bruteforce_services import BUILTIN, Service, parse_service
from .bruteforce_whitelist import Whitelist
from .flow_columns import ACK, FLOW_FIELDS, NS, PSH, RST, SYN, latest, row_keys

log = logging.getLogger(__name__)
OUTPUT_TEMPLATE = ("time DETECTION_TIME,time TIME_FIRST,time TIME_LAST,uint8 WARDEN_TYPE,"
                   "uint8 EVENT_TYPE,ipaddr SRC_IP,ipaddr DST_IP,uint8 PROTOCOL,uint16 DST_PORT,"
                   "uint32 EVENT_SCALE,string NOTE,string SERVICE")
NEW, CONTINUING, FINAL, EPISODE = 1, 2, 3, 4     # EVENT_TYPE: what the report is
REPORTS = ("episode", "nemea")
WARDEN_BRUTEFORCE = 2
SIGNATURE = SYN | ACK | PSH
# (packets, flags) of scan-like flows, ignored entirely (NEMEA's list, its SSH extras for all)
SCAN_LIKE = np.array([(1 << 8) | SYN, (2 << 8) | SYN, (3 << 8) | SYN, (4 << 8) | SYN,
                      (2 << 8) | SYN | RST, (1 << 8) | SYN | ACK, (1 << 8) | RST | ACK,
                      (1 << 8) | ACK], dtype=np.int64)
KEEP_RATIO = 0.1
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
    no_any_port: bool = param(False, None, "Disable the any-port rule (TCP ports without a port "
                                           "rule; needs biflows).")
    any_attempts: int = param(50, None, "Any-port rule: attempts of one client to one server "
                                        "port within --any-window that start an attack. An "
                                        "attempt: SYN+ACK+PSH both ways, 4-50 packets and at "
                                        "most 11000 bytes each way, balanced bytes.")
    any_window: int = param(60, None, "Any-port rule: seconds of flow time an attempt counts.")
    any_balance: float = param(2.0, None, "Any-port rule: neither direction of an attempt has "
                                          "more than this many times the bytes of the other "
                                          "(a failed login answers, it does not download).")
    reports: str = param("episode", None, "episode: one report per attack when it ends, with "
                                          "all its attempts, first/last flow and victims; "
                                          "nemea: NEMEA's NEW, CONTINUING and FINAL reports.",
                         metavar="episode|nemea")
    report_interval: int = param(300, None, "Seconds between checks of a running attack (and "
                                            "its CONTINUING reports with --reports nemea); it "
                                            "ends when < 10 % of the flows since matched.")
    min_events: int = param(10, None, "Matched flows since the last check that keep an attack "
                                      "going (and that a CONTINUING or FINAL report needs).")
    attack_timeout: int = param(600, None, "An attack without --min-events matched flows at a "
                                           "check for this many seconds has ended.")

    def validate(self) -> None:
        self.services()
        if self.whitelist:
            Whitelist.load(self.whitelist)
        if not 0 < self.ratio <= 1:
            raise ValueError(f"-x {self.ratio}: the share must be in (0, 1]")
        if self.any_balance < 1:
            raise ValueError(f"--any-balance {self.any_balance}: must be at least 1")
        if self.reports not in REPORTS:
            raise ValueError(f"--reports {self.reports!r}: expected one of {', '.join(REPORTS)}")
        for name in ("threshold", "record_timeout", "any_attempts", "any_window",
                     "report_interval", "min_events", "attack_timeout"):
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


class BruteforceDetector(Module):
    name = "bruteforce_detector"
    description = ("Brute-force (password guessing) detector: NEMEA's flow signatures on SSH, "
                   "RDP, Telnet, FTP and --service ports, and an any-port rule for other TCP "
                   "ports (bursts of small, balanced connections; biflows). One report per "
                   "attack episode (--reports nemea: NEMEA's NEW/CONTINUING/FINAL).")
    Params = BruteforceParams
    required = FLOW_FIELDS + ",uint8 TCP_FLAGS"

    def setup(self) -> None:
        p = self.params
        self.set_output_template(OUTPUT_TEMPLATE)
        self.services = p.services()
        self.port_limits = Limits(p.threshold, p.ratio, p.record_timeout * NS, HOST_TIMEOUT * NS)
        self.any_limits = Limits(p.any_attempts, p.ratio, p.any_window * NS, p.any_window * NS,
                                 lazy=True)
        self.any_port = not p.no_any_port      # and the flows are biflows (on_format)
        self.nemea = p.reports == "nemea"
        self.hosts: dict[bytes, Host] = {}     # attacker + service port -> Host
        self.whitelist = Whitelist.load(p.whitelist) if p.whitelist else None
        self.now = 0
        self.next_check: int | None = None
        self.alerts: list[dict] = []
        self.reload_requested = False
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGUSR1, signal.SIGUSR2):
                signal.signal(sig, self._request_reload)

    def on_format(self, fmt: DataFormat, index: int) -> None:
        biflows = any_port.has_reverse(fmt.template)
        if not self.params.no_any_port and not biflows:
            log.warning("uniflow input (no %s): the any-port rule is off",
                        ", ".join(any_port.REVERSE_FIELDS))
        self.any_port = not self.params.no_any_port and biflows

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
        octets = batch.column("BYTES")
        for service in self.services:
            incoming = relevant & (dport == service.port)
            outgoing = relevant & (sport == service.port) & ~incoming
            rows = np.flatnonzero(incoming | outgoing)
            if rows.size:
                inc = incoming[rows]
                matched = signed[rows] & service.matches(packets[rows], octets[rows], inc)
                self._add(batch, rows, inc, matched, np.full(rows.size, service.port),
                          service.name, self.port_limits)
        if self.any_port:
            self._add_any_port(batch, relevant)
        self._advance(latest(batch, self.now))
        self._send()

    def _add_any_port(self, batch: RecordBatch, relevant: np.ndarray) -> None:
        """Flows on the other ports: attempts, and the other flows of clients that made one
        (most flows are neither, and are dropped here before the per-flow loop)."""
        watched = [service.port for service in self.services]
        rows = np.flatnonzero(any_port.candidates(batch, relevant, watched))
        if not rows.size:
            return
        matched = any_port.attempts(batch, rows, self.params.any_balance)
        ports = batch.column("DST_PORT")[rows]
        keys = row_keys(batch.column("SRC_IP")[rows], ports)
        attempted = {key for key, hit in zip(keys, matched.tolist(), strict=True) if hit}
        kept = np.flatnonzero(np.fromiter((key in attempted or key in self.hosts for key in keys),
                                          dtype=bool, count=rows.size))
        if kept.size:
            self._add(batch, rows[kept], np.ones(kept.size, dtype=bool), matched[kept],
                      ports[kept], any_port.NAME, self.any_limits)

    def _advance(self, now: int) -> None:
        """Flow time moves on to `now`: check the attacks every CHECK_INTERVAL seconds of it."""
        self.now = max(self.now, now)
        if self.next_check is not None and self.now >= self.next_check:
            self._check_attacks()
            self.next_check = self.now + CHECK_INTERVAL * NS

    def _add(self, batch: RecordBatch, rows: np.ndarray, incoming: np.ndarray,
             matched: np.ndarray, ports: np.ndarray, service: str, limits: Limits) -> None:
        """Flows of one rule: `incoming` ones are from the attacker to the service port."""
        src, dst = batch.column("SRC_IP")[rows], batch.column("DST_IP")[rows]
        attackers = np.where(incoming, src, dst)
        keys = row_keys(attackers, ports.astype(np.uint16))
        for key, attacker, victim, port, is_in, hit, first, last in zip(
                keys, attackers.tolist(), np.where(incoming, dst, src).tolist(), ports.tolist(),
                incoming.tolist(), matched.tolist(), batch.column("TIME_FIRST")[rows].tolist(),
                batch.column("TIME_LAST")[rows].tolist(), strict=True):
            if last > self.now:
                self._advance(last)
            host = self.hosts.get(key)
            if host is None:
                if limits.lazy and not hit:
                    continue
                host = self.hosts[key] = Host(attacker, service, port, limits)
            direction = 0 if is_in else 1
            if host.add(direction, hit, first, last, victim, self.now):
                self._start(host, direction)

    def _start(self, host: Host, direction: int) -> None:
        host.start_attack(self.now)
        if self.nemea:
            self._report(NEW, host, host.matched[direction])

    def _check_attacks(self) -> None:
        p = self.params
        for key in list(self.hosts):
            host = self.hosts[key]
            if not host.attacked:
                if host.last_seen < self.now - host.limits.forget_ns:
                    del self.hosts[key]
                continue
            since = self.now - host.last_check
            if since >= p.report_interval * NS:
                shares = [m / t for m, t in zip(host.checked, host.total, strict=True) if t]
                if not shares or max(shares) < KEEP_RATIO:
                    self._end(host)
                elif max(host.checked) >= p.min_events:
                    if self.nemea:
                        self._report(CONTINUING, host, host.tally.scale)
                    host.next_period(self.now)
                    continue
            if host.attacked and since >= p.attack_timeout * NS:
                self._end(host)

    def _end(self, host: Host) -> None:
        if not self.nemea:
            self._report(EPISODE, host, host.tally.scale)
        elif host.tally.scale >= self.params.min_events:
            self._report(FINAL, host, host.tally.scale)
        host.end_attack()

    def _report(self, kind: int, host: Host, scale: int) -> None:
        """An alert of the host's tally, which starts again."""
        tally = host.tally
        victims = tally.victims[0] + tally.victims[1]
        note = "".join(f"{part}:" + "".join(f"{text_from_raw(v)}," for v in sorted(counter))
                       for part, counter in zip("IO", tally.victims, strict=True))
        self.alerts.append({
            "DETECTION_TIME": self.now, "TIME_FIRST": min(tally.first, tally.last),
            "TIME_LAST": tally.last, "WARDEN_TYPE": WARDEN_BRUTEFORCE, "EVENT_TYPE": kind,
            "SRC_IP": host.attacker,
            "DST_IP": victims.most_common(1)[0][0] if victims else IP_NULL,
            "PROTOCOL": 6, "DST_PORT": host.port, "EVENT_SCALE": scale, "NOTE": note,
            "SERVICE": host.service})
        host.tally = Tally()

    def _send(self) -> None:
        send_alerts(self, self.alerts)
        self.alerts = []

    def finish(self) -> None:
        for host in self.hosts.values():
            if host.attacked:
                self._end(host)
        self._send()


main = module_command(BruteforceDetector)

if __name__ == "__main__":
    main()
