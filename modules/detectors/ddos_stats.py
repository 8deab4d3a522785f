"""Stats and Totals: what an episode knows about one victim, per bin and over its whole range.

Rows are kept as numpy chunks and aggregated only when needed: the distinct sources of a bin
when a threshold check asks for them, the per-source bytes and per-port packets of the
episode when it is reported (and every 200 000 rows, to bound memory).
"""

from __future__ import annotations

import numpy as np

from .ddos_keys import merge_sorted, unique_sorted
from .ddos_rows import FlowRows


class Stats:
    """Sums over the rows of one victim in one bin; rows kept as chunks (numpy), distinct
    sources counted only when a threshold check needs them."""

    __slots__ = ("bytes", "chunks", "classes", "cond", "flows", "packets", "pending", "tmax",
                 "tmin", "unique")

    def __init__(self, classes: int):
        self.packets = self.bytes = self.flows = 0.0
        self.classes = np.zeros(classes)
        self.chunks: list[FlowRows] = []
        self.cond: list[FlowRows] = []
        self.unique = np.zeros(0, dtype=np.uint64)
        self.pending: list[np.ndarray] = []
        self.tmin = 1 << 62
        self.tmax = 0

    def add_rows(self, rows: FlowRows, low: int, high: int) -> None:
        """Volume rows of one bin [low, high] ns."""
        self.packets += float(rows.packets.sum())
        self.bytes += float(rows.bytes.sum())
        self.flows += float(rows.flows.sum())
        self.classes += np.bincount(rows.cls, weights=rows.packets, minlength=len(self.classes))
        self.chunks.append(rows)
        self.pending.append(rows.skey)
        self.tmin = min(self.tmin, max(int(rows.tf.min()), low))
        self.tmax = max(self.tmax, min(int(rows.tl.max()), high))

    def sources(self) -> int:
        if self.pending:
            self.unique = merge_sorted(self.unique, unique_sorted(np.concatenate(self.pending)))
            self.pending = []
        return len(self.unique)


class Totals:
    """An episode's folded bins: per-source bytes, per-port packets, sums."""

    def __init__(self, classes: int):
        self.packets = self.bytes = self.flows = 0.0
        self.classes = np.zeros(classes)
        self.tmin = 1 << 62
        self.tmax = 0
        self.chunks: list[FlowRows] = []
        self.cond: list[FlowRows] = []
        self.pending_rows = 0
        empty_key = np.zeros(0, dtype=np.uint64)
        self.src_keys, self.src_bytes = empty_key, np.zeros(0)
        self.src_raw = np.zeros(0, dtype="V16")
        self.ports: dict[str, tuple[np.ndarray, np.ndarray]] = {
            name: (np.zeros(0, dtype=np.int64), np.zeros(0)) for name in ("sport", "dport",
                                                                           "proto")}

    def merge(self, stats: Stats) -> None:
        self.packets += stats.packets
        self.bytes += stats.bytes
        self.flows += stats.flows
        self.classes += stats.classes
        if stats.tmax:
            self.tmin = min(self.tmin, stats.tmin)
            self.tmax = max(self.tmax, stats.tmax)
        self.chunks += stats.chunks
        self.cond += stats.cond
        self.pending_rows += sum(len(c) for c in stats.chunks)
        if self.pending_rows > 200_000:
            self.compact()

    def compact(self) -> None:
        if not self.chunks:
            return
        rows = FlowRows.concat(self.chunks)
        self.chunks, self.pending_rows = [], 0
        keys = np.concatenate([self.src_keys, rows.skey])
        weights = np.concatenate([self.src_bytes, rows.bytes])
        raws = np.concatenate([self.src_raw, rows.source])
        self.src_keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        self.src_bytes = np.bincount(inverse, weights=weights, minlength=len(self.src_keys))
        self.src_raw = raws[first]
        for name, values in (("sport", rows.sport), ("dport", rows.dport), ("proto", rows.proto)):
            old_keys, old_counts = self.ports[name]
            merged = np.concatenate([old_keys, values.astype(np.int64)])
            counts = np.concatenate([old_counts, rows.packets])
            unique, inverse = np.unique(merged, return_inverse=True)
            self.ports[name] = (unique, np.bincount(inverse, weights=counts,
                                                    minlength=len(unique)))

    def top(self, name: str, count: int = 1) -> list[tuple[int, float]]:
        keys, counts = self.ports[name]
        order = np.lexsort((keys, -counts))[:count]
        return list(zip(keys[order].tolist(), counts[order].tolist(), strict=True))

    def conditional(self) -> np.ndarray:
        """[flows, packets, bytes] of the conditional rows whose source is an episode source."""
        if not self.cond:
            return np.zeros(3)
        rows = FlowRows.concat(self.cond)
        mine = np.isin(rows.skey, self.src_keys)
        return np.array([rows.flows[mine].sum(), rows.packets[mine].sum(),
                         rows.bytes[mine].sum()])
