"""One attacker of one service port as bruteforce_detector keeps it: its recent flows per
direction (0 incoming: attacker -> service, 1 outgoing: service -> attacker), whether an attack
of it is going on, and the matched flows its next report carries."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

LIST_CAPACITY, LIST_THRESHOLD = 1000, 50
NEVER = 1 << 62


@dataclass(frozen=True)
class Limits:
    """When the flows of a host make an attack, and how long they are remembered (ns)."""

    threshold: int      # matched flows (one direction) of a list of at most LIST_THRESHOLD
    ratio: float        # beyond LIST_THRESHOLD flows: the matched share of the list
    keep_ns: int        # a flow stays in the list this long after it ended
    forget_ns: int      # a host without an attack is dropped after this long without flows
    lazy: bool = False  # a host is made by its first matched flow (the flows before are not kept)


class Tally:
    """Matched flows since the last report: per direction, their time span and victims."""

    __slots__ = ("first", "last", "matched", "victims")

    def __init__(self) -> None:
        self.matched = [0, 0]
        self.first, self.last = NEVER, 0
        self.victims: tuple[Counter, Counter] = (Counter(), Counter())

    def add(self, direction: int, first: int, last: int, victim: bytes) -> None:
        self.matched[direction] += 1
        self.victims[direction][victim] += 1
        self.first, self.last = min(self.first, first), max(self.last, last)

    @property
    def scale(self) -> int:
        """Attempts: a uniflow attempt is matched in both directions, so the larger count."""
        return max(self.matched)


class Host:
    __slots__ = ("attacked", "attacker", "checked", "flows", "last_check", "last_seen",
                 "limits", "matched", "port", "service", "tally", "total")

    def __init__(self, attacker: bytes, service: str, port: int, limits: Limits) -> None:
        self.attacker, self.service, self.port, self.limits = attacker, service, port, limits
        self.flows: tuple[deque, deque] = (deque(), deque())   # (first, last, matched, victim)
        self.matched = [0, 0]                                   # in the lists
        self.attacked = False
        self.last_seen = self.last_check = 0
        self.checked, self.total = [0, 0], [0, 0]   # matched and all flows since last_check
        self.tally: Tally | None = None             # an attack's (most hosts have none)

    def add(self, direction: int, matched: bool, first: int, last: int, victim: bytes,
            now: int) -> bool:
        """Record a flow at flow time `now`; True when it starts an attack."""
        flows = self.flows[direction]
        horizon = now - self.limits.keep_ns
        while flows and (len(flows) >= LIST_CAPACITY or flows[0][1] < horizon):
            self.matched[direction] -= flows.popleft()[2]
        flows.append((first, last, matched, victim))
        self.last_seen = max(self.last_seen, last)
        self.matched[direction] += matched
        if self.attacked:
            self.total[direction] += 1
            if matched:
                self.checked[direction] += 1
                self.tally.add(direction, first, last, victim)
            return False
        if not matched:
            return False
        count, listed = self.matched[direction], len(flows)
        return count >= (self.limits.threshold if listed <= LIST_THRESHOLD
                         else self.limits.ratio * listed)

    def start_attack(self, now: int) -> None:
        """The attack's first tally: every matched flow of the lists."""
        self.attacked = True
        self.tally = Tally()
        for direction, flows in enumerate(self.flows):
            for first, last, matched, victim in flows:
                if matched:
                    self.tally.add(direction, first, last, victim)
        self.next_period(now)

    def next_period(self, now: int) -> None:
        """Start counting the flows of the next check."""
        self.last_check = now
        self.checked, self.total = [0, 0], [0, 0]

    def end_attack(self) -> None:
        self.attacked = False
        self.flows[0].clear(), self.flows[1].clear()
        self.matched = [0, 0]
