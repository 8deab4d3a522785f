"""Frame builders: Ethernet + IPv4/IPv6 + TCP/UDP with correct lengths and checksums (dpkt)."""

from __future__ import annotations

from typing import NamedTuple

import dpkt

from .addresses import Address, mac_of

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MTU = 1500


class Packet(NamedTuple):
    """One frame of the capture: time in microseconds since the epoch, bytes, and its label
    ("" = background, else the id of the attack it belongs to)."""

    time_us: int
    frame: bytes
    tag: str = ""


def _ip(src: Address, dst: Address, proto: int, payload, ttl: int, ident: int,
        dont_fragment: bool):
    if src.version == 6:
        ip6 = dpkt.ip6.IP6(src=src.packed, dst=dst.packed, nxt=proto, hlim=ttl, data=payload)
        ip6.plen = len(payload)
        return ip6
    return dpkt.ip.IP(src=src.packed, dst=dst.packed, p=proto, ttl=ttl, id=ident & 0xFFFF,
                      df=int(dont_fragment), data=payload)


def _ethernet(src: Address, dst: Address, ip) -> bytes:
    kind = dpkt.ethernet.ETH_TYPE_IP6 if src.version == 6 else dpkt.ethernet.ETH_TYPE_IP
    return bytes(dpkt.ethernet.Ethernet(src=mac_of(src), dst=mac_of(dst), type=kind, data=ip))


def tcp_frame(src: Address, dst: Address, sport: int, dport: int, flags: int, seq: int,
              ack: int = 0, data: bytes = b"", *, window: int = 65535, opts: bytes = b"",
              ttl: int = 64, ident: int = 0) -> bytes:
    segment = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq & 0xFFFFFFFF,
                           ack=ack & 0xFFFFFFFF, flags=flags, win=window, opts=opts, data=data)
    segment.off = (20 + len(opts)) // 4
    return _ethernet(src, dst, _ip(src, dst, dpkt.ip.IP_PROTO_TCP, segment, ttl, ident, True))


def udp_frame(src: Address, dst: Address, sport: int, dport: int, data: bytes, *,
              ttl: int = 64, ident: int = 0) -> bytes:
    datagram = dpkt.udp.UDP(sport=sport, dport=dport, data=data)
    datagram.ulen = len(datagram)
    return _ethernet(src, dst, _ip(src, dst, dpkt.ip.IP_PROTO_UDP, datagram, ttl, ident, False))


def udp_frames(src: Address, dst: Address, sport: int, dport: int, data: bytes, *,
               ttl: int = 64, ident: int = 0) -> list[bytes]:
    """A UDP datagram as one frame, or (IPv4, bigger than the MTU) as IP fragments: the
    first carries the UDP header (checksum over the whole datagram), the others the rest."""
    if src.version == 6 or 20 + 8 + len(data) <= MTU:
        return [udp_frame(src, dst, sport, dport, data, ttl=ttl, ident=ident)]
    datagram = dpkt.udp.UDP(sport=sport, dport=dport, data=data)
    datagram.ulen = len(datagram)
    whole = bytes(_ip(src, dst, dpkt.ip.IP_PROTO_UDP, datagram, ttl, ident, False))[20:]
    step = (MTU - 20) // 8 * 8
    frames = []
    for offset in range(0, len(whole), step):
        piece = whole[offset:offset + step]
        fragment = dpkt.ip.IP(src=src.packed, dst=dst.packed, p=dpkt.ip.IP_PROTO_UDP, ttl=ttl,
                              id=ident & 0xFFFF, mf=int(offset + step < len(whole)),
                              offset=offset // 8, data=piece)
        frames.append(_ethernet(src, dst, fragment))
    return frames
