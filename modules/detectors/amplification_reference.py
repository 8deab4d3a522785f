"""NEMEA amplification_detection's rule: one reflector and one victim, queries against responses.

Per key (reflector, victim, port): the query flows (victim -> reflector:port) and the response
flows (reflector:port -> victim), each kept as (time, bytes, packets), at most `record_count`
per direction, plus totals. When a flow of the key ends more than `window` s after the key's
first flow, the key is evaluated:

* histograms of flow bytes and packets per direction, bins `step` wide, values < 5000 only
  (counts summed per bin: upstream overwrote them, a bug); top-N = the N most populated bins;
* alert when all hold: both directions seen; not (query packets >= 30 and response/query
  packets >= 5; upstream's "big flow" branch, which never reports); the normalised top-N
  response-bytes bins hold > `min_count` of the flows and > `min_flows` flows; mean response
  packets (top-N) > `min_rsp_packets`; mean response bytes > `min_rsp_bytes`; mean query bytes
  < `max_query_bytes`; mean response bin / mean query bin > `min_amplification` (integers).

Afterwards items older than `window - period` go, totals are recomputed, and the next report
carries only what came since. Keys idle for `window` are dropped every `period` of flow time.
Batches are grouped by key with numpy; a key is evaluated at most once per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ddos_keys import KeyIndex, address_keys, grow_slot_arrays, mix

NS = 1_000_000_000
BYTES_MAX = 5000
QUERY, RESPONSE = 0, 1


@dataclass(frozen=True)
class PairConfig:
    top: int = 5
    step: int = 2
    min_amplification: int = 10
    min_flows: int = 300
    min_count: float = 0.9
    min_rsp_packets: int = 2
    min_rsp_bytes: int = 2000
    max_query_bytes: int = 400
    window: int = 900
    period: int = 300
    record_count: int = 100_000


def histogram(values: np.ndarray, step: int) -> dict[int, int]:
    """Upper bin bound -> count, for values < BYTES_MAX."""
    values = values[values < BYTES_MAX].astype(np.int64)
    keys, counts = np.unique((values // step + 1) * step, return_counts=True)
    return dict(zip(keys.tolist(), counts.tolist(), strict=True))


def top_bins(hist: dict[int, int], n: int) -> dict[int, int]:
    ranked = sorted(((count, key) for key, count in hist.items()), reverse=True)[:n]
    return {key: count for count, key in ranked}


def mean_bin(hist: dict[int, int]) -> int:
    total = sum(hist.values())
    return sum(key * count for key, count in hist.items()) // total if total else 0


def is_amplification(q_bytes: np.ndarray, q_packets: np.ndarray, r_bytes: np.ndarray,
                     r_packets: np.ndarray, q_total_packets: int, r_total_packets: int,
                     cfg: PairConfig) -> bool:
    if not len(q_bytes) or not len(r_bytes):
        return False
    if q_total_packets >= 30 and r_total_packets // q_total_packets >= 5:
        return False
    rsp_bytes = histogram(r_bytes, cfg.step)
    total = sum(rsp_bytes.values())
    top_rsp_bytes = top_bins(rsp_bytes, cfg.top)
    share = sum(top_rsp_bytes.values()) / total if total else 0.0
    if not (share > cfg.min_count and sum(top_rsp_bytes.values()) > cfg.min_flows):
        return False
    top_rsp_packets = top_bins(histogram(r_packets, cfg.step), cfg.top)
    top_q_bytes = top_bins(histogram(q_bytes, cfg.step), cfg.top)
    if not (mean_bin(top_rsp_packets) > cfg.min_rsp_packets
            and mean_bin(top_rsp_bytes) > cfg.min_rsp_bytes
            and mean_bin(top_q_bytes) < cfg.max_query_bytes):
        return False
    if not sum(top_q_bytes.values()):
        return False
    q_mean = sum(top_q_bytes) // len(top_q_bytes)
    r_mean = sum(top_rsp_bytes) // len(top_rsp_bytes)
    return q_mean > 0 and r_mean // q_mean > cfg.min_amplification


@dataclass
class PairReport:
    reflector: bytes
    victim: bytes
    port: int
    requests: tuple[int, int, int]     # flows, bytes, packets since the last report
    responses: tuple[int, int, int]
    time_first: int
    time_last: int
    event_id: int


class ReferenceAmplification:
    """The per-pair state as numpy arrays indexed by pair slot; the kept flows of all pairs in one
    columnar log (slot, direction, time, bytes, packets). Pairs whose window is due are collected
    per batch and evaluated together every `check_ns` of flow time (one pass over the log)."""

    def __init__(self, ports, cfg: PairConfig, check_ns: int = 10 * NS):
        self.ports = np.asarray(ports)
        self.cfg = cfg
        self.check_ns = check_ns
        self.index = KeyIndex()
        self.capacity = 0
        self._grow(1024)
        self.log: list[tuple[np.ndarray, ...]] = []
        self.next_id = 0
        self.now = 0
        self.next_check = 0
        self.next_cleanup = 0

    def _grow(self, needed: int) -> None:
        if needed > self.capacity:
            self.capacity = max(needed, 2 * self.capacity)
            grow_slot_arrays(self, self.capacity, {
                "first": ((), np.int64), "last": ((), np.int64),
                "totals": ((2, 3), np.int64),           # [direction][flows, bytes, packets]
                "reported": ((2, 3), np.int64), "event_ids": ((), np.int64),
                "reflectors": ((), "V16"), "victims": ((), "V16"), "port_of": ((), np.int64),
                "due": ((), bool), "due_first": ((), np.int64), "due_last": ((), np.int64)})

    def add(self, src, dst, sport, dport, tf, tl, octets, packets) -> list[PairReport]:
        if not len(src):
            return []
        self.now = max(self.now, int(tl.max()))
        query = np.isin(dport, self.ports)
        response = np.isin(sport, self.ports) & ~query
        chosen = np.flatnonzero(query | response)
        if len(chosen):
            self._record(chosen, query[chosen], src, dst, sport, dport, tf, tl, octets, packets)
        reports: list[PairReport] = []
        if self.now >= self.next_check:
            self.next_check = self.now + self.check_ns
            reports = self.evaluate_due()
        if self.now >= self.next_cleanup:
            self.next_cleanup = self.now + self.cfg.period * NS
            self._cleanup()
        return reports

    def _record(self, chosen, q, src, dst, sport, dport, tf, tl, octets, packets) -> None:
        reflector = np.where(q, dst[chosen], src[chosen])
        victim = np.where(q, src[chosen], dst[chosen])
        port = np.where(q, dport[chosen], sport[chosen]).astype(np.uint64)
        key = mix(address_keys(reflector), 1) ^ mix(address_keys(victim), 2) ^ mix(port, 3)
        slots, fresh, first_rows = self.index.lookup_fresh(key)
        self._grow(len(self.index))
        tf_c, tl_c = tf[chosen], tl[chosen]
        if len(fresh):
            self.first[fresh] = tf_c[first_rows]
            self.last[fresh] = 0
            self.totals[fresh] = 0
            self.reported[fresh] = 0
            self.event_ids[fresh] = 0
            self.due[fresh] = False
            self.reflectors[fresh], self.victims[fresh] = reflector[first_rows], victim[first_rows]
            self.port_of[fresh] = port[first_rows].astype(np.int64)
        direction = np.where(q, QUERY, RESPONSE).astype(np.intp)
        by, pk = octets[chosen].astype(np.int64), packets[chosen].astype(np.int64)
        np.add.at(self.totals, (slots, direction, 0), 1)
        np.add.at(self.totals, (slots, direction, 1), by)
        np.add.at(self.totals, (slots, direction, 2), pk)
        np.maximum.at(self.last, slots, tl_c)
        self.log.append((slots, direction.astype(np.int8), tf_c, by, pk))
        # a pair is due when one of its flows ends more than the window after its first one
        late = tl_c // NS - self.first[slots] // NS > self.cfg.window
        if late.any():
            rows = np.flatnonzero(late)
            order = rows[np.lexsort((tl_c[rows], slots[rows]))]
            last_of = np.flatnonzero(np.append(np.diff(slots[order]) != 0, True))
            pick = order[last_of]                      # per pair: its latest flow
            due_slots = slots[pick]
            newer = ~self.due[due_slots] | (tl_c[pick] > self.due_last[due_slots])
            self.due[due_slots[newer]] = True
            self.due_first[due_slots[newer]] = tf_c[pick][newer]
            self.due_last[due_slots[newer]] = tl_c[pick][newer]

    def _log_arrays(self):
        if not self.log:
            empty = np.zeros(0, np.int64)
            return empty, np.zeros(0, np.int8), empty, empty, empty
        if len(self.log) > 1:
            self.log = [tuple(np.concatenate(parts) for parts in zip(*self.log, strict=True))]
        return self.log[0]

    def evaluate_due(self) -> list[PairReport]:
        due = np.flatnonzero(self.due[:len(self.index)])
        if not len(due):
            return []
        self.due[due] = False
        slots, direction, t, by, pk = self._log_arrays()
        cfg = self.cfg
        # pre-filter: only pairs with both directions and enough responses can alert
        both = (self.totals[due, QUERY, 0] > 0) & (self.totals[due, RESPONSE, 0] > cfg.min_flows)
        candidates = due[both]
        reports: list[PairReport] = []
        if len(candidates):
            mine = np.flatnonzero(np.isin(slots, candidates))
            order = mine[np.lexsort((direction[mine], slots[mine]))]
            bounds = np.searchsorted(slots[order], candidates, side="left")
            ends = np.searchsorted(slots[order], candidates, side="right")
            for slot, lo, hi in zip(candidates.tolist(), bounds.tolist(), ends.tolist(),
                                    strict=True):
                rows = order[lo:hi]
                is_q = direction[rows] == QUERY
                q_rows, r_rows = rows[is_q][-cfg.record_count:], rows[~is_q][-cfg.record_count:]
                if is_amplification(by[q_rows], pk[q_rows], by[r_rows], pk[r_rows],
                                    int(self.totals[slot, QUERY, 2]),
                                    int(self.totals[slot, RESPONSE, 2]), cfg):
                    reports.append(self._report(slot))
        self._forget_old(due, slots, direction, t, by, pk)
        return reports

    def _report(self, slot: int) -> PairReport:
        if not self.event_ids[slot]:
            self.next_id += 1
            self.event_ids[slot] = self.next_id
        delta = self.totals[slot] - self.reported[slot]
        return PairReport(self.reflectors[slot].tobytes(), self.victims[slot].tobytes(),
                          int(self.port_of[slot]), tuple(delta[QUERY].tolist()),
                          tuple(delta[RESPONSE].tolist()), int(self.first[slot]),
                          int(self.due_last[slot]), int(self.event_ids[slot]))

    def _forget_old(self, due, slots, direction, t, by, pk) -> None:
        """After an evaluation: the pair keeps the flows of its last `window - period` s;
        totals, first time and the reported base are recomputed from them."""
        cutoff = np.full(len(self.index), np.iinfo(np.int64).min, dtype=np.int64)
        cutoff[due] = self.due_last[due] - (self.cfg.window - self.cfg.period) * NS
        keep = t >= cutoff[slots]
        slots, direction, t, by, pk = (a[keep] for a in (slots, direction, t, by, pk))
        self.log = [(slots, direction, t, by, pk)] if len(slots) else []
        mine = np.isin(slots, due)
        self.totals[due] = 0
        d, s = direction[mine].astype(np.intp), slots[mine]
        np.add.at(self.totals, (s, d, 0), 1)
        np.add.at(self.totals, (s, d, 1), by[mine])
        np.add.at(self.totals, (s, d, 2), pk[mine])
        first = self.due_first[due].copy()
        lowest = np.full(len(self.index), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(lowest, s, t[mine])
        self.first[due] = np.minimum(first, lowest[due])
        self.reported[due] = self.totals[due]
        empty = due[self.totals[due, :, 0].sum(axis=1) == 0]
        if len(empty):
            self.index.remove(empty)

    def _cleanup(self) -> None:
        n = len(self.index)
        live = self.index.slot_live[:n]
        stale = np.flatnonzero(live & (self.now - self.last[:n] > self.cfg.window * NS))
        if len(stale):
            self.index.remove(stale)
            slots, direction, t, by, pk = self._log_arrays()
            keep = ~np.isin(slots, stale)
            self.log = [tuple(a[keep] for a in (slots, direction, t, by, pk))]

    def finish(self) -> list[PairReport]:
        return self.evaluate_due()
