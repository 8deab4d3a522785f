"""CPU and memory of a process from /proc: user and kernel CPU % over the last sample period,
resident and virtual memory."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Usage:
    user_seconds: float
    kernel_seconds: float
    rss_bytes: int
    vms_bytes: int


def read_usage(pid: int) -> Usage | None:
    """None when the process is gone (or /proc is not there)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()   # after "pid (comm)": field 3 is fields[0]
    try:
        return Usage(int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS,
                     int(fields[21]) * PAGE_SIZE, int(fields[20]))
    except (IndexError, ValueError):
        return None


@dataclass
class CpuSampler:
    """Call `sample()` once a cycle; `user_percent` / `kernel_percent` cover the time since
    the previous sample."""

    pid: int = 0
    user_percent: float = 0.0
    kernel_percent: float = 0.0
    rss_bytes: int = 0
    vms_bytes: int = 0
    _last: tuple[float, Usage] | None = None

    def sample(self, pid: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if pid != self.pid:
            self.pid, self._last = pid, None
            self.user_percent = self.kernel_percent = 0.0
        usage = read_usage(pid)
        if usage is None:
            return
        self.rss_bytes, self.vms_bytes = usage.rss_bytes, usage.vms_bytes
        if self._last is not None and now > self._last[0]:
            elapsed = now - self._last[0]
            previous = self._last[1]
            self.user_percent = max(0.0, usage.user_seconds - previous.user_seconds) \
                / elapsed * 100
            self.kernel_percent = max(0.0, usage.kernel_seconds - previous.kernel_seconds) \
                / elapsed * 100
        self._last = (now, usage)
