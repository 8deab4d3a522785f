"""The any-port rule of bruteforce_detector: password guessing on a TCP port that no service rule
watches (SSH moved to 902 or 2222, a login on a custom service).

Without a known port there are no per-service packet and byte windows, so the rule asks for two
signs that, together, set a login-guessing tool apart from ordinary repeated connections:

* Each connection is one *attempt*: a complete TCP dialogue (SYN, ACK and PSH in both directions
  of the biflow) of 4-50 packets and at most 11,000 bytes each way (one login exchange; NEMEA's
  widest SSH window), in which the server answered about as much as the client said: neither
  direction's bytes exceed `--any-balance` (2) times the other's. A refused login is prompts and
  refusals; a download (a web page, C&C instructions, a TLS certificate chain) or an upload is
  not balanced.
* The attempts come in a burst: `--any-attempts` (50) from one client to one server port within
  `--any-window` (60 s) of flow time, i.e. tool speed, faster than a person or a beacon timer;
  beyond 50 connections they must also be `-x` (90 %) of the client's connections to that port.

On the reference captures (flow_meter biflows): nmap's ssh-brute against SSH on port 902 makes
65 attempts in 13 s with server/client bytes 0.77-1.16, so it is reported; a C&C beacon to port
443 makes 297 connections, one every 2.2 s (at most 28 in any 60 s), with server/client bytes
2.57-3.26, so it fails both signs. Slower guessing (hydra/medusa on SSH: 12-33 attempts a
minute, balance 1.42-1.84) is left to the port rules; on another port it needs
`-s ssh:PORT` or a lower `--any-attempts`.

The rule needs biflows (PACKETS_REV, BYTES_REV, TCP_FLAGS_REV); on uniflow input it is off.
"""

from __future__ import annotations

import numpy as np

from unirec import RecordBatch, Template

from .bruteforce_services import Window
from .flow_columns import ACK, PSH, SYN

NAME = "any-port"                         # the SERVICE of its reports
REVERSE_FIELDS = ("PACKETS_REV", "BYTES_REV", "TCP_FLAGS_REV")
ATTEMPT = Window(4, 50, 0, 11_000)        # each direction of one attempt
DIALOGUE = SYN | ACK | PSH


def has_reverse(template: Template) -> bool:
    """Whether the flows are biflows the rule can judge."""
    return all(name in template.index for name in REVERSE_FIELDS)


def candidates(batch: RecordBatch, relevant: np.ndarray, watched: list[int]) -> np.ndarray:
    """The relevant flows on ports the service rules leave to this one."""
    ports = np.asarray(watched, dtype=np.int64)
    return relevant & ~np.isin(batch.column("DST_PORT"), ports) \
        & ~np.isin(batch.column("SRC_PORT"), ports)


def attempts(batch: RecordBatch, rows: np.ndarray, balance: float) -> np.ndarray:
    """Per row: whether the flow looks like one login attempt (see the module docstring)."""
    packets, octets = batch.column("PACKETS")[rows], batch.column("BYTES")[rows]
    packets_rev, octets_rev = batch.column("PACKETS_REV")[rows], batch.column("BYTES_REV")[rows]
    flags, flags_rev = batch.column("TCP_FLAGS")[rows], batch.column("TCP_FLAGS_REV")[rows]
    sent, answered = octets.astype(np.float64), octets_rev.astype(np.float64)
    return (((flags & DIALOGUE) == DIALOGUE) & ((flags_rev & DIALOGUE) == DIALOGUE)
            & ATTEMPT.matches(packets, octets) & ATTEMPT.matches(packets_rev, octets_rev)
            & (answered <= balance * sent) & (sent <= balance * answered))
