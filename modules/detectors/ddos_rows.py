"""FlowRows: the flows a volume detector hands to its episode engine, column by column.

A detector turns a RecordBatch into rows keyed by *victim*: a volume row counts towards the
victim's attack traffic (its `source` is the attacker or reflector), a request row records that
the victim itself asked `source` for something (a SYN, a DNS query), so replies from `source` are
solicited and do not count, and a conditional row (an IP fragment without ports) counts only when
its source is already one of the episode's sources.
"""

from __future__ import annotations

import numpy as np

VOLUME, REQUEST, CONDITIONAL = 0, 1, 2

FIELDS = {
    "vkey": np.uint64, "victim": "V16", "skey": np.uint64, "source": "V16",
    "tf": np.int64, "tl": np.int64, "packets": np.float64, "bytes": np.float64,
    "flows": np.float64, "cls": np.uint8, "sport": np.uint16, "dport": np.uint16,
    "proto": np.uint8, "kind": np.uint8, "reply": bool,
}


class FlowRows:
    __slots__ = tuple(FIELDS)

    def __init__(self, **columns: np.ndarray):
        for name, dtype in FIELDS.items():
            setattr(self, name, np.asarray(columns[name], dtype=dtype))

    def __len__(self) -> int:
        return len(self.vkey)

    @classmethod
    def empty(cls) -> FlowRows:
        return cls(**{name: np.zeros(0, dtype=dtype) for name, dtype in FIELDS.items()})

    def take(self, selector) -> FlowRows:
        return FlowRows(**{name: getattr(self, name)[selector] for name in FIELDS})

    @staticmethod
    def concat(parts: list[FlowRows]) -> FlowRows:
        parts = [p for p in parts if len(p)]
        if not parts:
            return FlowRows.empty()
        if len(parts) == 1:
            return parts[0]
        return FlowRows(**{name: np.concatenate([getattr(p, name) for p in parts])
                           for name in FIELDS})

    def spread(self, bin_ns: int, max_bins: int) -> tuple[FlowRows, np.ndarray]:
        """One row per (flow, time bin it spans), packets and bytes split evenly, the flow
        counted in its first bin (as NEMEA's ddos_detector spreads bytes over its windows).
        A flow longer than `max_bins` is spread over its last `max_bins` bins."""
        first = self.tf // bin_ns
        last = np.maximum(self.tl // bin_ns, first)
        first = np.maximum(first, last - (max_bins - 1))
        span = (last - first + 1).astype(np.int64)
        if len(span) == 0 or int(span.max()) == 1:
            return self, first
        index = np.repeat(np.arange(len(span)), span)
        offset = np.arange(len(index)) - np.repeat(np.cumsum(span) - span, span)
        out = self.take(index)
        share = 1.0 / span[index]
        out.packets = out.packets * share
        out.bytes = out.bytes * share
        out.flows = np.where(offset == 0, out.flows, 0.0)
        return out, first[index] + offset
