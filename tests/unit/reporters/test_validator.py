"""The IDEA validator: idea.md's examples pass; each §7 checklist rule has a failing example."""

from __future__ import annotations

import copy
import json

import pytest

from modules.reporters.idea_validator import age_problems, parse_line, validate, warnings

VPORTSCAN = {  # idea.md §8
    "Format": "IDEA0", "ID": "5f0c8a2e-3b1d-4c55-9a57-0d7e2b9c41aa",
    "CreateTime": "2024-03-01T10:21:07Z", "DetectTime": "2024-03-01T10:19:58Z",
    "EventTime": "2024-03-01T10:14:03Z", "CeaseTime": "2024-03-01T10:19:58Z",
    "Category": ["Recon.Scanning"], "Description": "Vertical scan using TCP SYN",
    "FlowCount": 150,
    "Source": [{"IP4": ["203.0.113.45"], "Proto": ["tcp"]}],
    "Target": [{"IP4": ["198.51.100.20"], "Proto": ["tcp"]}],
    "Node": [{"Name": "org.example.nemea.vportscan", "SW": ["Nemea", "vportscan_detector"],
              "Type": ["Flow", "Statistical"], "AggrWin": "00:05:00"}],
}
BRUTEFORCE = {  # idea.md §9
    "Format": "IDEA0", "ID": "0b7d3c61-9e2a-4f08-8d4b-6a1f2e9c5b37",
    "CreateTime": "2024-03-01T11:02:41Z", "DetectTime": "2024-03-01T11:02:40Z",
    "Category": ["Attempt.Login"],
    "Description": "Multiple unsuccessful login attempts on SSH", "FlowCount": 42,
    "Source": [{"IP4": ["192.0.2.77"], "Proto": ["tcp", "ssh"]}],
    "Target": [{"Port": [22], "Proto": ["tcp", "ssh"]}],
    "Node": [{"Name": "org.example.nemea.bruteforce", "SW": ["Nemea", "brute_force_detector"],
              "Type": ["Flow", "Statistical"]}],
}


def changed(base: dict, **changes) -> dict:
    message = copy.deepcopy(base)
    for key, value in changes.items():
        if value is ...:
            del message[key]
        else:
            message[key] = value
    return message


@pytest.mark.parametrize("message", [VPORTSCAN, BRUTEFORCE])
def test_reference_examples_are_valid_even_strictly(message):
    assert validate(message) == []
    assert validate(message, strict=True) == []
    assert age_problems(message) == []


def test_minimal_message_is_valid():
    assert validate({"Format": "IDEA0", "ID": "x", "DetectTime": "2024-03-01T10:00:00Z",
                     "Category": ["Test"]}) == []


