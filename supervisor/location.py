"""Where a configuration problem is: file, profile, module, interface, key - as one line."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path


def shown(path: Path) -> str:
    """A path as the user sees it: relative to the working directory when below it."""
    path = Path(os.path.abspath(path))
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Where:
    file: str
    profile: str | None = None
    module: str | None = None
    interface: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.profile is not None:
            parts.append(f'profile "{self.profile}"')
        if self.module is not None:
            parts.append(f'module "{self.module}"')
        if self.interface is not None:
            parts.append(f"interface {self.interface}")
        return ": ".join(parts)

    def at(self, **changes) -> Where:
        return replace(self, **changes)

    def key(self, key: str, message: str) -> str:
        return f'{self}: key "{key}": {message}'

    def say(self, message: str) -> str:
        return f"{self}: {message}"
