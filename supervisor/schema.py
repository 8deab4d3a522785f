"""The configuration schema as a table: every key of every level, its type check, its default
and what it means. Loading, validation and the sample file all follow this table."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REQUIRED = object()       # default of a key that must be given
INHERIT = -1              # module-restarts of a module: take [supervisor] module-restarts
UNLIMITED_RESTARTS = 30   # as upstream: 30 restarts a minute means "no limit"


def _show(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "an array", dict: "a table"}
    return f"{names.get(type(value), type(value).__name__)} ({value!r})"


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_show(value)}")
    return value


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {_show(value)}")
    if "\n" in value or "\0" in value:
        raise ValueError("a newline or NUL is not allowed here")
    return value


def name(value: Any) -> str:
    value = string(value).strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def file_name(value: Any) -> str:
    """A module name: also the name of its log files, so letters, digits, `_`, `-`, `.`."""
    value = name(value)
    if value.startswith(".") or not all(c.isalnum() or c in "_-." for c in value):
        raise ValueError(f"{value!r}: use letters, digits, '_', '-' and '.' "
                         "(the name is also the name of the module's log files)")
    return value


def integer(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer {low}..{high}, got {_show(value)}")
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range {low}..{high}")
        return value
    return check


def number(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number {low}..{high}, got {_show(value)}")
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range {low}..{high}")
        return float(value)
    return check


def choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = string(value)
        if text.upper() not in options:
            raise ValueError(f"{text!r} is not one of {', '.join(options)}")
        return text.upper()
    return check


def string_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"expected an array of strings, got {_show(value)}")
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"expected an array of strings, got an item {_show(item)}")
    return tuple(value)


def arguments(value: Any) -> tuple[str, ...]:
    """Module parameters: an array of arguments, or one string split like a shell line
    (whitespace separates, "..." and '...' group)."""
    if isinstance(value, list):
        return string_list(value)
    text = string(value)
    try:
        return tuple(shlex.split(text))
    except ValueError as exc:
        raise ValueError(f"cannot split {text!r}: {exc} (quote with \"...\" or '...')") from None


def string_map(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a table of strings (NAME = \"value\"), got {_show(value)}")
    for key, item in value.items():
        if not key or "=" in key:
            raise ValueError(f"bad variable name {key!r}")
        if not isinstance(item, str):
            raise ValueError(f"variable {key!r}: expected a string, got {_show(item)}")
    return tuple(sorted(value.items()))


def tables(value: Any) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"expected an array of tables ([[...]]), got {_show(value)}")
    return value


def table(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"expected a table, got {_show(value)}")
    return value


@dataclass(frozen=True)
class Key:
    name: str
    check: Callable[[Any], Any]
    default: Any
    doc: str


def key_table(*keys: Key) -> dict[str, Key]:
    return {key.name: key for key in keys}


TOP = key_table(
    Key("include", string_list, (), "other files with more profiles: paths, globs, directories "
        "(all *.toml in them); expanded in order after this file's own profiles"),
    Key("supervisor", table, {}, "settings of the supervisor itself (main file only)"),
    Key("profile", tables, [], "the profiles, each a [[profile]] table"),
)

SUPERVISOR = key_table(
    Key("module-restarts", integer(0, UNLIMITED_RESTARTS), 3,
        "automatic restarts of a crashed module allowed within a minute; the next crash "
        "disables it (failed); 0 = never restart, 30 = unlimited"),
    Key("log-dir", string, "", "log directory; \"\" = <run dir>/logs"),
    Key("socket", string, "", "control socket for `nemea supcli`; "
        "\"\" = <run dir>/supervisor.sock"),
    Key("pid-file", string, "", "pid file; \"\" = <run dir>/supervisor.pid"),
    Key("trap-socket-dir", string, "", "TRAP_SOCKET_DIR of the modules (unix sockets and "
        "service endpoints); \"\" = the supervisor's TRAP_SOCKET_DIR, else /tmp"),
    Key("nemea", string, "", "the command that runs `module = NAME`; \"\" = the nemea "
        "installed with this Python, else nemea on PATH"),
    Key("cycle", number(0.01, 60.0), 1.0, "seconds between two service cycles (liveness, "
        "restarts, CPU sampling)"),
    Key("stop-timeout", number(0.0, 60.0), 0.5, "seconds between SIGINT and SIGKILL when "
        "stopping a module"),
    Key("stats-interval", number(0.0, 86400.0), 60.0, "seconds between two blocks of "
        "interface counters in <log-dir>/modules_statistics; 0 = never"),
    Key("env", string_map, (), "environment variables for every module"),
)

PROFILE = key_table(
    Key("name", name, REQUIRED, "unique profile name"),
    Key("enabled", boolean, True, "a module runs only if it and its profile are enabled"),
    Key("module", tables, [], "the modules of the profile, each a [[profile.module]] table"),
)

MODULE = key_table(
    Key("name", file_name, REQUIRED, "unique module name (also argv[0] and the log file names)"),
    Key("enabled", boolean, True, "start it (when its profile is enabled too)"),
    Key("module", string, "", "a nemea module to run as `nemea MODULE ...`; give this or path"),
    Key("path", string, "", "any executable (a path, or a name searched on PATH); give this "
        "or module"),
    Key("params", arguments, (), "arguments: an array, or a string split like a shell line"),
    Key("inputs", string_list, (), "input interfaces, e.g. [\"u:flows\", \"t:host:7600\"]"),
    Key("outputs", string_list, (), "output interfaces, e.g. [\"u:alerts\"]"),
    Key("interface", tables, [], "interfaces in NEMEA's form, each a "
        "[[profile.module.interface]] table; added after inputs and outputs"),
    Key("module-restarts", integer(0, UNLIMITED_RESTARTS), INHERIT,
        "restarts per minute for this module; default: [supervisor] module-restarts"),
    Key("env", string_map, (), "environment variables for this module (over [supervisor] env)"),
)

INTERFACE = key_table(
    Key("type", choice("TCP", "UNIXSOCKET", "FILE", "BLACKHOLE", "TLS"), REQUIRED,
        "TCP, UNIXSOCKET, FILE, BLACKHOLE (TLS is not supported by pynemea)"),
    Key("direction", choice("IN", "OUT"), REQUIRED, "IN or OUT"),
    Key("params", string, "", "port or host,port / socket name / file path; see -i"),
    Key("note", string, "", "free text"),
)

IFC_LETTERS = {"TCP": "t", "UNIXSOCKET": "u", "FILE": "f", "BLACKHOLE": "b", "TLS": "T"}

LEVELS: dict[str, dict[str, Key]] = {
    "top": TOP, "supervisor": SUPERVISOR, "profile": PROFILE, "module": MODULE,
    "interface": INTERFACE,
}
