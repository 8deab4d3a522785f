"""The log directory (as upstream's):

    LOGDIR/supervisor_log        the supervisor's own log
    LOGDIR/modules_events        start, restart, stop (SIGINT/SIGKILL), finish, failure, cleanup
    LOGDIR/modules_statistics    interface counters every stats-interval seconds
    LOGDIR/modules_logs/NAME_stdout, NAME_stderr   each module's output
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

LOG_FORMAT = "%(asctime)s [%(levelname)s] %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
STATISTICS_LEGEND = (
    "# name,in,<type>,<ifc id>,<received messages>,<received buffers>\n"
    "# name,out,<type>,<ifc id>,<sent messages>,<dropped messages>,<sent buffers>,"
    "<autoflushes>\n"
    "# name,cpu,<kernel %>,<user %>\n"
    "# name,mem,<VMS in MB>,<RSS in MB>\n")


@dataclass(frozen=True)
class LogLayout:
    root: Path

    @property
    def supervisor_log(self) -> Path:
        return self.root / "supervisor_log"

    @property
    def events(self) -> Path:
        return self.root / "modules_events"

    @property
    def statistics(self) -> Path:
        return self.root / "modules_statistics"

    @property
    def modules_dir(self) -> Path:
        return self.root / "modules_logs"

    def module_logs(self, name: str) -> tuple[Path, Path]:
        return self.modules_dir / f"{name}_stdout", self.modules_dir / f"{name}_stderr"

    def create(self) -> None:
        self.modules_dir.mkdir(parents=True, exist_ok=True)


def setup_logging(layout: LogLayout, foreground: bool, verbose: int = 0) -> logging.Logger:
    """The `supervisor` logger writes to supervisor_log (and stderr in the foreground); its
    child `supervisor.events` also to modules_events."""
    close_logging()
    formatter = logging.Formatter(LOG_FORMAT, DATE_FORMAT)
    log = logging.getLogger("supervisor")
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
    handlers: list[logging.Handler] = [logging.FileHandler(layout.supervisor_log)]
    if foreground:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
        log.addHandler(handler)
    events = logging.getLogger("supervisor.events")
    event_handler = logging.FileHandler(layout.events)
    event_handler.setFormatter(formatter)
    events.addHandler(event_handler)
    return log


def close_logging() -> None:
    for name in ("supervisor", "supervisor.events"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()


def append_statistics(path: Path, stats: dict[str, dict]) -> None:
    """One block of counters in upstream's modules_statistics format (legend in the file's
    first lines: the code's order, dropped before buffers)."""
    lines = [f"------> {time.ctime()}"]
    for name, module in stats.items():
        for ifc in module.get("inputs", []):
            lines.append(f"{name},in,{ifc['type']},{ifc['ID']},{ifc['messages']},"
                         f"{ifc['buffers']}")
        for ifc in module.get("outputs", []):
            lines.append(f"{name},out,{ifc['type']},{ifc['ID']},{ifc['sent-msg']},"
                         f"{ifc['drop-msg']},{ifc['buffers']},{ifc['autoflush']}")
        lines.append(f"{name},cpu,{module['CPU-s']},{module['CPU-u']}")
        lines.append(f"{name},mem,{module['MEM-vms'] // 1_000_000},"
                     f"{module['MEM-rss'] // 1_000_000}")
    new = not path.exists()
    with open(path, "a") as handle:
        if new:
            handle.write(STATISTICS_LEGEND)
        handle.write("\n".join(lines) + "\n")
