"""Attack captures to IDEA, end to end, as a user runs it: real processes on `f:` files.

    nemea flow_meter -r PCAP -i f:flows
    nemea vportscan_detector -i f:flows,f:alerts; nemea vportscan_aggregator -i f:alerts,f:events
    nemea haddrscan_detector ... ; nemea haddrscan_aggregator ...
    nemea bruteforce_detector -i f:flows,f:alerts
    nemea ddos_detector -i f:flows,f:alerts
    nemea dns_amplification -p known -i f:flows,f:alerts
    nemea report2idea --detector D -D --file out.idea -i f:events|f:alerts
    nemea idea-validate *.idea

Every capture gives exactly its expected IDEA alerts (Category, Source IP = attacker, Target IP
= victim), one message per attack, and none other from the five detectors, all with default
options but dns_amplification's `-p known`; every message is valid IDEA. A brute force is one
message for the whole episode: its FlowCount holds the attempts, EventTime/CeaseTime the first
and last of them. The flow meter runs once per capture, the captures in parallel.
A detector whose command is not registered yet makes the rows expecting its alerts skip (and is
left out of the "no other alert" check of the other rows).
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from libtrap_py.file_blocks import DATA_BLOCK, MAGIC, read_blocks
from tests.conftest import PROJECT_ROOT, SHARED_DATA
from tests.integration.conftest import NEMEA

TIMEOUT = 120
DETECTORS = ("vportscan", "haddrscan", "bruteforce", "ddos", "amplification")
# detector -> (detector command and options, aggregator command or None)
PIPELINES = {
    "vportscan": (["vportscan_detector"], "vportscan_aggregator"),
    "haddrscan": (["haddrscan_detector"], "haddrscan_aggregator"),
    "bruteforce": (["bruteforce_detector"], None),
    "ddos": (["ddos_detector"], None),
    "amplification": (["dns_amplification", "-p", "known"], None),
}
SCAN, LOGIN, DOS, DDOS = ("Recon.Scanning", "Attempt.Login", "Availability.DoS",
                          "Availability.DDoS")


@dataclass(frozen=True)
class Alert:
    """One expected attack as IDEA shows it. `source`/`target` None: not checked (spoofed
    sources, reflectors, a sample of scanned hosts)."""
    detector: str
    category: str
    source: str | None
    target: str | None
    port: int | None = None              # in Target Port
    targets_at_least: int = 1            # Target IPs listed
    flows_at_least: int = 0              # FlowCount (and then EventTime <= CeaseTime)


SCANNER, SCANNED = "192.168.1.10", "192.168.1.25"
VICTIM, SSH_VICTIM = "10.10.10.10", "240.125.0.2"
ROWS: dict[str, tuple[str, tuple[Alert, ...]]] = {
    "TCP_SYN_SCAN": ("scan/evilfingers__TCP_SYN_SCAN.pcap",
                     (Alert("vportscan", SCAN, SCANNER, SCANNED),)),
    "TCP_CONNECT_SCAN": ("scan/evilfingers__TCP_CONNECT_SCAN.pcap",
                         (Alert("vportscan", SCAN, SCANNER, SCANNED),)),
    "FIN_SCAN": ("scan/evilfingers__FIN_SCAN.pcap", (Alert("vportscan", SCAN, SCANNER, SCANNED),)),
    "NULL_SCAN": ("scan/evilfingers__NULL_SCAN.pcap",
                  (Alert("vportscan", SCAN, SCANNER, SCANNED),)),
    "XMAS_TREE_SCAN": ("scan/evilfingers__XMAS_TREE_SCAN.pcap",
                       (Alert("vportscan", SCAN, SCANNER, SCANNED),)),
    "ACK_SCAN": ("scan/evilfingers__ACK_SCAN.pcap", (Alert("vportscan", SCAN, SCANNER, SCANNED),)),
    "UDP_SCAN": ("scan/evilfingers__UDP_SCAN.pcap", (Alert("vportscan", SCAN, SCANNER, SCANNED),)),
    "IP_PROTOCOL_SCAN": ("scan/evilfingers__IP_PROTOCOL_SCAN.pcap",
                         (Alert("vportscan", SCAN, SCANNER, SCANNED),)),
    "ndpi_synscan": ("scan/ndpi__synscan.pcap",
                     (Alert("vportscan", SCAN, "172.16.0.8", "64.13.134.52"),)),
    "icmp_sweep": ("scan/slips__test12-icmp-portscan.pcap",
                   (Alert("haddrscan", SCAN, "192.168.1.109", None, targets_at_least=4),)),
    "test7_telnet_scan": ("mixed/slips__test7-malicious.pcap",
                          (Alert("haddrscan", SCAN, "192.168.2.16", None, port=23,
                                 targets_at_least=4),)),
    # brute force: FlowCount at least ~95 % of the capture's login connections
    "hydra_1": ("bruteforce/traceshare__hydra-1_tasks.pcap",
                (Alert("bruteforce", LOGIN, "240.0.1.2", SSH_VICTIM, port=22,
                       flows_at_least=58),)),
    "hydra_4": ("bruteforce/traceshare__hydra-4_tasks.pcap",
                (Alert("bruteforce", LOGIN, "240.0.1.3", SSH_VICTIM, port=22,
                       flows_at_least=230),)),
    "hydra_8": ("bruteforce/traceshare__hydra-8_tasks.pcap",
                (Alert("bruteforce", LOGIN, "240.0.1.4", SSH_VICTIM, port=22,
                       flows_at_least=460),)),
    "medusa_1": ("bruteforce/traceshare__medusa-1_tasks.pcap",
                 (Alert("bruteforce", LOGIN, "240.0.2.2", SSH_VICTIM, port=22,
                        flows_at_least=186),)),
    # SSH on port 902: the any-port rule (65 balanced attempts in 13 s)
    "ssh_bruteforce_902": ("bruteforce/slips__malicious-ssh-bruteforce.pcap",
                           (Alert("bruteforce", LOGIN, "147.32.80.40", "147.32.80.37",
                                  port=902, flows_at_least=62),)),
    # the client sending USER/PASS is 10.234.125.254, the FTP server 10.121.70.151
    "ftp_crack": ("bruteforce/markofu__ftp-crack.pcap",
                  (Alert("bruteforce", LOGIN, "10.234.125.254", "10.121.70.151", port=21,
                         flows_at_least=1320),)),
    "synflood_spoofed": ("ddos/stopddos__pkt.TCP.synflood.spoofed.pcap",
                         (Alert("ddos", DOS, None, VICTIM),)),
    "syn_ecn_cwr": ("ddos/stopddos__pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng",
                    (Alert("ddos", DOS, None, VICTIM),)),
    "synack_reflection": ("ddos/stopddos__amp.TCP.reflection.SYNACK.pcap",
                          (Alert("ddos", DOS, None, VICTIM),)),
    "dns_rrsig_amplification": ("ddos/stopddos__amp.dns.RRSIG.fragmented.pcap",
                                (Alert("amplification", DDOS, None, VICTIM),)),
    # UDP amplification: the flood (ddos_detector) and the amplification (dns_amplification
    # -p known) of the same attack on the same victim
    "snmp_amplification": ("ddos/stopddos__amp.UDP.snmp.src161.pcapng",
                           (Alert("ddos", DOS, None, VICTIM),
                            Alert("amplification", DDOS, None, VICTIM))),
    "isakmp_amplification": ("ddos/stopddos__amp.UDP.isakmp.pcap",
                             (Alert("ddos", DOS, None, VICTIM),
                              Alert("amplification", DDOS, None, VICTIM))),
    "bacnet_amplification": ("ddos/stopddos__amp.UDP.bacnet.IOT.37810.pcapng",
                             (Alert("ddos", DOS, None, "10.10.10.1"),
                              Alert("amplification", DDOS, None, "10.10.10.1"))),
    "ndpi_ssh": ("mixed/ndpi__ssh.pcap", ()),
    "ndpi_ftp": ("mixed/ndpi__ftp.pcap", ()),
    "cc_capture": ("mixed/slips__test-cc-capture-1.pcap", ()),
    "dns": ("dns/ppa__dns.cap", ()),
}


def available() -> set[str]:
    from modules.nemea_cli import COMMANDS
    return {name for name, (argv, aggregator) in PIPELINES.items()
            if argv[0] in COMMANDS and (aggregator is None or aggregator in COMMANDS)}


def execute(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TZ": "UTC", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([NEMEA, *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
                          start_new_session=True)


def checked(*args: str) -> None:
    done = execute(*args)
    assert done.returncode == 0, f"nemea {' '.join(args)} exited {done.returncode}: " \
                                 f"{done.stderr[-2000:]}"


def has_records(path: Path) -> bool:
    """Whether a trapcap file holds any data (a run without alerts writes only a format, or
    nothing): what has nothing to aggregate or report is not run further."""
    if not path.exists():
        return False
    with open(path, "rb") as stream:
        if stream.read(len(MAGIC)) != MAGIC:
            return True                  # not ours to judge: let the next module read it
        return any(kind == DATA_BLOCK and body for kind, body in read_blocks(stream, str(path)))


def run_row(row: str, workdir: Path, detectors: set[str]) -> dict[str, Path | None]:
    """flow_meter once, then every available detector's pipeline to an IDEA file (None: the
    detector's command is not available)."""
    flows = workdir / "flows.trapcap"
    checked("flow_meter", "-r", str(SHARED_DATA / "pcaps" / ROWS[row][0]), "-i", f"f:{flows}")
    ideas: dict[str, Path | None] = {}
    for name in DETECTORS:
        if name not in detectors:
            ideas[name] = None
            continue
        argv, aggregator = PIPELINES[name]
        alerts, events = workdir / f"{name}.alerts", workdir / f"{name}.events"
        idea = workdir / f"{name}.idea"
        idea.touch()
        checked(*argv, "-i", f"f:{flows},f:{alerts}")
        if not has_records(alerts):
            ideas[name] = idea
            continue
        if aggregator:
            checked(aggregator, "-i", f"f:{alerts},f:{events}")
            alerts = events
        if has_records(alerts):
            checked("report2idea", "--detector", name, "-D", "--file", str(idea),
                    "-i", f"f:{alerts}")
        ideas[name] = idea
    return ideas


