"""DistinctCounter: per key, the distinct values seen, reported every `threshold` new ones.

The state of both scan detectors: vportscan counts ports (or protocols) per source and host,
haddrscan addresses per source and port. Time is flow time: a key idle for `idle_ns` is
forgotten, and if it was reported before and has new values since, they make a last
(trailing) report. Reported values stay remembered (a repeat is not new again) unless
`after_report` says otherwise, which is how NEMEA's exact rules are kept:
  "keep"   remember the reported values (the default: counts add up to the distinct values)
  "clear"  forget them, keep the key (NEMEA's haddrscan)
  "drop"   forget the key (NEMEA's vportscan)
`toggle`: a repeated value is removed instead of ignored (NEMEA's vportscan).
Most keys never see a second value, so a key with one value is a plain tuple until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MEMORY = 1 << 16      # remembered values per key at most; beyond, the reported ones are dropped


@dataclass(frozen=True)
class Report:
    key: bytes
    count: int              # new distinct values since the previous report
    first: int              # TIME_FIRST / TIME_LAST (ns) of the flows since then
    last: int
    flags: int              # OR of the flows' flag bits since then
    samples: list           # the first new values (up to `samples`)
    row: int | None         # the flow that completed the report; None for a trailing one


class Entry:
    __slots__ = ("first", "flags", "last", "reported", "samples", "seen")

    def __init__(self, value: Any, first: int, last: int, flags: int, samples: int):
        self.seen = {value}
        self.samples = [value] if samples else []
        self.reported = -1                   # -1: never reported
        self.first, self.last, self.flags = first, last, flags


class DistinctCounter:
    def __init__(self, idle_ns: int, samples: int = 0, after_report: str = "keep",
                 toggle: bool = False):
        if after_report not in ("keep", "clear", "drop"):
            raise ValueError(f"after_report {after_report!r}: keep, clear or drop")
        self.idle_ns, self.samples = idle_ns, samples
        self.after_report, self.toggle = after_report, toggle
        self.entries: dict[bytes, Entry] = {}
        self.single: dict[bytes, tuple] = {}     # key -> (value, first, last, flags)
        self._next_prune: int | None = None

    def __len__(self) -> int:
        return len(self.entries) + len(self.single)

    def add(self, keys: list, values: list, firsts: list, lasts: list, flags: list,
            rows: list, threshold: int) -> list[Report]:
        """Count one flow per position; the reports of keys reaching `threshold` (>= 2)."""
        entries, single, reports = self.entries, self.single, []
        for key, value, first, last, flag, row in zip(keys, values, firsts, lasts, flags, rows,
                                                      strict=True):
            entry = entries.get(key)
            if entry is None:
                one = single.get(key)
                if one is None:
                    single[key] = (value, first, last, flag)
                elif one[0] != value:
                    del single[key]
                    entry = entries[key] = Entry(one[0], min(one[1], first),
                                                 max(one[2], last), one[3], self.samples)
                elif self.toggle:
                    del single[key]
                else:
                    single[key] = (value, min(one[1], first), max(one[2], last), one[3] | flag)
                if entry is None:
                    continue
            else:
                entry.first, entry.last = min(entry.first, first), max(entry.last, last)
                if value in entry.seen:
                    if self.toggle:
                        entry.seen.discard(value)
                    continue
            entry.seen.add(value)
            entry.flags |= flag
            if len(entry.samples) < self.samples:
                entry.samples.append(value)
            if len(entry.seen) - max(entry.reported, 0) >= threshold:
                reports.append(self._report(key, entry, row))
        return reports

    def _report(self, key: bytes, entry: Entry, row: int | None) -> Report:
        report = Report(key, len(entry.seen) - max(entry.reported, 0), entry.first, entry.last,
                        entry.flags, entry.samples, row)
        if self.after_report == "drop":
            del self.entries[key]
            return report
        if self.after_report == "clear" or len(entry.seen) >= MEMORY:
            entry.seen.clear()
        entry.reported = len(entry.seen)
        entry.first, entry.flags, entry.samples = entry.last, 0, []
        return report

    def advance(self, now: int, every_ns: int) -> list[Report]:
        """Flow time is `now`: prune every `every_ns` of it (the first time, `every_ns` after
        the first call)."""
        if self._next_prune is None:
            self._next_prune = now + every_ns
        elif now >= self._next_prune:
            self._next_prune = now + every_ns
            return self.prune(now)
        return []

    def prune(self, now: int) -> list[Report]:
        """Forget the keys idle at `now`; trailing reports of those reported before."""
        horizon = now - self.idle_ns
        idle = [key for key, entry in self.entries.items() if entry.last < horizon]
        reports = [report for key in idle if (report := self._trailing(key)) is not None]
        for key in idle:
            self.entries.pop(key, None)
        for key in [key for key, one in self.single.items() if one[2] < horizon]:
            del self.single[key]
        return reports

    def drain(self) -> list[Report]:
        """End of stream: the trailing reports of every key, and an empty state."""
        reports = [report for key in list(self.entries)
                   if (report := self._trailing(key)) is not None]
        self.entries.clear()
        self.single.clear()
        return reports

    def _trailing(self, key: bytes) -> Report | None:
        entry = self.entries[key]
        if entry.reported < 0 or len(entry.seen) <= entry.reported:
            return None
        return self._report(key, entry, None)
