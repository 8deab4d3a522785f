"""The flow cache's storage: a slot per flow in numpy columns, so that whole groups of flows
are made, updated, aged and exported column-wise, with no Python object per flow.

A flow's counters are one column of `values` (rows: the fields below); `creators` keeps the
header fields of the packet that created it, `keys` its canonical key, `states` the plugins'
data (None until a plugin stores some). `touch` is the capture position (counted over the
whole input) of the flow's latest packet: the least recently used flow has the smallest.
A removed flow's slot is reused only after release(), so exported flows can be gathered
after the chunk that ended them."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

# rows of FlowTable.values, and positions in a flow taken out as a list (FlowTable.take_out)
FIELDS = ("first", "last", "packets", "bytes", "flags", "packets_rev", "bytes_rev",
          "flags_rev", "low_source", "touch")
FIRST, LAST, PACKETS, BYTES, FLAGS, PACKETS_REV, BYTES_REV, FLAGS_REV, LOW_SOURCE, TOUCH = \
    range(len(FIELDS))
PLUGIN_STATE, SLOT = len(FIELDS), len(FIELDS) + 1        # only in a flow taken out as a list

# the header fields of the packet that created a flow (an array each: numpy moves plain
# arrays far faster than records of a structured dtype)
CREATOR_DTYPE = np.dtype([("src_ip", "V16"), ("dst_ip", "V16"), ("src_port", "<u2"),
                          ("dst_port", "<u2"), ("protocol", "u1"), ("vlan_id", "<u2"),
                          ("src_mac", "V6"), ("dst_mac", "V6"), ("ttl", "u1"), ("tos", "u1")])
KEY_FIELDS = ("src_ip", "dst_ip", "src_port", "dst_port", "protocol", "vlan_id")


@dataclass(eq=False)   # (numpy arrays: == would compare them element by element)
class ExportedFlows:
    """Flows ended since the last take(): their `values` (FIELDS rows, a column per flow), the
    fields of the packets that created them, and their plugin states."""

    values: np.ndarray
    creators: dict[str, np.ndarray]           # CREATOR_DTYPE's fields
    states: list

    @classmethod
    def empty(cls) -> ExportedFlows:
        return cls(np.zeros((len(FIELDS), 0), dtype=np.int64), _creators(0), [])

    @property
    def keys(self) -> list[tuple]:
        """Per flow: (source, destination, source port, destination port, protocol, VLAN id)
        of its creator."""
        return list(zip(*(self.creators[name].tolist() for name in KEY_FIELDS), strict=True))

    def __len__(self) -> int:
        return self.values.shape[1]


def _creators(count: int) -> dict[str, np.ndarray]:
    return {name: np.zeros(count, dtype=CREATOR_DTYPE[name]) for name in CREATOR_DTYPE.names}


class FlowTable:
    def __init__(self, key_size: int, capacity: int = 1024):
        self.values = np.zeros((len(FIELDS), capacity), dtype=np.int64)
        self.creators = _creators(capacity)
        self.keys = np.zeros(capacity, dtype=f"V{key_size}")
        self.alive = np.zeros(capacity, dtype=bool)
        self.states: list = [None] * capacity
        self._stateful = False                     # has a plugin stored a state yet?
        self.index: dict[bytes, int] = {}           # key -> slot of the flow in the cache
        self._free = list(range(capacity - 1, -1, -1))
        self._removed: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.index)

    def allocate(self, count: int) -> np.ndarray:
        """`count` free slots, marked alive (the caller fills them and indexes them)."""
        if count > len(self._free):
            self._grow(count - len(self._free))
        slots = np.array(self._free[len(self._free) - count:], dtype=np.intp)
        del self._free[len(self._free) - count:]
        self.alive[slots] = True
        return slots

    def allocate_one(self) -> int:
        """One free slot, marked alive (allocate() without the arrays, for the per-packet
        path)."""
        if not self._free:
            self._grow(1)
        slot = self._free.pop()
        self.alive[slot] = True
        return slot

    def _grow(self, missing: int) -> None:
        old = len(self.alive)
        new = max(2 * old, old + missing)
        self.values = np.concatenate([self.values, np.zeros((len(FIELDS), new - old),
                                                            dtype=np.int64)], axis=1)
        self.creators = {name: np.concatenate([column, np.zeros(new - old, column.dtype)])
                         for name, column in self.creators.items()}
        self.keys = np.concatenate([self.keys, np.zeros(new - old, self.keys.dtype)])
        self.alive = np.concatenate([self.alive, np.zeros(new - old, dtype=bool)])
        self.states.extend([None] * (new - old))
        self._free[:0] = range(new - 1, old - 1, -1)

    def insert(self, slots: np.ndarray) -> None:
        """Index the flows of `slots` under their keys."""
        self.index.update(zip(self.keys[slots].tolist(), slots.tolist(), strict=True))

    def remove(self, slots: np.ndarray, indexed: bool = True) -> None:
        """Take the flows of `slots` out of the cache (`indexed`: out of the index too); their
        slots stay as they are until release()."""
        if indexed:
            deque(map(self.index.pop, self.keys[slots].tolist()), maxlen=0)
        self.alive[slots] = False
        self._removed.append(slots)

    def live_slots(self) -> np.ndarray:
        """The cached flows' slots, least recently used first."""
        live = np.flatnonzero(self.alive)
        return live[np.argsort(self.values[TOUCH, live])]

    def take_out(self, keys) -> dict[bytes, list]:
        """The cached flows of `keys` (those in the cache), each as a list (FIELDS, then
        PLUGIN_STATE and SLOT), for the per-packet path; put_back() stores them again."""
        get = self.index.get
        found = [(key, slot) for key in keys if (slot := get(key)) is not None]
        if not found:
            return {}
        chosen, slots = zip(*found, strict=True)
        rows = self.values[:, list(slots)].T.tolist()
        states = self.states
        for row, slot in zip(rows, slots, strict=True):
            row += (states[slot], slot)
        return dict(zip(chosen, rows, strict=True))

    def put_back(self, flows: list[list]) -> None:
        """Store flows taken out as lists (take_out) or made as lists, at their slots."""
        if not flows:
            return
        slots = [flow[SLOT] for flow in flows]
        self.values[:, slots] = np.array([flow[:PLUGIN_STATE] for flow in flows],
                                         dtype=np.int64).T
        states = self.states
        for flow in flows:
            if flow[PLUGIN_STATE] is not None:
                states[flow[SLOT]] = flow[PLUGIN_STATE]
                self._stateful = True

    def describe(self, slots: np.ndarray, columns, positions: np.ndarray) -> None:
        """Store in the flows of `slots` the fields of the packets at `positions` of a
        PacketColumns chunk (the packets that created them)."""
        for name, column in self.creators.items():
            column[slots] = getattr(columns, name)[positions]

    def gather(self, slots: np.ndarray) -> ExportedFlows:
        """The flows of `slots` (removed ones) as exported flows."""
        states = self.states
        return ExportedFlows(self.values[:, slots],
                             {name: column[slots] for name, column in self.creators.items()},
                             [states[slot] for slot in slots.tolist()] if self._stateful
                             else [None] * len(slots))

    def release(self) -> None:
        """Free the slots of every flow removed since the last release."""
        if not self._removed:
            return
        slots = np.concatenate(self._removed).tolist()
        self._removed = []
        if self._stateful:
            states = self.states
            for slot in slots:
                states[slot] = None
        self._free.extend(slots)