# one failing example per checklist rule (rule number, message, text expected in a problem)
FAILING = [
    # 1. top level object, Format, ID
    (1, ["not", "an", "object"], "top level is a list"),
    (1, changed(VPORTSCAN, Format="IDEA1"), "Format: 'IDEA1'"),
    (1, changed(VPORTSCAN, Format=...), "Format: missing"),
    (1, changed(VPORTSCAN, ID="has space"), "ID: 'has space'"),
    (1, changed(VPORTSCAN, ID=...), "ID: missing"),
    (1, changed(VPORTSCAN, ID=42), "ID: 42"),
    # 2. DetectTime mandatory and valid, every other *Time valid
    (2, changed(VPORTSCAN, DetectTime=...), "DetectTime: missing"),
    (2, changed(VPORTSCAN, DetectTime="2024-03-01 10:19"), "DetectTime: '2024-03-01 10:19'"),
    (2, changed(VPORTSCAN, DetectTime="2024-13-01T10:19:58Z"), "DetectTime"),
    (2, changed(VPORTSCAN, EventTime="yesterday"), "EventTime: 'yesterday'"),
    (2, changed(VPORTSCAN, CeaseTime="2024-03-01T10:19:58"), "CeaseTime"),   # no zone
    (2, changed(VPORTSCAN, WinEndTime=True), "WinEndTime: True"),
    # 3. Category: a non-empty list of event tags
    (3, changed(VPORTSCAN, Category=...), "Category: missing"),
    (3, changed(VPORTSCAN, Category=[]), "Category: empty list"),
    (3, changed(VPORTSCAN, Category="Recon.Scanning"), "Category: a string"),
    (3, changed(VPORTSCAN, Category=["Recon.Scanning.Deep"]), "Category[0]"),
    (3, changed(VPORTSCAN, Category=["Recon Scanning"]), "Category[0]"),
    # 4. counts are non-negative integers
    (4, changed(VPORTSCAN, FlowCount=-1), "FlowCount: -1"),
    (4, changed(VPORTSCAN, FlowCount=1.5), "FlowCount: 1.5"),
    (4, changed(VPORTSCAN, ByteCount="100"), "ByteCount: '100'"),
    (4, changed(VPORTSCAN, PacketCount=True), "PacketCount: True"),
    (4, changed(VPORTSCAN, ConnCount=None), "ConnCount: None"),
    (4, changed(VPORTSCAN, Source=[{"IP4": ["203.0.113.45"], "OutFlowCount": -3}]),
     "Source[0].OutFlowCount: -3"),
    # 5. Source/Target/Node/Attach are lists of objects; IP4 IPv4 forms, IP6 IPv6
    (5, changed(VPORTSCAN, Source={"IP4": ["203.0.113.45"]}), "Source: an object"),
    (5, changed(VPORTSCAN, Target=["198.51.100.20"]), "Target[0]: a string"),
    (5, changed(VPORTSCAN, Node="vportscan"), "Node: a string"),
    (5, changed(VPORTSCAN, Attach=[1]), "Attach[0]: an integer"),
    (5, changed(VPORTSCAN, Source=[{"IP4": ["2001:db8::1"]}]), "Source[0].IP4[0]"),
    (5, changed(VPORTSCAN, Source=[{"IP4": ["300.1.2.3"]}]), "Source[0].IP4[0]"),
    (5, changed(VPORTSCAN, Source=[{"IP4": ["192.0.2.9-192.0.2.1"]}]), "Source[0].IP4[0]"),
    (5, changed(VPORTSCAN, Source=[{"IP4": "203.0.113.45"}]), "Source[0].IP4: a string"),
    (5, changed(VPORTSCAN, Target=[{"IP6": ["198.51.100.20"]}]), "Target[0].IP6[0]"),
    (5, changed(VPORTSCAN, Target=[{"IP6": ["2001:db8::/129"]}]), "Target[0].IP6[0]"),
    # 6. Node[*].Name is an NSID
    (6, changed(VPORTSCAN, Node=[{"Name": "Org.Example"}]), "Node[0].Name: 'Org.Example'"),
    (6, changed(VPORTSCAN, Node=[{"Name": "org..example"}]), "Node[0].Name"),
    (6, changed(VPORTSCAN, Node=[{"Name": "cz.cesnet.9nemea"}]), "Node[0].Name"),
    # 7. keys unique case-insensitively
    (7, changed(VPORTSCAN, flowcount=3), "keys 'FlowCount' and 'flowcount' differ only in case"),
    (7, changed(VPORTSCAN, Source=[{"IP4": ["203.0.113.45"], "ip4": ["192.0.2.1"]}]),
     "Source[0]: keys 'IP4' and 'ip4'"),
]


@pytest.mark.parametrize(("rule", "message", "expected"), FAILING,
                         ids=[f"rule{r}-{i}" for i, (r, _, _) in enumerate(FAILING)])
def test_each_checklist_rule_rejects(rule, message, expected):
    problems = validate(message)
    assert any(expected in problem for problem in problems), problems


def test_every_checklist_rule_has_a_failing_example():
    assert {rule for rule, _, _ in FAILING} == {1, 2, 3, 4, 5, 6, 7}


