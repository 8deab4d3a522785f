"""`make demo`: a generated capture through the whole pipeline, under the supervisor.

1. `nemea trafficgen --scenario demo` writes demo-output/demo.pcap (background traffic with a
   vertical scan, a horizontal scan, an SSH brute force, a DNS amplification and a SYN flood)
   and its ground truth.
2. The supervisor runs configs/demo.toml: flow_meter turns the capture into flows; then the
   detectors, aggregators and IDEA reporters run on them. The status table is shown while they
   run; every module ends by end-of-stream.
3. A summary of flows and alerts (checked with the IDEA validator) against the ground truth,
   the files written, and a clean shutdown.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .client import SupervisorClient
from .validate import load_config

CONFIG = Path("configs/demo.toml")
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


def _summary() -> None:
    flows = len((OUT / "flows.csv").read_text().splitlines()) - 1
    truth = json.loads(PCAP.with_name(PCAP.name + ".truth.json").read_text())
    attacks = truth["attacks"] if isinstance(truth, dict) else truth
    _step("summary")
    print(f"capture: {PCAP} ({len(attacks)} attacks in the ground truth)")
    print(f"flows:   {flows} (demo-output/flows.csv)")
    for path in sorted((OUT / "idea").glob("*.idea")):
        for line in path.read_text().splitlines():
            alert = json.loads(line)
            source = ",".join(ip for s in alert.get("Source", []) for ip in s.get("IP4", [])
                              + s.get("IP6", []))
            target = ",".join(ip for s in alert.get("Target", []) for ip in s.get("IP4", [])
                              + s.get("IP6", []))
            print(f"alert:   {path.name:18s} {'/'.join(alert['Category']):28s} "
                  f"{source or '-'} -> {target or '-'}")
    for attack in attacks:
        print(f"truth:   {attack['type']:18s} {','.join(attack['attackers'][:2])} -> "
              f"{','.join(attack['victims'][:2])}")
    ideas = [str(p) for p in sorted((OUT / "idea").glob("*.idea"))]
    if ideas:
        _step("nemea idea-validate demo-output/idea/*.idea")
        _nemea("idea-validate", *ideas)
    print(f"\nfiles: {OUT}/ (demo.pcap, flows.trapcap, flows.csv, idea/, supervisor/ logs)")


if __name__ == "__main__":
    main()
