"""UDP services abused for reflection/amplification, by server port, and the `-p` option's syntax.

The table follows the usual public lists (US-CERT TA14-017A, Shadowserver scans, DDoS capture
collections); a flow *from* one of these ports to a client is a response, one *to* it a request.
"""

from __future__ import annotations

import numpy as np

AMPLIFIERS: dict[int, str] = {
    17: "QOTD", 19: "CharGEN", 53: "DNS", 69: "TFTP", 111: "Portmap", 123: "NTP",
    137: "NetBIOS", 161: "SNMP", 389: "CLDAP", 427: "SLP", 500: "ISAKMP", 520: "RIPv1",
    623: "IPMI", 1194: "OpenVPN", 1434: "MS-SQL", 1900: "SSDP", 3283: "ARD", 3389: "RDP",
    3702: "WS-Discovery", 4500: "ISAKMP", 5060: "SIP", 5351: "NAT-PMP", 5353: "mDNS",
    5683: "CoAP", 10001: "Ubiquiti", 10074: "Mitel", 11211: "Memcached", 17185: "VxWorks",
    32414: "Plex", 33848: "Jenkins", 37810: "DHDiscover", 47808: "BACnet",
}
KNOWN = "known"


def parse_ports(text: str) -> tuple[int, ...]:
    """`53`, `53,123`, `known` (every port of AMPLIFIERS) or a mix (`known,9999`)."""
    ports: set[int] = set()
    for word in str(text).replace(" ", "").split(","):
        if not word:
            continue
        if word.lower() == KNOWN:
            ports.update(AMPLIFIERS)
            continue
        try:
            port = int(word)
        except ValueError:
            raise ValueError(f"-p {text}: {word!r} is not a port number or '{KNOWN}'") from None
        if not 1 <= port <= 65535:
            raise ValueError(f"-p {text}: port {port} outside 1..65535")
        ports.add(port)
    if not ports:
        raise ValueError(f"-p {text}: no port given")
    return tuple(sorted(ports))


def port_table(ports) -> np.ndarray:
    """A 65536-entry lookup: index of the port in `ports` + 1, or 0 (vectorised membership)."""
    table = np.zeros(65536, dtype=np.int32)
    for position, port in enumerate(ports):
        table[port] = position + 1
    return table


def service_name(port: int) -> str:
    return AMPLIFIERS.get(port, f"UDP/{port}")
