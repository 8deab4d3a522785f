"""The control commands the daemon answers: a table from command name to handler.

A handler takes the daemon and the request's arguments and returns a JSON-able result, or
raises ControlError with a code from protocol.ErrorCode."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import module_stats
from .errors import ControlError
from .protocol import VERSION, ErrorCode, Request

if TYPE_CHECKING:
    from .daemon import Daemon

TAIL_MAX_LINES = 10_000
TAIL_MAX_BYTES = 4 * 1024 * 1024


def _name(args: dict) -> str:
    name = args.get("name")
    if not isinstance(name, str) or not name:
        raise ControlError(ErrorCode.BAD_ARGUMENT, 'missing argument "name" (a module or '
                                                   "profile)")
    return name


def status(daemon: Daemon, args: dict) -> dict:
    snapshot = daemon.engine.snapshot()
    if args.get("detailed"):
        snapshot["stats"] = module_stats.collect(daemon.engine.runtimes)
    return snapshot


def stats(daemon: Daemon, args: dict) -> dict:
    return module_stats.collect(daemon.engine.runtimes)


def _command(method: str) -> Callable[[Daemon, dict], dict]:
    def handler(daemon: Daemon, args: dict) -> dict:
        return getattr(daemon.engine, method)(_name(args))
    handler.__name__ = method
    return handler


def reload(daemon: Daemon, args: dict) -> dict:
    return daemon.reload()


def info(daemon: Daemon, args: dict) -> dict:
    if not args.get("name"):
        return daemon.describe()
    _, runtimes = daemon.engine.targets(_name(args))
    return {rt.name: {**daemon.engine.info(rt), **module_stats.module_stats(rt)}
            for rt in runtimes}


def tail(daemon: Daemon, args: dict) -> dict:
    name = _name(args)
    rt = daemon.engine.runtime(name)
    if rt is None:
        daemon.engine.targets(name)      # unknown name -> its error
        raise ControlError(ErrorCode.BAD_ARGUMENT, f'"{name}" is a profile; tail takes a module')
    lines = args.get("lines", 20)
    if isinstance(lines, bool) or not isinstance(lines, int) or not 0 < lines <= TAIL_MAX_LINES:
        raise ControlError(ErrorCode.BAD_ARGUMENT, f'"lines" must be 1..{TAIL_MAX_LINES}')
    stdout_log, stderr_log = daemon.engine.layout.module_logs(name)
    return {"stdout": {"path": str(stdout_log), "lines": last_lines(stdout_log, lines)},
            "stderr": {"path": str(stderr_log), "lines": last_lines(stderr_log, lines)}}


def shutdown(daemon: Daemon, args: dict) -> dict:
    running = [rt.name for rt in daemon.engine.runtimes if rt.running]
    daemon.engine.stop_all("shutdown")
    daemon.request_shutdown()
    return {"stopped": running}


def ping(daemon: Daemon, args: dict) -> dict:
    return {"pid": os.getpid(), "version": VERSION}


HANDLERS: dict[str, Callable[[Daemon, dict], Any]] = {
    "status": status,
    "stats": stats,
    "start": _command("start"),
    "stop": _command("stop"),
    "restart": _command("restart"),
    "enable": _command("enable"),
    "disable": _command("disable"),
    "reload": reload,
    "info": info,
    "tail": tail,
    "shutdown": shutdown,
    "ping": ping,
}


def dispatch(daemon: Daemon, request: Request) -> Any:
    handler = HANDLERS.get(request.command)
    if handler is None:
        raise ControlError(ErrorCode.UNKNOWN_COMMAND, f'unknown command "{request.command}" '
                                                      f"(use one of {', '.join(HANDLERS)})")
    return handler(daemon, request.args)


def last_lines(path: Path, count: int) -> list[str]:
    """The last `count` lines of a file, reading at most TAIL_MAX_BYTES from its end."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            start = max(0, size - TAIL_MAX_BYTES)
            block = 64 * 1024
            data = b""
            position = size
            while position > start and data.count(b"\n") <= count:
                step = min(block, position - start)
                position -= step
                handle.seek(position)
                data = handle.read(step) + data
    except FileNotFoundError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[-count:]
