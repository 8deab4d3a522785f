"""Flood classes of flows for ddos_detector, decided per batch with numpy.

A flow counts towards a flood by what it looks like on its own, in its forward direction (so
biflows and uniflows are classified alike):

| class          | flows                                                           | reply |
|----------------|-----------------------------------------------------------------|-------|
| SYN            | TCP with SYN and without ACK: a handshake never completed       |       |
| SYN-ACK        | TCP SYN+ACK, no PSH/FIN, <= 3 packets (reflected handshakes)    | yes   |
| RST            | TCP RST without SYN, <= 3 packets                               | yes   |
| TCP            | other TCP without SYN, <= 2 packets (ACK/PSH floods)            |       |
| amplification  | UDP from a known amplifier port to a non-amplifier port         | yes   |
| UDP            | other UDP, <= 3 packets                                         |       |
| ICMP           | ICMP, ICMPv6                                                    |       |
| IP             | other protocols, <= 3 packets                                   |       |

A *reply* class is not counted when the victim itself sent the request to that peer (a SYN, a
UDP packet to the amplifier port): a scanner's SYN-ACKs and a resolver's answers are solicited.
Complete TCP connections and long UDP conversations are not flood-class at all.
"""

from __future__ import annotations

import numpy as np

from .amplification_ports import AMPLIFIERS, port_table, service_name
from .flow_columns import ACK, FIN, PSH, RST, SYN

SYN_C, SYNACK_C, RST_C, TCP_C, AMP_C, UDP_C, ICMP_C, IP_C = range(8)
CLASSES = 8
NONE = 255
REPLY_CLASSES = (SYNACK_C, RST_C, AMP_C)
ATTACK_NAMES = {SYN_C: "SYN flood", SYNACK_C: "SYN-ACK reflection", RST_C: "RST flood",
                TCP_C: "TCP flood", UDP_C: "UDP flood", ICMP_C: "ICMP flood"}
CLASS_LABELS = ("SYN", "SYN-ACK", "RST", "TCP", "AMP", "UDP", "ICMP", "IP")
AMP_TABLE = port_table(sorted(AMPLIFIERS))


def classify(proto: np.ndarray, flags: np.ndarray | None, packets: np.ndarray,
             sport: np.ndarray, dport: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class per flow, NONE for flows that are no flood material; request mask: flows that
    solicit a reply class from their destination)."""
    if flags is None:
        flags = np.zeros(len(proto), dtype=np.uint8)
    tcp, udp = proto == 6, proto == 17
    icmp = (proto == 1) | (proto == 58)
    syn, ack = (flags & SYN) != 0, (flags & ACK) != 0
    small3, small2 = packets <= 3, packets <= 2
    cls = np.full(len(proto), NONE, dtype=np.uint8)
    amp_from = AMP_TABLE[sport] > 0
    amp_to = AMP_TABLE[dport] > 0
    rules = (
        (IP_C, ~tcp & ~udp & ~icmp & small3),
        (ICMP_C, icmp),
        (UDP_C, udp & small3),
        (AMP_C, udp & amp_from & ~amp_to),
        (TCP_C, tcp & ~syn & small2),
        (RST_C, tcp & ((flags & RST) != 0) & ~syn & small3),
        (SYNACK_C, tcp & syn & ack & ((flags & (PSH | FIN)) == 0) & small3),
        (SYN_C, tcp & syn & ~ack),
    )
    for number, mask in rules:          # later rules win
        cls[mask] = number
    request = (tcp & syn & ~ack) | (udp & amp_to)
    return cls, request


def attack_name(classes: np.ndarray, sport: int) -> str:
    dominant = int(np.argmax(classes))
    if dominant == AMP_C:
        return f"{service_name(sport)} amplification"
    if dominant == IP_C:
        return "IP flood"
    return ATTACK_NAMES[dominant]


def class_note(classes: np.ndarray) -> str:
    total = classes.sum() or 1.0
    parts = [f"{CLASS_LABELS[i]} {100 * v / total:.0f}%" for i, v in enumerate(classes.tolist())
             if v / total >= 0.01]
    return ", ".join(parts)
