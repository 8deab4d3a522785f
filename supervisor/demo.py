"""`python -m supervisor.demo`: the demo pipeline (configs/demo.toml) under the supervisor.

Starts the supervisor as a daemon, waits until every reader is connected, starts the "sources"
profile, shows `supcli status` and `supcli stats` when the records went through, kills one
module to show the automatic restart, and shuts everything down. Run it from the project
directory after `make demo` (which makes demo-output/flows.csv)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .client import SupervisorClient
from .errors import SupervisorError
from .validate import load_config

CONFIG = Path("configs/demo.toml")
FLOWS = Path("demo-output/flows.csv")
TIMEOUT = 60.0
READERS = ("dns", "counter", "dns_log", "counts_log")   # inputs connected to their writers


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "supervisor.cli", *args]


def _wait(what: str, predicate, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"demo: {what} did not happen within {timeout:g} s")


def _show(title: str, *args: str) -> None:
    print(f"\n$ nemea supcli -c {CONFIG} {' '.join(args)}    # {title}")
    sys.stdout.flush()
    subprocess.run(_command("supcli", "-c", str(CONFIG), *args), check=False, timeout=TIMEOUT)


def main() -> None:
    if not FLOWS.exists():
        raise SystemExit(f"demo: {FLOWS} not found: run `make demo` first (from the project "
                         "directory)")
    config = load_config(CONFIG)
    lines = sum(1 for _ in FLOWS.open()) - 1
    print(f"$ nemea supervisor -c {CONFIG} -d")
    sys.stdout.flush()
    started = subprocess.run(_command("supervisor", "-c", str(CONFIG), "-d"), timeout=TIMEOUT)
    if started.returncode != 0:
        raise SystemExit("demo: the supervisor did not start")
    client = SupervisorClient(config.settings.socket, timeout=TIMEOUT)
    try:
        _run(client, lines)
    finally:
        try:
            _show("stop every module and the supervisor", "shutdown")
        except (SupervisorError, subprocess.TimeoutExpired):
            pid = int(config.settings.pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGTERM)
        client.close()


def _connected(client: SupervisorClient) -> bool:
    stats = client.call("stats")
    return all(stats.get(name, {}).get("inputs") and stats[name]["inputs"][0]["is-conn"]
               for name in READERS)


def _run(client: SupervisorClient, records: int) -> None:
    _wait("readers connected", lambda: _connected(client))
    _show("start the replay now that every reader is connected", "start", "sources")

    def through():
        stats = client.call("stats")
        ins = [stats.get(name, {}).get("inputs", [{}])[0].get("messages") for name in
               ("repeater", "dns", "counter")]
        return stats if ins == [records] * 3 else None
    _wait(f"{records} records through the pipeline", through)
    time.sleep(2.5)                 # the filter's output buffer is flushed within 2 s

    _show("replay finished (exit 0, not restarted), the rest running", "status")
    _show("per-module CPU, memory and interface counters", "stats")

    counter = client.call("info", name="counter")["counter"]
    print(f"\n$ kill -9 {counter['pid']}    # counter crashes; the supervisor restarts it")
    os.kill(counter["pid"], signal.SIGKILL)
    _wait("counter restarted", lambda: client.call("info", name="counter")["counter"]
          ["restarts"] >= 1 and client.call("info", name="counter")["counter"]["status"]
          == "running", 15)
    _show("restarts and logs of the counter", "info", "counter")
    dns = Path("demo-output/dns.csv")
    print(f"\nDNS flows logged by dns_log: {max(0, len(dns.read_text().splitlines()) - 1)} "
          f"({dns})")


if __name__ == "__main__":
    main()
