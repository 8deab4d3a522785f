"""The click command: outputs, the truth file, one-line errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from modules.trafficgen.cli import main

SMALL = ["--duration", "5", "--hosts", "2", "--scale", "0.02"]


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_writes_pcap_and_truth_next_to_it(tmp_path):
    out = tmp_path / "x.pcap"
    result = run("-o", str(out), "--scenario", "hscan", "--seed", "4", *SMALL)
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "x.pcap.truth.json").read_text())
    assert truth["pcap"] == "x.pcap" and truth["scenario"] == "hscan" and truth["seed"] == 4
    assert truth["start"] == "2024-01-15T10:00:00.000000Z"
    assert truth["end"] == "2024-01-15T10:00:05.000000Z"
    (attack,) = truth["attacks"]
    assert {"type", "attackers", "victims", "ports", "protocol", "first", "last",
            "packets"} <= set(attack)
    assert attack["ports"] in ([23], [445]) and attack["protocol"] == "tcp"
    assert truth["background"]["clients"] == ["10.0.1.1-10.0.1.2"]
    assert out.stat().st_size > 24
    assert "hscan" in result.output


def test_truth_path_option_and_quiet(tmp_path):
    truth = tmp_path / "labels.json"
    result = run("-o", str(tmp_path / "y.pcap"), "--truth", str(truth), "-q",
                 "--scenario", "background", *SMALL)
    assert result.exit_code == 0 and result.output == ""
    assert json.loads(truth.read_text())["attacks"] == []
    assert not (tmp_path / "y.pcap.truth.json").exists()


def test_list_needs_no_output():
    result = run("--list")
    assert result.exit_code == 0
    assert "dns_amplification" in result.output and "syn_flood" in result.output


@pytest.mark.parametrize("args, message", [
    (["--scenario", "nope"], "unknown scenario 'nope'; known: background, vscan, hscan"),
    (["--seed", "x"], "'--seed'"),
    (["--start", "yesterday"], "--start 'yesterday': expected an ISO time"),
    (["--hosts", "-1"], "--hosts -1"),
    (["--duration", "0"], "--duration 0"),
])
def test_bad_options_are_one_line_errors(tmp_path, args, message):
    result = run("-o", str(tmp_path / "z.pcap"), *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: trafficgen: ") and message in lines[0]
    assert not (tmp_path / "z.pcap").exists()


def test_unwritable_output_is_a_one_line_error(tmp_path):
    for target in (tmp_path / "missing" / "a.pcap", tmp_path):
        result = run("-o", str(target), *SMALL)
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot write" in lines[0] and str(target) in lines[0]
    result = run("-o", str(tmp_path / "b.pcap"), "--truth", str(tmp_path / "no" / "t.json"),
                 *SMALL)
    assert result.exit_code == 1 and "t.json" in result.stderr
    assert not (tmp_path / "b.pcap").exists()
