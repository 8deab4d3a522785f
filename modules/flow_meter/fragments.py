"""Fragment cache: give non-first IP fragments the ports of their first fragment.

Keyed by (source address, destination address, protocol, IP id) for IPv4 and by (source,
destination, identification) for IPv6 (RFC 8200: the next header of the fragment header may
differ between the first and the later fragments when extension headers follow it; the
later fragments take the first one's transport protocol). An entry is made by a first
fragment (offset 0, more-fragments set) and looked up by the later fragments of the same
datagram, ipfixprobe style:

* an entry is valid for `timeout_ns` of packet time after its first fragment;
* a non-first fragment with no valid entry (it came first, or its first fragment was lost,
  truncated or expired) keeps ports 0 and is counted as unmatched; it is never held back;
* the cache holds at most `size` entries: the oldest are dropped first (expired ones as
  soon as a lookup or an insertion reaches them).

Entries are kept until they expire (not dropped at the last fragment), so out-of-order
middle fragments still find them.
"""

from __future__ import annotations


class FragmentCache:
    def __init__(self, size: int = 10007, timeout_ns: int = 3_000_000_000):
        if size < 1:
            raise ValueError("fragment cache size must be positive")
        self.size = size
        self.timeout_ns = timeout_ns
        # key -> (first fragment time, src port, dst port, ICMP type*256+code, protocol);
        # insertion order is time order for packets in time order.
        self._entries: dict[tuple, tuple[int, int, int, int, int]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: tuple, time_ns: int, src_port: int, dst_port: int, type_code: int,
            protocol: int) -> None:
        entries = self._entries
        entries.pop(key, None)
        if len(entries) >= self.size:
            self._expire(time_ns)
            while len(entries) >= self.size:
                del entries[next(iter(entries))]
        entries[key] = (time_ns, src_port, dst_port, type_code, protocol)

    def find(self, key: tuple, time_ns: int) -> tuple[int, int, int, int] | None:
        """(src port, dst port, ICMP type*256+code, protocol) of the first fragment."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time_ns - entry[0] > self.timeout_ns:
            del self._entries[key]
            return None
        return entry[1:]

    def _expire(self, time_ns: int) -> None:
        entries = self._entries
        limit = time_ns - self.timeout_ns
        for key in list(entries):
            if entries[key][0] >= limit:
                break
            del entries[key]