@pytest.mark.parametrize("value", ["2024-03-01T10:19:58Z", "2024-03-01T10:19:58.123456Z",
                                   "2024-03-01T10:19:58+01:00", "2024-03-01 10:19:58Z",
                                   1709288398, 1709288398.5])
def test_timestamp_forms_the_reference_library_accepts(value):
    assert validate(changed(VPORTSCAN, DetectTime=value)) == []


@pytest.mark.parametrize("item", ["192.0.2.1", "192.0.2.0/24", "192.0.2.1-192.0.2.9"])
def test_ip4_item_forms(item):
    assert validate(changed(VPORTSCAN, Source=[{"IP4": [item]}])) == []


@pytest.mark.parametrize("item", ["2001:db8::1", "2001:db8::/32", "2001:db8::1-2001:db8::9"])
def test_ip6_item_forms(item):
    assert validate(changed(VPORTSCAN, Source=[{"IP6": [item]}])) == []


def test_unknown_category_and_keys_are_warnings_only():
    message = changed(VPORTSCAN, Category=["Suspicious.Miner", "Availibility.DDoS"],
                      _CESNET={"x": 1}, Color="red")
    assert validate(message) == []
    found = warnings(message)
    assert "Category[0]: 'Suspicious.Miner' is not in the IDEA taxonomy" in found
    assert "Category[1]: 'Availibility.DDoS' is not in the IDEA taxonomy" in found
    assert "Color: unknown key" in found
    assert not any("_CESNET" in text for text in found)        # underscore = extension
    assert validate(message, strict=True) == found


def test_strict_warnings_for_doubtful_values():
    message = changed(VPORTSCAN, Note=None, Confidence=1.5, DetectTime="2024-03-01 10:19:58Z",
                      Source=[{"IP4": ["203.0.113.45"], "Port": [70000], "Proto": ["TCP"],
                               "Hostname": []}],
                      Node=[{"Name": "org.example.x", "AggrWin": "5 minutes"}])
    found = warnings(message)
    for expected in ("Note: null", "Confidence: 1.5", "DetectTime: '2024-03-01 10:19:58Z' is "
                     "not in RFC 3339 form", "Source[0].Port[0]: 70000",
                     "Source[0].Proto[0]: 'TCP'", "Source[0].Hostname: empty list",
                     "Node[0].AggrWin: '5 minutes'"):
        assert any(expected in text for text in found), (expected, found)


def test_age_check_window_is_inclusive():
    base = {"CreateTime": "2024-03-02T10:00:00Z", "DetectTime": "2024-03-02T10:00:00Z",
            "EventTime": "2024-03-01T10:00:00Z"}
    assert age_problems(base) == []                       # exactly one day and exactly now
    old = dict(base, EventTime="2024-03-01T09:59:59Z")
    assert age_problems(old) == ["EventTime: 2024-03-01T09:59:59Z is more than 86400 s before "
                                 "CreateTime 2024-03-02T10:00:00Z"]
    future = dict(base, CeaseTime="2024-03-02T10:00:01Z")
    assert age_problems(future) == ["CeaseTime: 2024-03-02T10:00:01Z is after CreateTime "
                                    "2024-03-02T10:00:00Z"]
    assert age_problems({"EventTime": "1999-01-01T00:00:00Z"}) == []     # no CreateTime
    assert age_problems(base, max_age=60) != []


def test_parse_line_reports_exact_duplicates_and_bad_json():
    message, problems = parse_line('{"Format": "IDEA0", "Format": "IDEA0"}')
    assert message == {"Format": "IDEA0"}
    assert problems == ["key 'Format' appears twice in one object"]
    message, problems = parse_line('{"Format": ')
    assert message is None and problems[0].startswith("not valid JSON:")
    message, problems = parse_line(json.dumps(VPORTSCAN))
    assert problems == [] and validate(message) == []
