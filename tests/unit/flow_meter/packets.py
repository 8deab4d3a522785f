"""Test packets built with dpkt (and struct for the headers dpkt cannot build)."""

from __future__ import annotations

import socket
import struct

import dpkt

from unirec.ipaddr import raw_from_text

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def v4(a: str) -> bytes:
    return socket.inet_aton(a)


def v6(a: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, a)


def tcp(sport=40000, dport=80, flags=dpkt.tcp.TH_SYN, data=b"GET / HTTP/1.1\r\n\r\n"):
    return dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, seq=1, off=5, data=data)


def udp(sport=5353, dport=53, data=b"\x12\x34dns-query"):
    return dpkt.udp.UDP(sport=sport, dport=dport, ulen=8 + len(data), data=data)


def icmp(type_=8, code=0, data=b"ping-data"):
    return dpkt.icmp.ICMP(type=type_, code=code, data=dpkt.icmp.ICMP.Echo(id=1, seq=1,
                                                                          data=data))


def ipv4(l4, src="10.0.0.1", dst="10.0.0.2", p=None, ttl=64, tos=0, id=1, **kw) -> bytes:
    if p is None:
        p = {dpkt.tcp.TCP: 6, dpkt.udp.UDP: 17, dpkt.icmp.ICMP: 1}[type(l4)]
    packet = dpkt.ip.IP(src=v4(src), dst=v4(dst), p=p, ttl=ttl, tos=tos, id=id, data=l4, **kw)
    return bytes(packet)


def ipv6(l4, src="2001:db8::1", dst="2001:db8::2", nxt=None, hlim=64, tc=0,
         extensions: bytes = b"") -> bytes:
    """IPv6 packet; `extensions` are raw extension headers (their next-header bytes set)."""
    if nxt is None:
        nxt = {dpkt.tcp.TCP: 6, dpkt.udp.UDP: 17, dpkt.icmp6.ICMP6: 58}[type(l4)]
    body = bytes(l4)
    payload = extensions + body
    first = 0x60000000 | (tc << 20)
    return struct.pack(">IHBB", first, len(payload), nxt, hlim) + v6(src) + v6(dst) + payload


def icmp6(type_=128, code=0):
    return dpkt.icmp6.ICMP6(type=type_, code=code, data=b"\x00\x01\x00\x01abcd")


def ethernet(l3: bytes, etype=0x0800, tags: bytes = b"") -> bytes:
    return MAC_B + MAC_A + tags + struct.pack(">H", etype) + l3


def vlan_tag(vid: int, tpid=0x8100, pcp=0) -> bytes:
    return struct.pack(">HH", tpid, (pcp << 13) | vid)


def ethernet_vlan(l3: bytes, vids: list[int], etype=0x0800, outer_tpid=0x8100) -> bytes:
    tags = b""
    for number, vid in enumerate(vids):
        tpid = outer_tpid if number == 0 else 0x8100
        tags += struct.pack(">H", tpid) + struct.pack(">H", vid)
    # each tag: TPID + TCI, then the final ethertype
    return MAC_B + MAC_A + tags + struct.pack(">H", etype) + l3


def mpls(l3: bytes, labels: list[int]) -> bytes:
    stack = b""
    for number, label in enumerate(labels):
        bottom = 1 if number == len(labels) - 1 else 0
        stack += struct.pack(">I", (label << 12) | (bottom << 8) | 64)
    return MAC_B + MAC_A + struct.pack(">H", 0x8847) + stack + l3


def pppoe(l3: bytes, protocol=0x0021) -> bytes:
    header = struct.pack(">BBHHH", 0x11, 0, 0x1234, len(l3) + 2, protocol)
    return MAC_B + MAC_A + struct.pack(">H", 0x8864) + header + l3


def sll(l3: bytes, protocol=0x0800, arphrd=1, address=MAC_A) -> bytes:
    return struct.pack(">HHH", 0, arphrd, len(address)) + address.ljust(8, b"\0") + \
        struct.pack(">H", protocol) + l3


def sll2(l3: bytes, protocol=0x0800, arphrd=1, address=MAC_A) -> bytes:
    return struct.pack(">HHIHBB", protocol, 0, 2, arphrd, 0, len(address)) + \
        address.ljust(8, b"\0") + l3


def null(l3: bytes, family=2, order="<") -> bytes:
    return struct.pack(order + "I", family) + l3


def ipv6_extension(kind: int, next_header: int, body_len=6) -> bytes:
    """hop-by-hop (0), routing (43), destination options (60): (len+1)*8 bytes; AH (51)."""
    if kind == 51:
        return struct.pack(">BBH", next_header, 4, 0) + bytes(20)  # (4+2)*4 = 24 bytes
    if kind == 43:
        return struct.pack(">BBBB", next_header, 0, 0, 0) + bytes(4)
    return struct.pack(">BB", next_header, 0) + bytes([1, 4]) + bytes(4)  # PadN


def ipv6_fragment_header(next_header: int, offset: int, more: bool, ident: int) -> bytes:
    return struct.pack(">BBHI", next_header, 0, offset | int(more), ident)


def ipv4_fragments(datagram_l4: bytes, proto: int, sizes: list[int], ident=0x1234,
                   src="10.0.0.1", dst="10.0.0.2") -> list[bytes]:
    """Split a transport segment into IPv4 fragments of the given payload sizes (multiples
    of 8 except the last)."""
    out, offset = [], 0
    for number, size in enumerate(sizes):
        chunk = datagram_l4[offset:offset + size]
        more = number < len(sizes) - 1
        packet = dpkt.ip.IP(src=v4(src), dst=v4(dst), p=proto, ttl=64, id=ident,
                            data=chunk, df=0, mf=int(more), offset=offset)
        packet.len = 20 + len(chunk)
        raw = bytearray(bytes(packet))
        out.append(bytes(raw))
        offset += size
    return out


def ipv6_fragments(datagram_l4: bytes, proto: int, sizes: list[int], ident=0xABCDEF01,
                   src="2001:db8::1", dst="2001:db8::2") -> list[bytes]:
    out, offset = [], 0
    for number, size in enumerate(sizes):
        chunk = datagram_l4[offset:offset + size]
        more = number < len(sizes) - 1
        header = ipv6_fragment_header(proto, offset, more, ident)
        payload = header + chunk
        out.append(struct.pack(">IHBB", 0x60000000, len(payload), 44, 64) + v6(src)
                   + v6(dst) + payload)
        offset += size
    return out


def raw16(text: str) -> bytes:
    return raw_from_text(text)
