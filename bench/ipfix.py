"""IPFIX: flow records per second decoded by the collector and exported by the exporter.

    .venv/bin/python bench/ipfix.py                      # 1,000,000 records
    .venv/bin/python bench/ipfix.py --records 200000 --repeat 1

Input: N generated biflow basic records (90 % IPv4, 10 % IPv6, random ports and counters),
encoded once by modules/ipfix/encoder.py into two IPFIX files: UDP-sized messages (1,400 B,
about 18 records each) and TCP-sized ones (64 KB). Cases:

  decode (in-process)   CollectorCore.feed() of every message of the 1,400 B file and a
                        flush() (one RecordBatch) every 256 messages: the decoder alone.
  ipfixcol tcp          `ipfixsend -R 0` (as fast as possible) streams a file over TCP to an
                        `ipfixcol -i b:` process (records are still encoded for the output
                        interface); timed from ipfixsend's start until the collector's
                        service endpoint counts all N records (polled every 10 ms). Zero
                        loss is required (checked).
  ipfixcol udp          the same over UDP (one datagram per 1,400 B message); UDP has no flow
                        control, so the loss at full speed is reported, not failed. Also
                        paced: a third file whose export times advance one second every
                        --udp-pace records, replayed at its original pace (-R 1; each
                        second's messages leave in one burst).
  encode (in-process)   IpfixEncoder.encode() of the whole batch into 1,400 B messages.
  ipfixexport tcp/udp   an `ipfixexport` process reading a trapcap of the N records (`f:`),
                        sending to a socket drained by this process; timed from Popen to exit.

Rates are median of --repeat runs; the target (>= 300,000 records/s) is checked for the
collector over TCP with no loss.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from libtrap_py.formats import DataFormat  # noqa: E402
from libtrap_py.ifc_spec import parse_ifc_specs  # noqa: E402
from libtrap_py.interfaces import open_output  # noqa: E402
from libtrap_py.service import query  # noqa: E402
from modules.ipfix.core import CollectorCore  # noqa: E402
from modules.ipfix.encoder import IpfixEncoder  # noqa: E402
from modules.ipfix.ipfix_file import read_messages  # noqa: E402
from modules.ipfix.records import BIFLOW_TEMPLATE  # noqa: E402
from unirec import RecordBatch  # noqa: E402

TARGET = 300_000
PYTHON = sys.executable


def generate(count: int, seed: int = 1) -> RecordBatch:
    rng = np.random.default_rng(seed)
    v6 = rng.random(count) < 0.1

    def addresses() -> np.ndarray:
        octets = np.zeros((count, 16), dtype=np.uint8)
        octets[:, 8:12] = rng.integers(0, 256, (count, 4), dtype=np.uint8)
        octets[:, 12:] = 0xFF
        octets[v6] = rng.integers(0, 256, (int(v6.sum()), 16), dtype=np.uint8)
        octets[v6, 0] = 0x20
        return octets.view("V16").reshape(count)

    first = 1_700_000_000 * 10**9 + np.sort(rng.integers(0, 300 * 10**9, count))
    columns = {
        "SRC_IP": addresses(), "DST_IP": addresses(),
        "SRC_PORT": rng.integers(1024, 65536, count).astype(np.uint16),
        "DST_PORT": rng.choice(np.array([53, 80, 443, 22, 123], np.uint16), count),
        "PROTOCOL": rng.choice(np.array([6, 17], np.uint8), count),
        "PACKETS": rng.integers(1, 1000, count).astype(np.uint32),
        "BYTES": rng.integers(40, 1_000_000, count).astype(np.uint64),
        "PACKETS_REV": rng.integers(0, 1000, count).astype(np.uint32),
        "BYTES_REV": rng.integers(0, 1_000_000, count).astype(np.uint64),
        "TIME_FIRST": first.astype(np.int64),
        "TIME_LAST": (first + rng.integers(0, 60 * 10**9, count)).astype(np.int64),
        "TCP_FLAGS": rng.integers(0, 64, count).astype(np.uint8),
        "TCP_FLAGS_REV": rng.integers(0, 64, count).astype(np.uint8),
        "SRC_MAC": np.frombuffer(rng.bytes(6 * count), "V6"),
        "DST_MAC": np.frombuffer(rng.bytes(6 * count), "V6"),
        "LINK_BIT_FIELD": np.ones(count, np.uint64),
    }
    return RecordBatch.from_columns(BIFLOW_TEMPLATE, count, columns)


def write_ipfix(path: Path, batch: RecordBatch, size: int, per_second: int = 0) -> int:
    """The batch as IPFIX messages of `size` bytes; export times advance one second every
    `per_second` records (0: all in the same second)."""
    encoder = IpfixEncoder(max_message=size)
    messages = []
    step = per_second or 100_000
    for second, start in enumerate(range(0, batch.length, step)):
        part = batch.take(np.arange(start, min(start + step, batch.length)))
        messages += encoder.encode(part, 1_700_000_000 + (second if per_second else 0),
                                   with_templates=start == 0)
    path.write_bytes(b"".join(messages))
    return len(messages)


def write_trapcap(path: Path, batch: RecordBatch) -> None:
    output = open_output(parse_ifc_specs(f"f:{path}", 0, 1)[1][0])
    output.set_format(DataFormat.unirec(batch.template))
    for start in range(0, batch.length, 1000):
        output.send_batch(batch.take(np.arange(start, min(start + 1000, batch.length))))
    output.send_eof()
    output.close(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Procs:
    def __init__(self, workdir: Path):
        self.env = {**os.environ, "TRAP_SOCKET_DIR": str(workdir), "PYTHONPATH": str(ROOT)}
        self.started: list[subprocess.Popen] = []
        self.workdir = workdir

    def start(self, args: list[str]) -> subprocess.Popen:
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=open(self.workdir / "stderr.txt", "ab"),  # noqa: SIM115
                                start_new_session=True)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.started = []


def module_stats(pid: int) -> dict | None:
    with contextlib.suppress(OSError, TimeoutError, ValueError):
        return query(pid, "stats", 1000)["module"]
    return None


def bench_decode(path: Path) -> tuple[float, int]:
    messages = [message for _, message in read_messages(str(path))]
    core = CollectorCore()
    session = core.session("udp", ("127.0.0.1", 1))
    records = 0
    started = time.perf_counter()
    for position, message in enumerate(messages):
        core.feed(session, message, 0, len(message))
        if position % 256 == 255:
            records += core.flush().length
    last = core.flush()
    records += last.length if last is not None else 0
    return time.perf_counter() - started, records


def bench_collector(procs: Procs, path: Path, transport: str, expected: int,
                    timeout: float, speed: str = "0") -> tuple[float, int, dict]:
    port = free_port()
    os.environ["TRAP_SOCKET_DIR"] = str(procs.workdir)
    collector = procs.start([PYTHON, "-m", "modules.ipfix.collector", "-l",
                             f"{transport}:127.0.0.1:{port}", "-i", "b:"])
    deadline = time.monotonic() + 10
    while module_stats(collector.pid) is None:
        if time.monotonic() > deadline or collector.poll() is not None:
            raise RuntimeError(f"collector did not start; see {procs.workdir}/stderr.txt")
        time.sleep(0.02)
    started = time.monotonic()
    sender = procs.start([PYTHON, "-m", "modules.ipfix.send", "-r", str(path), "-d",
                          f"127.0.0.1:{port}:{transport}", "-R", speed])
    records, last_change, stats = 0, time.monotonic(), {}
    finished = started
    while time.monotonic() - started < timeout:
        stats = module_stats(collector.pid) or stats
        now = time.monotonic()
        if stats.get("records", 0) != records:
            records, last_change = stats["records"], now
            finished = now
        if records >= expected:
            break
        if sender.poll() is not None and now - last_change > 1.0:
            break                                  # UDP: the rest was lost
        time.sleep(0.01)
    sender.wait(30)
    procs.stop_all()
    return finished - started, records, stats


def bench_encode(batch: RecordBatch) -> float:
    encoder = IpfixEncoder(max_message=1400)
    started = time.perf_counter()
    encoder.encode(batch, 1_700_000_000, with_templates=True)
    return time.perf_counter() - started


def bench_export(procs: Procs, trapcap: Path, transport: str) -> tuple[float, int, dict]:
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    sink = socket.socket(socket.AF_INET, kind)
    sink.bind(("127.0.0.1", 0))
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    port = sink.getsockname()[1]
    received = {"bytes": 0}
    stop = threading.Event()

    def drain() -> None:
        sink.settimeout(0.2)
        if transport == "tcp":
            sink.listen(1)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    conn, _ = sink.accept()
                    conn.settimeout(0.2)
                    while not stop.is_set():
                        try:
                            data = conn.recv(1 << 20)
                        except TimeoutError:
                            continue
                        if not data:
                            break
                        received["bytes"] += len(data)
                    conn.close()
                    return
        else:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    received["bytes"] += len(sink.recv(65535))

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    started = time.monotonic()
    proc = procs.start([PYTHON, "-m", "modules.ipfix.export_module", "-i", f"f:{trapcap}",
                        "-x", f"127.0.0.1:{port}:{transport}"])
    code = proc.wait(300)
    elapsed = time.monotonic() - started
    time.sleep(0.3)
    stop.set()
    thread.join(2)
    sink.close()
    if code != 0:
        raise RuntimeError(f"ipfixexport exited {code}; see {procs.workdir}/stderr.txt")
    return elapsed, code, received


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--udp-pace", type=int, default=300_000,
                        help="records per second of export time in the paced UDP file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench_ipfix_"))
    procs = Procs(workdir)
    print(f"# bench/ipfix.py --records {args.records} --repeat {args.repeat}   "
          f"(reproduce: {shlex.join([PYTHON, 'bench/ipfix.py', *(argv or sys.argv[1:])])})")
    print(f"# {platform.node()} {platform.machine()} {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, workdir {workdir}")
    batch = generate(args.records)
    small, big, trapcap = workdir / "udp.ipfix", workdir / "tcp.ipfix", workdir / "flows.trapcap"
    count_small = write_ipfix(small, batch, 1400)
    count_big = write_ipfix(big, batch, 65000)
    paced = workdir / "paced.ipfix"
    write_ipfix(paced, batch, 1400, args.udp_pace)
    write_trapcap(trapcap, batch)
    print(f"# input: {args.records} records; {small.name} {count_small} messages "
          f"({small.stat().st_size / 1e6:.1f} MB), {big.name} {count_big} messages")
    rows: list[tuple[str, float, str]] = []
    ok = True
    try:
        times = [bench_decode(small) for _ in range(args.repeat)]
        assert all(records == args.records for _, records in times)
        rows.append(("decode (in-process), 1400 B messages",
                     args.records / statistics.median(t for t, _ in times), "no loss"))
        cases = (("ipfixcol tcp, 1400 B messages", small, "tcp", "0"),
                 ("ipfixcol tcp, 64 KB messages", big, "tcp", "0"),
                 ("ipfixcol udp, 1400 B datagrams", small, "udp", "0"),
                 (f"ipfixcol udp, paced {args.udp_pace:,} rec/s (-R 1)", paced, "udp", "1"))
        for label, path, transport, speed in cases:
            runs = [bench_collector(procs, path, transport, args.records, args.timeout, speed)
                    for _ in range(args.repeat)]
            rate = statistics.median(records / elapsed for elapsed, records, _ in runs)
            lost = [args.records - records for _, records, _ in runs]
            note = "no loss" if not any(lost) else f"lost {max(lost)} of {args.records} " \
                f"({100 * max(lost) / args.records:.1f} %) at worst"
            malformed = max(stats.get("malformed", 0) for *_, stats in runs)
            if malformed:
                note += f", {malformed} malformed"
            if transport == "tcp":
                passed = rate >= TARGET and not any(lost)
                ok &= passed
                note += " PASS" if passed else " MISS"
            rows.append((label, rate, note))
        times = [bench_encode(batch) for _ in range(args.repeat)]
        rows.append(("encode (in-process), 1400 B messages",
                     args.records / statistics.median(times), ""))
        for transport in ("tcp", "udp"):
            runs = [bench_export(procs, trapcap, transport) for _ in range(args.repeat)]
            rate = statistics.median(args.records / elapsed for elapsed, *_ in runs)
            got = min(received["bytes"] for *_, received in runs)
            rows.append((f"ipfixexport {transport} (process, start-up included)", rate,
                         f"{got / 1e6:.1f} MB received by the sink"))
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'case':<52} {'records/s':>12}  note")
    for label, rate, note in rows:
        print(f"{label:<52} {rate:>12,.0f}  {note}")
    print(f"# target: collector >= {TARGET:,} records/s over TCP with no loss: "
          f"{'PASS' if ok else 'MISS'}; load at the end {os.getloadavg()[0]:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
