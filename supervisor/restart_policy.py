"""How often a crashed module may be restarted: at most `limit` automatic restarts within a
sliding window (a minute); 0 = never, 30 = unlimited (as upstream's module-restarts)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .schema import UNLIMITED_RESTARTS

WINDOW_SECONDS = 60.0


@dataclass
class RestartPolicy:
    limit: int
    window: float = WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    _times: deque = field(default_factory=deque)

    @property
    def unlimited(self) -> bool:
        return self.limit >= UNLIMITED_RESTARTS

    def recent(self) -> int:
        """Automatic restarts within the window."""
        horizon = self.clock() - self.window
        while self._times and self._times[0] <= horizon:
            self._times.popleft()
        return len(self._times)

    def may_restart(self) -> bool:
        return self.unlimited or self.recent() < self.limit

    def record(self) -> None:
        self._times.append(self.clock())

    def reset(self) -> None:
        """A user enabled or started the module again: the count starts over."""
        self._times.clear()
