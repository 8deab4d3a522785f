"""The rule condition language and JSON paths."""

from __future__ import annotations

import pytest

from modules.reporters.errors import FilterSyntaxError, ReporterError
from modules.reporters.filter_parser import compile_condition
from modules.reporters.filter_values import IpRange
from modules.reporters.json_path import get_values, set_value

MESSAGE = {
    "Format": "IDEA0", "ID": "x1", "Category": ["Recon.Scanning"], "FlowCount": 42,
    "DetectTime": "2024-03-01T10:05:00Z", "EventTime": "2024-03-01T10:00:00Z",
    "Description": "Vertical scan using TCP SYN",
    "Source": [{"IP4": ["192.0.2.7", "10.0.0.1"], "Port": [22], "Proto": ["tcp"]}],
    "Target": [{"IP6": ["2001:db8::1"]}, {"IP4": ["198.51.100.20"], "Port": [80, 443]}],
    "Node": [{"Name": "org.example.nemea.vportscan", "SW": ["Nemea", "vportscan_detector"]}],
}
GROUPS = {"internal": [IpRange.parse("10.0.0.0/8"), IpRange.parse("192.168.0.0/16")],
          "docs-net": [IpRange.parse("192.0.2.0/24")]}


@pytest.mark.parametrize(("condition", "expected"), [
    # comparisons, word and symbol forms, existential over lists
    ("FlowCount == 42", True), ("FlowCount eq 42", True), ("FlowCount EQ 41", False),
    ("FlowCount != 42", False), ("FlowCount <> 41", True), ("FlowCount ne 41", True),
    ("FlowCount > 40", True), ("FlowCount gt 42", False), ("FlowCount >= 42", True),
    ("FlowCount GE 43", False), ("FlowCount < 50", True), ("FlowCount lt 42", False),
    ("FlowCount <= 42", True), ("FlowCount LE 41", False),
    ("Category == 'Recon.Scanning'", True), ('Category == "Attempt.Login"', False),
    ('Description =~ "TCP S[Y]N$"', True), ('Description like "^UDP"', False),
    ("Target.Port in [443, 8443]", True), ("Target.Port ~~ [21, 23]", False),
    ("Target.Port IN [80]", True), ("Source.Port is [22]", True),
    ("Target.Port is [80]", False), ("Target.Port is [80, 443]", True),
    ("Node[0].SW[1] == 'vportscan_detector'", True), ("Node[#].SW == 'Nemea'", True),
    ("Target[1].Port == 443", True), ("Target[0].Port == 443", False),
    ("Target[-1].IP4 == 198.51.100.20", True),
    # IP values: addresses, prefixes, ranges, address groups
    ("Source.IP4 == 192.0.2.7", True), ("Source.IP4 in 192.0.2.0/24", True),
    ("Source.IP4 in [203.0.113.0/24]", False),
    ("Source.IP4 == 192.0.2.1-192.0.2.10", True), ("Source.IP4 == 192.0.2.8..192.0.2.10", False),
    ("Target.IP6 in 2001:db8::/32", True), ("Target.IP6 == 2001:db8::2", False),
    ("Source.IP4 in internal", True), ("Target.IP4 in internal", False),
    ("Source.IP4 in docs-net", True), ("Target.IP4 in docs-net", False),
    # logic and precedence
    ("FlowCount == 42 and Category == 'Recon.Scanning'", True),
    ("FlowCount == 1 or FlowCount == 42", True), ("FlowCount == 42 xor FlowCount > 0", False),
    ("FlowCount == 42 AND NOT Category == 'Test'", True), ("! FlowCount == 42", False),
    ("FlowCount == 1 || FlowCount == 42 and Category == 'X'", False),   # || binds tighter
    ("FlowCount == 1 or FlowCount == 42 && Category == 'X'", False),
    ("FlowCount == 1 OR (FlowCount == 42 && Category == 'X')", False),
    ("(FlowCount == 1 or FlowCount == 42) and Category == 'Recon.Scanning'", True),
    ("FlowCount == 42 ^^ FlowCount == 42", False),
    # exists, bare paths
    ("exists Source.Port", True), ("EXISTS Target.Hostname", False), ("? Node.Name", True),
    ("not exists ConnCount", True), ("Source.Proto", True), ("ConnCount", False),
    # arithmetic, times, durations, functions
    ("FlowCount * 2 + 1 == 85", True), ("FlowCount % 10 == 2", True),
    ("FlowCount / 4 > 10", True), ("-FlowCount < 0", True), ("FlowCount - 2 == 40", True),
    ("DetectTime > 2024-03-01T10:00:00Z", True), ("DetectTime < 2024-03-01T10:00:00", False),
    ("DetectTime - EventTime == 00:05:00", True), ("DetectTime - EventTime > 1D00:00:00", False),
    ("EventTime + 00:05:00 == DetectTime", True),
    ("utcnow() > DetectTime", True), ("size(Source.IP4) == 2", True), ("len(Target) == 2", True),
    # booleans
    ("Source.Spoofed == true", False), ("not Source.Spoofed == true", True),
])
def test_conditions(condition, expected):
    assert compile_condition(condition, GROUPS).matches(MESSAGE) is expected


