"""Conversation builders: a TCP connection with real sequence/ack numbers, options and
teardown, and UDP request/response exchanges. Packets go into a caller's list."""

from __future__ import annotations

import random
import struct

from .addresses import Host
from .packets import ACK, FIN, PSH, RST, SYN, Packet, tcp_frame, udp_frames

NEAR_DELAY_US = 120        # a host next to the capture point answers this fast


class _Side:
    def __init__(self, rng: random.Random, host: Host, port: int, timestamps: bool):
        self.host, self.port = host, port
        self.seq = rng.getrandbits(32)
        self.ident = rng.getrandbits(16)
        self.window = rng.choice((501, 502, 509, 1024, 2053))
        self.syn_window = 64_240 if host.ttl > 64 else rng.choice((64_240, 65_160, 65_535))
        self.ts_offset = rng.getrandbits(31) if timestamps else -1
        self.last_tsval = 0

    def tsval(self, time_us: int) -> int:
        return (self.ts_offset + time_us // 1000) & 0xFFFFFFFF


class TcpSession:
    """One TCP connection seen from a capture point next to the client (near_client) or to
    the server. Methods emit packets at self.time and move it forward."""

    def __init__(self, out: list[Packet], rng: random.Random, client: Host, server: Host,
                 sport: int, dport: int, start_us: int, *, rtt_us: int, tag: str = "",
                 near_client: bool = True, rate_bps: float = 50e6,
                 timestamps: bool | None = None):
        if timestamps is None:
            timestamps = client.ttl <= 64   # Linux/macOS use TCP timestamps, Windows not
        self.out, self.rng, self.tag = out, rng, tag
        self.sides = (_Side(rng, client, sport, timestamps), _Side(rng, server, dport,
                                                                   timestamps))
        self.time = start_us
        self.rtt_us, self.near_client = rtt_us, near_client
        self.advertised_mss = 1460 if client.ip.version == 4 else 1440
        self.mss = self.advertised_mss - (12 if timestamps else 0)   # payload per segment
        self.us_per_byte = 8e6 / rate_bps

    def reply_delay(self, side: int) -> int:
        """Capture time from a packet of `side` to the other side's immediate answer."""
        far = (side == 0) == self.near_client
        return self.rtt_us if far else NEAR_DELAY_US

    def emit(self, side: int, flags: int, data: bytes = b"", time_us: int | None = None,
             opts: bytes | None = None, window: int | None = None,
             ack: int | None = None) -> int:
        time_us = self.time if time_us is None else time_us
        me, peer = self.sides[side], self.sides[1 - side]
        if opts is None:
            opts = b""
            if me.ts_offset >= 0:
                me.last_tsval = me.tsval(time_us)
                opts = b"\x01\x01\x08\x0a" + struct.pack(">II", me.last_tsval, peer.last_tsval)
        frame = tcp_frame(me.host.ip, peer.host.ip, me.port, peer.port, flags, me.seq,
                          (peer.seq if ack is None else ack) if flags & ACK else 0, data,
                          window=me.window if window is None else window, opts=opts,
                          ttl=me.host.ttl, ident=me.ident)
        self.out.append(Packet(time_us, frame, self.tag))
        me.ident += 1
        me.seq += len(data) + bool(flags & (SYN | FIN))
        self.time = max(self.time, time_us)
        return time_us

    def _syn_options(self, side: int, time_us: int) -> bytes:
        me, peer = self.sides[side], self.sides[1 - side]
        mss = struct.pack(">BBH", 2, 4, self.advertised_mss)
        if me.ts_offset < 0:
            return mss + b"\x01\x03\x03\x08\x01\x01\x04\x02"   # NOP WS NOP NOP SACK_PERM
        me.last_tsval = me.tsval(time_us)
        return (mss + b"\x04\x02\x08\x0a" + struct.pack(">II", me.last_tsval, peer.last_tsval)
                + b"\x01\x03\x03\x07")

    def connect(self, answered: bool = True) -> None:
        """SYN, SYN-ACK, ACK (or only the SYN, unanswered)."""
        start = self.time
        self.emit(0, SYN, opts=self._syn_options(0, start), window=self.sides[0].syn_window)
        if not answered:
            return
        reply = start + self.reply_delay(0)
        self.emit(1, SYN | ACK, time_us=reply, opts=self._syn_options(1, reply),
                  window=self.sides[1].syn_window)
        self.emit(0, ACK, time_us=reply + self.reply_delay(1))

    def refuse(self) -> None:
        """SYN answered by RST-ACK (closed port)."""
        start = self.time
        self.emit(0, SYN, opts=self._syn_options(0, start), window=self.sides[0].syn_window)
        self.sides[1].seq = 0
        self.emit(1, RST | ACK, time_us=start + self.reply_delay(0), opts=b"", window=0)

    def send(self, side: int, data: bytes, delay_us: int = 0, acked: bool = True) -> None:
        """`data` from `side` in MSS segments (PSH on the last); the receiver ACKs every
        second segment and the last one (not the last when `acked` is False: its answer
        follows at once and carries the ACK)."""
        time_us = self.time + max(delay_us, 8)   # not in the same microsecond as the last
        ack_delay = self.reply_delay(side)
        if ack_delay == NEAR_DELAY_US:
            ack_delay = 40
        chunks = [data[i:i + self.mss] for i in range(0, len(data), self.mss)]
        acks = []
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            self.emit(side, ACK | (PSH if last else 0), chunk, time_us)
            if (index % 2 == 1 and not last) or (last and acked):
                acks.append((time_us + ack_delay, self.sides[side].seq))
            time_us += int(len(chunk) * self.us_per_byte) + 1
        for ack_time, number in acks:
            self.emit(1 - side, ACK, time_us=ack_time, ack=number)

    def exchange(self, request: bytes, response: bytes, think_us: int = 0) -> None:
        """Client request, then the server's response."""
        self.send(0, request, acked=False)
        self.send(1, response, delay_us=self.reply_delay(0) + think_us)

    def close(self, side: int = 0, delay_us: int = 0) -> None:
        """FIN-ACK from `side`, FIN-ACK back, last ACK."""
        time_us = self.emit(side, FIN | ACK, time_us=self.time + delay_us)
        answer = self.emit(1 - side, FIN | ACK, time_us=time_us + self.reply_delay(side))
        self.emit(side, ACK, time_us=answer + self.reply_delay(1 - side))

    def reset(self, side: int = 0, delay_us: int = 0) -> None:
        self.emit(side, RST | ACK, time_us=self.time + delay_us, opts=b"", window=0)


def udp_exchange(out: list[Packet], rng: random.Random, client: Host, server: Host, sport: int,
                 dport: int, request: bytes | None, response: bytes | None, time_us: int,
                 reply_us: int, tag: str = "") -> int:
    """Request at `time_us`, response (possibly IP-fragmented) `reply_us` later; returns the
    time of the last packet. A None request or response is not seen at the capture point."""
    if request is not None:
        for frame in udp_frames(client.ip, server.ip, sport, dport, request, ttl=client.ttl,
                                ident=rng.getrandbits(16)):
            out.append(Packet(time_us, frame, tag))
    if response is None:
        return time_us
    time_us += reply_us
    for index, frame in enumerate(udp_frames(server.ip, client.ip, dport, sport, response,
                                             ttl=server.ttl, ident=rng.getrandbits(16))):
        out.append(Packet(time_us + index * 12, frame, tag))
    return time_us + 12 * index
