"""`-i` interface specifiers, parsed exactly as NEMEA's libtrap reads them.

`-i u:flows:timeout=WAIT,t:7600:buffer=off` -> inputs first, then outputs; `,` separates
interfaces, `:` separates parameters. Every error names the interface and the parameter.
"""

from __future__ import annotations

import enum
import socket
from dataclasses import dataclass, field

from .errors import SpecifierError

WAIT = -1
NO_WAIT = 0
HALF_WAIT = -2
_TIMEOUT_WORDS = {"WAIT": WAIT, "NO_WAIT": NO_WAIT, "HALF_WAIT": HALF_WAIT}
DEFAULT_AUTOFLUSH_US = 2_000_000
MAX_CLIENTS_LIMIT = 64


class IfcKind(enum.Enum):
    TCP = "t"
    UNIX = "u"
    FILE = "f"
    BLACKHOLE = "b"
    TLS = "T"


_INPUT_KINDS = {IfcKind.TCP, IfcKind.UNIX, IfcKind.FILE}
_OUTPUT_KINDS = {IfcKind.TCP, IfcKind.UNIX, IfcKind.FILE, IfcKind.BLACKHOLE}
_SOCKET_OPTIONS = {"max_clients", "buffer_count", "buffer_size"}


@dataclass(frozen=True)
class IfcSpec:
    """One interface of the `-i` list, with its common setters applied."""

    kind: IfcKind
    is_output: bool
    position: int
    text: str
    timeout: int = WAIT                   # WAIT, NO_WAIT, HALF_WAIT or microseconds
    buffer: bool = True
    autoflush_us: int | None = DEFAULT_AUTOFLUSH_US
    buffer_size: int = 100_000
    buffer_count: int = 50
    max_clients: int = MAX_CLIENTS_LIMIT
    host: str = ""
    port: int = 0
    name: str = ""                        # unix socket name, or file path (pattern) for f:
    file_mode: str = "w"
    rotate_minutes: int = 0
    rotate_mib: int = 0
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        role = "output" if self.is_output else "input"
        return f'{role} {self.position} "{self.text}"'

    @property
    def ifc_id(self) -> str:
        """The identifier shown in statistics: port, socket name or file name."""
        if self.kind == IfcKind.TCP:
            return str(self.port)
        if self.kind == IfcKind.BLACKHOLE:
            return "none"
        return self.name


def parse_ifc_specs(text: str | None, inputs: Count,
                    outputs: Count) -> tuple[list[IfcSpec], list[IfcSpec]]:
    """Split and parse a `-i` value for a module with the given interface counts (an int, a
    (minimum, maximum) range, or None for 1..32). Returns (inputs, outputs)."""
    if text is None or not text.strip():
        if _range(inputs)[0] == 0 and _range(outputs)[0] == 0:
            return [], []
        raise SpecifierError("interface specifier (-i) not found")
    chunks = [chunk.strip() for chunk in text.split(",")]
    n_in, _ = _counts(chunks, inputs, outputs, text)
    specs_in = [_parse_chunk(chunk, False, i) for i, chunk in enumerate(chunks[:n_in])]
    specs_out = [_parse_chunk(chunk, True, i) for i, chunk in enumerate(chunks[n_in:])]
    return specs_in, specs_out


Count = int | tuple[int, int] | None   # fixed, (minimum, maximum), or None = 1..32


def _range(count: Count) -> tuple[int, int]:
    if count is None:
        return 1, 32
    return (count, count) if isinstance(count, int) else count


def _counts(chunks: list[str], inputs: Count, outputs: Count, text: str) -> tuple[int, int]:
    total = len(chunks)
    (in_low, in_high), (out_low, out_high) = _range(inputs), _range(outputs)
    n_in = in_low if in_low == in_high else total - out_low
    n_out = total - n_in
    if not (in_low <= n_in <= in_high and out_low <= n_out <= out_high):
        need = _describe(in_low, in_high, "input") + " and " + \
            _describe(out_low, out_high, "output")
        raise SpecifierError(f"bad number of interfaces in -i {text!r}: got {total}, "
                             f"module needs {need}")
    return n_in, n_out


def _describe(low: int, high: int, what: str) -> str:
    if low == high:
        return f"{low} {what}{'s' if low != 1 else ''}"
    return f"{low} to {high} {what}s"


def _parse_chunk(chunk: str, is_output: bool, position: int) -> IfcSpec:
    role = "output" if is_output else "input"
    label = f'{role} {position} "{chunk}"'
    if not chunk:
        raise SpecifierError(f"{label}: empty interface")
    try:
        kind = IfcKind(chunk[0])
    except ValueError:
        raise SpecifierError(f"{label}: unknown interface type {chunk[0]!r} "
                             "(use t, u, f or b)") from None
    if len(chunk) > 1 and chunk[1] != ":":
        raise SpecifierError(f"{label}: expected ':' after the type letter {chunk[0]!r}")
    if kind == IfcKind.TLS:
        raise SpecifierError(f"{label}: TLS interfaces (T:) are not supported; "
                             "use t: inside an encrypted tunnel")
    allowed = _OUTPUT_KINDS if is_output else _INPUT_KINDS
    if kind not in allowed:
        raise SpecifierError(f"{label}: type {kind.value!r} cannot be an {role}")
    params = chunk[2:].split(":") if len(chunk) > 2 else []
    values: dict = {}
    rest: list[str] = []
    for param in params:
        key, sep, value = param.partition("=")
        if sep and key in _SETTERS:
            values.update(_SETTERS[key](label, value, is_output))
        else:
            rest.append(param)
    values["warnings"] = []
    _KIND_PARSERS[kind](label, rest, is_output, values)
    values["warnings"] = tuple(values["warnings"])
    return IfcSpec(kind, is_output, position, chunk, **values)


