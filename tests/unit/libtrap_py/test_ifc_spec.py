"""`-i` parsing as NEMEA's libtrap does it: counts, types, setters, socket and file options, and
every error naming the interface and the parameter."""

from __future__ import annotations

import pytest

from libtrap_py.errors import SpecifierError, TrapError
from libtrap_py.ifc_spec import (
    DEFAULT_AUTOFLUSH_US,
    HALF_WAIT,
    NO_WAIT,
    WAIT,
    IfcKind,
    IfcSpec,
    parse_ifc_specs,
)


def output(text: str) -> IfcSpec:
    return parse_ifc_specs(text, 0, 1)[1][0]


def input_(text: str) -> IfcSpec:
    return parse_ifc_specs(text, 1, 0)[0][0]


def fails(text: str, *fragments: str, inputs: int | None = 0, outputs: int | None = 1) -> str:
    with pytest.raises(SpecifierError) as error:
        parse_ifc_specs(text, inputs, outputs)
    message = str(error.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# --- counts and order ------------------------------------------------------------------------
@pytest.mark.parametrize("text", [None, "", "   "])
def test_missing_specifier(text):
    fails(text, "interface specifier (-i) not found")


def test_specifier_error_is_a_trap_error():
    assert issubclass(SpecifierError, TrapError)


def test_one_in_one_out_needs_exactly_two():
    fails("u:a", "bad number of interfaces", "got 1", "1 input and 1 output",
          inputs=1, outputs=1)
    fails("u:a,u:b,u:c", "got 3", inputs=1, outputs=1)
    ins, outs = parse_ifc_specs("u:a,u:b", 1, 1)
    assert [(s.name, s.is_output, s.position) for s in ins + outs] == [
        ("a", False, 0), ("b", True, 0)]


def test_inputs_first_then_outputs():
    ins, outs = parse_ifc_specs("u:i0,t:7600,f:o0,b:", 2, 2)
    assert [s.kind for s in ins] == [IfcKind.UNIX, IfcKind.TCP]
    assert [s.position for s in ins] == [0, 1] and not any(s.is_output for s in ins)
    assert [s.kind for s in outs] == [IfcKind.FILE, IfcKind.BLACKHOLE]
    assert [s.position for s in outs] == [0, 1] and all(s.is_output for s in outs)


def test_variable_inputs():
    ins, outs = parse_ifc_specs("u:a,u:b,u:c,u:out", None, 1)
    assert [s.name for s in ins] == ["a", "b", "c"] and [s.name for s in outs] == ["out"]
    fails("u:out", "bad number of interfaces", "1 to 32 inputs and 1 output",
          inputs=None, outputs=1)
    fails(",".join(f"u:i{n}" for n in range(33)) + ",u:out", "got 34", inputs=None, outputs=1)


def test_variable_outputs():
    ins, outs = parse_ifc_specs("u:in,u:x,f:y", 1, None)
    assert [s.name for s in ins] == ["in"] and [s.name for s in outs] == ["x", "y"]
    fails("u:in", "1 input and 1 to 32 outputs", inputs=1, outputs=None)


def test_count_ranges():
    ins, outs = parse_ifc_specs("u:a,u:b,u:out", (1, 3), 1)
    assert [s.name for s in ins] == ["a", "b"] and [s.name for s in outs] == ["out"]
    ins, outs = parse_ifc_specs("u:in", 1, (0, 1))
    assert [s.name for s in ins] == ["in"] and outs == []
    fails("u:a,u:b,u:c,u:d,u:out", "got 5", "1 to 3 inputs", inputs=(1, 3), outputs=1)


def test_missing_specifier_allowed_without_required_interfaces():
    assert parse_ifc_specs(None, 0, 0) == ([], [])
    assert parse_ifc_specs("", (0, 2), 0) == ([], [])
    fails(None, "interface specifier (-i) not found", inputs=(0, 2), outputs=1)


def test_zero_inputs_and_outputs():
    assert parse_ifc_specs("u:a", 0, 1)[0] == []
    assert parse_ifc_specs("u:a", 1, 0)[1] == []
    fails("u:a,u:b", "got 2", inputs=1, outputs=0)


# --- types -----------------------------------------------------------------------------------
@pytest.mark.parametrize("letter", ["x", "s", "g", "U", "9"])
def test_unknown_type_letter(letter):
    fails(f"{letter}:a", "output 0", f"unknown interface type {letter!r}")


def test_type_must_be_one_letter():
    fails("uu:a", "expected ':' after the type letter 'u'")


def test_empty_interface_in_the_list():
    fails("u:a,", "output 0", "empty interface", inputs=1, outputs=1)


def test_tls_is_refused_explicitly():
    fails("T:7600:key.pem:cert.pem:ca.pem", "T:", "not supported")
    fails("T:localhost:7600:k:c:a", "not supported", inputs=1, outputs=0)


def test_blackhole_with_or_without_colon():
    bare, colon = output("b"), output("b:")
    assert bare.kind == colon.kind == IfcKind.BLACKHOLE
    assert (bare.timeout, bare.buffer, bare.ifc_id) == (colon.timeout, colon.buffer, "none")
    fails("b:", "type 'b' cannot be an input", inputs=1, outputs=0)


# --- t: and u: -------------------------------------------------------------------------------
def test_tcp_output_and_input_forms():
    out = output("t:7600")
    assert (out.host, out.port, out.ifc_id) == ("*", 7600, "7600")
    assert (input_("t:7600").host, input_("t:7600").port) == ("localhost", 7600)
    remote = input_("t:collector.example:7601")
    assert (remote.host, remote.port) == ("collector.example", 7601)


def test_tcp_port_by_service_name():
    assert output("t:http").port == 80


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_tcp_port_out_of_range(port):
    fails(f"t:{port}", f"port {port} out of range 1..65535")


def test_tcp_bad_or_missing_port():
    fails("t:no-such-service-here", "bad port 'no-such-service-here'")
    fails("t:", "missing port")
    fails("t", "missing port")


def test_unix_forms():
    assert output("u:flows").name == "flows"
    assert input_("u:flows").name == "flows"
    assert input_("u:somehost:flows").name == "flows"       # host accepted, ignored
    fails("u:", "missing socket name")


def test_socket_output_options():
    spec = output("u:a:max_clients=5:buffer_count=3:buffer_size=1000")
    assert (spec.max_clients, spec.buffer_count, spec.buffer_size) == (5, 3, 1000)
    assert output("t:7600:max_clients=64").max_clients == 64
    default = output("u:a")
    assert (default.max_clients, default.buffer_count, default.buffer_size) == (64, 50, 100_000)


def test_max_clients_over_64_is_rejected():
    fails("t:7600:max_clients=65", 'output 0 "t:7600:max_clients=65"', "max_clients=65",
          "limit of 64")


@pytest.mark.parametrize("option", ["max_clients=0", "buffer_count=-1", "buffer_size=big"])
def test_bad_socket_option_values(option):
    key, value = option.split("=")
    fails(f"u:a:{option}", f"bad value {value!r} for {key}")


def test_unknown_socket_options_only_warn():
    spec = output("u:a:colour=blue")
    assert any("unknown parameter 'colour' ignored" in w for w in spec.warnings)
    legacy = output("t:7600:5")                              # old positional max_clients
    assert legacy.max_clients == 64
    assert any("'5' ignored" in w for w in legacy.warnings)
    assert any("ignored" in w for w in input_("u:host:name:extra").warnings)


# --- common setters --------------------------------------------------------------------------
def test_defaults():
    spec = output("u:a")
    assert (spec.timeout, spec.buffer, spec.autoflush_us) == (WAIT, True, DEFAULT_AUTOFLUSH_US)
    assert DEFAULT_AUTOFLUSH_US == 2_000_000


@pytest.mark.parametrize(("value", "expected"), [
    ("WAIT", WAIT), ("NO_WAIT", NO_WAIT), ("HALF_WAIT", HALF_WAIT), ("500000", 500_000),
    ("0", 0)])
def test_timeout_values(value, expected):
    assert output(f"u:a:timeout={value}").timeout == expected


def test_half_wait_on_an_input_is_no_wait():
    assert input_("u:a:timeout=HALF_WAIT").timeout == NO_WAIT
    assert input_("u:a:timeout=250").timeout == 250


@pytest.mark.parametrize("value", ["-5", "soon", "", "wait", "1.5"])
def test_bad_timeout(value):
    fails(f"u:a:timeout={value}", 'output 0 "u:a:timeout=', f"bad value {value!r} for timeout",
          "WAIT, NO_WAIT, HALF_WAIT or microseconds")


def test_buffer_values():
    assert output("u:a:buffer=off").buffer is False
    assert output("u:a:buffer=on").buffer is True
    fails("u:a:buffer=yes", "bad value 'yes' for buffer", "on or off")


def test_autoflush_values():
    assert output("u:a:autoflush=off").autoflush_us is None
    assert output("u:a:autoflush=500").autoflush_us == 500
    fails("u:a:autoflush=fast", "bad value 'fast' for autoflush", "off or microseconds")
    fails("u:a:autoflush=-1", "bad value '-1' for autoflush")


def test_setters_anywhere_and_on_every_type():
    spec = output("u:a:timeout=NO_WAIT:max_clients=3:buffer=off:autoflush=off")
    assert (spec.timeout, spec.max_clients, spec.buffer, spec.autoflush_us) == (
        NO_WAIT, 3, False, None)
    file_spec = output("f:out.dat:timeout=500:a:buffer=off")
    assert (file_spec.timeout, file_spec.file_mode, file_spec.buffer) == (500, "a", False)
    assert output("b:timeout=NO_WAIT").timeout == NO_WAIT
    assert output("t:7600:buffer=off").port == 7600


def test_example_of_the_reference():
    ins, outs = parse_ifc_specs("u:flows:timeout=WAIT,u:alerts:timeout=500000:buffer=off:"
                                "autoflush=off", 1, 1)
    assert (ins[0].name, ins[0].timeout) == ("flows", WAIT)
    assert (outs[0].name, outs[0].timeout, outs[0].buffer, outs[0].autoflush_us) == (
        "alerts", 500_000, False, None)


# --- f: --------------------------------------------------------------------------------------
def test_file_output_options_in_any_order():
    spec = output("f:out.dat:size=10:a:time=30")
    assert (spec.name, spec.file_mode, spec.rotate_minutes, spec.rotate_mib) == (
        "out.dat", "a", 30, 10)
    plain = output("f:out.dat")
    assert (plain.file_mode, plain.rotate_minutes, plain.rotate_mib) == ("w", 0, 0)
    assert output("f:out.dat:w").file_mode == "w"
    assert output("f:~/x/$HOME.dat").name == "~/x/$HOME.dat"     # expanded when opened


@pytest.mark.parametrize(("param", "fragment"), [
    ("x", "unknown file parameter 'x'"), ("time=0", "bad value '0' for time"),
    ("time=half", "bad value 'half' for time"), ("size=big", "bad value 'big' for size"),
    ("size=-2", "bad value '-2' for size"), ("mode=a", "unknown file parameter 'mode=a'")])
def test_bad_file_output_parameters(param, fragment):
    fails(f"f:out.dat:{param}", f'output 0 "f:out.dat:{param}"', fragment)


def test_file_input_forms():
    assert input_("f:day1.dat day2.dat").name == "day1.dat day2.dat"
    assert input_("f:/data/flows.2024*").name == "/data/flows.2024*"
    fails("f:in.dat:a", "file inputs take no parameter", inputs=1, outputs=0)
    fails("f:", "missing file name", inputs=1, outputs=0)
    fails("f:", "missing file name")


def test_errors_name_role_position_and_text():
    message = fails("u:in,f:ok,u:bad:buffer=2", inputs=1, outputs=2)
    assert message.startswith('output 1 "u:bad:buffer=2": ')
    message = fails("x:in,u:out", inputs=1, outputs=1)
    assert message.startswith('input 0 "x:in": ')
