"""A closed stdout pipe (`logger -t | head`) ends a module quietly; a broken pipe anywhere
else is an error, not a silent exit 0 with records lost."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from click.testing import CliRunner

from libtrap_py.cli import module_command
from libtrap_py.module import Module
from tests.conftest import PROJECT_ROOT

from .conftest import NEMEA


def test_a_reader_that_stops_early_ends_the_logger_quietly(shared_data, tmp_path, socket_dir):
    flows = tmp_path / "flows.trapcap"
    capture = shared_data / "pcaps/bench/ndpi_mix_102k.pcap"
    subprocess.run([NEMEA, "flow_meter", "-r", str(capture), "-i", f"f:{flows}"], check=True,
                   timeout=120, cwd=PROJECT_ROOT, capture_output=True)
    logger = subprocess.Popen([NEMEA, "logger", "-i", f"f:{flows}", "-t"], cwd=PROJECT_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert logger.stdout.readline()               # the header: it runs
    logger.stdout.close()                         # `| head -1`
    _, stderr = logger.communicate(timeout=60)
    assert logger.returncode == 0, stderr
    assert stderr == b""


@dataclass
class _Params:
    pass


class _PipeBreaker(Module):
    """Writes to a pipe whose reader is gone (as a module feeding a helper process might)."""

    name = "pipe_breaker"
    inputs, outputs = 0, (1, 1)
    Params = _Params

    def produce(self) -> bool:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_broken_pipe_other_than_stdout_is_an_error(socket_dir):
    result = CliRunner().invoke(module_command(_PipeBreaker), ["-i", "b:"])
    assert result.exit_code == 1, result.output
    assert "error: pipe_breaker: [Errno 32] Broken pipe" in result.output
