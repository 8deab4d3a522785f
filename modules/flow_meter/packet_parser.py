"""Vectorised packet header parser: a PacketChunk -> PacketColumns of the packets usable for flows.

The chunk's packets sit in one uint8 buffer (the pcap reader hands it over ready, see
capture.ChunkBuffer; otherwise they are joined); per-packet offsets of the link, network and
transport headers are computed with numpy and the header fields gathered at those offsets,
each access checked against the packet's captured length. The rare cases (VLAN/QinQ tags,
MPLS label stacks, PPPoE, IPv6 extension headers, odd link types) run on the subsets that
need them; only IP fragments go through a Python loop (the fragment cache).

Link types: Ethernet (1), Linux cooked SLL (113) and SLL2 (276), raw IP (101, and DLT 12/14;
228 IPv4, 229 IPv6), BSD loopback NULL (0, host byte order) and LOOP (108). Under Ethernet
and SLL/SLL2: 802.1Q / 802.1ad / QinQ tags (0x8100, 0x88a8, 0x9100, 0x9200, 0x9300; the
outermost tag is `vlan_id`), MPLS (0x8847/0x8848: labels popped to the bottom of stack, then
IPv4 or IPv6 by the version nibble) and PPPoE sessions (0x8864, PPP IPv4/IPv6). IPv6
extension headers: hop-by-hop, routing, fragment, destination options and AH.

What is kept (and what is counted in `counters` instead, never raised):

* a packet is usable when its flow key and counters can be read: the whole IPv4 header (IHL)
  or the IPv6 header and its extension headers, and for TCP the first 14 bytes (ports and
  flags), for UDP/UDP-Lite/SCTP the ports, for ICMP/ICMPv6 type and code. Anything shorter
  is skipped as `truncated` (also a cut link header, VLAN tag, MPLS label, ...). A packet cut
  later (inside the TCP options or the payload) is used with what was captured: `ip_bytes`
  is still the length the IP header states;
* wrong IP version nibble, IHL < 5, IPv4 total length below the header length, more than
  8 extension headers: `bad_ip_header`; an IP length too short for the transport header it
  announces (while the capture has the bytes): `bad_l4_header`;
* ARP/RARP: `arp`; other ethertypes (also 802.3/LLC frames), non-IP MPLS payloads, PPPoE
  control, more than 16 VLAN tags + MPLS labels + PPPoE headers: `not_ip`; a link type not
  listed above: `unknown_linktype` (the whole chunk).
* IPv4 total length 0 (TSO-offloaded packets captured on the sender) gives
  `ip_bytes` = wire length minus the link header.

Fragments: see fragments.py. Non-first fragments carry no transport header: ports (and the
ICMP type/code) come from the first fragment via the fragment cache, or stay 0 when it is
unknown; their TCP flags are 0 and `payload_offset`/`l4_offset` are -1. `protocol` is the
transport protocol in every fragment (an IPv6 non-first fragment takes its first fragment's;
unmatched, the fragment header's next header). The cache works in packet order across
chunks, so where chunks are cut does not change the result.

Counters: `packets` (seen), `parsed` (usable), one per skip reason (SKIP_REASONS; packets ==
parsed + sum of them), `ipv4`, `ipv6` (usable packets per family), `fragments` (usable
fragments), `fragments_matched` / `fragments_unmatched` (non-first fragments with / without
their first fragment's ports).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .chunks import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    PacketChunk,
)
from .fragments import FragmentCache

SKIP_REASONS = ("not_ip", "arp", "truncated", "bad_ip_header", "bad_l4_header",
                "unknown_linktype")
COUNTERS = ("packets", "parsed", *SKIP_REASONS, "ipv4", "ipv6", "fragments",
            "fragments_matched", "fragments_unmatched")

_OK, _NOT_IP, _ARP, _TRUNC, _BAD_IP, _BAD_L4 = range(6)
_REASON_NAMES = (None, "not_ip", "arp", "truncated", "bad_ip_header", "bad_l4_header")

_ETH_IPV4, _ETH_IPV6 = 0x0800, 0x86DD
_VLAN_TYPES = (0x8100, 0x88A8, 0x9100, 0x9200, 0x9300)
_MPLS_TYPES = (0x8847, 0x8848)
_PPPOE_SESSION = 0x8864
_MAX_ENCAPSULATIONS = 16


def _lookup(size: int, members) -> np.ndarray:
    """A boolean table: table[value] is True for the members (a fast np.isin on small ints)."""
    table = np.zeros(size, dtype=bool)
    table[list(members)] = True
    return table


_IS_ENCAPSULATION = _lookup(1 << 16, (*_VLAN_TYPES, *_MPLS_TYPES, _PPPOE_SESSION))
_IS_VLAN = _lookup(1 << 16, _VLAN_TYPES)
_IS_IPV6_EXTENSION = _lookup(256, (0, 43, 44, 51, 60))
_MAX_IPV6_EXTENSIONS = 8
_INET6_FAMILIES = np.array([10, 24, 28, 30], dtype=np.int64)  # Linux, *BSD, FreeBSD, Darwin
_RAW_LINKTYPES = (LINKTYPE_RAW, 12, 14, LINKTYPE_IPV4, LINKTYPE_IPV6)
LINKTYPES = (LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_LOOP, LINKTYPE_LINUX_SLL,
             LINKTYPE_LINUX_SLL2, *_RAW_LINKTYPES)

_PAD = bytes(64)  # after the joined packets: every window gather stays inside the buffer

_COLUMN_DTYPES = {
    "time_ns": np.dtype(np.int64), "src_ip": np.dtype("V16"), "dst_ip": np.dtype("V16"),
    "src_port": np.dtype(np.uint16), "dst_port": np.dtype(np.uint16),
    "protocol": np.dtype(np.uint8), "ip_bytes": np.dtype(np.uint32),
    "tcp_flags": np.dtype(np.uint8), "vlan_id": np.dtype(np.uint16),
    "src_mac": np.dtype("V6"), "dst_mac": np.dtype("V6"), "ttl": np.dtype(np.uint8),
    "tos": np.dtype(np.uint8), "icmp_type_code": np.dtype(np.uint16),
    "payload_offset": np.dtype(np.int32), "packet_index": np.dtype(np.int32),
    "ip_version": np.dtype(np.uint8), "l3_offset": np.dtype(np.int32),
    "l4_offset": np.dtype(np.int32), "payload_len": np.dtype(np.int32),
}


@dataclass(eq=False)   # (numpy arrays: == would compare them element by element)
class PacketColumns:
    """Header fields of the usable packets of one chunk, one numpy array per field, all of
    length `count`, in capture order.

    Addresses use UniRec's 16-byte form (IPv4: 8 zero bytes, the address, ff ff ff ff).
    `payload_offset` is the offset of the first L4 payload byte in the packet's bytes
    (`chunk.packets[packet_index]`), -1 when no payload byte was captured or the packet is a
    non-first fragment; `payload_len` is the number of captured payload bytes up to the end
    the IP header states (link-layer padding excluded). `l3_offset`/`l4_offset` are the
    offsets of the IP and transport headers (-1: no transport header). The last four fields
    may be omitted when building columns by hand; they get defaults.
    """

    time_ns: np.ndarray
    src_ip: np.ndarray
    dst_ip: np.ndarray
    src_port: np.ndarray
    dst_port: np.ndarray
    protocol: np.ndarray
    ip_bytes: np.ndarray
    tcp_flags: np.ndarray
    vlan_id: np.ndarray
    src_mac: np.ndarray
    dst_mac: np.ndarray
    ttl: np.ndarray
    tos: np.ndarray
    icmp_type_code: np.ndarray
    payload_offset: np.ndarray
    packet_index: np.ndarray
    ip_version: np.ndarray | None = None
    l3_offset: np.ndarray | None = None
    l4_offset: np.ndarray | None = None
    payload_len: np.ndarray | None = None
    count: int = -1

    def __post_init__(self) -> None:
        n = len(self.time_ns)
        if self.ip_version is None:
            src = np.asarray(self.src_ip)
            v4 = (src.view(np.uint8).reshape(n, 16)[:, 12:] == 0xFF).all(axis=1) if n else []
            self.ip_version = np.where(v4, 4, 6).astype(np.uint8)
        if self.l3_offset is None:
            self.l3_offset = np.full(n, -1, dtype=np.int32)
        if self.l4_offset is None:
            self.l4_offset = np.full(n, -1, dtype=np.int32)
        if self.payload_len is None:
            self.payload_len = np.zeros(n, dtype=np.int32)
        if self.count < 0:
            self.count = n

    def __len__(self) -> int:
        return self.count

    @classmethod
    def empty(cls) -> PacketColumns:
        return cls(**{name: np.empty(0, dtype) for name, dtype in _COLUMN_DTYPES.items()})

    def take(self, index) -> PacketColumns:
        """The rows selected by a boolean mask or an index array."""
        values = {f.name: getattr(self, f.name)[index] for f in fields(self)
                  if f.name != "count"}
        return PacketColumns(**values)


class _Gather:
    """Bounds-clipped gathers from a chunk buffer (big-endian fields).

    Fixed-width reads use strided views of the buffer (item i = the bytes from offset i), so
    one fancy index copies a whole header per packet. Indexes are clipped to `limit`; the
    buffer has at least 64 more bytes, so every read stays inside it (reads past a packet's
    captured length return garbage that the callers' length checks discard).
    """

    def __init__(self, buffer: np.ndarray, starts: np.ndarray, limit: int):
        self.buffer, self.starts, self.limit = buffer, starts, limit
        self._views: dict[str, np.ndarray] = {}

    def _view(self, dtype: str) -> np.ndarray:
        view = self._views.get(dtype)
        if view is None:
            size = np.dtype(dtype).itemsize
            view = self._views[dtype] = np.ndarray(
                shape=(len(self.buffer) - size + 1,), dtype=dtype, buffer=self.buffer,
                strides=(1,))
        return view

    def index(self, rows, offset) -> np.ndarray:
        index = self.starts[rows] + offset
        np.minimum(index, self.limit, out=index)
        return index

    def u8(self, rows, offset) -> np.ndarray:
        return self.buffer[self.index(rows, offset)].astype(np.int64)

    def u16(self, rows, offset) -> np.ndarray:
        return self._view(">u2")[self.index(rows, offset)].astype(np.int64)

    def block(self, rows, offset, width: int) -> np.ndarray:
        """(rows, width) uint8: `width` bytes from `offset` of each row's packet."""
        items = self._view(f"V{width}")[self.index(rows, offset)]
        return items.view(np.uint8).reshape(-1, width)


def _items(matrix: np.ndarray, rows=None) -> np.ndarray:
    """The rows of a (n, width) uint8 matrix as one void item each (a view), or the chosen
    `rows` of them (contiguous). numpy moves whole items far faster than rows of bytes."""
    items = matrix.view(f"V{matrix.shape[1]}")[:, 0]
    return items if rows is None else np.ascontiguousarray(items[rows])


def _be16(block: np.ndarray, at: int) -> np.ndarray:
    """Bytes `at` and `at + 1` of each row, big-endian, as int64 (one cast of a view)."""
    return block[:, at:at + 2].view(">u2")[:, 0].astype(np.int64)


class PacketParser:
    """Parses chunks into PacketColumns; keeps `counters` and the fragment cache across
    chunks (so results do not depend on where chunks are cut)."""

    def __init__(self, fragments: bool = True, fragment_cache_size: int = 10007,
                 fragment_timeout_s: float = 3.0):
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.fragments = (FragmentCache(fragment_cache_size, int(fragment_timeout_s * 1e9))
                          if fragments else None)

    def parse(self, chunk: PacketChunk) -> PacketColumns:
        packets = chunk.packets
        n = len(packets)
        counters = self.counters
        counters["packets"] += n
        if n == 0:
            return PacketColumns.empty()
        if chunk.linktype not in LINKTYPES:
            counters["unknown_linktype"] += n
            return PacketColumns.empty()
        return _ChunkParser(chunk, self).run()


class _ChunkParser:
    """The state of parsing one chunk (arrays over all its packets)."""

    def __init__(self, chunk: PacketChunk, owner: PacketParser):
        self.chunk, self.owner = chunk, owner
        packets = chunk.packets
        n = self.n = len(packets)
        raw = chunk.buffer
        if raw is not None and raw.packets is packets and len(raw.starts) == n:
            # laid out by the reader already (the pcap records as they are in the file)
            self.lens, self.times = raw.lengths, raw.times
            self.g = _Gather(raw.buffer, raw.starts, len(raw.buffer) - len(_PAD))
        else:
            self.lens = np.fromiter(map(len, packets), dtype=np.int64, count=n)
            self.times = np.fromiter(chunk.times_ns, dtype=np.int64, count=n)
            starts = np.zeros(n, dtype=np.int64)
            np.cumsum(self.lens[:-1], out=starts[1:])
            joined = b"".join([*packets, _PAD])
            self.g = _Gather(np.frombuffer(joined, dtype=np.uint8), starts,
                             len(joined) - len(_PAD))
        self.reason = np.zeros(n, dtype=np.int8)
        self.etype = np.zeros(n, dtype=np.int64)
        self.l3 = np.zeros(n, dtype=np.int64)
        self.vlan = np.zeros(n, dtype=np.int64)
        self.src_mac = self.dst_mac = None  # (n, 6) uint8 where the link has them

    # -- helpers --------------------------------------------------------------------------

    def _drop(self, rows: np.ndarray, mask: np.ndarray, reason: int) -> tuple:
        """Mark rows[mask] with `reason`; return the remaining rows and their keep mask."""
        if mask.any():
            self.reason[rows[mask]] = reason
            keep = ~mask
            return rows[keep], keep
        return rows, None

    # -- link layer -----------------------------------------------------------------------

    def _ethernet(self) -> None:
        g, n = self.g, self.n
        self.reason[self.lens < 14] = _TRUNC
        header = g.block(slice(None), 0, 14)
        self.dst_mac, self.src_mac = header[:, 0:6], header[:, 6:12]
        self.etype = _be16(header, 12)
        self.l3 = np.full(n, 14, dtype=np.int64)
        self._encapsulations()

    def _sll(self) -> None:
        g, n = self.g, self.n
        self.reason[self.lens < 16] = _TRUNC
        header = g.block(slice(None), 0, 16)
        ethernet = (_be16(header, 2) == 1) & (_be16(header, 4) == 6)
        self.src_mac = np.zeros((n, 6), dtype=np.uint8)
        _items(self.src_mac)[ethernet] = _items(header[:, 6:12])[ethernet]
        self.etype = _be16(header, 14)
        self.l3 = np.full(n, 16, dtype=np.int64)
        self._encapsulations()

    def _sll2(self) -> None:
        g, n = self.g, self.n
        self.reason[self.lens < 20] = _TRUNC
        header = g.block(slice(None), 0, 20)
        ethernet = (_be16(header, 8) == 1) & (header[:, 11] == 6)
        self.src_mac = np.zeros((n, 6), dtype=np.uint8)
        _items(self.src_mac)[ethernet] = _items(header[:, 12:18])[ethernet]
        self.etype = _be16(header, 0)
        self.l3 = np.full(n, 20, dtype=np.int64)
        self._encapsulations()

    def _raw(self, linktype: int) -> None:
        self.reason[self.lens < 1] = _TRUNC
        if linktype == LINKTYPE_IPV4:
            self.etype[:] = _ETH_IPV4
        elif linktype == LINKTYPE_IPV6:
            self.etype[:] = _ETH_IPV6
        else:
            self.etype = self._by_version(self.g.u8(slice(None), 0) >> 4)

    def _loopback(self, linktype: int) -> None:
        self.reason[self.lens < 4] = _TRUNC
        header = self.g.block(slice(None), 0, 4).astype(np.int64)
        high = (header[:, 0] << 8) | header[:, 1]
        big_endian = (header[:, 2] << 8) | header[:, 3]
        if linktype == LINKTYPE_LOOP:
            family = np.where(high == 0, big_endian, -1)
        else:  # host byte order of the capturing machine: either
            family = np.where(high == 0, big_endian,
                              np.where((header[:, 2] | header[:, 3]) == 0,
                                       header[:, 0] | (header[:, 1] << 8), -1))
        self.etype = np.where(family == 2, _ETH_IPV4,
                              np.where(np.isin(family, _INET6_FAMILIES), _ETH_IPV6, 0))
        self.l3 = np.full(self.n, 4, dtype=np.int64)

    @staticmethod
    def _by_version(nibble: np.ndarray) -> np.ndarray:
        return np.where(nibble == 4, _ETH_IPV4, np.where(nibble == 6, _ETH_IPV6, 0))

    def _encapsulations(self) -> None:
        """VLAN tags, MPLS labels and PPPoE sessions, on the packets that have them."""
        g, lens, etype, l3 = self.g, self.lens, self.etype, self.l3
        tagged = None
        candidates = np.flatnonzero(_IS_ENCAPSULATION[etype] & (self.reason == 0))
        for _ in range(_MAX_ENCAPSULATIONS):
            if not candidates.size:
                return
            kinds = etype[candidates]
            offsets = l3[candidates]
            rows, keep = self._drop(candidates, offsets + 4 > lens[candidates], _TRUNC)
            if keep is not None:
                kinds, offsets = kinds[keep], offsets[keep]
            vlan = _IS_VLAN[kinds]
            if vlan.any():
                vrows, voff = rows[vlan], offsets[vlan]
                tag = g.block(vrows, voff, 4)
                if tagged is None:
                    tagged = np.zeros(self.n, dtype=bool)
                outer = ~tagged[vrows]
                self.vlan[vrows[outer]] = _be16(tag, 0)[outer] & 0x0FFF
                tagged[vrows] = True
                etype[vrows] = _be16(tag, 2)
                l3[vrows] = voff + 4
            mpls = (kinds == _MPLS_TYPES[0]) | (kinds == _MPLS_TYPES[1])
            if mpls.any():
                mrows, moff = rows[mpls], offsets[mpls]
                bottom = (g.u8(mrows, moff + 2) & 1) == 1
                l3[mrows] = moff + 4
                brows, boff = mrows[bottom], moff[bottom] + 4
                brows, keep = self._drop(brows, boff + 1 > lens[brows], _TRUNC)
                if keep is not None:
                    boff = boff[keep]
                etype[brows] = self._by_version(g.u8(brows, boff) >> 4)
            pppoe = kinds == _PPPOE_SESSION
            if pppoe.any():
                prows, poff = rows[pppoe], offsets[pppoe]
                prows, keep = self._drop(prows, poff + 8 > lens[prows], _TRUNC)
                if keep is not None:
                    poff = poff[keep]
                protocol = g.u16(prows, poff + 6)
                etype[prows] = np.where(protocol == 0x0021, _ETH_IPV4,
                                        np.where(protocol == 0x0057, _ETH_IPV6, 0))
                l3[prows] = poff + 8
            # only a packet unwrapped here can hold another layer
            candidates = rows[_IS_ENCAPSULATION[etype[rows]] & (self.reason[rows] == 0)]
        self.reason[candidates] = _NOT_IP       # deeper than _MAX_ENCAPSULATIONS

    # -- network layer --------------------------------------------------------------------

    def _ipv4(self, is_v4: np.ndarray) -> None:
        """The IPv4 headers of the packets `is_v4` marks, read for every packet at once (20
        bytes at its l3 offset; whole columns, no gathers and scatters by row); the other
        packets get zeros (no transport header: l4 -1), which _ipv6 overwrites for its own."""
        g, lens, l3 = self.g, self.lens, self.l3
        available = lens - l3
        header = g.block(slice(None), l3, 20)
        first = header[:, 0].astype(np.int64)
        ihl = (first & 0x0F) * 4
        total = _be16(header, 2)
        short = is_v4 & (available < 20)
        bad = is_v4 & (((first >> 4) != 4) | (ihl < 20))
        cut = is_v4 & (ihl > available)
        bad_length = is_v4 & (total < ihl) & (total != 0)
        dropped = short | bad | cut | bad_length
        if dropped.any():
            self.reason[dropped] = np.select([short, bad, cut, bad_length],
                                             [_TRUNC, _BAD_IP, _TRUNC, _BAD_IP])[dropped]
        self.version = np.where(is_v4, 4, 0).astype(np.uint8)
        self.tos = np.where(is_v4, header[:, 1], 0).astype(np.uint8)
        self.ttl = np.where(is_v4, header[:, 8], 0).astype(np.uint8)
        self.proto = np.where(is_v4, header[:, 9], 0).astype(np.int64)
        self.l4 = np.where(is_v4, l3 + ihl, -1)
        flags_offset = _be16(header, 6)
        offset = flags_offset & 0x1FFF
        self.is_fragment = is_v4 & ((flags_offset & 0x2000 != 0) | (offset != 0))
        self.non_first = is_v4 & (offset != 0)
        self.fragment_id = np.where(is_v4, _be16(header, 4), 0)
        ip_bytes = total.copy()
        end = l3 + total
        tso = np.flatnonzero(is_v4 & (total == 0))
        if tso.size:  # TSO: the IP length field is 0; take the frame's length
            wire = self.chunk.wire_lengths
            frame = np.array([wire[i] if i < len(wire) else 0 for i in tso.tolist()],
                             dtype=np.int64)
            ip_bytes[tso] = np.maximum(frame, lens[tso]) - l3[tso]
            end[tso] = lens[tso]
        self.ip_bytes = np.where(is_v4, ip_bytes, 0)
        self.end = np.where(is_v4, np.minimum(end, lens), 0)
        words = header.view(np.uint32)            # the addresses are words 3 and 4
        marker = np.where(is_v4, np.uint32(0xFFFFFFFF), np.uint32(0))
        for name, word in (("src_ip", 3), ("dst_ip", 4)):
            mapped = np.zeros((self.n, 4), dtype=np.uint32)   # UniRec: 8 zero bytes, the
            mapped[:, 2] = np.where(is_v4, words[:, word], 0)  # address, ff * 4
            mapped[:, 3] = marker
            setattr(self, name, mapped.view(np.uint8))

    def _ipv6(self, rows: np.ndarray) -> None:
        g, lens = self.g, self.lens
        l3 = self.l3[rows]
        available = lens[rows] - l3
        header = g.block(rows, l3, 40)
        first = header[:, 0].astype(np.int64)
        short = available < 40
        bad = (first >> 4) != 6
        if (short | bad).any():
            self.reason[rows] = np.select([short, bad], [_TRUNC, _BAD_IP], _OK)
        self.version[rows] = 6
        self.tos[rows] = ((first & 0x0F) << 4) | (header[:, 1] >> 4)
        self.ttl[rows] = header[:, 7]
        payload = _be16(header, 4)
        next_header = header[:, 6].astype(np.int64)
        self.ip_bytes[rows] = payload + 40
        jumbo = (payload == 0) & (next_header == 0)
        self.end[rows] = np.minimum(np.where(jumbo, lens[rows], l3 + 40 + payload), lens[rows])
        _items(self.src_ip)[rows] = _items(header[:, 8:24])
        _items(self.dst_ip)[rows] = _items(header[:, 24:40])
        self.l4[rows] = l3 + 40
        self.proto[rows] = next_header
        if _IS_IPV6_EXTENSION[next_header].any():
            self._ipv6_extensions(rows)

    def _ipv6_extensions(self, rows: np.ndarray) -> None:
        g, lens, proto, l4 = self.g, self.lens, self.proto, self.l4
        for _ in range(_MAX_IPV6_EXTENSIONS):
            todo = rows[_IS_IPV6_EXTENSION[proto[rows]] & (self.reason[rows] == 0)
                        & ~self.non_first[rows]]
            if not todo.size:
                return
            offset = l4[todo]
            todo, keep = self._drop(todo, offset + 8 > lens[todo], _TRUNC)
            if keep is not None:
                offset = offset[keep]
            header = g.block(todo, offset, 8)
            kind = proto[todo]
            size = header[:, 1].astype(np.int64)
            size = np.where(kind == 44, 8, np.where(kind == 51, (size + 2) * 4, (size + 1) * 8))
            fragment = kind == 44
            if fragment.any():
                frows, fheader = todo[fragment], header[fragment]
                word = _be16(fheader, 2)
                frag_offset = word & 0xFFF8
                self.is_fragment[frows] = (frag_offset != 0) | (word & 1 != 0)
                self.non_first[frows] = frag_offset != 0
                self.fragment_id[frows] = (_be16(fheader, 4) << 16) | _be16(fheader, 6)
            proto[todo] = header[:, 0]
            l4[todo] = offset + size
        left = rows[_IS_IPV6_EXTENSION[proto[rows]] & (self.reason[rows] == 0)
                    & ~self.non_first[rows]]
        self.reason[left] = _BAD_IP

    # -- transport layer ------------------------------------------------------------------

    def _transport(self) -> None:
        """Ports, TCP flags, ICMP type and code, and where the payload starts, for every
        packet at once: one 14-byte read at each packet's transport header covers them all
        (TCP needs 14 bytes; the ports of UDP, UDP-Lite and SCTP are its first 4, ICMP's type
        and code its first 2). Packets already dropped get values nobody reads (_columns
        keeps the usable ones only)."""
        g, lens = self.g, self.lens
        proto, offset, end, version = self.proto, self.l4, self.end, self.version
        usable = self.reason == 0
        first = usable & ~self.non_first
        tcp = first & (proto == 6)
        ports = first & ((proto == 17) | (proto == 136) | (proto == 132))
        icmp = first & (((proto == 1) & (version == 4)) | ((proto == 58) & (version == 6)))
        need = tcp * 14 + ports * 4 + icmp * 2          # (the three exclude each other)
        cut = usable & (offset + need > lens)
        short = usable & ~cut & (offset + need > end)
        if cut.any() or short.any():
            self.reason[cut] = _TRUNC
            self.reason[short] = _BAD_L4
        # (a packet without a transport header, offset -1, is read from its start: unused)
        header = g.block(slice(None), np.maximum(offset, 0), 14)
        source, destination = _be16(header, 0), _be16(header, 2)
        with_ports = tcp | ports
        self.src_port = np.where(with_ports, source, 0).astype(np.uint16)
        self.dst_port = np.where(with_ports, destination, 0).astype(np.uint16)
        self.tcp_flags = np.where(tcp, header[:, 13], 0).astype(np.uint8)
        self.type_code = np.where(icmp, source, 0).astype(np.uint16)
        data_offset = (header[:, 12].astype(np.int64) >> 4) * 4
        payload = np.select(
            [tcp, ports, icmp, first],
            [np.where(data_offset >= 20, offset + data_offset, -1),
             offset + np.where(proto == 132, 12, 8), offset + 8, offset], -1)
        length = end - payload
        none = (payload < 0) | (length <= 0)
        self.payload = np.where(none, -1, payload)
        self.payload_len = np.where(none, 0, length)
        self.l4 = np.where(first, offset, -1)

    def _fragments(self, rows: np.ndarray) -> None:
        owner = self.owner
        counters = owner.counters
        counters["fragments"] += rows.size
        cache = owner.fragments
        if cache is None:
            return
        times = self.times[rows].tolist()
        src = _items(self.src_ip, rows).tolist()
        dst = _items(self.dst_ip, rows).tolist()
        proto = self.proto[rows].tolist()
        version = self.version[rows].tolist()
        ident = self.fragment_id[rows].tolist()
        non_first = self.non_first[rows].tolist()
        sport, dport, type_code = self.src_port, self.dst_port, self.type_code
        protocol = self.proto
        matched = unmatched = 0
        for j, row in enumerate(rows.tolist()):
            key = (src[j], dst[j], proto[j] if version[j] == 4 else -1, ident[j])
            if non_first[j]:
                found = cache.find(key, times[j])
                if found is None:
                    unmatched += 1
                else:
                    sport[row], dport[row], type_code[row], protocol[row] = found
                    matched += 1
            else:
                cache.add(key, times[j], int(sport[row]), int(dport[row]),
                          int(type_code[row]), proto[j])
        counters["fragments_matched"] += matched
        counters["fragments_unmatched"] += unmatched

    # -- the whole chunk ------------------------------------------------------------------

    def run(self) -> PacketColumns:
        linktype = self.chunk.linktype
        if linktype == LINKTYPE_ETHERNET:
            self._ethernet()
        elif linktype == LINKTYPE_LINUX_SLL:
            self._sll()
        elif linktype == LINKTYPE_LINUX_SLL2:
            self._sll2()
        elif linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
            self._loopback(linktype)
        else:
            self._raw(linktype)

        reason, etype = self.reason, self.etype
        live = reason == 0
        reason[live & ((etype == 0x0806) | (etype == 0x8035))] = _ARP
        is_v4 = live & (etype == _ETH_IPV4)
        is_v6 = live & (etype == _ETH_IPV6)
        reason[live & ~is_v4 & ~is_v6 & (reason == 0)] = _NOT_IP

        self._ipv4(is_v4)
        v6 = np.flatnonzero(is_v6)
        if v6.size:
            self._ipv6(v6)
        self._transport()
        fragment_rows = np.flatnonzero(self.is_fragment & (reason == 0))
        if fragment_rows.size:
            self._fragments(fragment_rows)
        return self._columns()

    def _columns(self) -> PacketColumns:
        counters = self.owner.counters
        usable = self.reason == 0
        use = np.flatnonzero(usable)
        # all usable: views, no copies; else a mask (numpy compresses by a mask faster than it
        # gathers by an index, several times faster for the MAC addresses' 6-byte items)
        rows = slice(None) if use.size == self.n else usable
        counts = np.bincount(self.reason, minlength=len(_REASON_NAMES))
        for code, name in enumerate(_REASON_NAMES):
            if name is not None and counts[code]:
                counters[name] += int(counts[code])
        counters["parsed"] += int(use.size)
        version = self.version[rows]
        v4 = int(np.count_nonzero(version == 4))
        counters["ipv4"] += v4
        counters["ipv6"] += int(use.size) - v4

        def mac(values):
            if values is None:
                return np.zeros(use.size, dtype="V6")
            return _items(values, rows)

        return PacketColumns(
            time_ns=self.times[usable],  # a copy: self.times may be the reader's array
            src_ip=_items(self.src_ip, rows),
            dst_ip=_items(self.dst_ip, rows),
            src_port=self.src_port[rows],
            dst_port=self.dst_port[rows],
            protocol=self.proto[rows].astype(np.uint8),
            ip_bytes=self.ip_bytes[rows].astype(np.uint32),
            tcp_flags=self.tcp_flags[rows],
            vlan_id=self.vlan[rows].astype(np.uint16),
            src_mac=mac(self.src_mac),
            dst_mac=mac(self.dst_mac),
            ttl=self.ttl[rows],
            tos=self.tos[rows],
            icmp_type_code=self.type_code[rows],
            payload_offset=self.payload[rows].astype(np.int32),
            packet_index=use.astype(np.int32),
            ip_version=version,
            l3_offset=self.l3[rows].astype(np.int32),
            l4_offset=self.l4[rows].astype(np.int32),
            payload_len=self.payload_len[rows].astype(np.int32),
        )
