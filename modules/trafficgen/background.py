"""Benign background: local clients browsing (DNS lookups, then HTTPS/HTTP sessions to
remote sites, over IPv4 or IPv6), occasional SSH sessions and NTP synchronisation."""

from __future__ import annotations

import math
import random
from ipaddress import IPv4Address, ip_network, summarize_address_range

from .addresses import (
    DNS_RESOLVER,
    DNS_RESOLVER_V6,
    NTP_SERVERS,
    REMOTE_SERVERS_V4,
    REMOTE_SERVERS_V6,
    REMOTE_SSH_SERVER,
    SSH_SERVER,
    Host,
    client_v4,
    client_v6,
    site_v4,
    site_v6,
)
from .packets import Packet
from .payloads import (
    AAAA,
    SSH_CLIENT_BANNERS,
    SSH_SERVER_BANNER,
    A,
    dns_query,
    dns_response,
    http_request,
    http_response,
    ntp_request,
    ntp_response,
    ssh_binary_packet,
    ssh_encrypted,
    tls_client_hello,
    tls_records,
    tls_server_hello,
)
from .sessions import TcpSession, udp_exchange

US = 1_000_000
# name, TTL seen at the capture point, round-trip time (ms), popularity weight
SITES = (("www.example.com", 52, 14, 30), ("cdn.example.net", 57, 9, 25),
         ("api.example.org", 118, 87, 10), ("static.example.com", 245, 23, 10),
         ("mail.example.net", 54, 35, 6), ("news.example", 49, 120, 5),
         ("shop.example.org", 115, 48, 5), ("video.example.net", 60, 18, 4),
         ("docs.example.com", 53, 30, 3), ("social.example", 242, 64, 2))
OTHER_NAMES = ("updates.example.net", "time.example.org", "login.example.com")
NXDOMAIN_NAMES = ("wpad.corp.test", "printer.lan.test", "fileserver.corp.test")


