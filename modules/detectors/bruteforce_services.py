"""The services bruteforce_detector watches: a port and the packet/byte windows of a flow that
looks like one failed login, per direction (INC: attacker -> service, OUT: service -> attacker).

SSH, RDP and Telnet windows are NEMEA's defaults; FTP's fit a USER/PASS/QUIT exchange (one or a
few attempts per connection). `--service NAME:PORT[:INC_PKTS:INC_BYTES[:OUT_PKTS:OUT_BYTES]]`
adds one: a known NAME without windows reuses that service's windows on another port
(`ssh:2222`); ranges are `MIN-MAX`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Window:
    """A flow matches when its packets and bytes are both within [min, max]."""

    min_packets: int
    max_packets: int
    min_bytes: int
    max_bytes: int

    def matches(self, packets: np.ndarray, octets: np.ndarray) -> np.ndarray:
        return ((packets >= self.min_packets) & (packets <= self.max_packets)
                & (octets >= self.min_bytes) & (octets <= self.max_bytes))


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    inc: Window | None          # attacker -> service (DST_PORT = port)
    out: Window | None          # service -> attacker (SRC_PORT = port); None: never matches

    def matches(self, packets: np.ndarray, octets: np.ndarray,
                incoming: np.ndarray) -> np.ndarray:
        """Per flow: within the window of its direction (incoming: the INC one)."""
        no = np.zeros(len(packets), dtype=bool)
        inc = self.inc.matches(packets, octets) if self.inc else no
        out = self.out.matches(packets, octets) if self.out else no
        return np.where(incoming, inc, out)


BUILTIN: dict[str, Service] = {
    "ssh": Service("ssh", 22, Window(11, 30, 1000, 5000), Window(11, 50, 1000, 11000)),
    "rdp": Service("rdp", 3389, Window(20, 100, 2200, 8001), Window(30, 190, 3000, 180000)),
    "telnet": Service("telnet", 23, Window(9, 50, 450, 3000), None),
    "ftp": Service("ftp", 21, Window(5, 40, 150, 3000), Window(5, 50, 200, 6000)),
}


def _range(text: str, what: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    try:
        bounds = (int(low), int(high)) if sep else (int(low), int(low))
    except ValueError:
        raise ValueError(f"{what} {text!r}: expected MIN-MAX") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise ValueError(f"{what} {text!r}: need 0 <= MIN <= MAX")
    return bounds


def _window(packets: str, octets: str, what: str) -> Window:
    return Window(*_range(packets, f"{what} packets"), *_range(octets, f"{what} bytes"))


def parse_service(text: str) -> Service:
    """`NAME:PORT[:INC_PKTS:INC_BYTES[:OUT_PKTS:OUT_BYTES]]`, e.g. `ssh:2222` or
    `imap:143:6-40:300-4000`."""
    parts = text.split(":")
    where = f"--service {text!r}"
    if len(parts) not in (2, 4, 6) or not parts[0]:
        raise ValueError(f"{where}: expected NAME:PORT[:INC_PKTS:INC_BYTES"
                         "[:OUT_PKTS:OUT_BYTES]]")
    name = parts[0].lower()
    try:
        port = int(parts[1])
    except ValueError:
        raise ValueError(f"{where}: port {parts[1]!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{where}: port {port} out of range 1..65535")
    if len(parts) == 2:
        known = BUILTIN.get(name)
        if known is None:
            raise ValueError(f"{where}: unknown service {name!r} needs its packet and byte "
                             f"ranges (known: {', '.join(BUILTIN)})")
        return replace(known, port=port)
    try:
        inc = _window(parts[2], parts[3], "incoming")
        out = _window(parts[4], parts[5], "outgoing") if len(parts) == 6 else None
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return Service(name, port, inc, out)
