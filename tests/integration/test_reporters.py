"""Reporters as real processes: logreplay -> report2idea -> file / trap output, the age check,
start-up errors, and `idea-validate` exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from libtrap_py.formats import DataFormat
from libtrap_py.ifc_spec import parse_ifc_specs
from libtrap_py.interfaces import open_input
from modules.nemea_cli import COMMANDS
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import NEMEA
from tests.unit.reporters.alerts import BLACKLIST_XML, EXPECTED_COUNTS, TEMPLATES, csv_text

REPORTER = [sys.executable, "-m", "modules.reporters.report2idea"]
VALIDATE = [sys.executable, "-m", "modules.reporters.validate_cli"]


@pytest.fixture
def start(start_process):
    """start(argv) runs a process in its own session (the shared start_process fixture)."""
    return start_process


def validate_files(*paths) -> subprocess.CompletedProcess:
    return subprocess.run([*VALIDATE, *map(str, paths)], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=30)


def test_every_detector_through_logreplay_and_a_reporter_process(start, tmp_path):
    (tmp_path / "bl.xml").write_text(BLACKLIST_XML)
    pipelines = []
    for detector in sorted(TEMPLATES):
        csv_path = tmp_path / f"{detector}.csv"
        csv_path.write_text(csv_text(detector))
        out = tmp_path / f"{detector}.idea"
        extra = ["--blacklist-config", str(tmp_path / "bl.xml")] if detector == "blacklist" \
            else []
        replay = start([NEMEA, "logreplay", "-i", f"u:{detector}", "-f", str(csv_path)])
        reporter = start([*REPORTER, "--detector", detector, "-i", f"u:{detector}", "-D",
                          "--file", str(out), *extra])
        pipelines.append((detector, out, replay, reporter))
    for detector, out, replay, reporter in pipelines:
        assert reporter.wait(30) == 0, reporter.stderr
        assert replay.wait(10) == 0, replay.stderr
        messages = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(messages) == EXPECTED_COUNTS[detector], detector
        assert reporter.stdout == ""            # --file given: nothing on stdout
    checked = validate_files(*(out for _, out, _, _ in pipelines))
    assert checked.returncode == 0, checked.stdout
    total = sum(EXPECTED_COUNTS.values())
    assert checked.stdout.splitlines()[-1] == (
        f"idea-validate: {total} messages in 7 files: {total} valid, 0 invalid (0 problems)")


def test_trap_output_carries_idea_json_and_eof(start, tmp_path):
    csv_path = tmp_path / "alerts.csv"
    csv_path.write_text(csv_text("amplification"))
    alerts, idea = tmp_path / "alerts.trapcap", tmp_path / "idea.trapcap"
    assert start([NEMEA, "logreplay", "-i", f"f:{alerts}", "-f", str(csv_path)]).wait(20) == 0
    reporter = start([*REPORTER, "--detector", "amplification", "-D",
                      "-i", f"f:{alerts},f:{idea}"])
    assert reporter.wait(20) == 0, reporter.stderr
    inputs, _ = parse_ifc_specs(f"f:{idea}", 1, 0)
    reader = open_input(inputs[0], DataFormat.json("IDEA"))
    texts = []
    try:
        while True:
            message = reader.receive(2000)
            assert message is not None, "no EOF in the output file"
            if message.is_eof:
                break
            texts += message.messages()
    finally:
        reader.close()
    assert [json.loads(t)["Description"] for t in texts] == ["DNS amplification",
                                                             "NTP amplification"]


def test_age_check_in_a_process_drops_replayed_alerts_unless_disabled(start, tmp_path):
    csv_path = tmp_path / "alerts.csv"
    csv_path.write_text(csv_text("ddos"))
    alerts = tmp_path / "alerts.trapcap"
    assert start([NEMEA, "logreplay", "-i", f"f:{alerts}", "-f", str(csv_path)]).wait(20) == 0
    checked = start([*REPORTER, "--detector", "ddos", "-i", f"f:{alerts}"])
    unchecked = start([*REPORTER, "--detector", "ddos", "-i", f"f:{alerts}", "-D"])
    assert checked.wait(20) == 0 and unchecked.wait(20) == 0, checked.stderr
    assert checked.stdout == ""
    assert "skipped by the age check" in checked.stderr
    assert [json.loads(line)["ByteCount"] for line in unchecked.stdout.splitlines()] == [
        450000000]


def test_rules_config_in_a_process(start, tmp_path):
    csv_path = tmp_path / "alerts.csv"
    csv_path.write_text(csv_text("bruteforce"))
    config = tmp_path / "reporter.yaml"
    config.write_text(f"""
