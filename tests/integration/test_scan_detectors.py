"""The scan detectors on real captures, as real processes:
`nemea flow_meter -r PCAP -i f:flows`, `nemea <detector> -i f:flows,f:alerts`,
`nemea <aggregator> -i f:alerts,f:agg`, `nemea logger -i f:agg -t`.

Every capture of the table gives exactly its expected scan events (source, target, type) and
no other. The flow meter runs once per capture (the flows are shared with
test_bruteforce_detector); captures run in parallel.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, SHARED_DATA
from tests.integration.conftest import NEMEA

CAPTURES = {
    "TCP_SYN_SCAN": "scan/evilfingers__TCP_SYN_SCAN.pcap",
    "TCP_CONNECT_SCAN": "scan/evilfingers__TCP_CONNECT_SCAN.pcap",
    "FIN_SCAN": "scan/evilfingers__FIN_SCAN.pcap",
    "NULL_SCAN": "scan/evilfingers__NULL_SCAN.pcap",
    "XMAS_TREE_SCAN": "scan/evilfingers__XMAS_TREE_SCAN.pcap",
    "ACK_SCAN": "scan/evilfingers__ACK_SCAN.pcap",
    "UDP_SCAN": "scan/evilfingers__UDP_SCAN.pcap",
    "IP_PROTOCOL_SCAN": "scan/evilfingers__IP_PROTOCOL_SCAN.pcap",
    "ndpi_synscan": "scan/ndpi__synscan.pcap",
    "icmp_portscan": "scan/slips__test12-icmp-portscan.pcap",
    "test7_malicious": "mixed/slips__test7-malicious.pcap",
    "hydra_1": "bruteforce/traceshare__hydra-1_tasks.pcap",
    "hydra_4": "bruteforce/traceshare__hydra-4_tasks.pcap",
    "hydra_8": "bruteforce/traceshare__hydra-8_tasks.pcap",
    "medusa_1": "bruteforce/traceshare__medusa-1_tasks.pcap",
    "ssh_bruteforce_902": "bruteforce/slips__malicious-ssh-bruteforce.pcap",
    "ftp_crack": "bruteforce/markofu__ftp-crack.pcap",
    "ndpi_ssh": "mixed/ndpi__ssh.pcap",
    "ndpi_ftp": "mixed/ndpi__ftp.pcap",
    "cc_capture": "mixed/slips__test-cc-capture-1.pcap",
    "dns": "dns/ppa__dns.cap",
}
SCANNER, TARGET = "192.168.1.10", "192.168.1.25"
SYN, FIN, PSH, URG, ACK = 0x02, 0x01, 0x08, 0x20, 0x10
# capture -> {(SRC_IP, DST_IP, PROTOCOL, EVENT_TYPE): TCP flags of the probes}
VERTICAL = {
    "TCP_SYN_SCAN": {(SCANNER, TARGET, 6, 1): SYN},
    "TCP_CONNECT_SCAN": {(SCANNER, TARGET, 6, 1): SYN},
    "FIN_SCAN": {(SCANNER, TARGET, 6, 1): FIN},
    "NULL_SCAN": {(SCANNER, TARGET, 6, 1): 0},
    "XMAS_TREE_SCAN": {(SCANNER, TARGET, 6, 1): FIN | PSH | URG},
    "ACK_SCAN": {(SCANNER, TARGET, 6, 1): ACK},
    "UDP_SCAN": {(SCANNER, TARGET, 17, 1): 0},
    "IP_PROTOCOL_SCAN": {(SCANNER, TARGET, 0, 2): 0},
    "ndpi_synscan": {("172.16.0.8", "64.13.134.52", 6, 1): SYN},
}
# capture -> {(SRC_IP, PROTOCOL, DST_PORT): at least this many targets}
HORIZONTAL = {
    "icmp_portscan": {("192.168.1.109", 1, 0): 18},
    "test7_malicious": {("192.168.2.16", 6, 23): 50},
}
TIMEOUT = 120

_locks: dict[str, threading.Lock] = {name: threading.Lock() for name in CAPTURES}


def command(name: str) -> list[str]:
    """`nemea NAME` once the command is registered, `python -m modules.detectors.NAME` before."""
    from modules.nemea_cli import COMMANDS
    if name in COMMANDS:
        return [NEMEA, name]
    return [sys.executable, "-m", f"modules.detectors.{name}"]


def execute(args: list[str]) -> str:
    env = {**os.environ, "TZ": "UTC", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    assert done.returncode == 0, f"{args[1:]} exited {done.returncode}: {done.stderr[-2000:]}"
    return done.stdout


def flows_for(capture: str, directory: Path) -> Path:
    """The capture's flows (biflow), made by the flow meter once per test session."""
    flows = directory / f"{capture}.trapcap"
    with _locks[capture]:
        if not flows.exists():
            partial = directory / f"{capture}.partial.trapcap"
            execute([NEMEA, "flow_meter", "-r", str(SHARED_DATA / "pcaps" / CAPTURES[capture]),
                     "-i", f"f:{partial}"])
            partial.rename(flows)
    return flows


