"""What the supervisor knows about each module while it runs: status, process, restarts."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .model import ModuleConfig
from .process import ModuleProcess, describe_exit
from .resources import CpuSampler
from .restart_policy import RestartPolicy


class Status(enum.Enum):
    STOPPED = "stopped"        # never started, stopped on request, or about to be restarted
    RUNNING = "running"
    FINISHED = "finished"      # ended by itself with exit code 0 (EOF): not restarted
    FAILED = "failed"          # crashed too often or could not be executed: disabled


@dataclass
class ModuleRuntime:
    config: ModuleConfig
    enabled: bool
    policy: RestartPolicy
    status: Status = Status.STOPPED
    process: ModuleProcess | None = None
    last_pid: int = 0
    last_exit: int | None = None       # Popen returncode of the last instance
    crashed: bool = False              # ended unexpectedly; restart due on the next cycle
    failure: str = ""                  # why it is failed
    starts: int = 0
    restarts: int = 0                  # automatic restarts, in total
    started_at: float | None = None    # wall clock of the current/last start
    cpu: CpuSampler = field(default_factory=CpuSampler)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def running(self) -> bool:
        return self.process is not None

    @property
    def exit_text(self) -> str:
        return "" if self.last_exit is None else describe_exit(self.last_exit)

    def clear_end_state(self) -> None:
        """A user starts or enables it again: forget finished/failed and the restart count."""
        if self.status in (Status.FINISHED, Status.FAILED):
            self.status = Status.STOPPED
        self.crashed = False
        self.failure = ""
        self.policy.reset()
