"""Address keys for the volume detectors (ddos_detector, dns_amplification, hoststats).

An ipaddr column ('V16', NEMEA layout) becomes one uint64 key per row, after masking to a prefix
(`/24` sources, `/32` victims...). For IPv4 the key is exact (the masked address and the constant
ff ff ff ff suffix); for IPv6 it is a 64-bit mix of the 16 bytes (collisions are negligible at any
realistic number of hosts). `KeyIndex` maps keys to dense slots of numpy state arrays with one
dict lookup per distinct key of a batch, never a Python loop per flow.
"""

from __future__ import annotations

import numpy as np

from .flow_columns import ipv4_mask

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX = np.uint64(0xC2B2AE3D27D4EB4F)


def _prefix_bytes(bits: int, width: int) -> np.ndarray:
    full, rest = divmod(max(0, min(bits, width * 8)), 8)
    mask = np.zeros(width, dtype=np.uint8)
    mask[:full] = 0xFF
    if rest:
        mask[full] = (0xFF << (8 - rest)) & 0xFF
    return mask


def mask_addresses(column: np.ndarray, prefix4: int = 32, prefix6: int = 128) -> np.ndarray:
    """The addresses of an ipaddr column masked to /prefix4 (IPv4) or /prefix6 (IPv6)."""
    column = np.ascontiguousarray(column)
    if prefix4 >= 32 and prefix6 >= 128:
        return column
    v4_mask = np.concatenate([np.full(8, 0xFF, np.uint8), _prefix_bytes(prefix4, 4),
                              np.full(4, 0xFF, np.uint8)])
    v6_mask = _prefix_bytes(prefix6, 16)
    octets = column.view(np.uint8).reshape(-1, 16)
    masks = np.where(ipv4_mask(column)[:, None], v4_mask, v6_mask)
    return np.ascontiguousarray(octets & masks).view("V16").ravel()


def address_keys(column: np.ndarray, prefix4: int = 32, prefix6: int = 128) -> np.ndarray:
    """One uint64 key per address (after masking); equal prefixes give equal keys."""
    masked = np.ascontiguousarray(mask_addresses(column, prefix4, prefix6))
    words = masked.view(np.uint64).reshape(-1, 2)
    return (words[:, 0] * GOLDEN) ^ words[:, 1]


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """np.unique(values) by sorting (numpy 2's default hashes, many times slower on uint64)."""
    if len(values) < 2:
        return np.array(values, copy=True)
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def merge_sorted(a: np.ndarray, b: np.ndarray, disjoint: bool = False) -> np.ndarray:
    """Union of two sorted arrays of unique values (`disjoint`: no value is in both)."""
    if not len(b):
        return a
    if len(a) and not disjoint:
        b = b[~np.isin(b, a, assume_unique=True)]
    return np.insert(a, np.searchsorted(a, b), b)


def mix(keys: np.ndarray, salt: int = 0) -> np.ndarray:
    """A well-spread 64-bit hash of keys (for sketch cells and bitmap bits)."""
    value = (keys ^ np.uint64(salt)) * MIX
    value ^= value >> np.uint64(29)
    return value * GOLDEN


def grow_slot_arrays(owner, size: int, layout: dict[str, tuple]) -> None:
    """Give `owner` an attribute per entry of `layout` (name -> (shape of one slot, dtype,
    and optionally the fill value of new slots, else 0)): an array of `size` slots that keeps
    what the owner's current array of that name holds."""
    for name, (shape, dtype, *fill) in layout.items():
        old = getattr(owner, name, None)
        new = np.zeros((size, *shape), dtype=dtype)
        if fill:
            new[:] = fill[0]
        if old is not None:
            new[:len(old)] = old
        setattr(owner, name, new)


