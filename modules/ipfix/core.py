"""The collecting process without sockets: sessions, templates, held sets, counters, batches.

    collector = CollectorCore(BIFLOW_TEMPLATE)
    session = collector.session("udp", ("192.0.2.1", 4739))
    collector.feed(session, datagram, 0, len(datagram), now)   # one message
    batch = collector.flush()          # RecordBatch of everything decoded since the last flush

A transport session is a UDP exporter address and port, or one TCP connection; templates live
per session and observation domain (IPFIX ODID, v9 source id, v5 engine type and id). Bad input
never raises out of `feed`: it is counted (malformed) and logged with the exporter's address.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from unirec import RecordBatch, Template

from .decode import DecodePlan, walk_records
from .elements import label
from .parser import V5_RECORD_LENGTH, V9_SCOPE, Malformed, parse_message
from .pending import HeldSet, PendingSets
from .records import BIFLOW_TEMPLATE, build_batch, join_batches
from .templates import Template as IpfixTemplate
from .templates import TemplateField, TemplateStore

log = logging.getLogger("ipfixcol")

# NetFlow v5's fixed record as a template of IANA elements (paddingOctets = 210)
V5_FIELDS = tuple(TemplateField(0, element, length) for element, length in (
    (8, 4), (12, 4), (15, 4), (10, 2), (14, 2), (2, 4), (1, 4), (22, 4), (21, 4), (7, 2),
    (11, 2), (210, 1), (6, 1), (4, 1), (5, 1), (16, 2), (17, 2), (9, 1), (13, 1), (210, 2)))
assert sum(f.length for f in V5_FIELDS) == V5_RECORD_LENGTH
MAX_UNKNOWN_LISTED = 32
LOG_FIRST_MALFORMED = 5


@dataclass
class Domain:
    templates: TemplateStore = field(default_factory=TemplateStore)
    system_init_ms: int = -1          # from systemInitTimeMilliseconds in options records
    sampling_interval: int = 0
    next_sequence: int | None = None


class Session:
    def __init__(self, key: tuple, transport: str, address: tuple, now: float):
        self.key = key
        self.transport = transport
        self.label = f"{transport}:{address[0]}:{address[1]}"
        self.domains: dict[int, Domain] = {}
        self.last_seen = now
        self.malformed = 0


@dataclass
class _Accumulated:
    template: IpfixTemplate           # kept alive: its id() keys the accumulator
    plan: DecodePlan
    parts: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    export_ms: list = field(default_factory=list)
    boot_ms: list = field(default_factory=list)


class CollectorCore:
    def __init__(self, template: Template = BIFLOW_TEMPLATE, link: int = 1,
                 direction: int = 0, hold_seconds: float = 10.0, hold_sets: int = 10000,
                 template_timeout: float = 1800.0):
        self.template = template
        self.wanted = frozenset(template.index)
        self.link, self.direction = link, direction
        self.template_timeout = template_timeout
        self.pending = PendingSets(hold_seconds, hold_sets)
        self.sessions: dict[tuple, Session] = {}
        self.counters: Counter = Counter()
        self.unknown: Counter = Counter()
        self._accumulated: dict[int, _Accumulated] = {}
        self._session: Session | None = None
        self._now = 0.0
        self._message_records = 0
        self._message_held = False
        self._serial = 0
        self._v5 = IpfixTemplate(0, V5_FIELDS)

    # --- sessions ---------------------------------------------------------------------------
    def session(self, transport: str, address: tuple, now: float = 0.0) -> Session:
        """The session of a UDP exporter address, or a new one for each TCP connection."""
        if transport == "udp":
            key = ("udp", address[0], address[1])
            found = self.sessions.get(key)
            if found is not None:
                return found
        else:
            self._serial += 1
            key = (transport, address[0], address[1], self._serial)
        session = self.sessions[key] = Session(key, transport, address, now)
        self.counters["sessions_opened"] += 1
        return session

    def close_session(self, session: Session) -> None:
        """A TCP connection ended: its templates go, held sets for them are dropped."""
        self.sessions.pop(session.key, None)
        self._count_dropped(*self.pending.drop_session(session.key))

    # --- input ------------------------------------------------------------------------------
    def feed(self, session: Session, data: bytes, start: int = 0, end: int | None = None,
             now: float = 0.0) -> None:
        """Decode one message (data[start:end]); its records wait for the next flush."""
        end = len(data) if end is None else end
        self._session, self._now = session, now
        session.last_seen = now
        self._message_records, self._message_held = 0, False
        try:
            version, odid, sequence = parse_message(data, start, end, self, now)
        except Malformed as exc:
            self.malformed(session, str(exc))
            return
        except Exception as exc:       # a bug must not stop the collector: count, log, go on
            log.exception("%s: error decoding a message", session.label)
            self.malformed(session, f"{type(exc).__name__}: {exc}")
            return
        self.counters["messages"] += 1
        self.counters[{10: "messages_ipfix", 9: "messages_v9", 5: "messages_v5"}[version]] += 1
        self._check_sequence(session, version, odid, sequence)

    def malformed(self, session: Session, reason: str) -> None:
        self.counters["malformed"] += 1
        session.malformed += 1
        if session.malformed <= LOG_FIRST_MALFORMED or session.malformed % 1000 == 0:
            log.warning("malformed message from %s (%d so far): %s", session.label,
                        session.malformed, reason)

    def _check_sequence(self, session: Session, version: int, odid: int, sequence: int) -> None:
        domain = self._domain(odid)
        step = 1 if version == 9 else self._message_records
        if domain.next_sequence is not None and sequence != domain.next_sequence:
            gap = (sequence - domain.next_sequence) & 0xFFFFFFFF
            if gap < 1 << 31:
                self.counters["sequence_gaps"] += 1
                if version != 9:
                    self.counters["lost_records"] += gap
        domain.next_sequence = None if self._message_held and version != 9 \
            else (sequence + step) & 0xFFFFFFFF

    def _domain(self, odid: int) -> Domain:
        domains = self._session.domains   # type: ignore[union-attr]
        domain = domains.get(odid)
        if domain is None:
            domain = domains[odid] = Domain()
        return domain

    # --- parser callbacks -------------------------------------------------------------------
    def on_template(self, odid: int, template: IpfixTemplate) -> None:
        domain = self._domain(odid)
        outcome = domain.templates.add(template)
        self.counters["templates_" + ("refreshed" if outcome == "refresh" else "received")] += 1
        if outcome == "refresh":
            return
        if outcome == "changed":
            log.info("%s: template %d of domain %d redefined", self._session.label,
                     template.template_id, odid)
        for tfield in template.fields:
            if tfield.pen != V9_SCOPE and not tfield.known:
                self.counters["unknown_elements"] += 1
                if len(self.unknown) < MAX_UNKNOWN_LISTED or \
                        label(tfield.pen, tfield.id) in self.unknown:
                    self.unknown[label(tfield.pen, tfield.id)] += 1
        for held in self.pending.take((self._session.key, odid, template.template_id)):
            self.counters["held_sets_decoded"] += 1
            self._data(domain, template, held.body, 0, len(held.body), held.export_ms,
                       held.uptime_ms)

    def on_withdraw(self, odid: int, template_id: int, options: bool) -> None:
        self.counters["templates_withdrawn"] += self._domain(odid).templates.withdraw(
            template_id, options)

    def on_data(self, odid: int, template_id: int, data: bytes, start: int, end: int,
                export_ms: int, uptime_ms: int | None) -> None:
        domain = self._domain(odid)
        template = domain.templates.get(template_id)
        if template is None:
            self._message_held = True
            held = HeldSet(data[start:end], export_ms, uptime_ms, self._now)
            if self.pending.hold((self._session.key, odid, template_id), held):
                self.counters["held_sets"] += 1
            else:
                self._count_dropped(1, end - start)
            return
        self._data(domain, template, data, start, end, export_ms, uptime_ms)

    def on_v5(self, odid: int, data: bytes, start: int, count: int, export_ms: int,
              uptime_ms: int) -> None:
        self._add(self._v5, data, start, start + count * V5_RECORD_LENGTH, export_ms,
                  export_ms - uptime_ms)

    def on_unknown_set(self, odid: int, set_id: int) -> None:
        self.counters["unknown_sets"] += 1

    # --- data -------------------------------------------------------------------------------
    def _data(self, domain: Domain, template: IpfixTemplate, data: bytes, start: int,
              end: int, export_ms: int, uptime_ms: int | None) -> None:
        if template.is_options:
            self._options(domain, template, data, start, end)
            return
        boot = export_ms - uptime_ms if uptime_ms is not None else domain.system_init_ms
        self._add(template, data, start, end, export_ms, boot)

    def _add(self, template: IpfixTemplate, data: bytes, start: int, end: int,
             export_ms: int, boot_ms: int) -> None:
        plan = template.plan
        if plan is None:
            plan = template.plan = DecodePlan(template, self.wanted)
        try:
            raw, count = plan.extract(data, start, end)   # type: ignore[attr-defined]
        except ValueError as exc:
            raise Malformed(f"data set of template {template.template_id}: {exc}") from None
        if not count:
            return
        entry = self._accumulated.get(id(template))
        if entry is None:
            entry = self._accumulated[id(template)] = _Accumulated(template, plan)  # type: ignore
        entry.parts.append(raw)
        entry.counts.append(count)
        entry.export_ms.append(export_ms)
        entry.boot_ms.append(boot_ms)
        self._message_records += count
        self.counters["records"] += count

    def _options(self, domain: Domain, template: IpfixTemplate, data: bytes, start: int,
                 end: int) -> None:
        """Options records: only what the collector needs (the exporter's boot time)."""
        records = walk_records([f.length for f in template.fields], template.min_length,
                               data, start, end)
        try:
            for fields in records:
                for tfield, (position, length) in zip(template.fields, fields, strict=True):
                    value = data[position:position + length]
                    if tfield.pen == 0 and tfield.id == 160 and length == 8:
                        domain.system_init_ms = int.from_bytes(value, "big")
                    elif tfield.pen == 0 and tfield.id in (34, 50) and length <= 4:
                        domain.sampling_interval = int.from_bytes(value, "big")
                self.counters["options_records"] += 1
                self._message_records += 1      # IPFIX sequence numbers count these too
        except ValueError as exc:
            raise Malformed(f"options record of template {template.template_id}: {exc}") \
                from None

    def flush(self) -> RecordBatch | None:
        """Everything decoded since the last flush, as one batch of the output template."""
        if not self._accumulated:
            return None
        batches = []
        for entry in self._accumulated.values():
            counts = np.array(entry.counts, dtype=np.int64)
            raw = entry.parts[0] if len(entry.parts) == 1 else b"".join(entry.parts)
            try:
                columns = entry.plan.columns(raw, counts, np.array(entry.export_ms, np.int64),
                                             np.array(entry.boot_ms, np.int64))
                batches.append(build_batch(self.template, int(counts.sum()), columns,
                                           self.link, self.direction))
            except Exception:    # a bug must not stop the collector: count, log, go on
                log.exception("cannot decode %d records of template %d", int(counts.sum()),
                              entry.template.template_id)
                self.counters["decode_errors"] += int(counts.sum())
        self._accumulated = {}
        return join_batches(batches)

    # --- housekeeping -----------------------------------------------------------------------
    def expire(self, now: float) -> None:
        """Drop held sets past their time, UDP templates past their lifetime, idle UDP
        sessions without templates."""
        self._count_dropped(*self.pending.expire(now))
        if self.template_timeout <= 0:
            return
        for key, session in list(self.sessions.items()):
            if session.transport != "udp":
                continue
            for domain in session.domains.values():
                self.counters["templates_expired"] += domain.templates.expire(
                    now - self.template_timeout)
            if now - session.last_seen > self.template_timeout and \
                    not any(len(d.templates) for d in session.domains.values()):
                del self.sessions[key]

    def _count_dropped(self, sets: int, size: int) -> None:
        if sets:
            self.counters["dropped_sets"] += sets
            self.counters["dropped_bytes"] += size

    def stats(self) -> dict:
        counters = dict(self.counters)
        counters.update({
            "held_sets_now": self.pending.sets,
            "sessions": len(self.sessions),
            "templates": sum(len(d.templates) for s in self.sessions.values()
                             for d in s.domains.values()),
            "unknown_element_ids": dict(self.unknown),
        })
        for name in ("messages", "records", "malformed", "dropped_sets", "unknown_elements"):
            counters.setdefault(name, 0)
        return counters
