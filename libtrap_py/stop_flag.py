"""The process-wide stop request (set by SIGINT/SIGTERM); blocking loops check it."""

from __future__ import annotations

from .errors import Terminated


class StopFlag:
    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def check(self, where: str) -> None:
        if self._set:
            raise Terminated(f"{where}: stopped by signal")


STOP = StopFlag()
