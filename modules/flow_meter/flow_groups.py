"""A chunk's packets grouped by flow key, with the column-wise checks that decide which
groups can be added to their flow in one step (see FlowCache.add)."""

from __future__ import annotations

import numpy as np

FIN, SYN, RST = 0x01, 0x02, 0x04
NS = 1_000_000_000


# odd 64-bit multipliers of the key hash (any odd constants with mixed bits will do)
_MULTIPLIERS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD)


def key_runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The packets (`keys`: a void array, a key's bytes per packet) ordered so that each key's
    packets are one run, in capture order (the runs in no particular order); and per position
    of that order, whether a run starts there.

    Keys are hashed to 64 bits and sorted, stably, by the hash's upper 48 bits: three passes
    over 16 bits each, which numpy sorts by radix, several times faster than a stable sort of
    64-bit values. A hash shared by two different keys is detected (every key is compared
    with the one before it in its run) and the chunk is then grouped by the keys themselves
    (a dict)."""
    count, width = len(keys), keys.dtype.itemsize
    if width % 8:                              # whole 64-bit words, zero-padded
        padded = np.zeros((count, -(-width // 8) * 8), dtype=np.uint8)
        padded[:, :width] = keys.view(np.uint8).reshape(count, width)
        words = padded.view(np.uint64)
    else:
        words = np.ascontiguousarray(keys).view(np.uint64).reshape(count, width // 8)
    hashes = key_hashes(words)
    order = np.lexsort([(hashes >> np.uint64(shift)).astype(np.uint16) for shift in (16, 32, 48)])
    ordered = hashes[order] >> np.uint64(16)
    new_key = np.r_[True, ordered[1:] != ordered[:-1]]
    rows = words.view(f"V{words.shape[1] * 8}")[:, 0][order]   # (whole rows move fastest)
    words = rows.view(np.uint64).reshape(count, words.shape[1])
    unlike_before = np.flatnonzero(words[1:] != words[:-1]) // words.shape[1] + 1
    if not new_key[unlike_before].all():
        return _key_runs_by_dict(keys)                 # in a run, a key unlike the one before
    return order, new_key


def stable_order(values: np.ndarray) -> np.ndarray:
    """argsort, stable, of non-negative integers (a radix sort when they fit in 16 bits)."""
    if len(values) and values.max() < 1 << 16:
        values = values.astype(np.uint16)
    return np.argsort(values, kind="stable")


def key_hashes(words: np.ndarray) -> np.ndarray:
    """A 64-bit hash per row of uint64 words."""
    hashes = np.zeros(len(words), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in range(words.shape[1]):
            hashes ^= words[:, column]
            hashes *= np.uint64(_MULTIPLIERS[column % len(_MULTIPLIERS)])
            hashes ^= hashes >> np.uint64(31)
    return hashes


def _key_runs_by_dict(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = keys.tolist()
    index = dict.fromkeys(values)              # unique keys, in order of first appearance
    index.update(zip(index, range(len(index)), strict=True))
    ids = np.fromiter(map(index.__getitem__, values), dtype=np.intp, count=len(values))
    order = stable_order(ids)
    ordered = ids[order]
    return order, np.r_[True, ordered[1:] != ordered[:-1]]


class PacketGroups:
    """A chunk's packets grouped by flow key, and each key's packets cut where the inactive
    timeout separates two of them (the later ones start a new flow): a *group* is one such
    run. A key's groups come one after the other; within a group, packets keep capture
    order. `after_gap[g]`: group g follows an inactive gap (the flow of the key's previous
    group ends there); `last_seconds[g]`: the second of its latest packet."""

    def __init__(self, keys: np.ndarray, low: np.ndarray, columns, inactive: int):
        self.order, new_key = key_runs(keys)
        key_of = np.cumsum(new_key) - 1
        self.low = low[self.order]
        self.times = columns.time_ns[self.order]
        self.seconds = self.times // NS
        self.flags = columns.tcp_flags[self.order]
        self.sizes = columns.ip_bytes[self.order].astype(np.uint64)
        # a flow's last second is the largest so far: a running maximum within each key
        span = int(self.seconds.max() - self.seconds.min()) + 1 if len(key_of) else 1
        latest = np.maximum.accumulate(self.seconds + key_of * span) - key_of * span
        gap = np.r_[False, ~new_key[1:] & (self.seconds[1:] - latest[:-1] >= inactive)]
        cut = new_key | gap
        self.starts = np.flatnonzero(cut)
        self.group_of = np.cumsum(cut) - 1
        self.count = len(self.starts)
        self.after_gap = gap[self.starts]
        self.ends_in_chunk = np.r_[self.after_gap[1:], False]   # the key's next group cuts it
        self.last_seconds = np.maximum.reduceat(self.seconds, self.starts)
        self.key_array = keys[self.order[self.starts]]      # each group's key
        self.keys = self.key_array.tolist()                  # the same, as bytes

    def plugin_groups(self, masks: list[np.ndarray]) -> np.ndarray:
        """Groups with a packet some plugin wants to see (those go packet by packet)."""
        slow = np.zeros(self.count, dtype=bool)
        for mask in masks:
            slow |= np.logical_or.reduceat(mask[self.order], self.starts)
        return slow

    def mark_active_spans(self, slow: np.ndarray, active: int) -> None:
        """Groups spanning the active timeout themselves."""
        slow |= self.last_seconds - self.seconds[self.starts] >= active

    def spread_over_keys(self, slow: np.ndarray) -> None:
        """A key with a slow group goes packet by packet altogether (its groups must be
        accounted in order)."""
        if not slow.any() or not self.after_gap.any():
            return
        firsts = np.flatnonzero(~self.after_gap)          # each key's first group
        any_slow = np.logical_or.reduceat(slow, firsts)
        slow[:] = np.repeat(any_slow, np.diff(np.r_[firsts, self.count]))

    def firsts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per group: the first packet's low-side flag, time and TCP flags; the last second."""
        starts = self.starts
        return self.low[starts], self.times[starts], self.flags[starts], self.last_seconds

    def last_positions(self) -> np.ndarray:
        """Per group: the capture position of its last packet."""
        return np.maximum.reduceat(self.order, self.starts)

    def reverse(self, creator_low: np.ndarray) -> np.ndarray:
        """Per packet (group order): does it go against its flow's creator?"""
        return self.low != creator_low[self.group_of]

    def mark_syn_after_end(self, slow: np.ndarray, reverse: np.ndarray, ended_forward:
                           np.ndarray, ended_reverse: np.ndarray) -> None:
        """Groups with a SYN that follows a FIN or RST of the same direction (in the group, or
        already in the flow it continues): that SYN starts a new flow. Only the groups with a
        SYN after a FIN/RST of any direction, or with a SYN and an ended flow, are looked at
        direction by direction."""
        ends = (self.flags & (FIN | RST)) != 0
        syns = (self.flags & SYN) != 0
        if not syns.any():
            return
        count, at = len(self.flags), np.arange(len(self.flags))
        first_end = np.minimum.reduceat(np.where(ends, at, count), self.starts)
        last_syn = np.maximum.reduceat(np.where(syns, at, -1), self.starts)
        candidate = ((last_syn > first_end)
                     | ((last_syn >= 0) & (ended_forward | ended_reverse))) & ~slow
        if not candidate.any():
            return
        chosen = candidate[self.group_of]
        group_of, reverse = self.group_of[chosen], reverse[chosen]
        ends, syns = ends[chosen], syns[chosen]
        segment = group_of * 2 + reverse
        order = stable_order(segment)
        segment_sorted = segment[order]
        ends_sorted = ends[order].astype(np.int64)
        before = np.cumsum(ends_sorted) - ends_sorted
        starts = np.flatnonzero(np.r_[True, segment_sorted[1:] != segment_sorted[:-1]])
        lengths = np.diff(np.r_[starts, len(segment)])
        before -= np.repeat(before[starts], lengths)
        groups = group_of[order]
        already = np.where(reverse[order], ended_reverse[groups], ended_forward[groups])
        breaking = syns[order] & ((before > 0) | already)
        slow[groups[breaking]] = True

    def flow_values(self, reverse: np.ndarray) -> np.ndarray:
        """The flow each group's packets make: FlowTable rows FIRST to LOW_SOURCE, a column
        per group."""
        forward = ~reverse
        starts = self.starts
        packets = np.add.reduceat(forward.astype(np.int64), starts)
        totals = np.diff(np.r_[starts, len(forward)])
        return np.stack([
            self.times[starts], np.maximum.reduceat(self.times, starts),
            packets, np.add.reduceat(np.where(forward, self.sizes, 0), starts),
            np.bitwise_or.reduceat(np.where(forward, self.flags, 0), starts),
            totals - packets, np.add.reduceat(np.where(forward, 0, self.sizes), starts),
            np.bitwise_or.reduceat(np.where(forward, 0, self.flags), starts),
            self.low[starts]], dtype=np.int64)

    def positions_of(self, groups: np.ndarray) -> np.ndarray:
        """Capture-order positions of the packets of the marked groups."""
        return np.sort(self.order[groups[self.group_of]])
