"""The network plan: which documentation/private addresses play which role, and their MACs.

Nothing here is a real public host: 10.0.0.0/8, the three TEST-NETs and 2001:db8::/32 only.
The capture point sees local hosts (10.0.0.0/9, 2001:db8:1::/48) with their own MAC; everything
else arrives through (or leaves towards) the router, whose MAC it carries.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

Address = IPv4Address | IPv6Address

LOCAL_NETS = (ip_network("10.0.0.0/9"), ip_network("2001:db8:1::/48"))
ROUTER_MAC = bytes.fromhex("020000fe0001")

# local servers
DNS_RESOLVER = ip_address("10.0.0.53")
DNS_RESOLVER_V6 = ip_address("2001:db8:1::53")
SSH_SERVER = ip_address("10.0.0.22")
WEB_SERVER = ip_address("10.0.0.80")
LOCAL_SERVERS = (DNS_RESOLVER, DNS_RESOLVER_V6, SSH_SERVER)

IPV6_TWINS = {DNS_RESOLVER_V6: DNS_RESOLVER}

# background clients: client i -> 10.0.{1 + i // 250}.{1 + i % 250}, dual stack ones also
# 2001:db8:1:1::{i + 1:x}
MAX_HOSTS = 25_000
CLIENT_V6_BASE = IPv6Address("2001:db8:1:1::1")

# remote (Internet) side
REMOTE_SERVERS_V4 = ip_network("198.51.100.0/24")
REMOTE_SERVERS_V6 = ip_network("2001:db8:2::/64")
NTP_SERVERS = (ip_address("198.51.100.123"), ip_address("198.51.100.124"))
REMOTE_SSH_SERVER = ip_address("198.51.100.22")
ATTACKERS_V4 = ip_network("203.0.113.0/24")
OPEN_RESOLVERS = ip_network("192.0.2.0/24")
HSCAN_TARGETS = ip_network("10.1.0.0/16")
SPOOFED_SOURCES = ip_network("10.128.0.0/9")


@dataclass(frozen=True)
class Host:
    """An address as seen at the capture point: its MAC and the TTL of its packets there."""

    ip: Address
    ttl: int = 64

    @property
    def mac(self) -> bytes:
        return mac_of(self.ip)


@functools.lru_cache(maxsize=65536)
def is_local(ip: Address) -> bool:
    return any(ip.version == net.version and ip in net for net in LOCAL_NETS)


@functools.lru_cache(maxsize=65536)
def mac_of(ip: Address) -> bytes:
    """Local hosts: 02:00 + their IPv4 address (a dual-stack host's IPv6 address has the MAC
    of its IPv4 one); remote ones: the router's MAC."""
    if not is_local(ip):
        return ROUTER_MAC
    if ip.version == 6:
        offset = int(ip) - int(CLIENT_V6_BASE)
        ip = IPV6_TWINS.get(ip) or (client_v4(offset) if 0 <= offset < MAX_HOSTS else
                                    IPv4Address(ip.packed[-4:]))
    return b"\x02\x00" + ip.packed


def client_v4(index: int) -> IPv4Address:
    return IPv4Address(int(IPv4Address("10.0.1.1")) + (index // 250) * 256 + index % 250)


def client_v6(index: int) -> IPv6Address:
    return IPv6Address(int(CLIENT_V6_BASE) + index)


def site_v4(index: int) -> IPv4Address:
    return REMOTE_SERVERS_V4[10 + index]


def site_v6(index: int) -> IPv6Address:
    return REMOTE_SERVERS_V6[0x10 + index]
