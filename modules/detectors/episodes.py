"""Episodes: the open events of an aggregator, each closed a window after it opened.

The window runs in flow time (the alerts' TIME_LAST): an event opened at t closes at the first
alert at or after t + window, or at the end of the stream, so a replay gives the same events.
So that a quiet live stream still reports, an event also closes `window` of wall time after it
was opened (NEMEA's aggregators flush every window of wall time); replays of files finish long
before that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

NEVER = 1 << 62


class Episodes:
    def __init__(self, window_ns: int):
        self.window_ns = window_ns
        self.open: dict[Hashable, tuple[int, float, Any]] = {}  # key -> (flow t, wall t, event)
        self.now = 0
        self.next_due = NEVER                  # flow time at which the oldest event closes

    def event(self, key: Hashable, time_ns: int, new: Callable[[], Any]) -> Any:
        """The open event of `key`, created by `new()` when there is none."""
        entry = self.open.get(key)
        if entry is None:
            entry = self.open[key] = (time_ns, time.monotonic(), new())
            self.next_due = min(self.next_due, time_ns + self.window_ns)
        return entry[2]

    def advance(self, time_ns: int) -> list:
        """Move flow time on; return (and forget) the events whose window has passed."""
        self.now = max(self.now, time_ns)
        if self.now < self.next_due:
            return []
        return self._close(lambda opened, _: opened + self.window_ns <= self.now)

    def expire_wall(self, wall: float | None = None) -> list:
        """The events opened at least a window of wall time ago (call it from on_tick)."""
        wall = time.monotonic() if wall is None else wall
        return self._close(lambda _, received: received + self.window_ns / 1e9 <= wall)

    def drain(self) -> list:
        """All open events (end of stream), oldest first."""
        events = [entry[2] for entry in self.open.values()]
        self.open.clear()
        self.next_due = NEVER
        return events

    def _close(self, due: Callable[[int, float], bool]) -> list:
        keys = [key for key, (opened, received, _) in self.open.items() if due(opened, received)]
        events = [self.open.pop(key)[2] for key in keys]
        oldest = min((opened for opened, _, _ in self.open.values()), default=None)
        self.next_due = NEVER if oldest is None else oldest + self.window_ns
        return events

    def __len__(self) -> int:
        return len(self.open)
