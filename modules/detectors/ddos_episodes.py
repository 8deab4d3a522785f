"""EpisodeEngine: attack episodes per victim, decided on short bins of flow time.

For every bin of `bin_ns` of flow time (flows spread over the bins they span) a victim's traffic is
*hot* when it reaches every threshold (packets, bytes, distinct sources, mean packet size) and
*warm* when it reaches `warm_ratio` of them. An episode starts at its first hot bin, extended back
over the warm bins right before it, and lasts to its last warm bin; it ends (one report) when
flow time has passed that bin by `idle_ns`; a long one is also reported every `report_ns` (same
EVENT_ID, next sequence number).

Two stages keep this fast and bounded: a BinSketch over all volume rows finds candidate victims
(cells over the thresholds); candidates are then tracked exactly (per-bin sums, distinct sources,
solicited replies removed), seeded from a short buffer of recent rows so the onset is counted too.
Flows may arrive out of time order: bins stay open for `delay_ns` behind the newest flow time.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from libtrap_py.module import param

from .ddos_keys import KeySet, unique_sorted
from .ddos_rows import CONDITIONAL, REQUEST, VOLUME, FlowRows
from .ddos_sketch import BinSketch
from .ddos_stats import Stats, Totals


@dataclass
class EpisodeParams:
    """The options of the episode tracking both volume detectors share (flow time)."""

    continue_ratio: float = param(0.05, None, "An episode goes on (and starts earlier) through "
                                              "bins at this share of the thresholds.")
    idle: float = param(60.0, None, "An episode ends this many seconds of flow time after its "
                                    "last bin over the continue ratio.")
    delay: float = param(60.0, None, "How late (s of flow time) flows may arrive.")
    report_interval: float = param(300.0, None, "Report a running episode every SEC (0 = only "
                                                "at its end).")

    def check_episode_options(self, bin_seconds: float) -> None:
        if bin_seconds <= 0 or self.idle < 0 or self.delay < 0 or self.report_interval < 0:
            raise ValueError("--bin must be > 0; --idle, --delay, --report-interval >= 0")
        if not 0 < self.continue_ratio <= 1:
            raise ValueError("--continue-ratio: must be in (0, 1]")

CLOSED_MEMORY_NS = 600 * 1_000_000_000     # how long a closed episode still counts as active


@dataclass(frozen=True)
class Thresholds:
    packets: float = 0.0       # per bin
    bytes: float = 0.0         # per bin
    sources: float = 0.0       # distinct sources per bin
    packet_size: float = 0.0   # mean bytes per packet in the bin (not scaled by warm_ratio)

    def scaled(self, ratio: float) -> Thresholds:
        return Thresholds(self.packets * ratio, self.bytes * ratio, max(1.0, self.sources * ratio),
                          self.packet_size)

    def met(self, packets, octets, sources):
        size_ok = octets >= self.packet_size * np.maximum(packets, 1e-9)
        return ((packets >= self.packets) & (octets >= self.bytes) & (sources >= self.sources)
                & size_ok & (packets > 0))


@dataclass
class Report:
    """One alert about an episode (cumulative since its start)."""

    victim: bytes
    event_id: int
    seq: int
    final: bool
    time_first: int
    time_last: int
    flows: int
    packets: int
    bytes: int
    sources: int
    top_source: bytes
    classes: np.ndarray
    sport: int
    dport: int
    proto: int
    sports: list[tuple[int, float]]
    peak_packets: float
    peak_sources: int
    hot_bins: int
    bin_ns: int
    cond_flows: int = 0
    cond_packets: int = 0
    cond_bytes: int = 0
    solicited: int = 0
    requests: tuple[int, int, int] = (0, 0, 0)


class Episode:
    def __init__(self, vkey: int, victim: bytes, classes: int):
        self.vkey = vkey
        self.victim = victim
        self.classes = classes
        self.requested = KeySet()                      # peers the victim asked
        self.solicited = 0
        self.requests = np.zeros(3)                       # flows, packets, bytes it asked
        self.bins: dict[int, Stats] = {}
        self.hot: set[int] = set()
        self.warm: set[int] = set()
        self.start: int | None = None
        self.last_warm: int | None = None
        self.totals = Totals(classes)
        self.peak_packets = 0.0
        self.peak_sources = 0
        self.seq = 0
        self.last_report = 0
        self.event_id = 0

    def add(self, rows: FlowRows, bins: np.ndarray, bin_ns: int, hot: Thresholds,
            warm: Thresholds, floor: int) -> None:
        request = rows.kind == REQUEST
        if request.any():
            asked = unique_sorted(rows.skey[request])
            self.requested.add(asked[~self.requested.contains(asked)])
            self.requests += (float(rows.flows[request].sum()),
                              float(rows.packets[request].sum()),
                              float(rows.bytes[request].sum()))
        volume = rows.kind == VOLUME
        if len(self.requested):
            solicited = volume & rows.reply
            solicited[solicited] = self.requested.contains(rows.skey[solicited])
            if solicited.any():
                volume &= ~solicited
                self.solicited += int(solicited.sum())
        cond = rows.kind == CONDITIONAL
        keep = volume | cond
        if self.start is None:
            keep &= bins >= floor
        if not keep.any():
            return
        rows, bins, volume = rows.take(keep), bins[keep], volume[keep]
        order = np.argsort(bins, kind="stable")
        edges = np.flatnonzero(np.diff(bins[order])) + 1
        for part in np.split(order, edges):
            number = int(bins[part[0]])
            stats = self.bins.get(number)
            if stats is None:
                stats = self.bins[number] = Stats(self.classes)
            is_volume = volume[part]
            if is_volume.any():
                stats.add_rows(rows.take(part[is_volume]), number * bin_ns,
                               (number + 1) * bin_ns - 1)
                self._check(number, stats, hot, warm)
            if not is_volume.all():
                stats.cond.append(rows.take(part[~is_volume]))
        self._update_range()

    def _check(self, number: int, stats: Stats, hot: Thresholds, warm: Thresholds) -> None:
        self.peak_packets = max(self.peak_packets, stats.packets)
        if number in self.hot:
            return
        if number not in self.warm:
            if not warm.met(stats.packets, stats.bytes, warm.sources):
                return                     # volume too low: no need to count the sources
            if warm.met(stats.packets, stats.bytes, stats.sources()):
                self.warm.add(number)
            else:
                return
        if hot.met(stats.packets, stats.bytes, hot.sources) and \
                hot.met(stats.packets, stats.bytes, stats.sources()):
            self.hot.add(number)

    def _update_range(self) -> None:
        if not self.hot:
            return
        start = min(self.hot)
        while start - 1 in self.warm:
            start -= 1
        self.start = start if self.start is None else min(self.start, start)
        self.last_warm = max(b for b in self.warm if b >= self.start)

    def fold(self, upto: int | None = None) -> None:
        """Move the bins of the episode's range (up to `upto`) into the totals."""
        if self.start is None:
            return
        high = self.last_warm if upto is None else min(upto, self.last_warm)  # type: ignore
        for number in sorted(b for b in self.bins if self.start <= b <= high):
            stats = self.bins.pop(number)
            self.peak_sources = max(self.peak_sources, stats.sources())
            self.totals.merge(stats)

    def discard_before(self, floor: int) -> None:
        """Forget old bins that are not (and can no longer become) part of the episode."""
        low = floor if self.start is None else min(floor, self.start)
        for number in [b for b in self.bins if b < low]:
            del self.bins[number]

    def report(self, final: bool, bin_ns: int) -> Report:
        self.fold()
        totals = self.totals
        totals.compact()
        if final:
            self.bins.clear()
        cond = totals.conditional()
        top = int(np.argmax(totals.src_bytes)) if len(totals.src_bytes) else -1
        self.seq += 1
        return Report(
            victim=self.victim, event_id=self.event_id, seq=self.seq, final=final,
            time_first=totals.tmin, time_last=totals.tmax,
            flows=round(totals.flows + cond[0]), packets=round(totals.packets + cond[1]),
            bytes=round(totals.bytes + cond[2]), sources=len(totals.src_keys),
            top_source=totals.src_raw[top].tobytes() if top >= 0 else b"\0" * 16,
            classes=totals.classes.copy(), sport=totals.top("sport")[0][0],
            dport=totals.top("dport")[0][0], proto=totals.top("proto")[0][0],
            sports=totals.top("sport", 5), peak_packets=self.peak_packets,
            peak_sources=self.peak_sources, hot_bins=len(self.hot), bin_ns=bin_ns,
            cond_flows=round(cond[0]), cond_packets=round(cond[1]), cond_bytes=round(cond[2]),
            solicited=self.solicited,
            requests=tuple(round(v) for v in self.requests.tolist()))  # type: ignore[arg-type]


