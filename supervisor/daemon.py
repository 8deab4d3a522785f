"""The supervisor process: one thread, one loop. It waits on the control socket and on a
signal wake-up socket; every `cycle` seconds the engine reaps, samples and restarts.

SIGTERM and SIGINT stop every module and end the supervisor; SIGHUP reloads the configuration;
SIGCHLD updates the status at once (restarts happen on the next cycle)."""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import socket
import sys
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from . import handlers, module_stats
from .control_server import ControlServer
from .engine import Engine
from .errors import ConfigError, ControlError, SupervisorError
from .logs import LogLayout, append_statistics, close_logging, setup_logging
from .model import Config
from .protocol import ErrorCode
from .validate import load_config

log = logging.getLogger("supervisor")
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)
FIXED_SETTINGS = (("log_dir", "log-dir"), ("socket", "socket"), ("pid_file", "pid-file"))


class Daemon:
    def __init__(self, config: Config, overrides: dict[str, Any] | None = None,
                 foreground: bool = True, verbose: int = 0):
        self.config_path = config.path
        self.overrides = dict(overrides or {})
        self.settings = config.settings
        self.foreground = foreground
        self.verbose = verbose
        self.layout = LogLayout(config.settings.log_dir)
        self.engine = Engine(config, self.layout)
        self.selector = selectors.DefaultSelector()
        self.server = ControlServer(config.settings.socket,
                                    lambda request: handlers.dispatch(self, request),
                                    self.selector)
        self.started = time.time()
        self._quit = False
        self._pending: list[int] = []
        self._wake_r, self._wake_w = socket.socketpair()
        self._previous_handlers: dict[int, Any] = {}
        self._pid_written = False

    # --- set-up and tear-down -------------------------------------------------------------
    def open(self) -> None:
        """Log directory, pid file, control socket, signals. Raises SupervisorError."""
        try:
            self.layout.create()
            self.settings.trap_socket_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SupervisorError(f"cannot create {exc.filename}: {exc.strerror}") from None
        setup_logging(self.layout, self.foreground, self.verbose)
        os.environ["TRAP_SOCKET_DIR"] = str(self.settings.trap_socket_dir)
        self._write_pid_file()
        try:
            self.server.open()
        except SupervisorError:
            self._remove_pid_file()
            raise
        for warning in self.engine.config.warnings:
            log.warning("%s", warning)
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, self._drain_wakeup)
        signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        for sig in HANDLED_SIGNALS:
            self._previous_handlers[sig] = signal.signal(sig, self._on_signal)

    def close(self) -> None:
        self.server.close()
        signal.set_wakeup_fd(-1)
        for sig, handler in self._previous_handlers.items():
            signal.signal(sig, handler)
        self._previous_handlers.clear()
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self._wake_r)
        self._wake_r.close()
        self._wake_w.close()
        self._remove_pid_file()

    def _write_pid_file(self) -> None:
        path = self.settings.pid_file
        path.parent.mkdir(parents=True, exist_ok=True)
        other = read_pid_file(path)
        if other and other != os.getpid() and pid_alive(other):
            raise SupervisorError(f"a supervisor is already running: pid {other} "
                                  f"(pid file {path})")
        path.write_text(f"{os.getpid()}\n")
        self._pid_written = True

    def _remove_pid_file(self) -> None:
        if self._pid_written and read_pid_file(self.settings.pid_file) == os.getpid():
            with contextlib.suppress(OSError):
                self.settings.pid_file.unlink()
        self._pid_written = False

    # --- the loop -------------------------------------------------------------------------
    def run(self, ready=None) -> int:
        modules = self.engine.runtimes
        log.info("supervisor %d started: %d module(s) in %d profile(s) from %s; control "
                 "socket %s; logs in %s", os.getpid(), len(modules),
                 len(self.engine.config.profiles), self.config_path, self.settings.socket,
                 self.layout.root)
        now = time.monotonic()
        next_stats = now + self.engine.config.settings.stats_interval
        next_cycle = now
        try:
            if ready is not None:
                ready()
            while not self._quit:
                now = time.monotonic()
                if now >= next_cycle:
                    self.engine.cycle(now)
                    next_cycle = now + self.engine.config.settings.cycle
                    interval = self.engine.config.settings.stats_interval
                    if interval and now >= next_stats:
                        self.write_statistics()
                        next_stats = now + interval
                timeout = max(0.0, next_cycle - time.monotonic())
                for key, mask in self.selector.select(timeout):
                    key.data(key.fileobj, mask)
                self._handle_signals()
        finally:
            self.engine.stop_all("supervisor exit")
            log.info("supervisor %d stopped", os.getpid())
            self.close()
            close_logging()
        return 0

    def request_shutdown(self) -> None:
        self._quit = True

    def _on_signal(self, sig: int, frame: Any) -> None:
        self._pending.append(sig)

    def _drain_wakeup(self, sock: socket.socket, mask: int) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while sock.recv(512):
                pass

    def _handle_signals(self) -> None:
        pending, self._pending = self._pending, []
        for sig in pending:
            if sig in (signal.SIGTERM, signal.SIGINT):
                log.info("%s received: stopping every module", signal.Signals(sig).name)
                self._quit = True
            elif sig == signal.SIGHUP:
                with contextlib.suppress(ControlError):
                    self.reload()
            elif sig == signal.SIGCHLD:
                self.engine.reap()

    # --- operations used by the handlers ----------------------------------------------------
    def reload(self) -> dict:
        try:
            new = load_config(self.config_path, self.overrides)
        except ConfigError as exc:
            for error in exc.errors:
                log.error("reload: %s", error)
            log.error("reload: configuration invalid, nothing changed")
            raise ControlError(ErrorCode.INVALID_CONFIG, "\n".join(exc.errors)) from None
        warnings = list(new.warnings)
        kept = {}
        for field, key in FIXED_SETTINGS:
            if getattr(new.settings, field) != getattr(self.settings, field):
                warnings.append(f"{new.path}: [supervisor]: key \"{key}\": a change takes "
                                "effect when the supervisor is started again")
                kept[field] = getattr(self.settings, field)
        new = replace(new, settings=replace(new.settings, **kept))
        for warning in warnings:
            log.warning("reload: %s", warning)
        os.environ["TRAP_SOCKET_DIR"] = str(new.settings.trap_socket_dir)
        plan = self.engine.apply(new)
        summary = plan.summary()
        log.info("reload: added %s; removed %s; changed %s; enabled/disabled %s; "
                 "%d unchanged", *(", ".join(summary[k]) or "-" for k in
                                   ("added", "removed", "changed", "toggled")),
                 summary["unchanged"])
        return {**summary, "warnings": warnings}

    def describe(self) -> dict:
        runtimes = self.engine.runtimes
        try:
            version = metadata.version("pynemea")
        except metadata.PackageNotFoundError:
            version = "unknown"
        config = self.engine.config
        return {
            "pid": os.getpid(), "version": version, "python": sys.version.split()[0],
            "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started)),
            "config": str(self.config_path), "files": [str(p) for p in config.files],
            "log_dir": str(self.layout.root), "socket": str(self.settings.socket),
            "pid_file": str(self.settings.pid_file),
            "trap_socket_dir": str(config.settings.trap_socket_dir),
            "profiles": len(config.profiles), "modules": len(runtimes),
            "running": sum(1 for rt in runtimes if rt.running),
            "cycle": config.settings.cycle}

    def write_statistics(self) -> None:
        stats = module_stats.collect(self.engine.runtimes)
        if stats:
            try:
                append_statistics(self.layout.statistics, stats)
            except OSError as exc:
                log.warning("cannot write %s: %s", self.layout.statistics, exc)


def read_pid_file(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
