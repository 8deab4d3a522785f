"""Throughput of UniRec batches: msgpack codec, Record conversion, CSV render and parse.

Generates realistic ipfixprobe biflow records (unirec.md §4) as columns, splits them into batches
the way a module sends them, and times each path over all batches. Every measurement is repeated
and the median reported, next to the target from the performance issue. Run it pinned to one core:

    taskset -c 1 .venv/bin/python bench/unirec_codec.py

Columns: records/s and MB/s (payload or CSV text bytes) of the median run, the median run's
seconds, the spread (max - min) / median of the runs, and CPU time / wall time (well under 100%
means the core was shared and the figure is low). On a shared VM the spread is large: compare
medians of several invocations. `--profile NAME` runs one measurement under cProfile instead.

Outputs are checked (round trip of a sample batch, every run's total against the expected one)
so a fast but wrong path cannot pass. Each measurement builds its own inputs just before it runs
and drops them after, so a million parsed-ahead CSV lines do not slow the others down.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import os
import platform
import pstats
import resource
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgpack
import numpy as np

from unirec import BatchCodec, CsvFormatter, CsvParser, RecordBatch, Template

BIFLOW_SPEC = (
    "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,uint64 LINK_BIT_FIELD,"
    "time TIME_FIRST,time TIME_LAST,macaddr DST_MAC,macaddr SRC_MAC,uint32 PACKETS,"
    "uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,"
    "uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV"
)
TOUCH_COLUMN = "BYTES"

# Targets from the performance issue, records per second.
TARGETS = {
    "encode": 1_000_000,
    "decode": 1_000_000,
    "decode+touch": 1_000_000,
    "csv render": 400_000,
    "csv parse": 250_000,
}

NS = 1_000_000_000
START_2024 = int(dt.datetime(2024, 3, 14, 9, 26, 53, tzinfo=dt.UTC).timestamp()) * NS


# --- data ------------------------------------------------------------------------------------

def _zipf_choice(rng: np.random.Generator, size: int, count: int, skew: float) -> np.ndarray:
    """Positions 0..size-1 with a few heavy hitters and a long tail, like real address usage."""
    weights = 1.0 / np.arange(1, size + 1) ** skew
    return rng.choice(size, count, p=weights / weights.sum())


def _address_pool(rng: np.random.Generator, n_internal: int, n_public: int,
                  n_v6: int) -> np.ndarray:
    """Distinct addresses in UniRec's 16-byte form, an (n, 16) uint8 array: internal IPv4
    (10.0.0.0/16), public IPv4, then IPv6 (2001:db8::/32, half of them with a short host part)."""
    internal = 0x0A000000 + rng.choice(1 << 16, n_internal, replace=False)
    public = 0x01000000 + rng.choice(0xDF000000 - 0x01000000, n_public, replace=False)
    v4 = np.concatenate([internal, public]).astype(">u4")
    n_v4 = len(v4)
    pool = np.zeros((n_v4 + n_v6, 16), dtype=np.uint8)
    pool[:n_v4, 8:12] = v4.view(np.uint8).reshape(-1, 4)
    pool[:n_v4, 12:] = 0xFF
    pool[n_v4:, :4] = (0x20, 0x01, 0x0D, 0xB8)
    pool[n_v4:, 4:] = rng.integers(0, 256, (n_v6, 12), dtype=np.uint8)
    pool[n_v4:, 8:14] *= rng.random((n_v6, 1)) < 0.5
    return pool


def generate_columns(n: int, seed: int) -> dict[str, np.ndarray]:
    """N biflow records as canonical-dtype numpy columns, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    n_internal, n_public, n_v6 = 1500, 2500, 500
    first_v6 = n_internal + n_public
    pool = _address_pool(rng, n_internal, n_public, n_v6)
    is_v6 = rng.random(n) < 0.08

    # One end is local, the other mostly remote; the local end is usually the client, and some
    # flows are seen from the server side (source = the service port).
    local = np.where(is_v6, first_v6 + _zipf_choice(rng, n_v6 // 2, n, 0.9),
                     _zipf_choice(rng, n_internal, n, 0.9))
    remote_v4 = np.where(rng.random(n) < 0.85, n_internal + _zipf_choice(rng, n_public, n, 1.0),
                         _zipf_choice(rng, n_internal, n, 0.9))
    remote_v6 = first_v6 + n_v6 // 2 + _zipf_choice(rng, n_v6 // 2, n, 1.0)
    remote = np.where(is_v6, remote_v6, remote_v4)
    server_side = rng.random(n) < 0.15
    local_is_source = (rng.random(n) < 0.8) ^ server_side
    src_ip = pool[np.where(local_is_source, local, remote)].view("V16").ravel()
    dst_ip = pool[np.where(local_is_source, remote, local)].view("V16").ravel()

    protocol = rng.choice(np.array([6, 17, 1, 47, 50], dtype=np.uint8), n,
                          p=[0.70, 0.26, 0.025, 0.01, 0.005])
    protocol[is_v6 & (protocol == 1)] = 58                                      # ICMPv6
    tcp, udp = protocol == 6, protocol == 17
    tcp_services = np.array([443, 80, 22, 25, 993, 3389, 8080, 445], dtype=np.uint16)
    udp_services = np.array([53, 443, 123, 5353, 51820, 1194], dtype=np.uint16)
    service = np.where(
        tcp, rng.choice(tcp_services, n, p=[0.55, 0.2, 0.06, 0.04, 0.05, 0.03, 0.04, 0.03]),
        rng.choice(udp_services, n, p=[0.55, 0.25, 0.1, 0.04, 0.04, 0.02]))
    ephemeral = rng.integers(32768, 61000, n, dtype=np.uint16)
    has_ports = tcp | udp                                  # ICMP, GRE, ESP: ports 0
    dst_port = np.where(server_side, ephemeral, service) * has_ports
    src_port = np.where(server_side, service, ephemeral) * has_ports

    packets = (1 + np.minimum(rng.lognormal(1.0, 1.6, n), 5e6)).astype(np.uint32)
    packets_rev = (1 + np.minimum(rng.lognormal(1.0, 1.6, n), 5e6)).astype(np.uint32)
    packets_rev[rng.random(n) < 0.3] = 0                                        # one-sided flows
    size = rng.integers(40, 1501, n, dtype=np.uint64)
    size_rev = rng.integers(40, 1501, n, dtype=np.uint64)

    forward_flags = np.array([2, 27, 31, 26, 24, 16, 4, 20], dtype=np.uint8)
    reverse_flags = np.array([18, 27, 26, 24, 16, 20, 4], dtype=np.uint8)
    tcp_flags = rng.choice(forward_flags, n) * tcp
    tcp_flags_rev = rng.choice(reverse_flags, n) * (tcp & (packets_rev > 0))

    # Five minutes of traffic; ipfixprobe stamps are microseconds, some sources give nanoseconds.
    first = START_2024 + rng.integers(0, 300 * NS, n, dtype=np.int64)
    microsecond = rng.random(n) < 0.7
    first[microsecond] -= first[microsecond] % 1000
    duration = (np.minimum(rng.exponential(4.0, n), 300.0) * NS).astype(np.int64)
    duration[microsecond] -= duration[microsecond] % 1000
    duration[packets + packets_rev <= 1] = 0
    last = first + duration

    ouis = np.array([[0x00, 0x1B, 0x21], [0x3C, 0xFD, 0xFE], [0xB8, 0x27, 0xEB],
                     [0x00, 0x50, 0x56], [0xF8, 0xBC, 0x12]], dtype=np.uint8)
    macs = np.empty((256, 6), dtype=np.uint8)
    macs[:, :3] = ouis[rng.integers(0, len(ouis), 256)]
    macs[:, 3:] = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    macs = macs.view("V6").ravel()

    return {
        "DST_IP": dst_ip,
        "SRC_IP": src_ip,
        "BYTES": packets.astype(np.uint64) * size,
        "BYTES_REV": packets_rev.astype(np.uint64) * size_rev,
        "LINK_BIT_FIELD": rng.choice(np.array([1, 2, 4, 3], dtype=np.uint64), n),
        "TIME_FIRST": first,
        "TIME_LAST": last,
        "DST_MAC": macs[_zipf_choice(rng, len(macs), n, 1.2)],
        "SRC_MAC": macs[_zipf_choice(rng, len(macs), n, 1.2)],
        "PACKETS": packets,
        "PACKETS_REV": packets_rev,
        "DST_PORT": dst_port.astype(np.uint16),
        "SRC_PORT": src_port.astype(np.uint16),
        "DIR_BIT_FIELD": rng.integers(0, 2, n, dtype=np.uint8),
        "PROTOCOL": protocol,
        "TCP_FLAGS": tcp_flags.astype(np.uint8),
        "TCP_FLAGS_REV": tcp_flags_rev.astype(np.uint8),
    }


def split_batches(template: Template, columns: dict[str, np.ndarray], n: int,
                  batch_size: int) -> list[RecordBatch]:
    return [RecordBatch.from_columns(template, min(batch_size, n - start),
                                     {name: col[start:start + batch_size]
                                      for name, col in columns.items()})
            for start in range(0, n, batch_size)]


# --- checks (untimed) -------------------------------------------------------------------------

def check_outputs(template: Template, batches: list[RecordBatch], codec: BatchCodec,
                  formatter: CsvFormatter) -> None:
    """Fail loudly if a path under test gives wrong results; the figures would be meaningless."""
    sample = batches[0]
    decoded = codec.decode(codec.encode(sample))
    if decoded != sample:
        sys.exit("check failed: decode(encode(batch)) differs from the batch")
    parsed = CsvParser(formatter.header()).parse(formatter.format_batch(sample).splitlines())
    if parsed.errors or parsed.batch.length != sample.length:
        sys.exit(f"check failed: CSV round trip gave {parsed.batch.length} records, "
                 f"errors {parsed.errors[:3]}")
    for name in template.names:
        want = sample.column(name)
        if name.startswith("TIME_"):
            want = want - want % 1000                                           # text is in µs
        if not np.array_equal(parsed.batch.column(name), want):
            sys.exit(f"check failed: CSV round trip changed column {name}")


# --- timing -----------------------------------------------------------------------------------

@dataclass
class Measurement:
    name: str
    run: Callable[[], object]
    expected: object                   # what every run must return
    megabytes: float | None            # data volume one run processes, for MB/s


def time_runs(measurement: Measurement, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each run; CPU well below wall means the core was shared."""
    wall, cpu = [], []
    for _ in range(repeat):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = measurement.run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if result != measurement.expected:
            sys.exit(f"{measurement.name}: a run gave {result!r}, "
                     f"expected {measurement.expected!r}")
    return wall, cpu


class Suite:
    """Builds each measurement's inputs only when it runs, so one measurement's data (a million
    CSV lines, say) does not sit in memory and slow the allocator during the others."""

    def __init__(self, template: Template, batches: list[RecordBatch], n: int):
        self.batches, self.n = batches, n
        self.codec = BatchCodec(template)
        self.formatter = CsvFormatter(template)
        check_outputs(template, batches, self.codec, self.formatter)

    def _payloads(self) -> tuple[list[bytes], float]:
        payloads = [self.codec.encode(batch) for batch in self.batches]
        return payloads, sum(map(len, payloads)) / 1e6

    def encode(self) -> Measurement:
        encode, batches = self.codec.encode, self.batches
        payloads, megabytes = self._payloads()
        return Measurement("encode", lambda: sum(len(encode(batch)) for batch in batches),
                           sum(map(len, payloads)), megabytes)

    def decode(self) -> Measurement:
        decode = self.codec.decode
        payloads, megabytes = self._payloads()
        return Measurement("decode", lambda: sum(decode(p).length for p in payloads), self.n,
                           megabytes)

    def decode_touch(self) -> Measurement:
        decode = self.codec.decode
        payloads, megabytes = self._payloads()
        total = sum(int(batch.column(TOUCH_COLUMN).sum()) for batch in self.batches)

        def run():
            return sum(int(decode(p).column(TOUCH_COLUMN).sum()) for p in payloads)
        return Measurement("decode+touch", run, total, megabytes)

    def records(self) -> Measurement:
        batches = self.batches
        return Measurement("records()", lambda: sum(len(batch.records()) for batch in batches),
                           self.n, None)

    def csv_render(self) -> Measurement:
        format_batch, batches = self.formatter.format_batch, self.batches
        chars = sum(len(format_batch(batch)) for batch in batches)             # ASCII: bytes

        def run():
            return sum(len(format_batch(batch)) for batch in batches)
        return Measurement("csv render", run, chars, chars / 1e6)

    def csv_parse(self) -> Measurement:
        format_batch = self.formatter.format_batch
        chunks = [format_batch(batch).splitlines(keepends=True)    # a reader's blocks of lines
                  for batch in self.batches]
        megabytes = sum(len(line) for chunk in chunks for line in chunk) / 1e6
        header = self.formatter.header()

        def run():
            parser = CsvParser(header)
            count = errors = 0
            line = 2
            for chunk in chunks:
                parsed = parser.parse(chunk, first_line=line)
                line += len(chunk)
                count += parsed.batch.length
                errors += len(parsed.errors)
            return count, errors
        return Measurement("csv parse", run, (self.n, 0), megabytes)


MEASUREMENTS: dict[str, Callable[[Suite], Measurement]] = {
    "encode": Suite.encode,
    "decode": Suite.decode,
    "decode+touch": Suite.decode_touch,
    "records()": Suite.records,
    "csv render": Suite.csv_render,
    "csv parse": Suite.csv_parse,
}


# --- report -----------------------------------------------------------------------------------

def profile(measurement: Measurement, top: int = 25) -> None:
    profiler = cProfile.Profile()
    gc.collect()
    profiler.runcall(measurement.run)
    print(f"# cProfile of {measurement.name!r}, one run, top {top} by own time")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def reproduce_command(args: argparse.Namespace) -> str:
    root = Path(__file__).resolve().parent.parent
    python = Path(sys.executable)
    if python.is_relative_to(root):
        python = python.relative_to(root)
    command = [str(python), str(Path(__file__).resolve().relative_to(root)),
               "--records", str(args.records), "--batch-size", str(args.batch_size),
               "--repeat", str(args.repeat), "--seed", str(args.seed)]
    if args.profile:
        command += ["--profile", args.profile]
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < (os.cpu_count() or 0):
        command = ["taskset", "-c", ",".join(map(str, cpus)), *command]
    return f"cd {shlex.quote(str(root))} && {shlex.join(command)}"


def print_header(args: argparse.Namespace, template: Template, generate_s: float,
                 columns: dict[str, np.ndarray]) -> None:
    msgpack_impl = "C" if "cmsgpack" in msgpack.Packer.__module__ else "pure Python"
    addresses = np.concatenate([columns["SRC_IP"], columns["DST_IP"]])
    octets = addresses.view(np.uint8).reshape(-1, 16)
    v4 = (octets[:, :8] == 0).all(axis=1) & (octets[:, 12:] == 0xFF).all(axis=1)
    v6 = len(addresses) - np.count_nonzero(v4)
    print(f"# command: {reproduce_command(args)}")
    print(f"# python {platform.python_version()} ({platform.python_implementation()}), "
          f"numpy {np.__version__}, msgpack {'.'.join(map(str, msgpack.version))} "
          f"({msgpack_impl}); {platform.machine()}, cpus {sorted(os.sched_getaffinity(0))} "
          f"of {os.cpu_count()}")
    print(f"# template: {template.spec}")
    print(f"# data: {args.records:,} records in batches of {args.batch_size:,}, "
          f"{len(np.unique(addresses)):,} distinct addresses ({v6 / len(addresses):.1%} IPv6 "
          f"uses), generated in {generate_s:.2f} s; median of {args.repeat} runs")


def print_row(name: str, seconds: list[float], cpu: list[float], n: int,
              megabytes: float | None) -> None:
    median = statistics.median(seconds)
    rate = n / median
    spread = (max(seconds) - min(seconds)) / median
    busy = statistics.median(cpu) / median
    mb = f"{megabytes / median:9.1f}" if megabytes is not None else f"{'-':>9}"
    target = TARGETS.get(name)
    verdict = ("PASS" if rate >= target else "MISS") if target else "-"
    wanted = f">= {target:,}" if target else "-"
    print(f"{name:<13} {rate:>12,.0f} {mb} {median:9.3f} {spread:7.1%} {busy:5.0%}  "
          f"{wanted:<13} {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records in total")
    parser.add_argument("--batch-size", type=int, default=1000,
                        help="records per batch, as a module would send them")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated data")
    parser.add_argument("--profile", metavar="NAME", choices=list(MEASUREMENTS),
                        help="instead of timing, run one measurement once under cProfile")
    args = parser.parse_args(argv)
    if args.records < 1 or args.batch_size < 1 or args.repeat < 1:
        parser.error("--records, --batch-size and --repeat must be positive")

    template = Template.parse(BIFLOW_SPEC)
    start = time.perf_counter()
    columns = generate_columns(args.records, args.seed)
    batches = split_batches(template, columns, args.records, args.batch_size)
    print_header(args, template, time.perf_counter() - start, columns)
    del columns

    suite = Suite(template, batches, args.records)
    if args.profile:
        profile(MEASUREMENTS[args.profile](suite))
        return
    print(f"{'measurement':<13} {'records/s':>12} {'MB/s':>9} {'median s':>9} {'spread':>7} "
          f"{'cpu':>5}  {'target rec/s':<13} result")
    for build in MEASUREMENTS.values():
        measurement = build(suite)
        seconds, cpu = time_runs(measurement, args.repeat)
        print_row(measurement.name, seconds, cpu, args.records, measurement.megabytes)
        sys.stdout.flush()
        del measurement                  # free its inputs before the next one builds its own
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024            # KiB on Linux
    print(f"# peak RSS: {peak:,.1f} MiB")


if __name__ == "__main__":
    main()