namespace: cz.cesnet.nemea
addressgroups: [{{id: mine, list: [192.0.2.0/24]}}]
custom_actions:
  - {{id: keep, file: {{path: {tmp_path / 'kept.idea'}}}}}
  - {{id: flag, mark: {{path: _CESNET.Mine, value: true}}}}
rules:
  - {{id: 1, condition: Source.IP4 in mine, actions: [flag, keep], elseactions: [drop]}}
""")
    alerts = tmp_path / "alerts.trapcap"
    assert start([NEMEA, "logreplay", "-i", f"f:{alerts}", "-f", str(csv_path)]).wait(20) == 0
    reporter = start([*REPORTER, "--detector", "bruteforce", "-D", "-c", str(config),
                      "--stdout", "-i", f"f:{alerts}"])
    assert reporter.wait(20) == 0, reporter.stderr
    kept = [json.loads(line) for line in (tmp_path / "kept.idea").read_text().splitlines()]
    assert [m["_CESNET"] for m in kept] == [{"Mine": True}, {"Mine": True}]
    printed = [json.loads(line) for line in reporter.stdout.splitlines()]
    assert [m["Source"][0]["IP4"] for m in printed] == [["192.0.2.77"], ["192.0.2.78"]]
    assert all("_CESNET" not in m for m in printed)       # the option rule gets a fresh copy


@pytest.mark.parametrize(("args", "message"), [
    (["--detector", "nosuch", "-i", "u:a"], "--detector 'nosuch'"),
    (["--detector", "ddos", "-c", "/nonexistent.yaml", "-i", "u:a"], "/nonexistent.yaml"),
    (["--detector", "ddos", "-T", "-i", "u:a"], "-T needs an output interface"),
])
def test_startup_errors_are_one_clear_line(start, args, message):
    proc = start([*REPORTER, *args])
    assert proc.wait(15) != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: report2idea:"), lines
    assert message in lines[0]


def test_idea_validate_exit_codes(tmp_path):
    good, bad = tmp_path / "good.idea", tmp_path / "bad.idea"
    valid = {"Format": "IDEA0", "ID": "a1", "DetectTime": "2024-03-01T10:00:00Z",
             "Category": ["Recon.Scanning"]}
    good.write_text(json.dumps(valid) + "\n\n" + json.dumps(dict(valid, ID="a2")) + "\n")
    bad.write_text(json.dumps(valid) + "\n" + json.dumps(dict(valid, Format="IDEA1",
                                                               FlowCount=-1)) + "\n{oops\n")
    ok = validate_files(good)
    assert ok.returncode == 0, ok.stdout
    assert ok.stdout == "idea-validate: 2 messages in 1 file: 2 valid, 0 invalid (0 problems)\n"
    failed = validate_files(good, bad)
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == [
        f"{bad}:2: Format: 'IDEA1', expected 'IDEA0'",
        f"{bad}:2: FlowCount: -1 is not a non-negative integer",
        f"{bad}:3: not valid JSON: Expecting property name enclosed in double quotes at "
        "column 2",
        "idea-validate: 5 messages in 2 files: 3 valid, 2 invalid (3 problems)"]
    missing = validate_files(tmp_path / "missing.idea")
    assert missing.returncode == 1
    assert "missing.idea: cannot read: No such file or directory" in missing.stdout
    strict = subprocess.run([*VALIDATE, "--strict", str(good)], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=30)
    assert strict.returncode == 0
    aged = subprocess.run([*VALIDATE, "--check-age", "-"], cwd=PROJECT_ROOT, text=True,
                          input=json.dumps(dict(valid, CreateTime="2024-03-03T10:00:00Z")),
                          capture_output=True, timeout=30)
    assert aged.returncode == 1 and "-:1: DetectTime: 2024-03-01T10:00:00Z is more than" \
        in aged.stdout


@pytest.mark.skipif("idea-validate" not in COMMANDS,
                    reason="`idea-validate` is not registered in modules/nemea_cli.py yet")
def test_nemea_idea_validate_subcommand(tmp_path):
    path = tmp_path / "one.idea"
    path.write_text('{"Format": "IDEA0", "ID": "x", "Category": ["Test"]}\n')
    result = subprocess.run([NEMEA, "idea-validate", str(path)], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == f"{path}:1: DetectTime: missing (mandatory)"
