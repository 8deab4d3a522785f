"""PrefixSet: IPv4/IPv6 addresses and prefixes, looked up for a whole ipaddr column at once.

Prefixes become sorted, merged intervals of 16-byte keys in NEMEA layout (whose byte order is
the numeric order within each family), so a lookup is one binary search per address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import numpy as np

from unirec.ipaddr import raw_from_packed

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> Network:
    """`1.2.3.4`, `1.2.3.0/24`, `2001:db8::/32`; host bits may be set (`1.2.3.4/24`)."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"bad address or prefix {text!r}") from None


def network_bounds(network: Network) -> tuple[bytes, bytes]:
    """The first and last address of `network`, in the 16-byte ipaddr form."""
    return (raw_from_packed(network.network_address.packed),
            raw_from_packed(network.broadcast_address.packed))


class PrefixSet:
    """A set of networks; `contains(column)` gives a bool mask, `address in set` one answer."""

    def __init__(self, networks: Iterable[Network | str] = ()):
        nets = [n if isinstance(n, ipaddress.IPv4Network | ipaddress.IPv6Network)
                else parse_network(n) for n in networks]
        merged: list[list[bytes]] = []
        for start, end in sorted(network_bounds(n) for n in nets):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.networks = nets
        self._starts = np.array([m[0] for m in merged], dtype="S16")
        self._ends = np.array([m[1] for m in merged], dtype="S16")

    def __len__(self) -> int:
        return len(self.networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def contains(self, column: np.ndarray) -> np.ndarray:
        """Bool mask: which addresses of an ipaddr column ('V16') fall in one of the networks."""
        if not len(self._starts) or not len(column):
            return np.zeros(len(column), dtype=bool)
        keys = np.ascontiguousarray(column).view("S16")
        slot = np.searchsorted(self._starts, keys, side="right") - 1
        inside = slot >= 0
        inside[inside] = keys[inside] <= self._ends[slot[inside]]
        return inside

    def __contains__(self, address: object) -> bool:
        if isinstance(address, str):
            address = ipaddress.ip_address(address)
        if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            address = raw_from_packed(address.packed)
        column = np.frombuffer(bytes(address), dtype="V16")  # type: ignore[arg-type]
        return bool(self.contains(column)[0])

    def __repr__(self) -> str:
        return f"<PrefixSet {len(self.networks)} networks>"
