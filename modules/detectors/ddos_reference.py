"""NEMEA ddos_detector's rule: traffic to a destination grows suddenly against its own history.

Per destination (prefix `/d`): bytes and a 512-bit bitmap of source prefixes (`/s`) in each
60-s window of flow time, 7 windows kept, a flow's bytes spread evenly over the windows it spans.
A window is final 90 s after its end. Flood onset: two consecutive final windows each with bytes
> `threshold` x the running average of the earlier windows, bytes > `min_bytes` per window and
sources > `sources_factor` x their average (leading empty windows are not averaged; windows that
met the onset test are left out of the average, so an onset's first window does not raise the bar
for its second). The flood lasts while windows stay >= threshold x / >= sources_factor x the
averages from before the onset; it is reported every `report_ns` and at its end, only when the
pre-attack average reaches `base_bytes` per window. Destinations whose bytes over all kept
windows stay <= `prune_bytes` are forgotten. Vectorised: one pass over all destinations per window.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .ddos_keys import KeyIndex, grow_slot_arrays, mix
from .ddos_sketch import linear_count

NS = 1_000_000_000
WINDOW_NS = 60 * NS
HISTORY = 7
DELAY_NS = 90 * NS
WORDS = 8                      # 512 bits
# per destination slot: (shape of one slot, dtype)
_SLOT_ARRAYS = {
    "bytes": ((HISTORY,), np.float64), "bits": ((HISTORY, WORDS), np.uint64),
    "victims": ((), "V16"), "run_bytes": ((), np.float64), "run_sources": ((), np.float64),
    "run_count": ((), np.int64), "prev_ok": ((), bool), "flood": ((), bool),
    "orig_bytes": ((), np.float64), "orig_sources": ((), np.float64),
    "flood_first": ((), np.int64), "flood_last": ((), np.int64),
    "flood_bytes": ((), np.float64), "flood_sources": ((), np.float64),
    "flood_windows": ((), np.int64), "last_report": ((), np.int64), "seq": ((), np.int64),
    "snapshots": ((HISTORY, 3), np.float64),          # running sums
}


@dataclass
class FloodReport:
    victim: bytes
    key: int
    event_id: int
    seq: int
    final: bool
    time_first: int
    time_last: int
    bytes: int
    avg_bytes_current: float       # bytes per second
    avg_bytes_original: float
    avg_sources_current: float     # distinct source prefixes per window
    avg_sources_original: float


class ReferenceDdos:
    def __init__(self, threshold: float = 4.0, min_bytes: float = 7.5e6,
                 sources_factor: float = 4.0, base_bytes: float = 7500.0,
                 prune_bytes: float = 525_000.0, report_ns: int = 300 * NS):
        self.threshold = threshold
        self.min_bytes = min_bytes
        self.sources_factor = sources_factor
        self.base_bytes = base_bytes
        self.prune_bytes = prune_bytes
        self.report_ns = report_ns
        self.index = KeyIndex()
        self.capacity = 0
        self._grow(1024)
        self.ring = np.full(HISTORY, -1, dtype=np.int64)   # window number held by each position
        self.evaluated_ring = np.full(HISTORY, -1, dtype=np.int64)  # window of each snapshot
        self.top = -1                                       # newest window in the ring
        self.evaluated = -1                                 # last final window evaluated
        self.now = 0

    def _grow(self, needed: int) -> None:
        if needed > self.capacity:
            self.capacity = max(needed, 2 * self.capacity)
            grow_slot_arrays(self, self.capacity, _SLOT_ARRAYS)

    # --- input ------------------------------------------------------------------------------
    def add(self, keys: np.ndarray, victims: np.ndarray, source_keys: np.ndarray,
            tf: np.ndarray, tl: np.ndarray, octets: np.ndarray) -> list[FloodReport]:
        if not len(keys):
            return []
        first_w = tf // WINDOW_NS
        last_w = np.maximum(tl // WINDOW_NS, first_w)
        reports = self._roll(int(last_w.max()))
        low = self.top - HISTORY + 1
        keep = last_w >= low
        if not keep.all():
            keys, victims, source_keys = keys[keep], victims[keep], source_keys[keep]
            first_w, last_w, octets = first_w[keep], last_w[keep], octets[keep]
        slots, fresh, first_rows = self.index.lookup_fresh(keys)
        self._grow(len(self.index))
        self.victims[fresh] = victims[first_rows]
        span = last_w - first_w + 1
        share = octets / span
        bit = mix(source_keys, 0xDD05) >> np.uint64(64 - 9)
        word = (bit >> np.uint64(6)).astype(np.intp)
        value = np.left_shift(np.uint64(1), bit & np.uint64(63))
        start = np.maximum(first_w, low)
        for offset in range(HISTORY):
            window = start + offset
            mask = window <= last_w
            if not mask.any():
                break
            pos = (window[mask] % HISTORY).astype(np.intp)
            np.add.at(self.bytes, (slots[mask], pos), share[mask])
            np.bitwise_or.at(self.bits, (slots[mask], pos, word[mask]), value[mask])
        self.now = max(self.now, int(tl.max()))
        return reports + self.advance(self.now)

    def _roll(self, newest: int) -> list[FloodReport]:
        """Make room in the ring for windows up to `newest`, evaluating what would be lost."""
        reports: list[FloodReport] = []
        if self.top < 0:
            self.top = newest
            self.evaluated = newest - 1
            self.ring[newest % HISTORY] = newest
            return reports
        if newest <= self.top:
            return reports
        if newest - self.top >= HISTORY:          # a gap longer than the ring: flush it all
            while self.evaluated < self.top:
                reports += self._evaluate(self.evaluated + 1)
            self.bytes[:] = 0
            self.bits[:] = 0
            self.ring[:] = -1
            self.evaluated = newest - 1
            self.top = newest
            self.ring[newest % HISTORY] = newest
            return reports
        for window in range(self.top + 1, newest + 1):
            while self.evaluated < window - HISTORY:
                reports += self._evaluate(self.evaluated + 1)
            pos = window % HISTORY
            self.bytes[:, pos] = 0
            self.bits[:, pos] = 0
            self.ring[pos] = window
        self.top = newest
        return reports

    # --- evaluation ---------------------------------------------------------------------------
    def advance(self, now: int) -> list[FloodReport]:
        reports: list[FloodReport] = []
        while self.evaluated < self.top and (self.evaluated + 2) * WINDOW_NS + DELAY_NS <= now:
            reports += self._evaluate(self.evaluated + 1)
        return reports

    def finish(self) -> list[FloodReport]:
        reports: list[FloodReport] = []
        while self.evaluated < self.top:
            reports += self._evaluate(self.evaluated + 1)
        n = len(self.index)
        for slot in np.flatnonzero(self.flood[:n]).tolist():
            reports += self._report([slot], final=True)
            self.flood[slot] = False
        return reports

    def _evaluate(self, window: int) -> list[FloodReport]:
        self.evaluated = window
        n = len(self.index)
        if n == 0:
            return []
        pos = window % HISTORY
        if self.ring[pos] == window:
            volume = self.bytes[:n, pos].copy()
            sources = linear_count(self.bits[:n, pos])
        else:
            volume = np.zeros(n)
            sources = np.zeros(n)
        count = self.run_count[:n]
        based = count > 0
        avg_bytes = np.where(based, self.run_bytes[:n] / np.maximum(count, 1), 0.0)
        avg_sources = np.where(based, self.run_sources[:n] / np.maximum(count, 1), 0.0)
        ok = (based & (volume > self.threshold * avg_bytes) & (volume > self.min_bytes)
              & (sources > self.sources_factor * avg_sources))
        flood = self.flood[:n]
        start_ns, end_ns = window * WINDOW_NS, (window + 1) * WINDOW_NS - 1
        reports: list[FloodReport] = []

        onset = ok & self.prev_ok[:n] & ~flood
        if onset.any():
            prev_pos = (window - 1) % HISTORY
            prev_bytes = (self.bytes[:n, prev_pos] if self.ring[prev_pos] == window - 1
                          else np.zeros(n))
            idx = np.flatnonzero(onset)
            self.flood[idx] = True
            self.orig_bytes[idx] = avg_bytes[idx]
            self.orig_sources[idx] = avg_sources[idx]
            self.flood_first[idx] = start_ns - WINDOW_NS
            self.flood_bytes[idx] = prev_bytes[idx]
            self.flood_sources[idx] = 0
            self.flood_windows[idx] = 1
            self.last_report[idx] = end_ns
            self.seq[idx] = 0
        going = self.flood[:n].copy()
        lasting = going & (volume >= self.threshold * self.orig_bytes[:n]) \
            & (sources >= self.sources_factor * self.orig_sources[:n])
        idx = np.flatnonzero(lasting)
        self.flood_bytes[idx] += volume[idx]
        self.flood_sources[idx] += sources[idx]
        self.flood_windows[idx] += 1
        self.flood_last[idx] = end_ns
        due = lasting & (end_ns - self.last_report[:n] >= self.report_ns) & ~onset
        if due.any():
            reports += self._report(np.flatnonzero(due).tolist(), final=False)
            self.last_report[np.flatnonzero(due)] = end_ns
        ended = np.flatnonzero(going & ~lasting)
        if len(ended):
            reports += self._report(ended.tolist(), final=True)
            self.flood[ended] = False

        # the running averages: windows after the first non-empty one, outside floods and onsets
        quiet = ~self.flood[:n] & ~ok & ((count > 0) | (volume > 0))
        self.run_bytes[:n][quiet] += volume[quiet]
        self.run_sources[:n][quiet] += sources[quiet]
        self.run_count[:n][quiet] += 1
        self.prev_ok[:n] = ok
        self.evaluated_ring[pos] = window
        self.snapshots[:n, pos, 0] = self.run_bytes[:n]
        self.snapshots[:n, pos, 1] = self.run_sources[:n]
        self.snapshots[:n, pos, 2] = self.run_count[:n]
        self._prune()
        return reports

    def _report(self, slots: list[int], final: bool) -> list[FloodReport]:
        out = []
        for slot in slots:
            if self.orig_bytes[slot] < self.base_bytes:
                continue
            self.seq[slot] += 1
            windows = max(int(self.flood_windows[slot]), 1)
            seconds = windows * WINDOW_NS / NS
            victim = bytes(self.victims[slot].tobytes())
            first = int(self.flood_first[slot])
            out.append(FloodReport(
                victim=victim, key=self.index.key_of(slot),
                event_id=(zlib.crc32(victim) << 32) | ((first // NS) & 0xFFFFFFFF),
                seq=int(self.seq[slot]), final=final, time_first=first,
                time_last=int(self.flood_last[slot]), bytes=round(self.flood_bytes[slot]),
                avg_bytes_current=self.flood_bytes[slot] / seconds,
                avg_bytes_original=self.orig_bytes[slot] * NS / WINDOW_NS,
                avg_sources_current=self.flood_sources[slot] / windows,
                avg_sources_original=float(self.orig_sources[slot])))
        return out

    def _prune(self) -> None:
        n = len(self.index)
        keep = (self.bytes[:n].sum(axis=1) > self.prune_bytes) | self.flood[:n]
        if keep.all():
            return
        kept = self.index.compact(keep)
        for name in _SLOT_ARRAYS:
            array = getattr(self, name)
            array[:len(kept)] = array[kept]
            array[len(kept):n] = np.zeros(1, dtype=array.dtype)

    def baseline(self, key: int, before: int) -> tuple[float, float] | None:
        """(bytes per second, sources per window) of a destination's history from the windows
        that ended before time `before` (ns), if the ring still knows them."""
        slot = self.index.slot_of(key)
        ends = (self.evaluated_ring + 1) * WINDOW_NS
        usable = (self.evaluated_ring >= 0) & (ends <= before)
        if slot is None or not usable.any():
            return None
        pos = int(np.argmax(np.where(usable, self.evaluated_ring, -1)))
        total_bytes, total_sources, count = self.snapshots[slot, pos]
        if count == 0:
            return None
        return (total_bytes / count * NS / WINDOW_NS, total_sources / count)
