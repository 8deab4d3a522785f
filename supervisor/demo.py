"""`make demo`: a generated capture through the whole pipeline, under the supervisor.

1. `nemea trafficgen --scenario demo` writes demo-output/demo.pcap (background traffic with a
   vertical scan, a horizontal scan, an SSH brute force, a DNS amplification and a SYN flood)
   and its ground truth.
2. The supervisor runs configs/demo.toml: flow_meter turns the capture into flows; then the
   detectors, aggregators and IDEA reporters run on them. The status table is shown while they
   run; every module ends by end-of-stream.
3. A summary of flows and alerts (checked with the IDEA validator) against the ground truth
   (which alerts detected each attack, and how many were detected), the files written, and a
   clean shutdown.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .client import SupervisorClient
from .validate import load_config

CONFIG = Path("configs/demo.toml")
# ground-truth attack type -> the IDEA category that reports it
CATEGORIES = {"vscan": "Recon.Scanning", "hscan": "Recon.Scanning",
              "ssh_bruteforce": "Attempt.Login", "dns_amplification": "Availability.DDoS",
              "syn_flood": "Availability.DoS"}
OUT = Path("demo-output")
PCAP = OUT / "demo.pcap"
TIMEOUT = 120.0


def _nemea(*args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "modules.nemea_cli", *args],
                          timeout=TIMEOUT, **options)


def _step(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def _statuses(client: SupervisorClient) -> dict[str, str]:
    return {module["name"]: module["status"] for profile in client.call("status")["profiles"]
            for module in profile["modules"]}


def _wait_finished(client: SupervisorClient, names: list[str]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        statuses = _statuses(client)
        if any(statuses[name] == "failed" for name in names):
            raise SystemExit(f"demo: a module failed: {statuses}")
        if all(statuses[name] == "finished" for name in names):
            return
        time.sleep(0.2)
    raise SystemExit(f"demo: modules still running after {TIMEOUT:g} s: {_statuses(client)}")


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "idea").mkdir(parents=True)
    _step("nemea trafficgen -o demo-output/demo.pcap --scenario demo --seed 1 --scale 4")
    if _nemea("trafficgen", "-o", str(PCAP), "--scenario", "demo", "--seed", "1",
              "--scale", "4").returncode:
        raise SystemExit("demo: trafficgen failed")
    config = load_config(CONFIG)
    _step(f"nemea supervisor -c {CONFIG} -d")
    if _nemea("supervisor", "-c", str(CONFIG), "-d").returncode:
        raise SystemExit("demo: the supervisor did not start")
    client = SupervisorClient(config.settings.socket, timeout=TIMEOUT)
    try:
        _run(client, config)
    finally:
        _step(f"nemea supcli -c {CONFIG} shutdown")
        _nemea("supcli", "-c", str(CONFIG), "shutdown")
        client.close()


def _run(client: SupervisorClient, config) -> None:
    by_profile = {profile.name: list(profile.modules) for profile in config.profiles}
    _wait_finished(client, by_profile["capture"])
    _step("flow_meter finished; start the reporters and the detectors")
    for profile in ("reporters", "detectors"):
        _nemea("supcli", "-c", str(CONFIG), "start", profile, stdout=subprocess.DEVNULL)
    _nemea("supcli", "-c", str(CONFIG), "status")
    _wait_finished(client, by_profile["detectors"] + by_profile["reporters"])
    _step("every module ended by end-of-stream")
    _nemea("supcli", "-c", str(CONFIG), "status")
    _summary()


@dataclass(frozen=True)
class Alert:
    file: str
    categories: tuple[str, ...]
    sources: tuple[str, ...]
    targets: tuple[str, ...]


def _ips(endpoints: list[dict]) -> tuple[str, ...]:
    return tuple(ip for item in endpoints for ip in item.get("IP4", []) + item.get("IP6", []))


def _alerts() -> list[Alert]:
    return [Alert(path.name, tuple(message["Category"]), _ips(message.get("Source", [])),
                  _ips(message.get("Target", [])))
            for path in sorted((OUT / "idea").glob("*.idea"))
            for message in map(json.loads, path.read_text().splitlines())]


def detected_by(attack: dict, alerts: list[Alert]) -> list[Alert]:
    """The alerts of a ground-truth attack: its category, and one of its attackers as Source
    or one of its victims as Target."""
    category = CATEGORIES[attack["type"]]
    return [alert for alert in alerts if category in alert.categories
            and (set(alert.sources) & set(attack["attackers"])
                 or set(alert.targets) & set(attack["victims"]))]


def _summary() -> None:
    flows = len((OUT / "flows.csv").read_text().splitlines()) - 1
    truth = json.loads(PCAP.with_name(PCAP.name + ".truth.json").read_text())
    attacks = truth["attacks"] if isinstance(truth, dict) else truth
    alerts = _alerts()
    _step("summary")
    print(f"capture: {PCAP} ({len(attacks)} attacks in the ground truth)")
    print(f"flows:   {flows} (demo-output/flows.csv)")
    for alert in alerts:
        print(f"alert:   {alert.file:18s} {'/'.join(alert.categories):28s} "
              f"{','.join(alert.sources) or '-'} -> {','.join(alert.targets) or '-'}")
    found = 0
    for attack in attacks:
        by = detected_by(attack, alerts)
        found += bool(by)
        print(f"truth:   {attack['type']:18s} {','.join(attack['attackers'][:2])} -> "
              f"{','.join(attack['victims'][:2])}: "
              f"{', '.join(a.file for a in by) if by else 'MISSED'}")
    print(f"detected {found}/{len(attacks)} attacks of the ground truth")
    ideas = [str(p) for p in sorted((OUT / "idea").glob("*.idea"))]
    if ideas:
        _step("nemea idea-validate demo-output/idea/*.idea")
        _nemea("idea-validate", *ideas)
    print(f"\nfiles: {OUT}/ (demo.pcap, flows.trapcap, flows.csv, idea/, supervisor/ logs)")


if __name__ == "__main__":
    main()