class _Client:
    """One local host and its activity over the capture."""

    def __init__(self, rng: random.Random, index: int, out: list[Packet]):
        self.rng, self.out = rng, out
        windows = rng.random() < 0.3
        self.v4 = Host(client_v4(index), 128 if windows else 64)
        self.v6 = Host(client_v6(index), 128 if windows else 64) if rng.random() < 0.35 \
            else None
        self.port = rng.randint(32_768, 60_999)
        self.pause_s = rng.uniform(3.0, 12.0)     # mean time between activities
        self.admin = rng.random() < 0.15           # opens SSH sessions

    def ephemeral(self) -> int:
        self.port += self.rng.randint(1, 4)
        if self.port > 60_999:
            self.port -= 28_232
        return self.port

    def run(self, start_us: int, end_us: int) -> None:
        rng = self.rng
        if rng.random() < 0.5:
            self.ntp(start_us + rng.randrange(end_us - start_us))
        if self.admin:
            self.ssh(start_us + rng.randrange((end_us - start_us) // 2 + 1), end_us)
        time_us = start_us + int(rng.expovariate(1 / self.pause_s) * US)
        while time_us < end_us:
            roll = rng.random()
            if roll < 0.85:
                self.browse(time_us)
            elif roll < 0.95:
                self.lookup(time_us, rng.choice(OTHER_NAMES + NXDOMAIN_NAMES), A)
            else:
                self.ntp(time_us)
            time_us += int(rng.expovariate(1 / self.pause_s) * US) + 1

    def lookup(self, time_us: int, name: str, qtype: int, v6: bool = False,
               site: int | None = None) -> int:
        rng = self.rng
        client = self.v6 if v6 and self.v6 else self.v4
        resolver = Host(DNS_RESOLVER_V6 if client.ip.version == 6 else DNS_RESOLVER, 64)
        qid = rng.getrandbits(16)
        if site is not None:
            address = site_v6(site) if qtype == AAAA else site_v4(site)
            answer = dns_response(qid, name, qtype, [address], ttl=rng.choice((60, 300, 3600)))
        elif name in NXDOMAIN_NAMES:
            answer = dns_response(qid, name, qtype, [], nxdomain=True)
        else:
            answer = dns_response(qid, name, qtype, [site_v4(50 + len(name))], ttl=300)
        cached = rng.random() < 0.6
        delay = rng.randint(150, 600) if cached else rng.randint(8_000, 60_000)
        return udp_exchange(self.out, rng, client, resolver, self.ephemeral(), 53,
                            dns_query(qid, name, qtype), answer, time_us, delay)

    def browse(self, time_us: int) -> None:
        rng = self.rng
        site = rng.choices(range(len(SITES)), weights=[s[3] for s in SITES])[0]
        name, ttl, rtt_ms, _ = SITES[site]
        v6 = self.v6 is not None and rng.random() < 0.7
        done = self.lookup(time_us, name, A, site=site)
        if self.v6 is not None:
            done = max(done, self.lookup(time_us + 90, name, AAAA, v6=v6, site=site))
        client = self.v6 if v6 else self.v4
        server = Host(site_v6(site) if v6 else site_v4(site), ttl)
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            start = done + rng.randint(200, 250_000)
            if rng.random() < 0.85:
                self.https(client, server, name, start, rtt_ms * 1000)
            else:
                self.http(client, server, name, start, rtt_ms * 1000)

    def _size(self) -> int:
        return max(200, min(400_000, int(self.rng.lognormvariate(math.log(12_000), 1.3))))

    def _session(self, client: Host, server: Host, dport: int, start: int, rtt: int):
        rtt = int(rtt * self.rng.uniform(0.9, 1.2))
        return TcpSession(self.out, self.rng, client, server, self.ephemeral(), dport, start,
                          rtt_us=rtt, rate_bps=self.rng.choice((20e6, 50e6, 100e6)))

    def _teardown(self, tcp: TcpSession) -> None:
        rng, roll = self.rng, self.rng.random()
        idle = rng.randint(50_000, 4 * US)
        if roll < 0.7:
            tcp.close(0, idle)
        elif roll < 0.85:
            tcp.close(1, idle)
        else:
            tcp.reset(0, idle)

    def https(self, client: Host, server: Host, name: str, start: int, rtt: int) -> None:
        rng = self.rng
        tcp = self._session(client, server, 443, start, rtt)
        tcp.connect()
        tcp.send(0, tls_client_hello(rng, name), acked=False)
        tcp.send(1, tls_server_hello(rng), delay_us=tcp.reply_delay(0) + rng.randint(200, 3000))
        tcp.send(0, b"\x14\x03\x03\x00\x01\x01" + tls_records(rng, 74), acked=False)
        for _ in range(rng.choice((1, 1, 2, 3, 4))):
            tcp.exchange(tls_records(rng, rng.randint(300, 1200)), tls_records(rng, self._size()),
                         think_us=rng.randint(500, 40_000))
        self._teardown(tcp)

    def http(self, client: Host, server: Host, name: str, start: int, rtt: int) -> None:
        rng = self.rng
        tcp = self._session(client, server, 80, start, rtt)
        tcp.connect()
        for _ in range(rng.choice((1, 1, 2))):
            path = rng.choice(("/", "/index.html", "/news", "/img/logo.png", "/api/v1/items"))
            tcp.exchange(http_request(rng, name, path), http_response(rng, self._size()),
                         think_us=rng.randint(500, 30_000))
        self._teardown(tcp)

    def ntp(self, time_us: int) -> None:
        rng = self.rng
        server = Host(rng.choice(NTP_SERVERS), 56)
        delay = rng.randint(15_000, 40_000)
        sport = 123 if rng.random() < 0.5 else self.ephemeral()
        udp_exchange(self.out, rng, self.v4, server, sport, 123, ntp_request(time_us),
                     ntp_response(time_us, time_us + delay // 2, time_us + delay // 2 + 30),
                     time_us, delay)

    def ssh(self, start: int, end_us: int) -> None:
        rng = self.rng
        remote = rng.random() < 0.3
        server = Host(REMOTE_SSH_SERVER, 51) if remote else Host(SSH_SERVER, 64)
        tcp = self._session(self.v4, server, 22, start, 31_000 if remote else 400)
        tcp.connect()
        tcp.send(1, SSH_SERVER_BANNER, delay_us=2_000, acked=False)
        tcp.send(0, rng.choice(SSH_CLIENT_BANNERS), delay_us=tcp.reply_delay(1), acked=False)
        tcp.send(0, ssh_binary_packet(rng, 20, rng.randint(1400, 1550)), acked=False)
        tcp.send(1, ssh_binary_packet(rng, 20, rng.randint(1000, 1100)),
                 delay_us=tcp.reply_delay(0))
        tcp.send(0, ssh_binary_packet(rng, 30, 36), acked=False)
        tcp.send(1, ssh_binary_packet(rng, 31, rng.randint(450, 600)) + ssh_encrypted(rng, 12),
                 delay_us=tcp.reply_delay(0) + 1_500)
        for length, answer in ((32, 32), (96, 48), (64, 400)):     # service, auth, session
            tcp.exchange(ssh_encrypted(rng, length), ssh_encrypted(rng, answer),
                         think_us=rng.randint(1_000, 30_000))
        stop = min(end_us + 5 * US, start + rng.randint(10, 120) * US)
        while tcp.time < stop:
            if rng.random() < 0.1:      # a command with some output
                tcp.exchange(ssh_encrypted(rng, 32), ssh_encrypted(rng, rng.randint(200, 8000)),
                             think_us=rng.randint(2_000, 200_000))
            else:                       # a keystroke and its echo
                tcp.exchange(ssh_encrypted(rng, 20), ssh_encrypted(rng, 20), think_us=300)
            tcp.time += int(rng.expovariate(1 / 0.4) * US)
        tcp.close(0, rng.randint(10_000, 500_000))


def background(rng: random.Random, start_us: int, duration_us: int,
               hosts: int) -> tuple[list[Packet], dict]:
    """The packets of `hosts` local clients, and where the background lives (for the truth)."""
    out: list[Packet] = []
    dual_stack = 0
    for index in range(hosts):
        client = _Client(random.Random(rng.getrandbits(64)), index, out)
        client.run(start_us, start_us + duration_us)
        dual_stack += client.v6 is not None
    info = {"hosts": hosts, "dual_stack_hosts": dual_stack,
            "clients": _ranges(client_v4, hosts), "clients_v6": _ranges(client_v6, hosts),
            "client_networks": _networks(hosts),
            "local_servers": [str(ip) for ip in (DNS_RESOLVER, DNS_RESOLVER_V6, SSH_SERVER)],
            "remote_servers": [str(REMOTE_SERVERS_V4), str(REMOTE_SERVERS_V6)]}
    return out, info


def _ranges(address_of, count: int) -> list[str]:
    """"FIRST-LAST" per run of consecutive client addresses (clients skip .0 and .251-.255)."""
    ranges, first = [], 0
    for index in range(1, count + 1):
        if index == count or int(address_of(index)) != int(address_of(index - 1)) + 1:
            ranges.append(f"{address_of(first)}-{address_of(index - 1)}")
            first = index
    return ranges


def _networks(count: int) -> list[str]:
    """The /24s of the IPv4 clients and the /64 of the IPv6 ones."""
    if not count:
        return []
    last = client_v4(count - 1)
    first = IPv4Address(int(client_v4(0)) & ~0xFF)
    v4 = summarize_address_range(first, IPv4Address(int(last) | 0xFF))
    return [*map(str, v4), str(ip_network(f"{client_v6(0)}/64", strict=False))]
