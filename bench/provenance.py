"""Which code a benchmark measured: the commit, and the measured sources changed since it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SOURCES = ("unirec/", "libtrap_py/", "modules/")


def source_commit(root: Path) -> str:
    """`abc1234`, `abc1234 + uncommitted changes in FILES` or `unknown` (no git)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], text=True, capture_output=True,
                              timeout=10, env=env).stdout

    try:
        head = git("rev-parse", "--short", "HEAD").strip()
        changed = [line[3:] for line in git("status", "--porcelain",
                                            "--untracked-files=no").splitlines()
                   if line[3:].endswith(".py") and line[3:].startswith(SOURCES)]
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return head + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")
