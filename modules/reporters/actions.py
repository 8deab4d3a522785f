"""Rule actions (detectors.md §11): file, stdout, syslog, trap, mark; `drop` is built in.

An action is declared once in `custom_actions` (`{id: NAME, <type>: {params}}`) and referenced
by id from rules. Parameters are checked when the configuration loads, so a bad action fails
before any alert flows. `mongo`, `email` and `warden` are not available here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sys
import syslog
import uuid
from logging.handlers import SysLogHandler
from typing import Any, ClassVar, Protocol, TextIO

from .errors import ConfigError, ReporterError
from .json_path import parse_path, set_value

log = logging.getLogger("report2idea")
REQUIRED = object()


class Outlet(Protocol):
    """Where actions deliver besides files: the module's trap output and stdout."""

    stdout: TextIO

    def trap(self, text: str) -> None: ...


def to_json(message: dict) -> str:
    """One line of JSON; a value JSON lacks (a mark with a date, say) is written as text."""
    return json.dumps(message, ensure_ascii=False, default=str)


class Action:
    kind: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, Any]] = {}

    def __init__(self, action_id: str, params: dict | None, where: str):
        self.id = action_id
        self.where = where
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.PARAMS))
        if unknown:
            known = ", ".join(self.PARAMS) or "none"
            raise ConfigError(f"{where}: unknown parameter {unknown[0]!r} for a {self.kind} "
                              f"action (known: {known})")
        self.params: dict[str, Any] = {}
        for name, default in self.PARAMS.items():
            if name not in params and default is REQUIRED:
                raise ConfigError(f"{where}: {self.kind} action needs {name!r}")
            self.params[name] = params.get(name, default)
        self.count = 0

    def run(self, message: dict, outlet: Outlet) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if v not in ("", None))
        return f"{self.id}: {self.kind}" + (f" ({shown})" if shown else "")


class FileAction(Action):
    """Append one JSON line per message (with a file lock); `-`, `/dev/stdout`, `/dev/stderr`
    are the streams; a directory gets one `<ID>.idea` file per message, written under
    `temp_path` (default: the directory itself, hidden name) and renamed into place."""

    kind = "file"
    PARAMS: ClassVar[dict[str, Any]] = {"path": REQUIRED, "temp_path": ""}
    STREAMS: ClassVar[dict[str, str]] = {"-": "stdout", "/dev/stdout": "stdout",
                                         "/dev/stderr": "stderr"}

    def __init__(self, action_id: str, params: dict | None, where: str):
        super().__init__(action_id, params, where)
        self.path = str(self.params["path"])
        self.temp_path = str(self.params["temp_path"] or "")
        self.stream_name = self.STREAMS.get(self.path)
        self.directory = self.stream_name is None and os.path.isdir(self.path)
        self.handle: TextIO | None = None
        if self.stream_name is None:
            folder = self.path if self.directory else (os.path.dirname(self.path) or ".")
            if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
                raise ConfigError(f"{where}: cannot write to {self.path!r} "
                                  f"({folder!r} is not a writable directory)")
            if self.temp_path and not os.path.isdir(self.temp_path):
                raise ConfigError(f"{where}: temp_path {self.temp_path!r} is not a directory")

    def run(self, message: dict, outlet: Outlet) -> None:
        text = to_json(message) + "\n"
        if self.stream_name is not None:
            stream = outlet.stdout if self.stream_name == "stdout" else sys.stderr
            stream.write(text)
            stream.flush()
        elif self.directory:
            name = f"{message.get('ID') or uuid.uuid4()}.idea"
            temp = os.path.join(self.temp_path or self.path, f".{name}.tmp")
            with open(temp, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temp, os.path.join(self.path, name))
        else:
            if self.handle is None:
                self.handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            fcntl.flock(self.handle, fcntl.LOCK_EX)
            try:
                self.handle.write(text)
                self.handle.flush()
            finally:
                fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.count += 1

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class StdoutAction(Action):
    """One JSON line per message on standard output."""

    kind = "stdout"

    def run(self, message: dict, outlet: Outlet) -> None:
        outlet.stdout.write(to_json(message) + "\n")
        outlet.stdout.flush()
        self.count += 1


