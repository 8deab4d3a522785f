"""BlacklistTable: which lists contain an address, for a whole ipaddr column at once.

The entries (addresses and prefixes, IPv4 and IPv6, possibly nested or overlapping) are cut
into disjoint segments of the 16-byte NEMEA address space, each with the OR of the bitmaps of the
entries covering it: a lookup is one binary search per address (NEMEA: a binary search that finds
one entry; here overlapping entries add up). Lists restricted to ports on an entry count only when
the port of the listed side is one of them; segments with such restrictions are the rare ones
resolved per flow.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .blacklist_files import Entry
from .prefix_set import network_bounds

TOP = 1 << 128


def _bounds(entry: Entry) -> tuple[int, int]:
    first, last = network_bounds(entry.network)
    return int.from_bytes(first, "big"), int.from_bytes(last, "big")


class BlacklistTable:
    def __init__(self, entries: Iterable[Entry] = ()):
        entries = list(entries)
        self.size = len(entries)
        events: dict[int, list[tuple[int, int]]] = {}
        for position, entry in enumerate(entries):
            first, last = _bounds(entry)
            events.setdefault(first, []).append((1, position))
            if last + 1 < TOP:
                events.setdefault(last + 1, []).append((-1, position))
        starts, free, restricted = [], [], []
        self.restrictions: list[list[tuple[int, frozenset[int]]]] = []
        active: dict[int, Entry] = {}
        for boundary in sorted(events):
            for change, position in events[boundary]:
                if change > 0:
                    active[position] = entries[position]
                else:
                    active.pop(position, None)
            bitmap, rules = 0, []
            for entry in active.values():
                limited = entry.restricted_bits()
                bitmap |= entry.bitmap & ~limited
                rules += [(1 << (list_id - 1), ports) for list_id, ports in entry.ports.items()
                          if entry.bitmap & (1 << (list_id - 1))]
            starts.append(boundary.to_bytes(16, "big"))
            free.append(bitmap)
            if rules:
                restricted.append(len(self.restrictions))
                self.restrictions.append(rules)
            else:
                restricted.append(-1)
        self.starts = np.array(starts, dtype="S16")
        self.free = np.array(free, dtype=np.uint64)
        self.restricted = np.array(restricted, dtype=np.int64)

    def __len__(self) -> int:
        return self.size

    def lookup(self, column: np.ndarray, ports: np.ndarray) -> np.ndarray:
        """Bitmap (uint64) of the lists holding each address, ports applied."""
        out = np.zeros(len(column), dtype=np.uint64)
        if not len(self.starts) or not len(column):
            return out
        keys = np.ascontiguousarray(column).view("S16")
        segment = np.searchsorted(self.starts, keys, side="right") - 1
        inside = np.flatnonzero(segment >= 0)
        out[inside] = self.free[segment[inside]]
        special = inside[self.restricted[segment[inside]] >= 0]
        for row, rule_index in zip(special.tolist(),
                                   self.restricted[segment[special]].tolist(), strict=True):
            port = int(ports[row])
            extra = 0
            for bit, allowed in self.restrictions[rule_index]:
                if port in allowed:
                    extra |= bit
            out[row] |= np.uint64(extra)
        return out
