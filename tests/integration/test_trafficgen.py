"""trafficgen end to end: generate the mixed scenario, run flow_meter over it, read the flows
with logger, and find every attack of the ground truth in the flow records."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from ipaddress import ip_address, ip_network

from tests.conftest import PROJECT_ROOT

GENERATOR = [sys.executable, "-m", "modules.trafficgen"]


def _generate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GENERATOR, *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60)


def _flows(spawn, pcap, tmp_path) -> list[dict]:
    out = tmp_path / "flows.trapcap"
    meter = spawn("nemea", "flow_meter", "-r", str(pcap), "-i", f"f:{out}")
    assert meter.wait(60) == 0, meter.stderr
    logger = spawn("nemea", "logger", "-t", "-i", f"f:{out}")
    assert logger.wait(60) == 0, logger.stderr
    rows = list(csv.reader(logger.stdout.splitlines()))
    names = [column.split()[1] for column in rows[0]]
    return [dict(zip(names, row, strict=True)) for row in rows[1:]]


def test_mixed_scenario_attacks_show_in_the_flows(spawn, tmp_path):
    pcap = tmp_path / "mixed.pcap"
    result = _generate("-o", str(pcap), "--scenario", "mixed", "--seed", "7", "--hosts", "8")
    assert result.returncode == 0, result.stderr
    truth = json.loads((tmp_path / "mixed.pcap.truth.json").read_text())
    attacks = {attack["type"]: attack for attack in truth["attacks"]}
    flows = _flows(spawn, pcap, tmp_path)
    assert sum(int(f["PACKETS"]) + int(f["PACKETS_REV"]) for f in flows) == truth["packets"]

    def between(attack, port_field=None, port=None):
        attackers, victims = set(attack["attackers"]), set(attack["victims"])
        return [f for f in flows if f["SRC_IP"] in attackers and f["DST_IP"] in victims
                and (port_field is None or int(f[port_field]) == port)]

    vscan = between(attacks["vscan"])
    assert len({f["DST_PORT"] for f in vscan}) >= 900
    assert {f["DST_IP"] for f in vscan} == set(attacks["vscan"]["victims"])
    assert sum(int(f["TCP_FLAGS_REV"]) & 0x12 == 0x12 for f in vscan) \
        == len(attacks["vscan"]["open_ports"])

    hscan = attacks["hscan"]
    hscan_flows = between(hscan, "DST_PORT", hscan["ports"][0])
    assert len({f["DST_IP"] for f in hscan_flows}) >= 450

    ssh = between(attacks["ssh_bruteforce"], "DST_PORT", 22)
    assert 90 <= len(ssh) <= 110
    assert all(4 <= int(f["PACKETS"]) <= 30 for f in ssh)

    flood = attacks["syn_flood"]
    spoofed = ip_network(flood["attackers"][0])
    single = [f for f in flows if f["DST_IP"] == flood["victims"][0]
              and int(f["DST_PORT"]) == flood["ports"][0] and f["PACKETS"] == "1"
              and int(f["TCP_FLAGS"]) == 0x02 and ip_address(f["SRC_IP"]) in spoofed]
    assert len(single) >= 15_000
    assert len({f["SRC_IP"] for f in single}) >= 15_000

    amp = attacks["dns_amplification"]
    reflectors, victim = set(amp["attackers"]), amp["victims"][0]
    responses = [f for f in flows if f["SRC_IP"] in reflectors and f["DST_IP"] == victim
                 and f["SRC_PORT"] == "53"]
    assert len(responses) >= 900
    assert len({f["SRC_IP"] for f in responses}) >= 100
    assert {f["PACKETS_REV"] for f in responses} == {"0"}        # unsolicited: no query seen
    assert not [f for f in flows if f["SRC_IP"] == victim and f["DST_IP"] in reflectors]
    assert Counter(f["PACKETS"] for f in responses).most_common(1)[0][0] == "3"
    assert sum(int(f["BYTES"]) for f in responses) > 2500 * len(responses)


def test_generator_errors_are_one_line(tmp_path):
    unknown = _generate("-o", str(tmp_path / "a.pcap"), "--scenario", "portscan")
    unwritable = _generate("-o", str(tmp_path / "no" / "such" / "a.pcap"))
    for result, message in ((unknown, "unknown scenario 'portscan'; known: background"),
                            (unwritable, "cannot write")):
        assert result.returncode != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], lines
