"""Every mapping: alerts built from the reference templates give valid IDEA (strictly, except
the documented non-standard categories), equal to the golden files (ID and now-times aside)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from libtrap_py.errors import FormatMismatch
from libtrap_py.formats import DataFormat
from libtrap_py.message import Message
from modules.detectors.bruteforce_detector import BruteforceDetector, BruteforceParams
from modules.detectors.inprocess import flow_batch, run
from modules.reporters import aliases
from modules.reporters.errors import ReporterError
from modules.reporters.idea_validator import validate
from modules.reporters.mappings import MAPPINGS, check_fields, service_name
from tests.unit.reporters.alerts import (
    BLACKLIST_XML,
    EXPECTED_COUNTS,
    TEMPLATES,
    alert_message,
    json_message,
    make_reporter,
    run_reporter,
)
from unirec import Template, read_csv

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("REPORTERS_UPDATE_GOLDEN") == "1"
NON_STANDARD = {"Suspicious.Miner"}     # NEMEA's miner category (idea.md §3)


def normalized(text: str) -> dict:
    """A message with its random ID and its now-times replaced (idea.md §7, last paragraph)."""
    message = json.loads(text)
    message["ID"] = "<ID>"
    if message.get("DetectTime") == message["CreateTime"]:
        message["DetectTime"] = "<now>"
    message["CreateTime"] = "<now>"
    return message


def check_golden(name: str, texts: list[str]) -> None:
    path = GOLDEN / f"{name}.jsonl"
    lines = [json.dumps(normalized(text)) for text in texts]
    if UPDATE:
        path.write_text("".join(line + "\n" for line in lines))
    assert lines == path.read_text().splitlines(), f"{path} differs"


def strictly_valid(message: dict) -> list[str]:
    return [p for p in validate(message, strict=True)
            if not any(f"'{tag}' is not in the IDEA taxonomy" in p for tag in NON_STANDARD)]


@pytest.fixture
def bl_config(tmp_path) -> str:
    path = tmp_path / "bl_downloader_config.xml"
    path.write_text(BLACKLIST_XML)
    return str(path)


@pytest.mark.parametrize("detector", sorted(TEMPLATES))
def test_every_mapping_gives_valid_idea_equal_to_golden(detector, bl_config):
    extra = {"blacklist_config": bl_config} if detector == "blacklist" else {}
    module = run_reporter([alert_message(detector)], output=True, detector=detector,
                          dontvalidate=True, trap=True, **extra)
    texts = module.ports[0].messages
    assert module.ports[0].format == DataFormat.json("IDEA")
    assert len(texts) == EXPECTED_COUNTS[detector]
    for text in texts:
        message = json.loads(text)
        assert strictly_valid(message) == [], text
        node = message["Node"][0]
        assert node["Name"] == f"org.example.nemea.{MAPPINGS[detector].reporter}"
        assert node["SW"] == ["Nemea", MAPPINGS[detector].sw]
    check_golden(detector, texts)


@pytest.mark.parametrize(("detector", "label"), [("vportscan", "aggregated_portscan"),
                                                 ("blacklist", "aggregated_blacklist")])
def test_aggregator_json_events(detector, label, bl_config):
    extra = {"blacklist_config": bl_config} if detector == "blacklist" else {}
    module = run_reporter([json_message(detector, label)], output=True, detector=detector,
                          dontvalidate=True, trap=True, json_input=True, **extra)
    assert module.required == DataFormat.json(label)
    texts = module.ports[0].messages
    assert len(texts) == 2
    for text in texts:
        assert strictly_valid(json.loads(text)) == [], text
    check_golden(f"{detector}_json", texts)


def test_vportscan_block_scan_lists_every_target_sorted():
    module = run_reporter([json_message("vportscan", "aggregated_portscan")], output=True,
                          detector="vportscan", dontvalidate=True, trap=True, json_input=True)
    single, block = (json.loads(t) for t in module.ports[0].messages)
    assert single["Description"] == "Vertical scan using TCP SYN"
    assert block["Description"] == "Block portscan using TCP SYN"
    assert block["Target"][0]["IP4"] == ["198.51.100.3", "198.51.100.21"]
    assert block["FlowCount"] == 150


def test_bruteforce_matches_the_reference_example():
    module = run_reporter([alert_message("bruteforce")], output=True, detector="bruteforce",
                          dontvalidate=True, trap=True)
    first = normalized(module.ports[0].messages[0])
    assert first == {   # idea.md §9, ID and CreateTime aside
        "Format": "IDEA0", "ID": "<ID>", "CreateTime": "<now>",
        "DetectTime": "2024-03-01T11:02:40Z", "Category": ["Attempt.Login"],
        "Description": "Multiple unsuccessful login attempts on SSH", "FlowCount": 42,
        "Source": [{"IP4": ["192.0.2.77"], "Proto": ["tcp", "ssh"]}],
        "Target": [{"Port": [22], "Proto": ["tcp", "ssh"]}],
        "Node": [{"Name": "org.example.nemea.bruteforce",
                  "SW": ["Nemea", "brute_force_detector"], "Type": ["Flow", "Statistical"]}]}
    assert module.counters["skipped"] == 1        # WARDEN_TYPE != 2


def test_bruteforce_episode_of_our_detector_carries_its_totals():
    start = 1709290000                                       # 2024-03-01T10:46:40Z
    flows = [dict(SRC_IP="192.0.2.77", DST_IP="198.51.100.6" if t % 100 == 50 else
                  "198.51.100.5", SRC_PORT=40000 + t, DST_PORT=22, PROTOCOL=6, PACKETS=16,
                  BYTES=1973, TCP_FLAGS=0x1B, TIME_FIRST=start + t, TIME_LAST=start + t + 10)
             for t in range(0, 1200, 10)]
    [alerts] = run(BruteforceDetector(BruteforceParams()), [flow_batch(flows)])[0].batches
    module = run_reporter([Message(DataFormat.unirec(alerts.template), batch=alerts)],
                          output=True, detector="bruteforce", dontvalidate=True, trap=True)
    [message] = [json.loads(text) for text in module.ports[0].messages]
    assert strictly_valid(message) == []
    assert (message["FlowCount"], message["EventTime"], message["CeaseTime"],
            message["DetectTime"]) == (120, "2024-03-01T10:46:40Z", "2024-03-01T11:06:40Z",
                                       "2024-03-01T11:06:40Z")
    assert message["Target"] == [{"IP4": ["198.51.100.5", "198.51.100.6"], "Port": [22],
                                  "Proto": ["tcp", "ssh"]}]


def test_service_names():
    assert [service_name(p, "tcp") for p in (22, 23, 2179, 3389, 5900)] == [
        "SSH", "TELNET", "VMRDP", "RDP", "VNC"]


def test_node_name_aggrwin_and_name_option():
    module = run_reporter([alert_message("haddrscan")], output=True, detector="haddrscan",
                          dontvalidate=True, trap=True, aggrwin="00:10:00",
                          name="cz.cesnet.nemea.hscan")
    node = json.loads(module.ports[0].messages[0])["Node"][0]
    assert node == {"Name": "cz.cesnet.nemea.hscan", "SW": ["Nemea", "haddrscan_detector"],
                    "Type": ["Flow", "Statistical"], "AggrWin": "00:10:00"}


def test_check_fields_accepts_other_int_widths_but_not_other_kinds():
    required = MAPPINGS["amplification"].required
    sent = Template.parse(required.replace("uint32 REQ_FLOWS", "uint64 REQ_FLOWS"))
    assert check_fields(sent, required) == []
    assert check_fields(Template.parse("ipaddr SRC_IP"), "ipaddr SRC_IP,time TIME_LAST") == [
        "missing time TIME_LAST"]
    assert check_fields(Template.parse("uint64 SRC_IP"), "ipaddr SRC_IP") == [
        "SRC_IP is uint64, required ipaddr"]


def test_alerts_without_the_needed_fields_fail_clearly():
    module = make_reporter(detector="ddos", dontvalidate=True)
    module.setup()
    with pytest.raises(FormatMismatch, match="lack what --detector ddos reads: missing uint64 "
                                             "BYTES"):
        module.on_format(DataFormat.unirec("ipaddr DST_IP,time TIME_FIRST,time TIME_LAST"), 0)
    module.finish()


@pytest.mark.parametrize(("options", "message"), [
    ({"detector": "portscan"}, "--detector 'portscan'"),
    ({"detector": "ddos", "json_input": True}, "ddos has no JSON event form"),
    ({"detector": "ddos", "aggrwin": "5m"}, "--aggrwin '5m'"),
    ({"detector": "ddos", "name": "Bad Name"}, "-n 'Bad Name'"),
    ({"detector": "ddos", "blacklist_config": "x.xml"}, "--blacklist-config applies"),
    ({"detector": "ddos", "max_age": -1.0}, "--max-age"),
])
def test_bad_options(options, message):
    with pytest.raises(ReporterError, match=message.replace("(", r"\(")):
        make_reporter(**options)


def test_trap_option_needs_an_output():
    module = make_reporter(detector="ddos", trap=True)
    with pytest.raises(ReporterError, match="-T needs an output interface"):
        module.setup()


def test_unconvertible_alert_is_counted_and_skipped(caplog):
    module = make_reporter(output=True, detector="vportscan", dontvalidate=True, json_input=True)
    module.setup()
    assert module.report({"src_ip": "192.0.2.1"}, module.mapping.convert_json) is None
    module.finish()
    assert module.counters["failed"] == 1
    assert "could not be converted (KeyError" in caplog.text


def test_aliases_preset_the_detector():
    for command, detector in aliases.ALIASES.items():
        click_command = getattr(aliases, command)
        assert click_command.name == command
        option = next(p for p in click_command.params if p.name == "detector")
        assert option.default == detector


def test_vportscan_aggregated_unirec_record_lists_every_victim():
    parsed = read_csv(
        "uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,ipaddr DST_IP,"
        "uint8 PROTOCOL,uint8 TCP_FLAGS,uint32 PORT_CNT,uint32 DST_CNT,uint32 ALERT_CNT,"
        "string DST_IPS\n"
        '1,2024-03-01T10:14:03,2024-03-01T10:19:58,203.0.113.45,198.51.100.20,6,2,150,2,3,'
        '"198.51.100.3=50,198.51.100.20=100"\n')
    message = Message(DataFormat.unirec(parsed.batch.template), batch=parsed.batch)
    module = run_reporter([message], output=True, detector="vportscan", dontvalidate=True,
                          trap=True)
    idea = json.loads(module.ports[0].messages[0])
    assert idea["Description"] == "Block portscan using TCP SYN"
    assert idea["Target"] == [{"IP4": ["198.51.100.3", "198.51.100.20"], "Proto": ["tcp"]}]
    assert idea["FlowCount"] == 150 and validate(idea, strict=True) == []