class KeyIndex:
    """uint64 key -> dense slot (0, 1, 2...), looked up for a whole array of keys with binary
    searches (no Python loop per key): the keys live in a few sorted levels, merged as they grow
    (a small log-structured merge). Removed slots are reused; compact() renumbers densely."""

    def __init__(self) -> None:
        self.levels: list[tuple[np.ndarray, np.ndarray]] = []   # (sorted keys, their slots)
        self.slot_keys = np.zeros(0, dtype=np.uint64)
        self.slot_live = np.zeros(0, dtype=bool)
        self.count = 0                                          # slots ever handed out
        self.free: list[int] = []
        self.live = 0

    def __len__(self) -> int:
        """Slots in use or free: the length state arrays must have."""
        return self.count

    def _find_unique(self, keys: np.ndarray) -> np.ndarray:
        found = np.full(len(keys), -1, dtype=np.int64)
        for level_keys, level_slots in self.levels:
            pos = np.minimum(np.searchsorted(level_keys, keys), len(level_keys) - 1)
            slot = level_slots[pos]
            valid = (level_keys[pos] == keys) & self.slot_live[slot] & \
                (self.slot_keys[slot] == keys)
            found[valid] = slot[valid]
        return found

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Slots of `keys`, -1 where a key is unknown."""
        unique, inverse = np.unique(np.asarray(keys, dtype=np.uint64), return_inverse=True)
        return self._find_unique(unique)[inverse]

    def slot_of(self, key: int) -> int | None:
        slot = int(self._find_unique(np.array([key], dtype=np.uint64))[0])
        return None if slot < 0 else slot

    def lookup_fresh(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Slots of `keys`, creating missing ones; also the slots created by this call, and
        for each of those the position in `keys` of its key's first occurrence."""
        unique, first, inverse = np.unique(np.asarray(keys, dtype=np.uint64),
                                           return_index=True, return_inverse=True)
        found = self._find_unique(unique)
        missing = np.flatnonzero(found < 0)
        if not len(missing):
            return found[inverse], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.intp)
        reused = [self.free.pop() for _ in range(min(len(self.free), len(missing)))]
        extra = len(missing) - len(reused)
        fresh = np.concatenate([np.array(reused, dtype=np.int64),
                                np.arange(self.count, self.count + extra, dtype=np.int64)])
        self.count += extra
        if self.count > len(self.slot_keys):
            size = max(self.count, 2 * len(self.slot_keys), 1024)
            self.slot_keys = np.resize(self.slot_keys, size)
            live = np.zeros(size, dtype=bool)
            live[:len(self.slot_live)] = self.slot_live
            self.slot_live = live
        new_keys = unique[missing]
        self.slot_keys[fresh] = new_keys
        self.slot_live[fresh] = True
        self.live += len(fresh)
        found[missing] = fresh
        self._add_level(new_keys, fresh)
        return found[inverse], fresh, first[missing]

    def _add_level(self, keys: np.ndarray, slots: np.ndarray) -> None:
        self.levels.append((keys, slots))
        while len(self.levels) > 1 and 2 * len(self.levels[-1][0]) >= len(self.levels[-2][0]):
            top_keys, top_slots = self.levels.pop()
            keys = np.concatenate([self.levels[-1][0], top_keys])
            slots = np.concatenate([self.levels[-1][1], top_slots])
            valid = self.slot_live[slots] & (self.slot_keys[slots] == keys)
            keys, slots = keys[valid], slots[valid]
            order = np.argsort(keys, kind="stable")
            self.levels[-1] = (keys[order], slots[order])

    def key_of(self, slot: int) -> int:
        return int(self.slot_keys[slot])

    def remove(self, slots) -> None:
        """Free these slots (their keys are forgotten)."""
        slots = unique_sorted(np.asarray(slots, dtype=np.int64))
        slots = slots[self.slot_live[slots]]
        self.slot_live[slots] = False
        self.free.extend(slots.tolist())
        self.live -= len(slots)

    def compact(self, keep: np.ndarray) -> np.ndarray:
        """Keep the slots where `keep` (bool per slot) is true, renumbered densely; returns the
        old slot numbers of the kept ones (to reindex state arrays: array[kept])."""
        kept = np.flatnonzero(keep[:self.count] & self.slot_live[:self.count])
        keys = self.slot_keys[kept]
        self.slot_keys = np.zeros(max(len(kept), 1024), dtype=np.uint64)
        self.slot_keys[:len(kept)] = keys
        self.slot_live = np.zeros(len(self.slot_keys), dtype=bool)
        self.slot_live[:len(kept)] = True
        self.count = self.live = len(kept)
        self.free = []
        order = np.argsort(keys, kind="stable")
        self.levels = [(keys[order], order.astype(np.int64))] if len(kept) else []
        return kept


