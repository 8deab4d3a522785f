"""`b:` output: takes everything, keeps nothing; every send counts as sent."""

from __future__ import annotations

from .formats import DataFormat
from .output_base import OutputInterface


class BlackholeOutput(OutputInterface):
    def _announce(self, fmt: DataFormat) -> None:
        pass

    def _deliver(self, payload: bytes, count: int) -> int:
        return count

    def _deliver_eof(self, wait_for_reader: bool) -> None:
        pass

    def _finish(self, grace: float) -> None:
        pass

    @property
    def num_clients(self) -> int:
        return 0
