"""bruteforce_detector on real captures, as real processes:
`nemea flow_meter -r PCAP -i f:flows`, `nemea bruteforce_detector -s ssh:902 -i f:flows,f:alerts`,
`nemea logger -i f:alerts -t`.

Every capture of the table gives reports of exactly its expected attack (attacker, victim,
service): one NEW report per attack, then CONTINUING/FINAL reports of the same attack, whose
EVENT_SCALE add up to the matched flows; no other report. SSH on port 902 (the slips capture) is
not SSH by default: the run names it with `-s ssh:902`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_scan_detectors import CAPTURES, command, execute, logged, run_all

NEW, CONTINUING, FINAL = 1, 2, 3
VICTIM = "240.125.0.2"
# capture -> (attacker, victim, DST_PORT, SERVICE, at least this many matched flows)
EXPECTED = {
    "hydra_1": ("240.0.1.2", VICTIM, 22, "ssh", 55),
    "hydra_4": ("240.0.1.3", VICTIM, 22, "ssh", 230),
    "hydra_8": ("240.0.1.4", VICTIM, 22, "ssh", 470),
    "medusa_1": ("240.0.2.2", VICTIM, 22, "ssh", 180),
    "ssh_bruteforce_902": ("147.32.80.40", "147.32.80.37", 902, "ssh", 40),
    # the client sending USER/PASS is 10.234.125.254, the FTP server 10.121.70.151
    "ftp_crack": ("10.234.125.254", "10.121.70.151", 21, "ftp", 1300),
}


def bruteforce_reports(capture: str, flows: Path, workdir: Path) -> list[dict]:
    alerts = workdir / "bruteforce.alerts"
    execute([*command("bruteforce_detector"), "-s", "ssh:902", "-i", f"f:{flows},f:{alerts}"])
    return logged(alerts)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict:
    return run_all(tmp_path_factory, bruteforce_reports)


@pytest.mark.parametrize("capture", CAPTURES)
def test_bruteforce(shared_data, reports, capture):
    found = reports[capture]
    attacks = {(r["SRC_IP"], r["DST_IP"], int(r["DST_PORT"]), r["SERVICE"]) for r in found}
    expected = EXPECTED.get(capture)
    if expected is None:
        assert found == []
        return
    attacker, victim, port, service, least = expected
    assert attacks == {(attacker, victim, port, service)}, found
    kinds = [int(r["EVENT_TYPE"]) for r in found]
    assert kinds[0] == NEW and kinds.count(NEW) == 1
    assert set(kinds[1:]) <= {CONTINUING, FINAL}
    assert int(found[0]["EVENT_SCALE"]) == 30
    assert sum(int(r["EVENT_SCALE"]) for r in found) >= least
    assert all(r["NOTE"].startswith(f"I:{victim},") and int(r["WARDEN_TYPE"]) == 2
               and int(r["PROTOCOL"]) == 6 for r in found)