@dataclass(repr=False)
class Results:
    detectors: set[str]
    ideas: dict[str, dict[str, Path | None]]     # row -> detector -> IDEA file
    validation: subprocess.CompletedProcess | None


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Results:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    detectors = available()

    def job(row: str):
        return run_row(row, tmp_path_factory.mktemp(row), detectors)

    # longest captures first, so the pool's last jobs are short
    order = sorted(ROWS, key=lambda row: -(SHARED_DATA / "pcaps" / ROWS[row][0]).stat().st_size)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        done = dict(zip(order, pool.map(job, order), strict=True))
    files = [str(path) for ideas in done.values() for path in ideas.values()
             if path is not None and path.stat().st_size]
    validation = execute("idea-validate", *files) if files else None
    return Results(detectors, {row: done[row] for row in ROWS}, validation)


def messages(path: Path | None) -> list[dict]:
    if path is None:
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ips(endpoints: list[dict]) -> list[str]:
    return [ip for endpoint in endpoints
            for ip in [*endpoint.get("IP4", []), *endpoint.get("IP6", [])]]


def describe(message: dict) -> str:
    return (f"{message.get('Category')} {message.get('Description')!r} "
            f"Source {ips(message.get('Source', []))} Target {ips(message.get('Target', []))} "
            f"port {[p for t in message.get('Target', []) for p in t.get('Port', [])]} "
            f"FlowCount {message.get('FlowCount')}")


