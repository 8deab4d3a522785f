"""Data sets that arrived before their template: held for a bounded time and number, then
dropped (counted). A UDP exporter sends its templates every so often, so the first data sets a
freshly started collector sees usually have no template yet; held, they are decoded as soon as
the template comes."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class HeldSet:
    body: bytes
    export_ms: int
    uptime_ms: int | None
    arrived: float


class PendingSets:
    def __init__(self, hold_seconds: float, max_sets: int, max_bytes: int = 64 << 20):
        self.hold_seconds = hold_seconds
        self.max_sets = max_sets
        self.max_bytes = max_bytes
        self.held: OrderedDict[tuple, list[HeldSet]] = OrderedDict()
        self.sets = 0
        self.bytes = 0

    def hold(self, key: tuple, held: HeldSet) -> bool:
        """Keep a set for its template; False (not kept) when the limits are reached."""
        if self.hold_seconds <= 0 or self.sets >= self.max_sets or \
                self.bytes + len(held.body) > self.max_bytes:
            return False
        self.held.setdefault(key, []).append(held)
        self.sets += 1
        self.bytes += len(held.body)
        return True

    def take(self, key: tuple) -> list[HeldSet]:
        """The sets held for this (session, domain, template id), oldest first."""
        sets = self.held.pop(key, [])
        self.sets -= len(sets)
        self.bytes -= sum(len(s.body) for s in sets)
        return sets

    def expire(self, now: float) -> tuple[int, int]:
        """Drop sets held longer than the hold time; returns (sets, bytes) dropped."""
        limit = now - self.hold_seconds
        dropped_sets = dropped_bytes = 0
        for key in list(self.held):
            sets = self.held[key]
            keep = [s for s in sets if s.arrived >= limit]
            if len(keep) == len(sets):
                continue
            gone = len(sets) - len(keep)
            gone_bytes = sum(len(s.body) for s in sets) - sum(len(s.body) for s in keep)
            dropped_sets += gone
            dropped_bytes += gone_bytes
            if keep:
                self.held[key] = keep
            else:
                del self.held[key]
        self.sets -= dropped_sets
        self.bytes -= dropped_bytes
        return dropped_sets, dropped_bytes

    def drop_session(self, session_key: tuple) -> tuple[int, int]:
        dropped_sets = dropped_bytes = 0
        for key in [k for k in self.held if k[0] == session_key]:
            sets = self.take(key)
            dropped_sets += len(sets)
            dropped_bytes += sum(len(s.body) for s in sets)
        return dropped_sets, dropped_bytes