@pytest.mark.parametrize(("value", "expected"), [
    (None, True), (True, True), (False, False), ("None", True), ("Null", True), ("NULL", True),
    ("true", True), ("TRUE", True), ("false", False), ("False", False)])
def test_constant_conditions(value, expected):
    assert compile_condition(value).matches({}) is expected


@pytest.mark.parametrize(("condition", "message"), [
    ("FlowCount ==", "expected a value"),
    ("(FlowCount == 1", "expected ')'"),
    ("FlowCount == 1 1", "expected an operator or the end"),
    ("nosuch(FlowCount)", "unknown function 'nosuch'"),
    ("size()", "size() takes 1 argument"),
    ("exists Source.Spoofed == false", "expected an operator or the end"),
    ("FlowCount == 1 $", "unexpected character '$'"),
    ("EventTime > 2024-13-01T00:00:00Z", "bad constant"),
    (12, "expected an expression"),
])
def test_syntax_errors_say_where(condition, message):
    with pytest.raises(FilterSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("$", r"\$")):
        compile_condition(condition)


def test_comparisons_that_cannot_convert_are_false():
    condition = compile_condition("Description == 192.0.2.1 or Description > 5 or "
                                  "Description == 2024-03-01T00:00:00Z")
    assert condition.matches(MESSAGE) is False


def test_json_path_reading():
    assert get_values(MESSAGE, "Source.IP4") == ["192.0.2.7", "10.0.0.1"]
    assert get_values(MESSAGE, "Target.Port") == [80, 443]
    assert get_values(MESSAGE, "Target[1].Port[0]") == [80]
    assert get_values(MESSAGE, "Node[0].Name") == ["org.example.nemea.vportscan"]
    assert get_values(MESSAGE, "Node.Name[0]") == ["org.example.nemea.vportscan"]
    assert get_values(MESSAGE, "Target[5].Port") == []
    assert get_values(MESSAGE, "Nope.Deeper") == []


def test_json_path_setting_creates_what_is_missing():
    message = {"Source": [{"IP4": ["192.0.2.1"]}], "Node": []}
    set_value(message, "Test", True)
    set_value(message, "_CESNET.Status.Processed", "yes")
    set_value(message, "Source.Note", "first source")
    set_value(message, "Source[1].Note", "appended")
    set_value(message, "Node[#].Name", "org.example.x")
    set_value(message, "Source[0].IP4[0]", "192.0.2.9")
    assert message == {
        "Test": True, "_CESNET": {"Status": {"Processed": "yes"}},
        "Source": [{"IP4": ["192.0.2.9"], "Note": "first source"}, {"Note": "appended"}],
        "Node": [{"Name": "org.example.x"}]}
    with pytest.raises(ReporterError, match="out of range"):
        set_value(message, "Source[5].Note", "x")
    with pytest.raises(ReporterError, match="bad segment"):
        set_value(message, "Source..Note", "x")
