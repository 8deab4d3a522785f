"""The scenario table (name -> background + placed attacks) and the generation of a capture
with its ground truth. Deterministic: every random choice comes from random.Random seeded by
(seed, part), so a seed gives the same bytes on every run."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .addresses import MAX_HOSTS
from .attacks import ATTACKS
from .background import background
from .packets import Packet
from .truth import iso, packet_stats, parse_time, with_counts
from .writer import time_ordered

DEFAULT_START = "2024-01-15T10:00:00Z"
MAX_DURATION = 86_400.0
MAX_SCALE = 50.0


@dataclass(frozen=True)
class Placement:
    kind: str
    at: float                 # start, as a fraction of the capture duration
    span: float               # length, as a fraction of the capture duration
    size: int | None = None   # None: the kind's default size (then times --scale)


@dataclass(frozen=True)
class Scenario:
    description: str
    attacks: tuple[Placement, ...] = ()
    duration: float = 60.0
    hosts: int = 20


ALL_ATTACKS = (Placement("vscan", 0.10, 0.10), Placement("hscan", 0.25, 0.15),
               Placement("ssh_bruteforce", 0.15, 0.70), Placement("dns_amplification", 0.45, 0.15),
               Placement("syn_flood", 0.65, 0.10))

SCENARIOS: dict[str, Scenario] = {
    "background": Scenario("benign traffic only: web/HTTPS, DNS, SSH, NTP"),
    "vscan": Scenario("background + a vertical SYN scan (1000 ports of one host)",
                      (Placement("vscan", 0.30, 0.10),)),
    "hscan": Scenario("background + a horizontal scan (port 23 or 445 on 500 addresses)",
                      (Placement("hscan", 0.30, 0.15),)),
    "ssh_bruteforce": Scenario("background + an SSH brute force (100 short sessions)",
                               (Placement("ssh_bruteforce", 0.15, 0.70),)),
    "dns_amplification": Scenario("background + a DNS amplification (1000 unsolicited "
                                  "~3000-byte fragmented answers from open resolvers)",
                                  (Placement("dns_amplification", 0.40, 0.15),)),
    "syn_flood": Scenario("background + a spoofed SYN flood (20000 SYNs in 6 s)",
                          (Placement("syn_flood", 0.50, 0.10),)),
    "mixed": Scenario("background + every attack above", ALL_ATTACKS),
    "demo": Scenario("small mixed capture for a quick demo (a few thousand packets)",
                     (Placement("vscan", 0.10, 0.15, 300), Placement("hscan", 0.30, 0.15, 100),
                      Placement("ssh_bruteforce", 0.15, 0.70, 20),
                      Placement("dns_amplification", 0.50, 0.15, 100),
                      Placement("syn_flood", 0.70, 0.10, 1000)),
                     duration=20.0, hosts=6),
}


@dataclass
class Capture:
    packets: list[Packet]                  # in time order
    truth: dict = field(default_factory=dict)


def check_options(name: str, duration: float | None, hosts: int | None, scale: float) -> None:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    if duration is not None and not 0 < duration <= MAX_DURATION:
        raise ValueError(f"--duration {duration:g}: must be > 0 and <= {MAX_DURATION:g} s")
    if hosts is not None and not 0 <= hosts <= MAX_HOSTS:
        raise ValueError(f"--hosts {hosts}: must be 0..{MAX_HOSTS}")
    if not 0 < scale <= MAX_SCALE:
        raise ValueError(f"--scale {scale:g}: must be > 0 and <= {MAX_SCALE:g}")


def generate(name: str, seed: int = 1, start: str = DEFAULT_START,
             duration: float | None = None, hosts: int | None = None,
             scale: float = 1.0) -> Capture:
    """Build scenario `name`: packets in time order inside [start, start + duration), and
    the ground truth. Raises ValueError on bad options."""
    check_options(name, duration, hosts, scale)
    try:
        start_us = parse_time(start)
    except ValueError:
        raise ValueError(f"--start {start!r}: expected an ISO time like {DEFAULT_START}") \
            from None
    scenario = SCENARIOS[name]
    duration = scenario.duration if duration is None else duration
    hosts = scenario.hosts if hosts is None else hosts
    duration_us = round(duration * 1_000_000)
    end_us = start_us + duration_us

    packets, info = background(random.Random(f"trafficgen/{seed}/background"), start_us,
                               duration_us, hosts)
    attacks = []
    for placement in scenario.attacks:
        kind = ATTACKS[placement.kind]
        tag = placement.kind
        if any(attack["id"] == tag for attack in attacks):
            tag = f"{tag}-{len(attacks) + 1}"
        size = max(1, round((placement.size or kind.size) * scale))
        built, description = kind.build(random.Random(f"trafficgen/{seed}/{tag}"),
                                        start_us + round(placement.at * duration_us),
                                        round(placement.span * duration_us), size, tag)
        packets += built
        attacks.append({"id": tag, "type": placement.kind, "size": size, "unit": kind.unit,
                        **description})

    packets = time_ordered([packet for packet in packets if start_us <= packet.time_us < end_us])
    stats = packet_stats(packets)
    truth = {
        "generator": "pynemea trafficgen", "scenario": name, "seed": seed,
        "start": iso(start_us), "end": iso(end_us), "duration": duration, "scale": scale,
        "packets": len(packets), "bytes": sum(len(packet.frame) for packet in packets),
        "attacks": [with_counts(attack, stats.get(attack["id"])) for attack in attacks],
        "background": with_counts(info, stats.get("")),
    }
    return Capture(packets, truth)
