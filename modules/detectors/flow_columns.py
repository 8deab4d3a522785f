"""Column helpers shared by the detectors: TCP flags, the flow fields they read, optional
fields, address masks, row keys.

Everything works on whole RecordBatch columns (numpy arrays); ipaddr columns are 'V16' in NEMEA
layout (IPv4 = 8 zero bytes, the 4 address bytes, ff ff ff ff; IPv6 = its 16 bytes).
"""

from __future__ import annotations

import numpy as np

from unirec import RecordBatch
from unirec.ipaddr import ipv4_mask

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
NS = 1_000_000_000
# the fields of a flow the volume detectors read (their `required` template)
FLOW_FIELDS = ("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
               "uint32 PACKETS,uint64 BYTES,time TIME_FIRST,time TIME_LAST")


def optional(batch: RecordBatch, name: str) -> np.ndarray | None:
    """Column `name` when the batch's template has it (biflow *_REV fields...), else None."""
    position = batch.template.index.get(name)
    return None if position is None else batch.columns[position]


def multicast_mask(column: np.ndarray) -> np.ndarray:
    """True for IPv4 224.0.0.0/4 and 255.255.255.255, IPv6 ff00::/8."""
    octets = column.view(np.uint8).reshape(-1, 16)
    v4 = ipv4_mask(column)
    v4_multi = ((octets[:, 8] & 0xF0) == 0xE0) | np.all(octets[:, 8:12] == 0xFF, axis=1)
    return np.where(v4, v4_multi, octets[:, 0] == 0xFF)


def row_keys(*columns: np.ndarray) -> list[bytes]:
    """One bytes key per row: the raw bytes of the given fixed-size columns, concatenated."""
    parts = [np.ascontiguousarray(c).view(np.uint8).reshape(len(c), -1) for c in columns]
    joined = np.ascontiguousarray(np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0])
    return joined.view(f"V{joined.shape[1]}").ravel().tolist()


def latest(batch: RecordBatch, now: int) -> int:
    """Flow time after this batch: the larger of `now` and the batch's last TIME_LAST (ns)."""
    if batch.length == 0:
        return now
    return max(now, int(batch.column("TIME_LAST").max()))
