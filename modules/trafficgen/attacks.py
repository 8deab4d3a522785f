"""Attack builders. Each takes (rng, start_us, span_us, size, tag), puts its packets inside
[start, start + span] (answers may trail by a round trip) and returns them with the attack's
description for the ground truth (counts and times are added from the packets later)."""

from __future__ import annotations

import random
import string
import struct
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

from .addresses import (
    ATTACKERS_V4,
    HSCAN_TARGETS,
    OPEN_RESOLVERS,
    SPOOFED_SOURCES,
    SSH_SERVER,
    WEB_SERVER,
    Host,
)
from .packets import ACK, RST, SYN, Packet, tcp_frame
from .payloads import ANY, TXT, dns_response, ssh_binary_packet, ssh_encrypted
from .sessions import TcpSession, udp_exchange

Built = tuple[list[Packet], dict]
COMMON_PORTS = (21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1723,
                3306, 3389, 5900, 8080)
NMAP_MSS = struct.pack(">BBH", 2, 4, 1460)


def _probe(out: list[Packet], rng: random.Random, attacker: Host, victim: Host, sport: int,
           dport: int, time_us: int, answer: str, rtt_us: int, tag: str) -> None:
    """A SYN-scan probe seen next to the victim: SYN, then RST-ACK (closed), SYN-ACK and the
    scanner's RST (open) or nothing (no host / filtered)."""
    seq = rng.getrandbits(32)
    out.append(Packet(time_us, tcp_frame(attacker.ip, victim.ip, sport, dport, SYN, seq,
                                         window=1024, opts=NMAP_MSS, ttl=attacker.ttl,
                                         ident=rng.getrandbits(16)), tag))
    reply_us = time_us + rng.randint(40, 200)
    if answer == "closed":
        out.append(Packet(reply_us, tcp_frame(victim.ip, attacker.ip, dport, sport, RST | ACK,
                                              0, seq + 1, window=0, ttl=victim.ttl), tag))
    elif answer == "open":
        out.append(Packet(reply_us, tcp_frame(victim.ip, attacker.ip, dport, sport, SYN | ACK,
                                              rng.getrandbits(32), seq + 1, window=64_240,
                                              opts=NMAP_MSS, ttl=victim.ttl), tag))
        out.append(Packet(reply_us + rtt_us, tcp_frame(attacker.ip, victim.ip, sport, dport,
                                                       RST, seq + 1, window=0,
                                                       ttl=attacker.ttl), tag))