def matches(message: dict, expected: Alert) -> list[str]:
    """What of `expected` the message lacks (empty: it matches)."""
    sources, targets = ips(message.get("Source", [])), ips(message.get("Target", []))
    ports = [port for target in message.get("Target", []) for port in target.get("Port", [])]
    lacks = []
    if expected.category not in message.get("Category", []):
        lacks.append(f"Category {expected.category}")
    if expected.source is not None and expected.source not in sources:
        lacks.append(f"Source IP {expected.source}")
    if expected.target is not None and expected.target not in targets:
        lacks.append(f"Target IP {expected.target}")
    if expected.port is not None and expected.port not in ports:
        lacks.append(f"Target Port {expected.port}")
    if len(targets) < expected.targets_at_least:
        lacks.append(f"at least {expected.targets_at_least} Target IPs")
    if message.get("FlowCount", 0) < expected.flows_at_least:
        lacks.append(f"FlowCount >= {expected.flows_at_least}")
    if expected.flows_at_least and not times_in_order(message):
        lacks.append("EventTime <= CeaseTime <= DetectTime")
    return lacks


def times_in_order(message: dict) -> bool:
    keys = ("EventTime", "CeaseTime", "DetectTime")
    if not all(key in message for key in keys):
        return False
    event, cease, detect = (datetime.fromisoformat(message[key]) for key in keys)
    return event <= cease <= detect


@pytest.mark.parametrize("row", ROWS)
def test_attack_to_idea(results, row):
    _, expected = ROWS[row]
    missing = {alert.detector for alert in expected} - results.detectors
    if missing:
        pytest.skip(f"{', '.join(sorted(missing))}: command not registered in nemea yet")
    produced = {name: messages(path) for name, path in results.ideas[row].items()}
    report = "\n".join(f"  {name}: {describe(m)}" for name, found in produced.items()
                       for m in found) or "  (none)"
    for name in DETECTORS:
        wanted = [alert for alert in expected if alert.detector == name]
        found = produced[name]
        if not wanted:
            assert found == [], f"unexpected {name} alerts on {row}:\n{report}"
            continue
        assert len(found) == len(wanted), \
            f"{name}: {len(found)} alerts, expected {len(wanted)}:\n{report}"
        for message in found:               # each message is one of the expected attacks
            lacks = [matches(message, alert) for alert in wanted]
            assert [] in lacks, f"{name} IDEA lacks {', '.join(min(lacks, key=len))}:\n{report}"
        for alert in wanted:                 # and each expected attack is reported
            assert any(not matches(message, alert) for message in found), \
                f"{name}: no IDEA of {alert}:\n{report}"


@pytest.mark.parametrize("row", ROWS)
def test_idea_is_valid(results, row):
    files = [str(path) for path in results.ideas[row].values()
             if path is not None and path.stat().st_size]
    if not files:
        if ROWS[row][1]:
            pytest.skip("no IDEA produced on this row (see test_attack_to_idea)")
        return
    if results.validation is not None and results.validation.returncode == 0:
        return
    done = execute("idea-validate", *files)
    assert done.returncode == 0, f"idea-validate: {done.stdout[-3000:]}{done.stderr[-2000:]}"
