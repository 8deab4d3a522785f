"""A validated configuration: settings, profiles and modules as frozen dataclasses."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    module_restarts: int
    log_dir: Path
    socket: Path
    pid_file: Path
    trap_socket_dir: Path
    nemea: str                     # resolved nemea executable ("" when not found)
    cycle: float
    stop_timeout: float
    stats_interval: float
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ModuleConfig:
    name: str
    profile: str
    enabled: bool
    kind: str                      # "module" (run as `nemea TARGET`) or "path"
    target: str                    # the nemea module name, or the path as written
    executable: str                # resolved path of what is executed
    params: tuple[str, ...]
    inputs: tuple[str, ...]        # interface specifiers, inputs first ...
    outputs: tuple[str, ...]       # ... then outputs, as given to -i
    restarts: int                  # effective max restarts per minute
    env: tuple[tuple[str, str], ...]   # merged: [supervisor] env, module env, TRAP_SOCKET_DIR
    source: str                    # file the module was defined in

    @property
    def ifc_spec(self) -> str:
        return ",".join(self.inputs + self.outputs)

    @property
    def argv(self) -> tuple[str, ...]:
        """argv[0] is the module's name, as upstream; then `-i` last."""
        head = (self.name, self.target) if self.kind == "module" else (self.name,)
        ifc = ("-i", self.ifc_spec) if self.ifc_spec else ()
        return (*head, *self.params, *ifc)

    @property
    def command_line(self) -> str:
        return shlex.join([self.executable, *self.argv[1:]])

    def launch_key(self) -> tuple:
        """What the running process depends on: a change means a restart on reload."""
        return self.executable, self.argv, self.env


@dataclass(frozen=True)
class ProfileConfig:
    name: str
    enabled: bool
    modules: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Config:
    path: Path
    settings: Settings
    profiles: tuple[ProfileConfig, ...]
    modules: tuple[ModuleConfig, ...]          # in configuration order (the status index)
    warnings: tuple[str, ...] = ()
    files: tuple[Path, ...] = field(default=(), compare=False)

    def module(self, name: str) -> ModuleConfig | None:
        return next((m for m in self.modules if m.name == name), None)

    def profile(self, name: str) -> ProfileConfig | None:
        return next((p for p in self.profiles if p.name == name), None)
