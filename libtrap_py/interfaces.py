"""Open the interfaces a parsed `-i` list names."""

from __future__ import annotations

from .blackhole import BlackholeOutput
from .file_input import FileInput
from .file_output import FileOutput
from .formats import ANY_UNIREC, DataFormat
from .ifc_spec import IfcKind, IfcSpec
from .input_base import InputInterface
from .output_base import OutputInterface
from .zmq_input import ZmqInput
from .zmq_output import ZmqOutput

_OUTPUTS = {IfcKind.TCP: ZmqOutput, IfcKind.UNIX: ZmqOutput, IfcKind.FILE: FileOutput,
            IfcKind.BLACKHOLE: BlackholeOutput}
_INPUTS = {IfcKind.TCP: ZmqInput, IfcKind.UNIX: ZmqInput, IfcKind.FILE: FileInput}


def open_input(spec: IfcSpec, required: DataFormat = ANY_UNIREC) -> InputInterface:
    return _INPUTS[spec.kind](spec, required)


def open_output(spec: IfcSpec) -> OutputInterface:
    return _OUTPUTS[spec.kind](spec)