def logged(path: Path) -> list[dict]:
    """`nemea logger -t` of a file: one dict per record, field name -> text."""
    lines = execute([NEMEA, "logger", "-i", f"f:{path}", "-t"])
    rows = list(csv.reader(io.StringIO(lines)))
    if not rows:                          # nothing was sent: not even a template
        return []
    names = [column.split()[-1] for column in rows[0]]
    return [dict(zip(names, row, strict=True)) for row in rows[1:]]


def flows_directory(factory: pytest.TempPathFactory) -> Path:
    directory = factory.getbasetemp() / "detector_flows"
    directory.mkdir(exist_ok=True)
    return directory


def run_all(factory: pytest.TempPathFactory, one_capture) -> dict:
    """one_capture(capture, flows, workdir) for every capture, in parallel (skips, as the
    shared_data fixture does, when the captures are absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    flows_dir = flows_directory(factory)

    def job(capture: str):
        workdir = factory.mktemp(capture)
        return one_capture(capture, flows_for(capture, flows_dir), workdir)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(CAPTURES, pool.map(job, CAPTURES), strict=True))


def scan_events(capture: str, flows: Path, workdir: Path) -> dict:
    events = {}
    for kind in ("vportscan", "haddrscan"):
        alerts, aggregated = workdir / f"{kind}.alerts", workdir / f"{kind}.agg"
        execute([*command(f"{kind}_detector"), "-i", f"f:{flows},f:{alerts}"])
        execute([*command(f"{kind}_aggregator"), "-i", f"f:{alerts},f:{aggregated}"])
        events[kind] = logged(aggregated)
    return events


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> dict:
    return run_all(tmp_path_factory, scan_events)


@pytest.mark.parametrize("capture", CAPTURES)
def test_vertical_scans(shared_data, events, capture):
    found = {(e["SRC_IP"], e["DST_IP"], int(e["PROTOCOL"]), int(e["EVENT_TYPE"])): e
             for e in events[capture]["vportscan"]}
    expected = VERTICAL.get(capture, {})
    assert set(found) == set(expected), events[capture]["vportscan"]
    assert len(events[capture]["vportscan"]) == len(expected)        # one event per scan
    for key, flags in expected.items():
        event = found[key]
        assert int(event["DST_CNT"]) == 1
        assert int(event["PORT_CNT"]) >= (200 if key[3] == 2 else 900)
        if key[2] == 6:
            assert int(event["TCP_FLAGS"]) & 0x3F & ~0x04 == flags   # RST of half-open probes


@pytest.mark.parametrize("capture", CAPTURES)
def test_horizontal_scans(shared_data, events, capture):
    found = {(e["SRC_IP"], int(e["PROTOCOL"]), int(e["DST_PORT"])): e
             for e in events[capture]["haddrscan"]}
    expected = HORIZONTAL.get(capture, {})
    assert set(found) == set(expected), events[capture]["haddrscan"]
    assert len(events[capture]["haddrscan"]) == len(expected)
    for key, least in expected.items():
        event = found[key]
        assert int(event["ADDR_CNT"]) >= least
        samples = [event[f"DST_IP{i}"] for i in range(16)]
        assert len({s for s in samples if s != "::"}) >= 4
