"""keep_freed_memory: memory freed by one chunk is reused by the next, not faulted in again
(each case in a fresh process: the tuning is process-wide)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# twenty 1 MiB blocks allocated and freed, twice: the minor page faults of the second round
ROUNDS = """
import resource, sys
import numpy as np
from modules.flow_meter.malloc_tuning import keep_freed_memory
if sys.argv[1] == "tuned":
    assert keep_freed_memory()
def chunk():
    blocks = [np.ones(1 << 20, dtype=np.uint8) for _ in range(20)]
    del blocks
chunk()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
chunk()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def second_round_faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", ROUNDS, mode], capture_output=True,
                          text=True, timeout=60, check=True)
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_the_second_chunk_reuses_the_pages_of_the_first():
    assert second_round_faults("default") > 2000     # 20 MiB faulted in again
    assert second_round_faults("tuned") < 500
