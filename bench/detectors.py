"""Flows per second through the detectors, in-process and as a process.

    .venv/bin/python bench/detectors.py                          # 1,000,000 flows, median of 3
    .venv/bin/python bench/detectors.py --flows 200000 --repeat 1 --only ddos_detector
    .venv/bin/python bench/detectors.py --no-process             # in-process driver only

Input: N generated biflow records (modules/flow_meter/flow_records.py BIFLOW_TEMPLATE) made from
numpy columns with unirec.RecordBatch.from_columns in batches of 10,000, flow time increasing
over the batches (10 minutes of traffic for 1M flows). A realistic mix: clients of a /16 talking
to a few thousand servers (web, DNS, mail, SSH...), plus attacks inside: vertical scans (SYN to
1,000+ ports of one host), a horizontal telnet scan (port 23 over 3,000 addresses), SSH and FTP
brute force (many short failed logins), a spoofed SYN flood and a DNS amplification onto one
victim. Every run must raise at least one alert (checked).

In-process: libtrap_py.driver.run(module, batches), the batches already built (what a module
spends on its hooks, no transport). Process: `nemea X -i f:IN,b:` on the same flows written to
a trapcap file (page cache warm), timed from Popen to exit: Python start-up, imports and file
decoding included. Target: >= 300,000 flows/s; PASS/MISS per mode on the median of --repeat.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:      # `python bench/detectors.py` from anywhere
    sys.path.insert(0, str(ROOT))

from provenance import source_commit  # noqa: E402  (bench/ is the script folder)

from libtrap_py.driver import run  # noqa: E402
from libtrap_py.formats import DataFormat  # noqa: E402
from libtrap_py.ifc_spec import parse_ifc_specs  # noqa: E402
from libtrap_py.interfaces import open_output  # noqa: E402
from modules.flow_meter.flow_records import BIFLOW_TEMPLATE  # noqa: E402
from unirec import RecordBatch  # noqa: E402

TARGET = 300_000.0
BATCH = 10_000
SECONDS_PER_BATCH = 6.0            # flow time covered by one batch
START_NS = 1_700_000_000 * 10**9
NEMEA = str(Path(sys.executable).with_name("nemea"))
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10


@dataclass(frozen=True)
class Case:
    command: str                   # nemea command
    module: str                    # module path: class
    params: dict                   # in-process parameters (as the command line's defaults)
    argv: tuple[str, ...] = ()     # extra command-line options


CASES = [
    Case("vportscan_detector", "modules.detectors.vportscan_detector:VportscanDetector", {}),
    Case("haddrscan_detector", "modules.detectors.haddrscan_detector:HaddrscanDetector", {}),
    Case("bruteforce_detector", "modules.detectors.bruteforce_detector:BruteforceDetector", {}),
    Case("ddos_detector", "modules.detectors.ddos_detector:DdosDetector", {}),
    Case("dns_amplification", "modules.detectors.amplification_detection:AmplificationDetector",
         {}),
]


# --- input ------------------------------------------------------------------------------------

def ipv4(values: np.ndarray) -> np.ndarray:
    """uint32 IPv4 addresses -> UniRec ipaddr raw values (V16: 8 zero bytes, address, ones)."""
    raw = np.zeros((len(values), 16), dtype=np.uint8)
    raw[:, 8:12] = values.astype(">u4").view(np.uint8).reshape(-1, 4)
    raw[:, 12:16] = 0xFF
    return raw.reshape(-1).view("V16")


def address(text: str) -> int:
    a, b, c, d = (int(part) for part in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def background(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    clients = address("10.20.0.0") + rng.integers(1, 65_000, n)
    servers = address("93.184.0.0") + (rng.zipf(1.3, n) % 4000)
    ports = rng.choice(np.array([443, 80, 53, 25, 993, 22, 123, 8080], dtype=np.uint16), n,
                       p=[0.45, 0.2, 0.2, 0.03, 0.03, 0.03, 0.03, 0.03])
    udp = (ports == 53) | (ports == 123)
    packets = np.maximum(1, rng.lognormal(2.0, 1.2, n)).astype(np.uint32)
    packets[udp] = 1
    rev = np.maximum(1, (packets * rng.uniform(0.5, 1.5, n))).astype(np.uint32)
    size = rng.integers(60, 1400, n)
    flags = np.where(udp, 0, SYN | ACK | PSH | FIN).astype(np.uint8)
    return {"SRC_IP": clients, "DST_IP": servers, "SRC_PORT": rng.integers(1024, 65535, n),
            "DST_PORT": ports, "PROTOCOL": np.where(udp, 17, 6), "PACKETS": packets,
            "PACKETS_REV": rev, "BYTES": packets * 80, "BYTES_REV": rev * size,
            "TCP_FLAGS": flags, "TCP_FLAGS_REV": flags}


def attack(kind: str, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    one = np.ones(n, dtype=np.uint32)
    if kind == "vscan":                  # SYN probes over the ports of one host
        return {"SRC_IP": np.full(n, address("198.51.100.7")),
                "DST_IP": np.full(n, address("10.20.5.5")), "SRC_PORT": np.full(n, 40000),
                "DST_PORT": (np.arange(n) % 65000) + 1, "PROTOCOL": np.full(n, 6),
                "PACKETS": one, "PACKETS_REV": one, "BYTES": one * 44, "BYTES_REV": one * 40,
                "TCP_FLAGS": np.full(n, SYN), "TCP_FLAGS_REV": np.full(n, RST | ACK)}
    if kind == "hscan":                  # telnet probes over many addresses
        return {"SRC_IP": np.full(n, address("203.0.113.9")),
                "DST_IP": address("10.20.0.0") + np.arange(n) % 60000 + 1,
                "SRC_PORT": rng.integers(1024, 65535, n), "DST_PORT": np.full(n, 23),
                "PROTOCOL": np.full(n, 6), "PACKETS": one, "PACKETS_REV": one * 0,
                "BYTES": one * 44, "BYTES_REV": one * 0, "TCP_FLAGS": np.full(n, SYN),
                "TCP_FLAGS_REV": np.zeros(n)}
    if kind in ("ssh", "ftp"):           # short failed logins
        port = 22 if kind == "ssh" else 21
        packets = rng.integers(10, 20, n).astype(np.uint32)
        return {"SRC_IP": np.full(n, address("198.51.100.66" if kind == "ssh" else
                                             "198.51.100.67")),
                "DST_IP": np.full(n, address("10.20.1.22")),
                "SRC_PORT": rng.integers(1024, 65535, n), "DST_PORT": np.full(n, port),
                "PROTOCOL": np.full(n, 6), "PACKETS": packets, "PACKETS_REV": packets,
                "BYTES": packets * 100, "BYTES_REV": packets * 120,
                "TCP_FLAGS": np.full(n, SYN | ACK | PSH | FIN),
                "TCP_FLAGS_REV": np.full(n, SYN | ACK | PSH | FIN)}
    if kind == "synflood":               # spoofed sources, a SYN and its retransmissions
        return {"SRC_IP": rng.integers(1, 2**32 - 1, n),
                "DST_IP": np.full(n, address("10.20.2.80")),
                "SRC_PORT": rng.integers(1024, 65535, n), "DST_PORT": np.full(n, 80),
                "PROTOCOL": np.full(n, 6), "PACKETS": one * 3, "PACKETS_REV": one * 0,
                "BYTES": one * 180, "BYTES_REV": one * 0, "TCP_FLAGS": np.full(n, SYN),
                "TCP_FLAGS_REV": np.zeros(n)}
    if kind == "dnsamp":                 # big unsolicited responses from many reflectors
        return {"SRC_IP": address("45.0.0.0") + rng.integers(1, 5000, n),
                "DST_IP": np.full(n, address("10.20.3.53")), "SRC_PORT": np.full(n, 53),
                "DST_PORT": rng.integers(1024, 65535, n), "PROTOCOL": np.full(n, 17),
                "PACKETS": one * 3, "PACKETS_REV": one * 0, "BYTES": one * 3 * 1400,
                "BYTES_REV": one * 0, "TCP_FLAGS": np.zeros(n), "TCP_FLAGS_REV": np.zeros(n)}
    raise ValueError(kind)


# batch number -> attack flows inside it (of 100 batches per 1M flows; scaled for other N)
PLAN = {5: ("vscan", 1500), 12: ("ssh", 300), 13: ("ssh", 300), 20: ("hscan", 3000),
        30: ("synflood", 4000), 31: ("synflood", 4000), 40: ("dnsamp", 2500),
        41: ("dnsamp", 2500), 50: ("ftp", 400), 60: ("vscan", 1200), 70: ("ssh", 300)}


def make_batches(flows: int, seed: int = 1) -> list[RecordBatch]:
    rng = np.random.default_rng(seed)
    batches = []
    count = (flows + BATCH - 1) // BATCH
    for number in range(count):
        size = min(BATCH, flows - number * BATCH)
        planned = PLAN.get(number * 100 // count)
        columns = background(rng, size)
        if planned and planned[1] < size:
            kind, n = planned
            extra = attack(kind, rng, n)
            where = rng.choice(size, n, replace=False)
            for name, values in extra.items():
                columns[name] = np.asarray(columns[name]).copy()
                columns[name][where] = values
        start = START_NS + int(number * SECONDS_PER_BATCH * 1e9)
        first = np.sort(start + rng.integers(0, int(SECONDS_PER_BATCH * 1e9), size))
        duration = (rng.exponential(0.5, size) * 1e9).astype(np.int64)
        duration[columns["PACKETS"] == 1] = 0
        built = {"SRC_IP": ipv4(np.asarray(columns["SRC_IP"], dtype=np.uint32)),
                 "DST_IP": ipv4(np.asarray(columns["DST_IP"], dtype=np.uint32)),
                 "TIME_FIRST": first.astype(np.int64),
                 "TIME_LAST": (first + duration).astype(np.int64),
                 "LINK_BIT_FIELD": np.ones(size, dtype=np.uint64),
                 "DIR_BIT_FIELD": np.zeros(size, dtype=np.uint8)}
        dtypes = {"SRC_PORT": np.uint16, "DST_PORT": np.uint16, "PROTOCOL": np.uint8,
                  "PACKETS": np.uint32, "PACKETS_REV": np.uint32, "BYTES": np.uint64,
                  "BYTES_REV": np.uint64, "TCP_FLAGS": np.uint8, "TCP_FLAGS_REV": np.uint8}
        for name, dtype in dtypes.items():
            built[name] = np.asarray(columns[name]).astype(dtype)
        batches.append(RecordBatch.from_columns(BIFLOW_TEMPLATE, size, built))
    return batches


def write_file(path: Path, batches: list[RecordBatch]) -> None:
    output = open_output(parse_ifc_specs(f"f:{path}", 0, 1)[1][0])
    output.set_format(DataFormat.unirec(BIFLOW_TEMPLATE))
    for batch in batches:
        output.send_batch(batch)
    output.send_eof()
    output.close()


# --- measuring --------------------------------------------------------------------------------

def module_class(case: Case):
    name, _, attribute = case.module.partition(":")
    return getattr(importlib.import_module(name), attribute)


def in_process(case: Case, batches: list[RecordBatch], flows: int) -> tuple[float, int]:
    cls = module_class(case)
    module = cls(cls.Params(**case.params))
    started = time.perf_counter()
    ports = run(module, batches)
    elapsed = time.perf_counter() - started
    alerts = sum(batch.length for port in ports for batch in port.batches)
    return flows / elapsed, alerts


def as_process(case: Case, path: Path, flows: int, workdir: Path) -> tuple[float, str]:
    argv = [NEMEA, case.command, *case.argv, "-i", f"f:{path},b:"]
    env = {**os.environ, "TRAP_SOCKET_DIR": str(workdir), "TZ": "UTC"}
    started = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=900)
    elapsed = time.monotonic() - started
    if done.returncode:
        raise SystemExit(f"{shlex.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return flows / elapsed, shlex.join(argv)


def startup(case: Case, path: Path, workdir: Path) -> float:
    argv = [NEMEA, case.command, *case.argv, "-i", f"f:{path},b:"]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, env={**os.environ, "TRAP_SOCKET_DIR": str(workdir)},
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    elapsed = time.monotonic() - started
    if done.returncode:
        raise SystemExit(f"{shlex.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


def versions() -> str:
    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    with contextlib.suppress(metadata.PackageNotFoundError):
        parts.append(f"pynemea {metadata.version('pynemea')}")
    parts.append(f"commit {source_commit(ROOT)}")
    parts.append(f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    return "; ".join(parts)


def verdict(rate: float) -> str:
    return "PASS" if rate >= TARGET else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated commands")
    parser.add_argument("--no-process", action="store_true", help="in-process driver only")
    args = parser.parse_args(argv)
    print("$ " + shlex.join([".venv/bin/python", "bench/detectors.py",
                             *(argv if argv is not None else sys.argv[1:])]))
    print(versions())
    cases = [case for case in CASES if not args.only or case.command in args.only.split(",")]
    made = time.perf_counter()
    batches = make_batches(args.flows)
    print(f"input: {args.flows:,} flows in {len(batches)} batches of {BATCH:,} "
          f"(generated in {time.perf_counter() - made:.1f} s); target {TARGET:,.0f} flows/s; "
          f"median of {args.repeat}")
    with tempfile.TemporaryDirectory(prefix="bench-detectors-") as tmp:
        workdir = Path(tmp)
        path, empty = workdir / "flows.trapcap", workdir / "empty.trapcap"
        if not args.no_process:
            write_file(path, batches)
            write_file(empty, [])
        print(f"{'detector':<20} {'in-process':>14} {'':4} {'alerts':>6}   "
              f"{'process':>14} {'':4} {'start-up':>8}")
        for case in cases:
            inner, alerts = zip(*(in_process(case, batches, args.flows)
                                  for _ in range(args.repeat)), strict=True)
            rate = statistics.median(inner)
            if not alerts[0]:
                print(f"  warning: {case.command} raised no alert on the mix")
            line = f"{case.command:<20} {rate:>14,.0f} {verdict(rate):4} {alerts[0]:>6}"
            if not args.no_process:
                startup(case, empty, workdir)           # warm-up (bytecode, page cache)
                rates = [as_process(case, path, args.flows, workdir)[0]
                         for _ in range(args.repeat)]
                alone = statistics.median(startup(case, empty, workdir)
                                          for _ in range(args.repeat))
                outer = statistics.median(rates)
                line += f"   {outer:>14,.0f} {verdict(outer):4} {alone:>7.2f}s"
            print(line, flush=True)
        if not args.no_process:
            print(f"process: `{NEMEA} X -i f:{path.name},b:` from Popen to exit; "
                  "start-up = the same on an empty input")
    return 0


if __name__ == "__main__":
    sys.exit(main())
