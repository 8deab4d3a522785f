"""Handmade flow columns for the detector tests: n flows spread evenly over a span of time."""

from __future__ import annotations

import ipaddress

import numpy as np

from unirec.ipaddr import raw_from_packed

NS = 1_000_000_000
T0 = 1_700_000_000 * NS


def addresses(values) -> np.ndarray:
    """ipaddr column from ints (IPv4) or text."""
    raw = [raw_from_packed(ipaddress.ip_address(value).packed) for value in values]
    return np.frombuffer(b"".join(raw), dtype="V16")


def flow_columns(n: int, *, src, dst, sport, dport, proto, packets, octets, start=0.0,
                 span=1.0, duration=0.0) -> dict[str, np.ndarray]:
    """Columns of n flows starting evenly over [start, start + span) s after T0 and lasting
    `duration` s; every value a scalar or one per flow (addresses: a list)."""
    def column(value, dtype):
        return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
    first = T0 + (start * NS + np.arange(n) * (span * NS / max(n, 1))).astype(np.int64)
    return {
        "SRC_IP": addresses(src if isinstance(src, list) else [src] * n),
        "DST_IP": addresses(dst if isinstance(dst, list) else [dst] * n),
        "SRC_PORT": column(sport, np.uint16), "DST_PORT": column(dport, np.uint16),
        "PROTOCOL": column(proto, np.uint8), "PACKETS": column(packets, np.uint32),
        "BYTES": column(octets, np.uint64), "TIME_FIRST": first,
        "TIME_LAST": first + int(duration * NS)}