class EpisodeEngine:
    def __init__(self, *, bin_ns: int, delay_ns: int, idle_ns: int, report_ns: int,
                 hot: Thresholds, warm_ratio: float, classes: int, cells: int = 1 << 14,
                 words: int = 2, max_span_bins: int = 600):
        self.bin_ns = bin_ns
        self.delay_ns = delay_ns
        self.idle_ns = max(idle_ns, bin_ns)
        self.report_ns = report_ns
        self.hot = hot
        self.warm = hot.scaled(warm_ratio)
        self.classes = classes
        self.max_span = max_span_bins
        self.sketch = BinSketch(cells, words, bins=-(-delay_ns // bin_ns) + 3)
        self.buffer: list[tuple[FlowRows, np.ndarray, int]] = []
        self.episodes: dict[int, Episode] = {}
        self.closed: dict[int, tuple[int, int]] = {}    # vkey -> (last bin, forget after ns)
        self.now = 0

    @property
    def floor(self) -> int:
        """The oldest bin still open for new detections."""
        return (self.now - self.delay_ns) // self.bin_ns if self.now else -(1 << 62)

    def add(self, rows: FlowRows) -> list[Report]:
        if not len(rows):
            return []
        rows, bins = rows.spread(self.bin_ns, self.max_span)
        reports = self._close_idle(max(self.now, int(rows.tl.max())))   # before new rows join
        floor = self.floor
        volume = (rows.kind == VOLUME) & (bins >= floor)
        cells = self.sketch.cell_of(rows.vkey)
        candidates = self._candidates(rows, bins, cells, volume)
        self.buffer.append((rows, bins, int(rows.tl.max())))
        tracked = np.fromiter(self.episodes, dtype=np.uint64, count=len(self.episodes))
        if len(tracked):
            mine = np.isin(rows.vkey, tracked)
            self._dispatch(rows.take(mine), bins[mine], floor)
        if len(candidates):
            for key, raw in candidates:
                self.episodes[key] = Episode(key, raw, self.classes)
            self._seed(np.fromiter((k for k, _ in candidates), dtype=np.uint64), floor)
        self.now = max(self.now, int(rows.tl.max()))
        return reports + self._maintain()

    def _close_idle(self, now: int) -> list[Report]:
        """Close the episodes that flow time `now` has left behind, so that a later burst
        starts an episode of its own."""
        due = [key for key, episode in self.episodes.items()
               if episode.start is not None and self._idle(episode, now)]
        return [self._close(key) for key in due]

    def _idle(self, episode: Episode, now: int) -> bool:
        """Has flow time `now` left the started `episode` behind (no warm bin for the idle
        time, nor for the delay)?"""
        end = (episode.last_warm + 1) * self.bin_ns  # type: ignore[operator]
        return now >= end + max(self.idle_ns, self.delay_ns)

    def _candidates(self, rows, bins, cells, volume) -> list[tuple[int, bytes]]:
        selected = np.flatnonzero(volume)
        if not len(selected):
            return []
        positions, touched = self.sketch.add(bins[selected], cells[selected], rows.skey[selected],
                                             rows.packets[selected], rows.bytes[selected])
        positions, touched, pk, by, src = self.sketch.over(positions, touched, self.hot.packets,
                                                           self.hot.bytes)
        hot = self.hot.met(pk, by, src)
        if not hot.any():
            return []
        size = self.sketch.size
        hot_pairs = positions[hot] * self.sketch.cells + touched[hot]
        row_pairs = (bins[selected] % size) * self.sketch.cells + cells[selected]
        marked = selected[np.isin(row_pairs, hot_pairs)]
        keys, first = np.unique(rows.vkey[marked], return_index=True)
        victims = rows.victim[marked][first]
        return [(key, raw) for key, raw in zip(keys.tolist(), victims.tolist(), strict=True)
                if key not in self.episodes]

    def _seed(self, keys: np.ndarray, floor: int) -> None:
        parts, part_bins = [], []
        for rows, bins, _ in self.buffer:
            mine = np.isin(rows.vkey, keys)
            if mine.any():
                parts.append(rows.take(mine))
                part_bins.append(bins[mine])
        if parts:
            self._dispatch(FlowRows.concat(parts), np.concatenate(part_bins), floor)

    def _dispatch(self, rows: FlowRows, bins: np.ndarray, floor: int) -> None:
        if not len(rows):
            return
        order = np.argsort(rows.vkey, kind="stable")
        keys = rows.vkey[order]
        edges = np.flatnonzero(np.diff(keys)) + 1
        for part in np.split(order, edges):
            key = int(rows.vkey[part[0]])
            episode = self.episodes.get(key)
            if episode is None:
                continue
            part_bins = bins[part]
            closed = self.closed.get(key)
            low = floor if closed is None else max(floor, closed[0] + 1)
            if episode.start is not None:
                low = -(1 << 62)
            episode.add(rows.take(part), part_bins, self.bin_ns, self.hot, self.warm, low)

    def _maintain(self) -> list[Report]:
        reports = []
        floor = self.floor
        cutoff = self.now - self.delay_ns
        if self.buffer and min(entry[2] for entry in self.buffer[:8]) < cutoff:
            self.buffer = [entry for entry in self.buffer if entry[2] >= cutoff]
        self.closed = {k: v for k, v in self.closed.items() if v[1] > self.now}
        for key, episode in list(self.episodes.items()):
            if episode.start is None:
                episode.discard_before(floor)
                if not episode.bins:
                    del self.episodes[key]
                continue
            if not episode.event_id:
                episode.event_id = self._event_id(episode)
                episode.last_report = self.now
            if self._idle(episode, self.now):
                reports.append(self._close(key))
            elif self.report_ns and self.now - episode.last_report >= self.report_ns:
                episode.last_report = self.now
                reports.append(episode.report(False, self.bin_ns))
            else:
                episode.discard_before(floor)
        return reports

    def _close(self, key: int) -> Report:
        episode = self.episodes.pop(key)
        if not episode.event_id:
            episode.event_id = self._event_id(episode)
        keep_until = self.now + max(self.delay_ns + self.idle_ns, CLOSED_MEMORY_NS)
        self.closed[key] = (episode.last_warm, keep_until)  # type: ignore[assignment]
        return episode.report(True, self.bin_ns)

    def _event_id(self, episode: Episode) -> int:
        start_s = episode.start * self.bin_ns // 1_000_000_000  # type: ignore[operator]
        return (zlib.crc32(episode.victim) << 32) | (start_s & 0xFFFFFFFF)

    def finish(self) -> list[Report]:
        return [self._close(key) for key, episode in list(self.episodes.items())
                if episode.start is not None]

    def active(self, vkey: int) -> bool:
        episode = self.episodes.get(vkey)
        return (episode is not None and episode.start is not None) or vkey in self.closed
