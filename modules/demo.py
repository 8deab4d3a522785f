"""`make demo`: the end-to-end pipeline that exists today, on data the project makes itself.

    logreplay (CSV) -> u:demo-src -> traffic_repeater -> u:demo-flows -> logger (CSV file)
                                                     \\-> f: trapcap (second run)
It prints each step, the first records and a summary, and checks nothing was lost.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from unirec import CsvFormatter

from .demo_flows import demo_flows

OUT = Path("demo-output")
RECORDS = 20_000
TIMEOUT = 60


def _nemea(*args: str) -> list[str]:
    return [sys.executable, "-m", "modules.nemea_cli", *args]


def _run(title: str, processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + TIMEOUT
    for process in processes:
        code = process.wait(timeout=max(1, deadline - time.monotonic()))
        if code != 0:
            raise SystemExit(f"demo: {title}: {' '.join(process.args[3:])} exited {code}")


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    env = dict(os.environ, TRAP_SOCKET_DIR=str(OUT.resolve()))
    csv_path = OUT / "flows.csv"
    batch = demo_flows(RECORDS)
    formatter = CsvFormatter(batch.template)
    csv_path.write_text(formatter.header() + "\n" + formatter.format_batch(batch))
    print(f"1. generated {RECORDS} biflow records -> {csv_path}")

    logged = OUT / "flows.logged.csv"
    started = time.monotonic()
    logger = subprocess.Popen(_nemea("logger", "-i", "u:demo-flows", "-t", "-w", str(logged)),
                              env=env)
    repeater = subprocess.Popen(_nemea("traffic_repeater", "-i", "u:demo-src,u:demo-flows"),
                                env=env)
    replay = subprocess.Popen(_nemea("logreplay", "-i", "u:demo-src", "-f", str(csv_path)),
                              env=env)
    _run("socket pipeline", [replay, repeater, logger])
    seconds = time.monotonic() - started
    print("2. logreplay -> u:demo-src -> traffic_repeater -> u:demo-flows -> logger -t")
    print(f"   {RECORDS} records through 2 socket hops in {seconds:.2f} s "
          f"(incl. process start-up), written to {logged}")

    trapcap = OUT / "flows.trapcap"
    _run("file", [subprocess.Popen(_nemea("logreplay", "-i", f"f:{trapcap}", "-f",
                                          str(csv_path)), env=env)])
    print(f"3. logreplay -> f:{trapcap} ({trapcap.stat().st_size} bytes)")
    print(f"4. nemea logger -i f:{trapcap} -t -c 5")
    sys.stdout.flush()
    _run("logger", [subprocess.Popen(_nemea("logger", "-i", f"f:{trapcap}", "-t", "-c", "5"),
                                     env=env)])

    same = logged.read_text() == csv_path.read_text()
    print(f"\nsummary: {RECORDS} records generated, "
          f"{len(logged.read_text().splitlines()) - 1} logged after the socket pipeline, "
          f"identical to the source CSV: {'yes' if same else 'NO'}")
    print(f"files: {csv_path}, {logged}, {trapcap}")
    if not same:
        raise SystemExit("demo: the logged CSV differs from the source")


if __name__ == "__main__":
    main()