def _timeout(label: str, value: str, is_output: bool) -> dict:
    if value in _TIMEOUT_WORDS:
        timeout = _TIMEOUT_WORDS[value]
        if timeout == HALF_WAIT and not is_output:
            timeout = NO_WAIT
        return {"timeout": timeout}
    return {"timeout": _integer(label, "timeout", value, 0,
                                hint="WAIT, NO_WAIT, HALF_WAIT or microseconds")}


def _buffer(label: str, value: str, is_output: bool) -> dict:
    if value not in ("on", "off"):
        raise SpecifierError(f"{label}: bad value {value!r} for buffer (use on or off)")
    return {"buffer": value == "on"}


def _autoflush(label: str, value: str, is_output: bool) -> dict:
    if value == "off":
        return {"autoflush_us": None}
    return {"autoflush_us": _integer(label, "autoflush", value, 1, hint="off or microseconds")}


_SETTERS = {"timeout": _timeout, "buffer": _buffer, "autoflush": _autoflush}


def _integer(label: str, key: str, value: str, minimum: int, hint: str = "") -> int:
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        expected = hint or f"an integer >= {minimum}"
        raise SpecifierError(f"{label}: bad value {value!r} for {key} (use {expected})")
    return number


def _port(label: str, text: str) -> int:
    if text.isdigit():
        port = int(text)
        if 1 <= port <= 65535:
            return port
        raise SpecifierError(f"{label}: port {text} out of range 1..65535")
    try:
        return socket.getservbyname(text)
    except OSError:
        raise SpecifierError(f"{label}: bad port {text!r} (a number or a service name)") from None


def _socket_options(label: str, params: list[str], values: dict) -> None:
    for param in params:
        key, sep, value = param.partition("=")
        if sep and key in _SOCKET_OPTIONS:
            number = _integer(label, key, value, 1)
            if key == "max_clients" and number > MAX_CLIENTS_LIMIT:
                raise SpecifierError(f"{label}: max_clients={number} is over the limit of "
                                     f"{MAX_CLIENTS_LIMIT}")
            values[key] = number
        elif sep:
            values["warnings"].append(f"{label}: unknown parameter {key!r} ignored")
        else:
            values["warnings"].append(f"{label}: extra parameter {param!r} ignored")


def _parse_tcp(label: str, params: list[str], is_output: bool, values: dict) -> None:
    if not params or not params[0]:
        raise SpecifierError(f"{label}: missing port (t:PORT or t:HOST:PORT)")
    if is_output:
        values["host"], values["port"] = "*", _port(label, params[0])
        _socket_options(label, params[1:], values)
        return
    if len(params) >= 2 and params[1]:
        values["host"], values["port"] = params[0], _port(label, params[1])
        extra = params[2:]
    else:
        values["host"], values["port"] = "localhost", _port(label, params[0])
        extra = params[1:]
    for param in extra:
        values["warnings"].append(f"{label}: extra parameter {param!r} ignored")


def _parse_unix(label: str, params: list[str], is_output: bool, values: dict) -> None:
    if not params or not params[0]:
        raise SpecifierError(f"{label}: missing socket name (u:NAME)")
    if is_output:
        values["name"] = params[0]
        _socket_options(label, params[1:], values)
        return
    values["name"] = params[1] if len(params) >= 2 and params[1] else params[0]
    for param in params[2:]:
        values["warnings"].append(f"{label}: extra parameter {param!r} ignored")


def _parse_file(label: str, params: list[str], is_output: bool, values: dict) -> None:
    if not params or not params[0].strip():
        raise SpecifierError(f"{label}: missing file name (f:PATH)")
    values["name"] = params[0]
    for param in params[1:]:
        key, sep, value = param.partition("=")
        if not is_output:
            raise SpecifierError(f"{label}: file inputs take no parameter, got {param!r}")
        if param in ("w", "a"):
            values["file_mode"] = param
        elif sep and key == "time":
            values["rotate_minutes"] = _integer(label, "time", value, 1)
        elif sep and key == "size":
            values["rotate_mib"] = _integer(label, "size", value, 1)
        else:
            raise SpecifierError(f"{label}: unknown file parameter {param!r} "
                                 "(use w, a, time=MINUTES, size=MIB)")


def _parse_nothing(label: str, params: list[str], is_output: bool, values: dict) -> None:
    for param in params:
        if param:
            values["warnings"].append(f"{label}: extra parameter {param!r} ignored")


_KIND_PARSERS = {
    IfcKind.TCP: _parse_tcp,
    IfcKind.UNIX: _parse_unix,
    IfcKind.FILE: _parse_file,
    IfcKind.BLACKHOLE: _parse_nothing,
}