class KeySet:
    """A set of uint64 keys: two generations of open-addressing hash tables (linear probing),
    looked up and filled for a whole array at once, a few vectorised probe rounds per call."""

    def __init__(self, capacity: int = 1 << 12):
        self.current = _Table(capacity)
        self.previous = _Table(1)

    def __len__(self) -> int:
        return self.current.size + self.previous.size

    def contains(self, keys: np.ndarray) -> np.ndarray:
        keys = _nonzero(keys)
        found = self.current.contains(keys)
        if self.previous.size:
            found |= self.previous.contains(keys)
        return found

    def add(self, keys: np.ndarray) -> None:
        """Add unique keys that are not in the set yet."""
        if len(keys):
            self.current.insert(_nonzero(keys))

    def rotate(self) -> None:
        """Start a new generation; the one before the current is forgotten."""
        self.previous = self.current
        self.current = _Table(max(1 << 12, 4 * self.previous.size))

    def new_first(self, keys: np.ndarray) -> np.ndarray:
        """Per key: True for the first occurrence of a key not in the set (then added)."""
        unique, first = np.unique(keys, return_index=True)
        fresh = ~self.contains(unique)
        self.add(unique[fresh])
        out = np.zeros(len(keys), dtype=bool)
        out[first[fresh]] = True
        return out


FEW = 24          # probe chains still open below this are finished in plain Python


def _nonzero(keys: np.ndarray) -> np.ndarray:
    keys = np.asarray(keys, dtype=np.uint64)
    return np.where(keys == 0, np.uint64(1), keys)        # 0 marks an empty table slot


class _Table:
    def __init__(self, capacity: int):
        size = 1 << max(4, (capacity - 1).bit_length())
        self.keys = np.zeros(size, dtype=np.uint64)
        self.bits = np.uint64(64 - (size.bit_length() - 1))
        self.mask = size - 1
        self.size = 0

    def _home(self, keys: np.ndarray) -> np.ndarray:
        return ((keys * GOLDEN) >> self.bits).astype(np.int64)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        found = np.zeros(len(keys), dtype=bool)
        if not self.size or not len(keys):
            return found
        pos = self._home(keys)
        pending = np.arange(len(keys))
        while len(pending) > FEW:
            held = self.keys[pos[pending]]
            hit = held == keys[pending]
            found[pending[hit]] = True
            pending = pending[~hit & (held != 0)]
            pos[pending] = (pos[pending] + 1) & self.mask
        table, mask = self.keys, self.mask          # the last long probe chains, one by one
        for row, at in zip(pending.tolist(), pos[pending].tolist(), strict=True):
            key = keys[row]
            while table[at] and table[at] != key:
                at = (at + 1) & mask
            found[row] = bool(table[at])
        return found

    def insert(self, keys: np.ndarray) -> None:
        if 4 * (self.size + len(keys)) > len(self.keys):     # load <= 1/4: short probes
            old = self.keys[self.keys != 0]
            self.__init__(4 * (self.size + len(keys)))
            self._place(old)
        self._place(keys)

    def _place(self, keys: np.ndarray) -> None:
        pos = self._home(keys)
        pending = np.arange(len(keys))
        while len(pending) > FEW:
            free = pending[self.keys[pos[pending]] == 0]
            self.keys[pos[free]] = keys[free]            # colliding writes: one of them lands
            landed = np.zeros(len(keys), dtype=bool)
            landed[free[self.keys[pos[free]] == keys[free]]] = True
            pending = pending[~landed[pending]]
            pos[pending] = (pos[pending] + 1) & self.mask
        table, mask = self.keys, self.mask          # the last long probe chains, one by one
        for row, at in zip(pending.tolist(), pos[pending].tolist(), strict=True):
            while table[at]:
                at = (at + 1) & mask
            table[at] = keys[row]
        self.size += len(keys)