def _syslog_constant(name: str, where: str, key: str) -> int:
    value = vars(syslog).get(name.strip())
    if not name.strip().startswith("LOG_") or not isinstance(value, int):
        raise ConfigError(f"{where}: unknown syslog {key} {name.strip()!r} (e.g. LOG_DAEMON, "
                          "LOG_ALERT, LOG_PID)")
    return value


class _PriorityHandler(SysLogHandler):
    """A SysLogHandler that sends every record with one fixed priority."""

    def __init__(self, address: Any, facility: int, priority: int):
        super().__init__(address=address, facility=facility)
        self.fixed_priority = priority

    def mapPriority(self, levelName: str) -> Any:
        return self.fixed_priority


class SyslogAction(Action):
    """Log the message as JSON through syslog(3); with `address` (a unix socket path or
    `host:port`, UDP) through logging's SysLogHandler to that address instead."""

    kind = "syslog"
    PARAMS: ClassVar[dict[str, Any]] = {"identifier": "nemea", "logoption": "LOG_PID",
                                        "facility": "LOG_DAEMON", "priority": "LOG_ALERT",
                                        "address": ""}

    def __init__(self, action_id: str, params: dict | None, where: str):
        super().__init__(action_id, params, where)
        p = self.params
        self.ident = str(p["identifier"])
        self.logoption = 0
        for name in str(p["logoption"]).split("|"):
            self.logoption |= _syslog_constant(name, where, "logoption")
        self.facility = _syslog_constant(str(p["facility"]), where, "facility")
        self.priority = _syslog_constant(str(p["priority"]), where, "priority")
        self.handler: _PriorityHandler | None = None
        if p["address"]:
            address = str(p["address"])
            host, _, port = address.rpartition(":")
            target: Any = (host, int(port)) if port.isdigit() and host else address
            try:
                self.handler = _PriorityHandler(target, self.facility >> 3, self.priority)
            except OSError as exc:
                raise ConfigError(f"{where}: cannot reach syslog at {address!r}: "
                                  f"{exc.strerror or exc}") from None
            pid = f"[{os.getpid()}]" if self.logoption & syslog.LOG_PID else ""
            self.handler.ident = f"{self.ident}{pid}: "

    def run(self, message: dict, outlet: Outlet) -> None:
        text = to_json(message)
        if self.handler is not None:
            record = logging.LogRecord("report2idea", logging.CRITICAL, "", 0, text, None, None)
            self.handler.emit(record)
        else:
            syslog.openlog(self.ident, self.logoption, self.facility)
            syslog.syslog(self.priority, text)
        self.count += 1

    def close(self) -> None:
        if self.handler is not None:
            self.handler.close()
            self.handler = None


class TrapAction(Action):
    """Send the message as JSON (label IDEA) on the reporter's output interface."""

    kind = "trap"

    def run(self, message: dict, outlet: Outlet) -> None:
        outlet.trap(to_json(message))
        self.count += 1


class MarkAction(Action):
    """Set `path` in this rule's copy of the message to `value` (created when missing)."""

    kind = "mark"
    PARAMS: ClassVar[dict[str, Any]] = {"path": REQUIRED, "value": REQUIRED}

    def __init__(self, action_id: str, params: dict | None, where: str):
        super().__init__(action_id, params, where)
        try:
            parse_path(str(self.params["path"]))
        except ReporterError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def run(self, message: dict, outlet: Outlet) -> None:
        try:
            set_value(message, str(self.params["path"]), self.params["value"])
        except ReporterError as exc:
            log.warning("action %s: %s", self.id, exc)
            return
        self.count += 1


class DropAction(Action):
    """Built in: stop processing the message (no further actions or rules)."""

    kind = "drop"

    def run(self, message: dict, outlet: Outlet) -> None:
        self.count += 1


DROP_ID = "drop"
ACTION_TYPES: dict[str, type[Action]] = {
    cls.kind: cls for cls in (FileAction, StdoutAction, SyslogAction, TrapAction, MarkAction)}
UNSUPPORTED_TYPES = ("mongo", "email", "warden")


def close_all(actions: list[Action]) -> None:
    for action in actions:
        with contextlib.suppress(OSError):
            action.close()
