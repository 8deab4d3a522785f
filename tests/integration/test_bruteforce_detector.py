"""bruteforce_detector on real captures, as real processes:
`nemea flow_meter -r PCAP -i f:flows`, `nemea bruteforce_detector [--reports nemea] -i
f:flows,f:alerts`, `nemea logger -i f:alerts -t`.

With the default options every capture of the table gives exactly one report (EVENT_TYPE 4) per
attack (attacker, victim, port, service) carrying the whole episode, and no other report; SSH
on port 902 (the slips capture) is found by the any-port rule. With `--reports nemea` an attack
is one NEW report then CONTINUING/FINAL reports of the same attack, which together count no
more attempts than the episode report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_scan_detectors import CAPTURES, command, execute, logged, run_all

NEW, CONTINUING, FINAL, EPISODE = 1, 2, 3, 4
VICTIM = "240.125.0.2"
# capture -> (attacker, victim, DST_PORT, SERVICE, at least this many matched flows)
EXPECTED = {
    "hydra_1": ("240.0.1.2", VICTIM, 22, "ssh", 58),
    "hydra_4": ("240.0.1.3", VICTIM, 22, "ssh", 230),
    "hydra_8": ("240.0.1.4", VICTIM, 22, "ssh", 460),
    "medusa_1": ("240.0.2.2", VICTIM, 22, "ssh", 186),
    "ssh_bruteforce_902": ("147.32.80.40", "147.32.80.37", 902, "any-port", 62),
    # the client sending USER/PASS is 10.234.125.254, the FTP server 10.121.70.151
    "ftp_crack": ("10.234.125.254", "10.121.70.151", 21, "ftp", 1320),
}


def bruteforce_reports(capture: str, flows: Path, workdir: Path) -> dict[str, list[dict]]:
    """The reports of each --reports mode (NEMEA's only where an attack is expected)."""
    found = {}
    for mode in ("episode", "nemea") if capture in EXPECTED else ("episode",):
        alerts = workdir / f"bruteforce-{mode}.alerts"
        execute([*command("bruteforce_detector"), "--reports", mode,
                 "-i", f"f:{flows},f:{alerts}"])
        found[mode] = logged(alerts)
    return found


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict:
    return run_all(tmp_path_factory, bruteforce_reports)


def attack(report: dict) -> tuple:
    return report["SRC_IP"], report["DST_IP"], int(report["DST_PORT"]), report["SERVICE"]


@pytest.mark.parametrize("capture", CAPTURES)
def test_one_report_per_attack(shared_data, reports, capture):
    found = reports[capture]["episode"]
    expected = EXPECTED.get(capture)
    if expected is None:
        assert found == []
        return
    *key, least = expected
    assert [attack(r) for r in found] == [tuple(key)], found
    [report] = found
    assert int(report["EVENT_TYPE"]) == EPISODE and int(report["EVENT_SCALE"]) >= least
    assert report["TIME_FIRST"] < report["TIME_LAST"] <= report["DETECTION_TIME"]
    assert report["NOTE"].startswith(f"I:{key[1]},") and int(report["WARDEN_TYPE"]) == 2 \
        and int(report["PROTOCOL"]) == 6


@pytest.mark.parametrize("capture", EXPECTED)
def test_nemea_reports(shared_data, reports, capture):
    found, [episode] = reports[capture]["nemea"], reports[capture]["episode"]
    assert {attack(r) for r in found} == {attack(episode)}, found
    kinds = [int(r["EVENT_TYPE"]) for r in found]
    assert kinds[0] == NEW and kinds.count(NEW) == 1
    assert set(kinds[1:]) <= {CONTINUING, FINAL}
    threshold = 50 if episode["SERVICE"] == "any-port" else 30
    assert int(found[0]["EVENT_SCALE"]) == threshold
    assert sum(int(r["EVENT_SCALE"]) for r in found) <= int(episode["EVENT_SCALE"])
