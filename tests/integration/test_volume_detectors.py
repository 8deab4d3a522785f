"""The volume detectors in the real pipeline on the shared DDoS and no-alert captures:

    nemea flow_meter -r CAPTURE -i f:flows
    nemea <detector> -i f:flows,f:alerts
    nemea logger -i f:alerts -t

Every capture gets one flow_meter run; ddos_detector, dns_amplification (`-p known`) and
hoststats then run on its flows (in parallel), and each row states the only alerts they may send.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from tests.integration.conftest import NEMEA

MODULES = {
    "ddos_detector": "modules.detectors.ddos_detector",
    "dns_amplification": "modules.detectors.amplification_detection",
    "hoststats": "modules.detectors.hoststats",
    "ipblacklistfilter": "modules.detectors.blacklist_filter",
}
DETECTORS = {"ddos_detector": [], "dns_amplification": ["-p", "known"], "hoststats": []}
TIMEOUT = 120

# capture -> {detector: (ATTACK_TYPE, victim, minimal SRC_CNT)}; detectors not named: no alert
ROWS = {
    "ddos/stopddos__pkt.TCP.synflood.spoofed.pcap":
        {"ddos_detector": ("SYN flood", "10.10.10.10", 37_000)},
    "ddos/stopddos__pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng":
        {"ddos_detector": ("SYN flood", "10.10.10.10", 9_000)},
    "ddos/stopddos__amp.TCP.reflection.SYNACK.pcap":
        {"ddos_detector": ("SYN-ACK reflection", "10.10.10.10", 7_000)},
    "ddos/stopddos__amp.dns.RRSIG.fragmented.pcap":
        {"dns_amplification": ("DNS amplification", "10.10.10.10", 40)},
    "ddos/stopddos__amp.UDP.snmp.src161.pcapng":
        {"dns_amplification": ("SNMP amplification", "10.10.10.10", 4_000),
         "ddos_detector": ("SNMP amplification", "10.10.10.10", 4_000)},
    "ddos/stopddos__amp.UDP.isakmp.pcap":
        {"dns_amplification": ("ISAKMP amplification", "10.10.10.10", 2_700),
         "ddos_detector": ("ISAKMP amplification", "10.10.10.10", 2_700)},
    "ddos/stopddos__amp.UDP.bacnet.IOT.37810.pcapng":
        {"dns_amplification": ("BACnet amplification", "10.10.10.1", 5_800),
         "ddos_detector": ("BACnet amplification", "10.10.10.1", 6_000)},
    "mixed/ndpi__ssh.pcap": {},
    "mixed/ndpi__ftp.pcap": {},
    "mixed/slips__test-cc-capture-1.pcap": {},
    "dns/ppa__dns.cap": {},
}


def command(name: str) -> list[str]:
    """`nemea NAME` once the command is registered, the module itself until then."""
    from modules.nemea_cli import COMMANDS
    if name in COMMANDS:
        return [NEMEA, name]
    return [sys.executable, "-m", MODULES[name]]


def call(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT,
                          cwd=Path(__file__).resolve().parents[2], check=False)
    assert done.returncode == 0, f"{args}: exit {done.returncode}: {done.stderr[-2000:]}"
    return done.stdout


def alerts_of(detector: str, flows: Path, out: Path, *options: str) -> list[dict]:
    alerts = out / f"{detector}.trapcap"
    call([*command(detector), "-i", f"f:{flows},f:{alerts}", *options])
    text = call([NEMEA, "logger", "-i", f"f:{alerts}", "-t"])
    lines = text.splitlines()
    if not lines:
        return []
    names = [spec.split()[-1] for spec in lines[0].split(",")]
    return [dict(zip(names, row, strict=True)) for row in csv.reader(io.StringIO(
        "\n".join(lines[1:])))]


def analyse(capture: str, work: Path) -> dict[str, list[dict]]:
    work.mkdir(parents=True)
    flows = work / "flows.trapcap"
    call([NEMEA, "flow_meter", "-r", str(SHARED_DATA / "pcaps" / capture), "-i", f"f:{flows}"])
    return {name: alerts_of(name, flows, work, *options) for name, options in DETECTORS.items()}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict[str, list[dict]]]:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    base = tmp_path_factory.mktemp("volume")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {capture: pool.submit(analyse, capture, base / f"c{i}")
                   for i, capture in enumerate(ROWS)}
        return {capture: future.result() for capture, future in futures.items()}


@pytest.mark.parametrize("capture", list(ROWS))
def test_expected_alerts_and_nothing_else(shared_data, results, capture):
    got = results[capture]
    for detector in DETECTORS:
        alerts = got[detector]
        expected = ROWS[capture].get(detector)
        if expected is None:
            assert alerts == [], f"{detector} on {capture}: unexpected {alerts}"
            continue
        kind, victim, sources = expected
        assert len(alerts) == 1, f"{detector} on {capture}: {alerts}"
        alert = alerts[0]
        assert (alert["ATTACK_TYPE"], alert["DST_IP"]) == (kind, victim)
        assert int(alert["SRC_CNT"]) >= sources
        assert alert["TIME_FIRST"] <= alert["TIME_LAST"]


def test_syn_flood_alert_counts_the_whole_episode(shared_data, results):
    alert, = results["ddos/stopddos__pkt.TCP.synflood.spoofed.pcap"]["ddos_detector"]
    assert (alert["FLOWS"], alert["PACKETS"], alert["SRC_CNT"]) == ("37669", "37841", "37623")
    assert alert["DST_PORT"] == "25565" and alert["EVENT_SEQ"] == "1"
    assert "in 23.684 s" in alert["NOTE"]


def test_dns_amplification_with_default_port_and_fragments(shared_data, results, tmp_path):
    work = tmp_path / "dns"
    work.mkdir()
    flows = work / "flows.trapcap"
    capture = SHARED_DATA / "pcaps" / "ddos" / "stopddos__amp.dns.RRSIG.fragmented.pcap"
    call([NEMEA, "flow_meter", "-r", str(capture), "-i", f"f:{flows}"])
    alert, = alerts_of("dns_amplification", flows, work)          # -p 53, NEMEA's default
    assert (alert["ATTACK_TYPE"], alert["DST_IP"], alert["SRC_PORT"]) == \
        ("DNS amplification", "10.10.10.10", "53")
    assert int(alert["RSP_BYTES"]) > 1_000_000 and "fragment flows" in alert["NOTE"]


def test_blacklist_filter_names_the_list(shared_data, tmp_path):
    work = tmp_path / "bl"
    work.mkdir()
    flows = work / "flows.trapcap"
    capture = SHARED_DATA / "pcaps" / "mixed" / "slips__test-cc-capture-1.pcap"
    call([NEMEA, "flow_meter", "-r", str(capture), "-i", f"f:{flows}"])
    blist = work / "ip4.blist"
    blist.write_text("141.193.213.20/31,2\n192.0.2.0/24,1\n")     # the C&C servers .20, .21
    lists = work / "lists.xml"
    lists.write_text("<configuration><array type='IP'><struct><element name='id'>2</element>"
                     "<element name='name'>Feodo Tracker</element></struct></array>"
                     "</configuration>")
    listed = alerts_of("ipblacklistfilter", flows, work, "-4", str(blist), "-l", str(lists))
    assert len(listed) == 299
    assert {(a["DST_IP"], a["DST_BLACKLIST"], a["SRC_BLACKLIST"], a["BLACKLIST_NAMES"])
            for a in listed} == {(f"141.193.213.{n}", "2", "0", "Feodo Tracker") for n in (20, 21)}
    blist.write_text("192.0.2.0/24,1\n2001:db8::/32,1\n")
    assert alerts_of("ipblacklistfilter", flows, work, "-4", str(blist)) == []
