"""Open the interfaces a parsed `-i` list names."""

from __future__ import annotations

import importlib

from .formats import ANY_UNIREC, DataFormat
from .ifc_spec import IfcKind, IfcSpec
from .input_base import InputInterface
from .output_base import OutputInterface

# implementations are imported when first used: a module on files never loads the socket code
_OUTPUTS = {IfcKind.TCP: "zmq_output:ZmqOutput", IfcKind.UNIX: "zmq_output:ZmqOutput",
            IfcKind.FILE: "file_output:FileOutput", IfcKind.BLACKHOLE: "blackhole:BlackholeOutput"}
_INPUTS = {IfcKind.TCP: "zmq_input:ZmqInput", IfcKind.UNIX: "zmq_input:ZmqInput",
           IfcKind.FILE: "file_input:FileInput"}


def _load(entry: str):
    module, name = entry.split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


def open_input(spec: IfcSpec, required: DataFormat = ANY_UNIREC) -> InputInterface:
    return _load(_INPUTS[spec.kind])(spec, required)


def open_output(spec: IfcSpec) -> OutputInterface:
    return _load(_OUTPUTS[spec.kind])(spec)


def uses_sockets(specs: list[IfcSpec]) -> bool:
    return any(spec.kind in (IfcKind.TCP, IfcKind.UNIX) for spec in specs)


def wait_readable(handles: list, timeout_ms: int) -> None:
    """Returns when one of the socket inputs' poll handles is readable, or after timeout_ms."""
    _load("zmq_wire:wait_readable")(handles, timeout_ms)


def end_socket_context() -> None:
    """Ends the sockets' shared context after their interfaces closed (see zmq_wire)."""
    _load("zmq_wire:end_context")()
