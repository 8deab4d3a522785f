"""A chunk's packets grouped by flow key, with the column-wise checks that decide which
groups can be added to their flow in one step (see FlowCache.add)."""

from __future__ import annotations

import numpy as np

FIN, SYN, RST = 0x01, 0x02, 0x04
NS = 1_000_000_000


class PacketGroups:
    """Groups in order of first appearance; within a group, packets keep capture order."""

    def __init__(self, keys: list[bytes], low: np.ndarray, columns):
        index = dict.fromkeys(keys)              # unique keys, in order of first appearance
        self.keys = list(index)
        index.update(zip(self.keys, range(len(self.keys)), strict=True))
        ids = np.fromiter(map(index.__getitem__, keys), dtype=np.intp, count=len(keys))
        self.count = len(self.keys)
        self.order = np.argsort(ids, kind="stable")
        self.group_of = ids[self.order]
        self.starts = np.flatnonzero(np.r_[True, self.group_of[1:] != self.group_of[:-1]])
        self.low = low[self.order]
        self.times = columns.time_ns[self.order]
        self.seconds = self.times // NS
        self.flags = columns.tcp_flags[self.order]
        self.sizes = columns.ip_bytes[self.order].astype(np.uint64)
        self._firsts = None

    def plugin_groups(self, masks: list[np.ndarray]) -> np.ndarray:
        """Groups with a packet some plugin wants to see (those go packet by packet)."""
        slow = np.zeros(self.count, dtype=bool)
        for mask in masks:
            slow |= np.logical_or.reduceat(mask[self.order], self.starts)
        return slow

    def mark_gaps(self, slow: np.ndarray, active: int, inactive: int) -> None:
        """Groups with an inactive gap between two of their packets, or spanning the active
        timeout themselves."""
        if len(self.seconds) > 1:
            same = self.group_of[1:] == self.group_of[:-1]
            gap = same & (self.seconds[1:] - self.seconds[:-1] >= inactive)
            slow[self.group_of[1:][gap]] = True
        first = self.seconds[self.starts]
        last = np.maximum.reduceat(self.seconds, self.starts)
        slow |= last - first >= active

    def firsts(self) -> tuple[list, list, list, list]:
        """Per group: the first packet's low-side flag, time and TCP flags; the last second."""
        if self._firsts is None:
            self._firsts = (self.low[self.starts].tolist(), self.times[self.starts].tolist(),
                            self.flags[self.starts].tolist(),
                            np.maximum.reduceat(self.seconds, self.starts).tolist())
        return self._firsts

    def first_positions(self) -> list[int]:
        return self.order[self.starts].tolist()

    def reverse(self, creator_low: np.ndarray) -> np.ndarray:
        """Per packet (group order): does it go against its flow's creator?"""
        return self.low != creator_low[self.group_of]

    def mark_syn_after_end(self, slow: np.ndarray, reverse: np.ndarray, ended_forward:
                           np.ndarray, ended_reverse: np.ndarray) -> None:
        """Groups with a SYN that follows a FIN or RST of the same direction (in the group, or
        already in the flow it continues): that SYN starts a new flow."""
        count = len(self.flags)
        ends = (self.flags & (FIN | RST)) != 0
        syns = (self.flags & SYN) != 0
        if not syns.any():
            return
        segment = self.group_of * 2 + reverse
        order = np.lexsort((np.arange(count), segment))
        segment_sorted = segment[order]
        ends_sorted = ends[order].astype(np.int64)
        before = np.cumsum(ends_sorted) - ends_sorted
        starts = np.flatnonzero(np.r_[True, segment_sorted[1:] != segment_sorted[:-1]])
        lengths = np.diff(np.r_[starts, count])
        before -= np.repeat(before[starts], lengths)
        groups = self.group_of[order]
        already = np.where(reverse[order], ended_reverse[groups], ended_forward[groups])
        breaking = syns[order] & ((before > 0) | already)
        slow[groups[breaking]] = True

    def sums(self, reverse: np.ndarray) -> list[tuple]:
        """Per group: packets, bytes, flags forward; the same reverse; the last time."""
        forward = ~reverse
        starts = self.starts
        packets = np.add.reduceat(forward.astype(np.int64), starts)
        totals = np.diff(np.r_[starts, len(forward)])
        octets = np.add.reduceat(np.where(forward, self.sizes, 0), starts)
        octets_rev = np.add.reduceat(np.where(forward, 0, self.sizes), starts)
        flags = np.bitwise_or.reduceat(np.where(forward, self.flags, 0), starts)
        flags_rev = np.bitwise_or.reduceat(np.where(forward, 0, self.flags), starts)
        last = np.maximum.reduceat(self.times, starts)
        return list(zip(packets.tolist(), octets.tolist(), flags.tolist(),
                        (totals - packets).tolist(), octets_rev.tolist(), flags_rev.tolist(),
                        last.tolist(), strict=True))

    def positions_of(self, groups: np.ndarray) -> np.ndarray:
        """Capture-order positions of the packets of the marked groups."""
        return np.sort(self.order[groups[self.group_of]])