def vertical_scan(rng: random.Random, start_us: int, span_us: int, size: int, tag: str) -> Built:
    """One attacker SYN-scans `size` ports of one local server (a few of them open)."""
    attacker = Host(ATTACKERS_V4[rng.randint(10, 49)], rng.randint(40, 54))
    victim = Host(ip_address(f"10.0.0.{rng.randint(30, 49)}"), 64)
    size = min(size, 65_535)
    common = list(COMMON_PORTS[:size])
    others = [port for port in range(1, 65_536) if port not in COMMON_PORTS]
    ports = common + rng.sample(others, size - len(common))
    rng.shuffle(ports)
    open_ports = sorted({22, 80, 443, 3306} & set(ports))
    sport, rtt = rng.randint(33_000, 60_999), rng.randint(20_000, 90_000)
    step = max(1, (span_us - rtt) // size)
    out: list[Packet] = []
    for index, port in enumerate(ports):
        answer = "open" if port in open_ports else "closed"
        _probe(out, rng, attacker, victim, sport, port, start_us + index * step
               + rng.randrange(step), answer, rtt, tag)
    return out, {"attackers": [str(attacker.ip)], "victims": [str(victim.ip)],
                 "ports": sorted(ports), "open_ports": open_ports, "protocol": "tcp",
                 "description": f"SYN scan of {size} ports of one host"}


def horizontal_scan(rng: random.Random, start_us: int, span_us: int, size: int,
                    tag: str) -> Built:
    """One attacker SYN-probes one port (23 or 445) on `size` addresses of a local /16; most
    do not exist (no answer), some answer RST-ACK, a few SYN-ACK."""
    attacker = Host(ATTACKERS_V4[rng.randint(50, 89)], rng.randint(40, 54))
    port = rng.choice((23, 445))
    size = min(size, HSCAN_TARGETS.num_addresses - 2)
    base = rng.randrange(1, HSCAN_TARGETS.num_addresses - size)
    targets = [HSCAN_TARGETS[base + index] for index in range(size)]
    rng.shuffle(targets)
    sport, rtt = rng.randint(33_000, 60_999), rng.randint(20_000, 90_000)
    step = max(1, (span_us - rtt) // size)
    out: list[Packet] = []
    answered = 0
    for index, target in enumerate(targets):
        roll = rng.random()
        answer = "open" if roll < 0.05 else "closed" if roll < 0.15 else "none"
        answered += answer != "none"
        victim = Host(target, rng.choice((64, 128)))
        _probe(out, rng, attacker, victim, sport, port, start_us + index * step
               + rng.randrange(step), answer, rtt, tag)
    return out, {"attackers": [str(attacker.ip)], "victims": sorted(map(str, targets)),
                 "ports": [port], "protocol": "tcp", "answering_hosts": answered,
                 "description": f"SYN probes of port {port} on {size} addresses"}


def ssh_bruteforce(rng: random.Random, start_us: int, span_us: int, size: int,
                   tag: str) -> Built:
    """`size` short SSH connections from one attacker to the local SSH server: banners, key
    exchange, three to six failed password attempts (as hydra makes them), close."""
    attacker = Host(ATTACKERS_V4[rng.randint(100, 139)], rng.randint(45, 52))
    victim = Host(SSH_SERVER, 64)
    rtt = rng.randint(30_000, 110_000)
    step = max(1, (span_us - 40 * rtt) // size)
    sport = rng.randint(35_000, 50_000)
    out: list[Packet] = []
    for index in range(size):
        sport += rng.randint(1, 3)
        tcp = TcpSession(out, rng, attacker, victim, sport, 22, start_us + index * step
                         + rng.randrange(step), rtt_us=rtt, tag=tag, near_client=False)
        tcp.connect()
        tcp.send(1, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n", delay_us=1_500, acked=False)
        tcp.send(0, b"SSH-2.0-libssh_0.9.6\r\n", delay_us=tcp.reply_delay(1), acked=False)
        tcp.send(1, ssh_binary_packet(rng, 20, 1_060), delay_us=200, acked=False)
        tcp.send(0, ssh_binary_packet(rng, 20, 780), delay_us=tcp.reply_delay(1),
                 acked=False)
        tcp.send(0, ssh_binary_packet(rng, 30, 36), delay_us=200, acked=False)
        tcp.send(1, ssh_binary_packet(rng, 31, 520) + ssh_encrypted(rng, 12),
                 delay_us=tcp.reply_delay(0) + 1_200, acked=False)
        tcp.send(0, ssh_encrypted(rng, 12) + ssh_encrypted(rng, 32),
                 delay_us=tcp.reply_delay(1), acked=False)
        tcp.send(1, ssh_encrypted(rng, 32), delay_us=tcp.reply_delay(0) + 300, acked=False)
        for _ in range(rng.randint(3, 6)):
            tcp.send(0, ssh_encrypted(rng, 80), delay_us=tcp.reply_delay(1), acked=False)
            tcp.send(1, ssh_encrypted(rng, 32), delay_us=tcp.reply_delay(0)
                     + rng.randint(150_000, 400_000), acked=False)
        if rng.random() < 0.5:
            tcp.close(1, 500)                       # the server gives up on the client
        else:
            tcp.close(0, tcp.reply_delay(1))
    return out, {"attackers": [str(attacker.ip)], "victims": [str(victim.ip)], "ports": [22],
                 "protocol": "tcp", "sessions": size,
                 "description": f"{size} SSH login attempts (connections) from one host"}


def dns_amplification(rng: random.Random, start_us: int, span_us: int, size: int,
                      tag: str) -> Built:
    """`size` ANY/TXT queries spoofed with the victim's address to open resolvers, each
    answered by a ~3000-byte response (three IPv4 fragments) to the victim. The capture point
    is the victim's network edge: the spoofed queries leave the attacker's network and never
    cross it, so only the responses are in the capture, unsolicited."""
    victim = Host(ip_address(f"10.0.0.{rng.randint(100, 119)}"), 64)
    count = max(5, min(254, size // 5))
    resolvers = [Host(OPEN_RESOLVERS[number], rng.randint(44, 60))
                 for number in sorted(rng.sample(range(1, 255), count))]
    name = rng.choice(("example.net", "example.org", "amp.example.com"))
    qtype = rng.choice((ANY, ANY, TXT))
    letters = string.ascii_letters + string.digits + "+/="
    texts = [("v=" + "".join(rng.choices(letters, k=230))).encode() for _ in range(12)]
    addresses = [ip_address("198.51.100.200"), ip_address("2001:db8:2::200")] \
        if qtype == ANY else []
    step = max(1, (span_us - 100_000) // size)
    out: list[Packet] = []
    for index in range(size):
        resolver = rng.choice(resolvers)
        qid = rng.getrandbits(16)
        udp_exchange(out, rng, victim, resolver, rng.randint(1024, 65_535), 53, None,
                     dns_response(qid, name, qtype, addresses, texts=texts),
                     start_us + index * step + rng.randrange(step), rng.randint(20_000, 90_000),
                     tag)
    return out, {"attackers": [str(r.ip) for r in resolvers], "victims": [str(victim.ip)],
                 "ports": [53], "protocol": "udp", "reflectors": True, "query_name": name,
                 "query_type": "ANY" if qtype == ANY else "TXT",
                 "description": "DNS reflection/amplification: unsolicited responses to "
                                "queries spoofed with the victim's address (not in the "
                                "capture); the attackers listed are the reflectors"}


def syn_flood(rng: random.Random, start_us: int, span_us: int, size: int, tag: str) -> Built:
    """`size` SYNs from random spoofed sources (10.128.0.0/9) to one port of the local web
    server; the victim answers about one in ten with a SYN-ACK (to nobody)."""
    victim = Host(WEB_SERVER, 64)
    port = rng.choice((80, 443))
    window = rng.choice((512, 1024, 8192, 64_240))
    first, hosts = int(SPOOFED_SOURCES.network_address), SPOOFED_SOURCES.num_addresses
    step = max(1, span_us // size)
    out: list[Packet] = []
    sources = set()
    for index in range(size):
        source = IPv4Address(first + rng.randrange(1, hosts - 1))
        sources.add(source)
        sport, seq = rng.randint(1024, 65_535), rng.getrandbits(32)
        time_us = start_us + index * step + rng.randrange(step)
        out.append(Packet(time_us, tcp_frame(source, victim.ip, sport, port, SYN, seq,
                                             window=window, ttl=rng.randint(48, 250),
                                             ident=rng.getrandbits(16)), tag))
        if rng.random() < 0.1:
            out.append(Packet(time_us + rng.randint(30, 300), tcp_frame(
                victim.ip, source, port, sport, SYN | ACK, rng.getrandbits(32), seq + 1,
                window=64_240, opts=NMAP_MSS, ttl=victim.ttl), tag))
    return out, {"attackers": [str(SPOOFED_SOURCES)], "victims": [str(victim.ip)],
                 "ports": [port], "protocol": "tcp", "spoofed": True,
                 "distinct_sources": len(sources),
                 "description": f"{size} SYNs from random spoofed sources to one port"}


@dataclass(frozen=True)
class AttackKind:
    build: Callable[[random.Random, int, int, int, str], Built]
    size: int           # default size (ports, addresses, sessions, queries, SYNs)
    unit: str


ATTACKS: dict[str, AttackKind] = {
    "vscan": AttackKind(vertical_scan, 1000, "ports"),
    "hscan": AttackKind(horizontal_scan, 500, "addresses"),
    "ssh_bruteforce": AttackKind(ssh_bruteforce, 100, "sessions"),
    "dns_amplification": AttackKind(dns_amplification, 1000, "responses"),
    "syn_flood": AttackKind(syn_flood, 20_000, "SYNs"),
}
