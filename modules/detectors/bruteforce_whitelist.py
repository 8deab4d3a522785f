"""The brute-force whitelist: flows it matches are ignored. NEMEA's file format, one rule a line:

    [src|dst] ADDRESS[/PREFIX][/PORTS]      # comment
    dst 192.30.252.128/30/22                # flows to these addresses on port 22
    src 10.0.0.5                            # flows from this address, any port
    2001:db8::/32/20-23,2222                # either direction (no keyword = src and dst)

`src` rules match SRC_IP with SRC_PORT, `dst` rules DST_IP with DST_PORT; PORTS is `a,b,c-d`.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from unirec import RecordBatch

from .prefix_set import PrefixSet, parse_network

Ports = tuple[tuple[int, int], ...]          # () = every port


def parse_ports(text: str) -> Ports:
    ranges = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        low, sep, high = item.partition("-")
        try:
            bounds = (int(low), int(high)) if sep else (int(low), int(low))
        except ValueError:
            raise ValueError(f"bad port {item!r}") from None
        if not 0 <= bounds[0] <= bounds[1] <= 65535:
            raise ValueError(f"bad port range {item!r}")
        ranges.append(bounds)
    if not ranges:
        raise ValueError(f"no ports in {text!r}")
    return tuple(sorted(ranges))


def parse_rule(line: str) -> tuple[tuple[str, ...], str, Ports]:
    """(directions, network text, ports) of one non-empty rule."""
    words = line.split()
    directions: tuple[str, ...] = ("src", "dst")
    if words[0].lower() in ("src", "dst"):
        directions, words = (words[0].lower(),), words[1:]
    if len(words) != 1:
        raise ValueError(f"expected [src|dst] ADDRESS[/PREFIX][/PORTS], got {line!r}")
    address, _, rest = words[0].partition("/")
    prefix, _, ports = rest.partition("/")
    network = f"{address}/{prefix}" if prefix else address
    parse_network(network)
    return directions, network, parse_ports(ports) if ports else ()


class Whitelist:
    def __init__(self, rules: list[tuple[tuple[str, ...], str, Ports]], source: str = ""):
        grouped: dict[tuple[str, Ports], list[str]] = defaultdict(list)
        for directions, network, ports in rules:
            for direction in directions:
                grouped[(direction, ports)].append(network)
        self.groups = [(direction, ports, PrefixSet(networks))
                       for (direction, ports), networks in grouped.items()]
        self.rules = len(rules)
        self.source = source

    @classmethod
    def load(cls, path: str | Path) -> Whitelist:
        """Parse a whitelist file; errors name the file and line."""
        rules = []
        try:
            with open(path, encoding="utf-8") as stream:
                lines = list(stream)
        except OSError as exc:
            raise ValueError(f"whitelist {path}: {exc.strerror or exc}") from None
        for number, raw in enumerate(lines, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                rules.append(parse_rule(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
        return cls(rules, str(path))

    def mask(self, batch: RecordBatch) -> np.ndarray:
        """True for the flows of the batch that a rule matches."""
        hit = np.zeros(batch.length, dtype=bool)
        for direction, ports, networks in self.groups:
            prefix = "SRC" if direction == "src" else "DST"
            inside = networks.contains(batch.column(f"{prefix}_IP"))
            if ports:
                port = batch.column(f"{prefix}_PORT")
                inside &= np.any([(port >= low) & (port <= high) for low, high in ports], axis=0)
            hit |= inside
        return hit

    def __repr__(self) -> str:
        return f"<Whitelist {self.rules} rules from {self.source or 'memory'}>"
