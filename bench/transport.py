"""Records per second through one libtrap_py hop: `u:`, `t:`, and the `f:` write and read paths.

A writer *process* sends N biflow basic records (pre-built RecordBatches of generated, realistic
data) with `send_batch`, so the output forms its wire batches by `buffer_size` as in a module. A
reader *process* decodes every batch (`message.batch()`), sums the PACKETS column of every record
and counts records; the parent checks count and checksum against the writer's (zero loss).

    .venv/bin/python bench/transport.py                     # u:, t:, f: write, f: read
    .venv/bin/python bench/transport.py --profile writer    # cProfile of one u: hop's writer

Socket hops are timed end to end: from the writer's first `send_batch` (both processes started,
data built, reader connected) to the reader's end-of-stream, on the system-wide monotonic clock.
`f:` write is timed from the first `send_batch` to the file's `close`; `f:` read from the first
`receive` to end-of-stream (the file was just written: page cache warm). Each child runs as
`python bench/transport.py --role writer|reader --ifc SPEC ...`; peak RSS comes from wait4(2).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import pstats
import queue
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgpack
import numpy as np
import zmq
from provenance import source_commit  # bench/ is the script folder

from libtrap_py.formats import DataFormat
from libtrap_py.ifc_spec import parse_ifc_specs
from libtrap_py.interfaces import open_input, open_output
from unirec import RecordBatch, Template

ROOT = Path(__file__).resolve().parent.parent
BIFLOW_SPEC = (
    "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,uint64 LINK_BIT_FIELD,"
    "time TIME_FIRST,time TIME_LAST,macaddr DST_MAC,macaddr SRC_MAC,uint32 PACKETS,"
    "uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,"
    "uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV"
)
CHECK_COLUMN = "PACKETS"
SOCKET_TARGET = 1_000_000                # records/s per u:/t: hop, with zero loss
MEASUREMENTS = ("u", "t", "fw", "fr")
TITLES = {"u": "u: hop", "t": "t: hop", "fw": "f: write", "fr": "f: read+decode"}
NS = 1_000_000_000
START_2024 = int(dt.datetime(2024, 3, 14, 9, 26, 53, tzinfo=dt.UTC).timestamp()) * NS
CHILD_TIMEOUT = 300.0


# --- data ------------------------------------------------------------------------------------

def _zipf(rng: np.random.Generator, size: int, count: int, skew: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1) ** skew
    return rng.choice(size, count, p=weights / weights.sum())


def generate_columns(n: int, seed: int) -> dict[str, np.ndarray]:
    """N biflow records as canonical-dtype columns: a /16 of local hosts (a few heavy hitters),
    public peers, 8 % IPv6, TCP/UDP service ports, lognormal packet counts, 5 minutes of
    microsecond time stamps, a few hundred MAC addresses. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    n_local, n_public, n_v6 = 1500, 2500, 500
    v4 = np.concatenate([0x0A000000 + rng.choice(1 << 16, n_local, replace=False),
                         0x01000000 + rng.choice(0xDE000000, n_public, replace=False)])
    pool = np.zeros((len(v4) + n_v6, 16), dtype=np.uint8)     # UniRec's 16-byte layout
    pool[:len(v4), 8:12] = v4.astype(">u4").view(np.uint8).reshape(-1, 4)
    pool[:len(v4), 12:] = 0xFF
    pool[len(v4):, :4] = (0x20, 0x01, 0x0D, 0xB8)
    pool[len(v4):, 4:] = rng.integers(0, 256, (n_v6, 12), dtype=np.uint8)
    is_v6 = rng.random(n) < 0.08
    local = np.where(is_v6, len(v4) + _zipf(rng, n_v6 // 2, n, 0.9), _zipf(rng, n_local, n, 0.9))
    remote = np.where(is_v6, len(v4) + n_v6 // 2 + _zipf(rng, n_v6 // 2, n, 1.0),
                      n_local + _zipf(rng, n_public, n, 1.0))
    outgoing = rng.random(n) < 0.8
    src_ip = pool[np.where(outgoing, local, remote)].view("V16").ravel()
    dst_ip = pool[np.where(outgoing, remote, local)].view("V16").ravel()

    protocol = rng.choice(np.array([6, 17, 1, 47], dtype=np.uint8), n, p=[0.7, 0.265, 0.025, 0.01])
    tcp, udp = protocol == 6, protocol == 17
    service = np.where(tcp, rng.choice(np.array([443, 80, 22, 25, 993, 3389]), n,
                                       p=[0.6, 0.2, 0.08, 0.04, 0.05, 0.03]),
                       rng.choice(np.array([53, 443, 123, 5353]), n, p=[0.6, 0.25, 0.1, 0.05]))
    ephemeral = rng.integers(32768, 61000, n)
    has_ports = tcp | udp
    packets = (1 + np.minimum(rng.lognormal(1.0, 1.6, n), 5e6)).astype(np.uint32)
    packets_rev = (1 + np.minimum(rng.lognormal(1.0, 1.6, n), 5e6)).astype(np.uint32)
    packets_rev[rng.random(n) < 0.3] = 0
    first = START_2024 + rng.integers(0, 300 * NS, n, dtype=np.int64)
    first -= first % 1000
    duration = (np.minimum(rng.exponential(4.0, n), 300.0) * NS).astype(np.int64)
    duration -= duration % 1000
    macs = np.empty((256, 6), dtype=np.uint8)
    macs[:, :3] = (0x00, 0x1B, 0x21)
    macs[:, 3:] = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    macs = macs.view("V6").ravel()
    flags = np.array([2, 27, 31, 26, 24, 16, 4, 20], dtype=np.uint8)
    return {
        "DST_IP": dst_ip,
        "SRC_IP": src_ip,
        "BYTES": packets.astype(np.uint64) * rng.integers(40, 1501, n, dtype=np.uint64),
        "BYTES_REV": packets_rev.astype(np.uint64) * rng.integers(40, 1501, n, dtype=np.uint64),
        "LINK_BIT_FIELD": rng.choice(np.array([1, 2, 4], dtype=np.uint64), n),
        "TIME_FIRST": first,
        "TIME_LAST": first + duration,
        "DST_MAC": macs[_zipf(rng, len(macs), n, 1.2)],
        "SRC_MAC": macs[_zipf(rng, len(macs), n, 1.2)],
        "PACKETS": packets,
        "PACKETS_REV": packets_rev,
        "DST_PORT": (np.where(outgoing, service, ephemeral) * has_ports).astype(np.uint16),
        "SRC_PORT": (np.where(outgoing, ephemeral, service) * has_ports).astype(np.uint16),
        "DIR_BIT_FIELD": rng.integers(0, 2, n, dtype=np.uint8),
        "PROTOCOL": protocol,
        "TCP_FLAGS": rng.choice(flags, n) * tcp,
        "TCP_FLAGS_REV": rng.choice(flags, n) * (tcp & (packets_rev > 0)),
    }


def build_batches(n: int, seed: int, per_batch: int) -> tuple[list[RecordBatch], int]:
    """The writer's input: RecordBatches of `per_batch` records, and the PACKETS checksum."""
    template = Template.parse(BIFLOW_SPEC)
    columns = generate_columns(n, seed)
    checksum = int(columns[CHECK_COLUMN].sum(dtype=np.uint64))
    batches = [RecordBatch.from_columns(template, min(per_batch, n - start),
                                        {name: col[start:start + per_batch]
                                         for name, col in columns.items()})
               for start in range(0, n, per_batch)]
    return batches, checksum


# --- child processes -------------------------------------------------------------------------

def _emit(tag: str, payload: dict | None = None) -> None:
    print(tag if payload is None else f"{tag} {json.dumps(payload)}", flush=True)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _start_profiler(path: str | None, clock: str):
    """cProfile of this thread; `cpu` times it by thread CPU time, so time lost to other
    processes on a busy machine (and to waiting) is not charged to whatever was running."""
    if not path:
        return None
    import cProfile

    profiler = cProfile.Profile(time.thread_time) if clock == "cpu" else cProfile.Profile()
    profiler.enable()
    return profiler


def _stop_profiler(profiler, path: str | None) -> None:
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(path)


def run_writer(args: argparse.Namespace) -> None:
    spec = parse_ifc_specs(args.ifc, 0, 1)[1][0]
    output = open_output(spec)                  # bind first: the reader connects meanwhile
    output.set_format(DataFormat.unirec(BIFLOW_SPEC))
    batches, checksum = build_batches(args.records, args.seed, args.send_records)
    gc.collect()
    _emit("READY")
    if sys.stdin.readline().strip() != "GO":
        sys.exit("writer: no GO from the parent")
    profiler = _start_profiler(args.profile_out, args.profile_clock)
    cpu, thread_cpu, start = _cpu_seconds(), time.thread_time(), time.monotonic()
    for batch in batches:
        output.send_batch(batch)
    output.send_eof()
    sent = time.monotonic()
    output.close()
    end = time.monotonic()
    cpu, thread_cpu = _cpu_seconds() - cpu, time.thread_time() - thread_cpu
    _stop_profiler(profiler, args.profile_out)
    counters = output.counters
    _emit("RESULT", {"start": start, "sent": sent, "end": end, "cpu": cpu,
                     "thread_cpu": thread_cpu,
                     "records": sum(b.length for b in batches), "checksum": checksum,
                     "sent_messages": counters.sent_messages,
                     "dropped": counters.dropped_messages, "buffers": counters.buffers})


def run_reader(args: argparse.Namespace) -> None:
    spec = parse_ifc_specs(args.ifc, 1, 0)[0][0]
    reader = open_input(spec, DataFormat.unirec(BIFLOW_SPEC))
    early = []                                  # nothing arrives before GO; kept if it does
    deadline = time.monotonic() + 60
    while not reader.connected:
        message = reader.receive(timeout_ms=5)
        if message is not None:
            early.append(message)
        if time.monotonic() > deadline:
            sys.exit(f"reader: {args.ifc} did not connect within 60 s")
    _emit("READY")
    if sys.stdin.readline().strip() != "GO":        # the parent says GO just before the writer
        sys.exit("reader: no GO from the parent")
    profiler = _start_profiler(args.profile_out, args.profile_clock)
    cpu, thread_cpu, start = _cpu_seconds(), time.thread_time(), time.monotonic()
    records = messages = checksum = payload_bytes = 0
    bad_counts = 0
    while True:
        message = early.pop(0) if early else reader.receive()
        if message.is_eof:
            break
        batch = message.batch()
        column = batch.column(CHECK_COLUMN)     # every record's PACKETS value is read
        checksum += int(column.sum(dtype=np.uint64))
        bad_counts += batch.length != message.count or len(column) != batch.length
        records += batch.length
        messages += 1
        payload_bytes += len(message.payload)
    end = time.monotonic()
    cpu, thread_cpu = _cpu_seconds() - cpu, time.thread_time() - thread_cpu
    _stop_profiler(profiler, args.profile_out)
    reader.close()
    _emit("RESULT", {"start": start, "end": end, "cpu": cpu, "thread_cpu": thread_cpu,
                     "records": records,
                     "checksum": checksum, "messages": messages, "bad_counts": bad_counts,
                     "payload_bytes": payload_bytes})


# --- parent: running children ----------------------------------------------------------------

class ChildFailed(RuntimeError):
    pass


class Child:
    """One `--role` process; its stdout lines arrive on a queue, its stderr goes to a file that
    is shown when something fails."""

    def __init__(self, role: str, ifc: str, args: argparse.Namespace, env: dict[str, str],
                 workdir: Path, profile: bool, cpu: int | None):
        self.role = role
        command = [sys.executable, str(Path(__file__).resolve()), "--role", role, "--ifc", ifc,
                   "--records", str(args.records), "--seed", str(args.seed),
                   "--send-records", str(args.send_records)]
        if profile:
            self.profile_path = str(workdir / f"{role}.prof")
            command += ["--profile-out", self.profile_path, "--profile-clock",
                        args.profile_clock]
        if cpu is not None:
            command = ["taskset", "-c", str(cpu), *command]
        self.command = command
        self.stderr_path = workdir / f"{role}.stderr"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115  (closed in reap)
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True, env=env, cwd=ROOT)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.usage: resource.struct_rusage | None = None
        threading.Thread(target=self._pump_stdout, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _fail(self, why: str) -> ChildFailed:
        self.kill()
        self.reap(timeout=5)
        tail = self.stderr_path.read_text(errors="replace")[-3000:]
        return ChildFailed(f"{self.role}: {why}\n  command: {shlex.join(self.command)}\n"
                           f"  stderr:\n{tail}")

    def expect(self, tag: str, timeout: float = CHILD_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise self._fail(f"no {tag} within {timeout:.0f} s") from None
            if line is None:
                raise self._fail(f"exited before {tag}")
            word, _, rest = line.partition(" ")
            if word == tag:
                return json.loads(rest) if rest else {}

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("GO\n")
        self.proc.stdin.flush()

    def reap(self, timeout: float = CHILD_TIMEOUT) -> None:
        """Wait for the exit and keep the child's own rusage (peak RSS) from wait4(2)."""
        if self.proc.returncode is None:
            deadline = time.monotonic() + timeout
            while True:
                pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
                if pid:
                    self.proc.returncode = os.waitstatus_to_exitcode(status)
                    self.usage = usage
                    break
                if time.monotonic() > deadline:
                    self.kill()
                    deadline = time.monotonic() + 5
                time.sleep(0.005)
        with contextlib.suppress(OSError):
            self._stderr.close()
        if self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def kill(self) -> None:
        if self.proc.returncode is None and self.proc.poll() is None:
            self.proc.kill()

    @property
    def peak_rss_mib(self) -> float:
        return self.usage.ru_maxrss / 1024 if self.usage else float("nan")  # KiB on Linux


@dataclass
class Run:
    rate: float                      # records/s
    seconds: float
    megabytes: float
    records: int
    lost: int
    checksum_ok: bool
    wire_batches: int
    writer_cpu: float | None = None  # CPU seconds (all threads) in the timed interval
    reader_cpu: float | None = None
    writer_rss: float | None = None  # MiB
    reader_rss: float | None = None
    notes: list[str] = field(default_factory=list)
    detail: str = ""                 # per-run timing breakdown, shown with --verbose


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cpus(args: argparse.Namespace) -> tuple[int | None, int | None]:
    if not args.pin:
        return None, None
    writer, reader = (int(c) for c in args.pin.split(","))
    return writer, reader


def _output_ifc(base: str, args: argparse.Namespace) -> str:
    return f"{base}:{args.out_opts}" if args.out_opts else base


def run_pair(writer_ifc: str, reader_ifc: str | None, args: argparse.Namespace,
             env: dict[str, str], workdir: Path, profile: frozenset[str] = frozenset()
             ) -> tuple[dict, dict | None, Child, Child | None]:
    """Start the writer (and reader), wait until both are ready, GO, collect both results."""
    writer_cpu, reader_cpu = _cpus(args)
    children: list[Child] = []
    try:
        writer = Child("writer", writer_ifc, args, env, workdir, "writer" in profile, writer_cpu)
        children.append(writer)
        reader = None
        if reader_ifc is not None:
            reader = Child("reader", reader_ifc, args, env, workdir, "reader" in profile,
                           reader_cpu)
            children.append(reader)
        for child in children:
            child.expect("READY")
        for child in reversed(children):            # the reader first: it waits on its socket
            child.go()
        results = [child.expect("RESULT") for child in children]
        for child in children:
            child.reap()
            if child.proc.returncode:
                raise child._fail(f"exit status {child.proc.returncode}")
    finally:
        for child in children:
            child.kill()
            child.reap(timeout=10)
    return results[0], (results[1] if reader is not None else None), writer, reader


def socket_hop(kind: str, args: argparse.Namespace, env: dict[str, str], workdir: Path,
               profile: frozenset[str] = frozenset()) -> Run:
    if kind == "u":
        name = f"bench_transport_{os.getpid()}"
        writer_ifc, reader_ifc = _output_ifc(f"u:{name}", args), f"u:{name}"
    else:
        port = free_tcp_port()
        writer_ifc, reader_ifc = _output_ifc(f"t:{port}", args), f"t:localhost:{port}"
    w, r, writer, reader = run_pair(writer_ifc, reader_ifc, args, env, workdir, profile)
    assert r is not None and reader is not None
    seconds = r["end"] - w["start"]
    run = Run(rate=args.records / seconds, seconds=seconds, megabytes=r["payload_bytes"] / 1e6,
              records=r["records"], lost=w["records"] - r["records"],
              checksum_ok=r["checksum"] == w["checksum"] and not r["bad_counts"],
              wire_batches=w["buffers"], writer_cpu=w["cpu"],
              reader_cpu=r["cpu"], writer_rss=writer.peak_rss_mib,
              reader_rss=reader.peak_rss_mib)
    run.detail = (f"writer sends {w['sent'] - w['start']:.3f} s, close waits "
                  f"{w['end'] - w['sent']:.3f} s; reader ends {r['end'] - w['sent']:+.3f} s "
                  f"after the last send; cpu s writer {w['cpu']:.3f} (main thread "
                  f"{w['thread_cpu']:.3f}), reader {r['cpu']:.3f} (main thread "
                  f"{r['thread_cpu']:.3f})")
    if w["dropped"] or w["sent_messages"] != w["records"]:
        run.notes.append(f"writer counted {w['dropped']} dropped, "
                         f"{w['sent_messages']} sent of {w['records']}")
        run.lost = max(run.lost, w["dropped"])
    if r["messages"] != w["buffers"]:
        run.notes.append(f"{w['buffers']} wire batches sent, {r['messages']} received")
    return run


def file_write(path: Path, args: argparse.Namespace, env: dict[str, str], workdir: Path,
               profile: frozenset[str] = frozenset()) -> tuple[Run, dict]:
    w, _, writer, _ = run_pair(f"f:{path}", None, args, env, workdir, profile)
    seconds = w["end"] - w["start"]
    run = Run(rate=w["records"] / seconds, seconds=seconds,
              megabytes=path.stat().st_size / 1e6, records=w["records"],
              lost=w["dropped"], checksum_ok=True, wire_batches=w["buffers"],
              writer_cpu=w["cpu"], writer_rss=writer.peak_rss_mib)
    run.detail = (f"send {w['sent'] - w['start']:.3f} s, close {w['end'] - w['sent']:.3f} s, "
                  f"cpu {w['cpu']:.3f} s")
    return run, w


def file_read(path: Path, written: dict, args: argparse.Namespace, env: dict[str, str],
              workdir: Path, profile: frozenset[str] = frozenset()) -> Run:
    """Only a reader: the writer role is not started, the file from `file_write` is read."""
    reader_cpu = _cpus(args)[1]
    reader = Child("reader", f"f:{path}", args, env, workdir, "reader" in profile, reader_cpu)
    try:
        reader.expect("READY")
        reader.go()
        r = reader.expect("RESULT")
        reader.reap()
        if reader.proc.returncode:
            raise reader._fail(f"exit status {reader.proc.returncode}")
    finally:
        reader.kill()
        reader.reap(timeout=10)
    seconds = r["end"] - r["start"]
    return Run(rate=r["records"] / seconds, seconds=seconds,
               megabytes=path.stat().st_size / 1e6, records=r["records"],
               lost=written["records"] - r["records"],
               checksum_ok=r["checksum"] == written["checksum"] and not r["bad_counts"],
               wire_batches=r["messages"], reader_cpu=r["cpu"],
               reader_rss=reader.peak_rss_mib)


# --- parent: report --------------------------------------------------------------------------

def reproduce_command(args: argparse.Namespace) -> str:
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    command = [str(python), str(Path(__file__).resolve().relative_to(ROOT)),
               "--records", str(args.records), "--send-records", str(args.send_records),
               "--repeat", str(args.repeat), "--seed", str(args.seed),
               "--only", ",".join(args.only)]
    if args.out_opts:
        command += ["--out-opts", args.out_opts]
    if args.pin:
        command += ["--pin", args.pin]
    if args.tmpdir:
        command += ["--tmpdir", args.tmpdir]
    if args.profile:
        command += ["--profile", args.profile, "--profile-hop", args.profile_hop,
                    "--profile-clock", args.profile_clock]
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < (os.cpu_count() or 0):
        command = ["taskset", "-c", ",".join(map(str, cpus)), *command]
    tuning = [f"{name}={value}" for name, value in sorted(os.environ.items())
              if name.startswith("MALLOC_")]          # glibc allocator tuning changes results
    if tuning:
        command = ["env", *tuning, *command]
    return f"cd {shlex.quote(str(ROOT))} && {shlex.join(command)}"


def print_header(args: argparse.Namespace) -> None:
    msgpack_impl = "C" if "cmsgpack" in msgpack.Packer.__module__ else "pure Python"
    template = Template.parse(BIFLOW_SPEC)
    print(f"# command: {reproduce_command(args)}")
    print(f"# python {platform.python_version()} ({platform.python_implementation()}), "
          f"numpy {np.__version__}, pyzmq {zmq.__version__} (libzmq {zmq.zmq_version()}), "
          f"msgpack {'.'.join(map(str, msgpack.version))} ({msgpack_impl}); "
          f"{platform.machine()}, "
          f"cpus {sorted(os.sched_getaffinity(0))} of {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.2f}; commit {source_commit(ROOT)}")
    print(f"# data: {args.records:,} biflow basic records ({template.fixed_size} B fixed each), "
          f"send_batch of {args.send_records} records, output options "
          f"{args.out_opts or 'defaults (buffer_size=100000, buffer_count=50)'}; "
          f"median of {args.repeat} runs; targets: u:/t: hop >= {SOCKET_TARGET:,} rec/s "
          f"with zero loss")
    print(f"{'measurement':<15} {'records/s':>11} {'MB/s':>7} {'median s':>8} "
          f"{'runs (rec/s)':<29} {'batches':>7} {'writer cpu':>10} {'reader cpu':>10} {'lost':>4} "
          f"{'w RSS':>7} {'r RSS':>7}  {'target':<16} result")


def _fmt_cpu(runs: list[Run], role: str) -> str:
    """Median CPU seconds of a process in the timed interval and its share of that interval
    (over 100 %: libzmq's I/O thread ran next to the Python thread)."""
    known = [(getattr(r, f"{role}_cpu"), r.seconds) for r in runs
             if getattr(r, f"{role}_cpu") is not None]
    if not known:
        return f"{'-':>10}"
    cpu = statistics.median(c for c, _ in known)
    share = statistics.median(c / s for c, s in known)
    return f"{cpu:5.3f}s{share:4.0%}"


def _fmt_rss(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{max(known):6.0f}M" if known else f"{'-':>7}"


def print_row(key: str, runs: list[Run], verbose: bool = False) -> bool:
    """One line: median rate; PASS needs the target rate and every run lossless and intact."""
    rates = [run.rate for run in runs]
    median = statistics.median(rates)
    seconds = statistics.median(run.seconds for run in runs)
    megabytes = statistics.median(run.megabytes for run in runs) / seconds
    lost = sum(run.lost for run in runs)
    intact = all(run.checksum_ok for run in runs) and not lost
    listed = " ".join(f"{rate / 1e6:.3f}M" for rate in rates)
    if key in ("u", "t"):
        target = f">= {SOCKET_TARGET:,}, 0 lost"
        passed = median >= SOCKET_TARGET and intact
        verdict = "PASS" if passed else "MISS"
    else:
        target, passed = "- (0 lost)", intact
        verdict = "ok" if intact else "FAIL (lost/checksum)"
    if not intact:
        verdict += f" ({lost} lost, checksum {'ok' if all(r.checksum_ok for r in runs) else 'BAD'})"
    print(f"{TITLES[key]:<15} {median:>11,.0f} {megabytes:7.1f} {seconds:8.3f} {listed:<29} "
          f"{statistics.median(r.wire_batches for r in runs):>7,.0f} "
          f"{_fmt_cpu(runs, 'writer')} {_fmt_cpu(runs, 'reader')} {lost:>4} "
          f"{_fmt_rss([r.writer_rss for r in runs])} {_fmt_rss([r.reader_rss for r in runs])}  "
          f"{target:<16} {verdict}")
    for number, run in enumerate(runs, 1):
        for note in run.notes:
            print(f"#   {TITLES[key]}: {note}")
        if verbose and run.detail:
            print(f"#   run {number}: {run.rate:,.0f} rec/s; {run.detail}")
    sys.stdout.flush()
    return passed


def print_profile(path: str, title: str, top: int, clock: str) -> None:
    print(f"\n# cProfile of the {title}, timed section only, {clock} clock; "
          f"top {top} by own time")
    stats = pstats.Stats(path, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    print(f"# {title}: top {top} by cumulative time")
    stats.sort_stats("cumulative").print_stats(top)


# --- main ------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records per run")
    parser.add_argument("--send-records", type=int, default=100,
                        help="records per send_batch call (the output batches them by "
                             "buffer_size)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated data")
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        type=lambda text: [k for k in text.split(",") if k],
                        help=f"measurements to run, of {','.join(MEASUREMENTS)}")
    parser.add_argument("--out-opts", default="",
                        help="options appended to the u:/t: output spec, e.g. buffer_size=400000")
    parser.add_argument("--pin", metavar="W,R", default="",
                        help="pin writer and reader to these CPUs (taskset), e.g. 0,1")
    parser.add_argument("--profile", metavar="ROLES", default="",
                        help="instead of timing: run one hop with these roles (writer, reader "
                             "or writer,reader) under cProfile and print the statistics")
    parser.add_argument("--profile-hop", choices=("u", "t", "f"), default="u",
                        help="hop to profile (f: the writer writes, then the reader reads)")
    parser.add_argument("--profile-clock", choices=("cpu", "wall"), default="cpu",
                        help="profile by thread CPU time (default; robust on a busy machine) "
                             "or by wall time (shows waiting)")
    parser.add_argument("--top", type=int, default=25, help="rows of profile output")
    parser.add_argument("--verbose", action="store_true",
                        help="print each run's timing breakdown")
    parser.add_argument("--tmpdir", default=None, help="directory for sockets and files")
    parser.add_argument("--role", choices=("writer", "reader"), help=argparse.SUPPRESS)
    parser.add_argument("--ifc", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.records < 1 or args.send_records < 1 or args.repeat < 1:
        parser.error("--records, --send-records and --repeat must be positive")
    unknown = set(args.only) - set(MEASUREMENTS)
    if unknown:
        parser.error(f"--only: unknown measurement {sorted(unknown)[0]!r}")
    if "fr" in args.only and "fw" not in args.only:
        parser.error("--only: fr reads the file fw writes; add fw")
    roles = {r for r in args.profile.split(",") if r}
    if roles - {"writer", "reader"}:
        parser.error("--profile takes writer, reader or writer,reader")
    if args.pin and len(args.pin.split(",")) != 2:
        parser.error("--pin takes two CPU numbers, writer,reader")
    return args


def profile_run(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> None:
    roles = frozenset(r for r in args.profile.split(",") if r)
    hop = args.profile_hop
    if hop in ("u", "t"):
        run = socket_hop(hop, args, env, workdir, roles)
        print(f"# profiled {TITLES[hop]}: {run.rate:,.0f} rec/s under the profiler, "
              f"{run.lost} lost, checksum {'ok' if run.checksum_ok else 'BAD'}")
    else:
        path = workdir / "bench.trapcap"
        run, written = file_write(path, args, env, workdir, roles)
        print(f"# profiled f: write: {run.rate:,.0f} rec/s under the profiler")
        run = file_read(path, written, args, env, workdir, roles)
        print(f"# profiled f: read+decode: {run.rate:,.0f} rec/s under the profiler")
    for role in ("writer", "reader"):
        if role in roles:
            print_profile(str(workdir / f"{role}.prof"), f"{hop}: {role}", args.top,
                          args.profile_clock)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.role == "writer":
        run_writer(args)
        return 0
    if args.role == "reader":
        run_reader(args)
        return 0
    print_header(args)
    with tempfile.TemporaryDirectory(prefix="bench_transport_", dir=args.tmpdir) as tmp:
        workdir = Path(tmp)
        env = {**os.environ, "TRAP_SOCKET_DIR": str(workdir), "PYTHONHASHSEED": "0"}
        if args.profile:
            profile_run(args, env, workdir)
            return 0
        all_passed = True
        written: dict = {}
        path = workdir / "bench.trapcap"
        for key in args.only:
            runs: list[Run] = []
            for _ in range(args.repeat):
                if key in ("u", "t"):
                    runs.append(socket_hop(key, args, env, workdir))
                elif key == "fw":
                    run, written = file_write(path, args, env, workdir)
                    runs.append(run)
                else:
                    runs.append(file_read(path, written, args, env, workdir))
            all_passed &= print_row(key, runs, args.verbose)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"# peak RSS over all children (RUSAGE_CHILDREN): {peak:,.0f} MiB; "
              f"w/r RSS columns are each process's own peak (wait4), max over runs; the "
              f"writer's includes its pre-built input, {args.records * 100 / 2**20:,.0f} MiB "
              f"of columns; "
              f"load at the end {os.getloadavg()[0]:.2f}")
    return 0 if all_passed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ChildFailed as exc:
        sys.exit(f"benchmark failed: {exc}")
