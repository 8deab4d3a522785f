"""Records per second of the core modules, each run as a real process on `f:` input.

    .venv/bin/python bench/modules.py                       # 1,000,000 records, median of 3
    .venv/bin/python bench/modules.py --only logger,merger --repeat 5
    .venv/bin/python bench/modules.py --data transport      # many distinct addresses
    .venv/bin/python bench/modules.py --pycache             # commands use cached bytecode
    .venv/bin/python bench/modules.py --profile logger      # cProfile of one module run

The input is generated once per invocation: N biflow basic records (`modules.demo_flows`, or
bench/transport.py's generator with `--data transport`, made in chunks of 100,000 with
consecutive seeds), written with libtrap_py's `f:` output in `send_batch` calls of
`--send-records` records, so the file holds wire batches as a module's output forms them by
buffer_size (default 100,000 B: 1,000 records each). A second file of N records (other seeds) is
merger's second input. The files were just written: page cache warm.

Every command runs in the work directory (also its TRAP_SOCKET_DIR) and is timed from `Popen`
to its exit (time.monotonic); peak RSS and CPU time are the process's own, from wait4(2).
Nothing is subtracted: the rate includes Python start-up, imports and the interfaces' opening
and closing. That start-up is measured alone, on an input of zero records (same command shape),
and printed; the `excl.start` and `rec/cpu-s` columns are only for reading the figures on a
busy machine, PASS/MISS uses the wall rate. traffic_repeater f:->u: is started together with
its reader (`nemea flowcounter -i u:bench`); its rate is the repeater's. Each command runs once
untimed first (warm-up), then modules run round-robin within each repeat, so the noise of a
busy machine spreads over all of them. Every run's result is checked (record counts and sums).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import os
import platform
import pstats
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import msgpack
import numpy as np
import zmq

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:      # `python bench/modules.py` from anywhere
    sys.path.insert(0, str(ROOT))

from provenance import source_commit  # noqa: E402  (bench/ is the script folder)

from libtrap_py.file_blocks import DATA_BLOCK, MAGIC, read_blocks  # noqa: E402
from libtrap_py.formats import DataFormat  # noqa: E402
from libtrap_py.ifc_spec import parse_ifc_specs  # noqa: E402
from libtrap_py.interfaces import open_output  # noqa: E402
from modules.demo_flows import BIFLOW_BASIC, demo_flows  # noqa: E402
from unirec import RecordBatch, batch_length  # noqa: E402

FILTER = "DST_PORT == 53 or BYTES > 50000"
GENERATORS = {"demo": "modules.demo_flows", "transport": "bench/transport.py generate_columns"}
CHUNK = 100_000                  # records per demo_flows call
SOCKET_NAME = "bench"            # u:bench, in a private TRAP_SOCKET_DIR (the work directory)
TIMEOUT = 900.0                  # seconds one command may take
M = 1e6


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    argv: tuple[str, ...]            # after `nemea`; IN, IN2, OUT, EMPTY are file names
    target: float                    # records/s
    c_figure: str                    # NEMEA's C module, for scale
    records_factor: int = 1          # records processed per input record (merger: 2)
    stdout_null: bool = False        # logger: CSV to /dev/null
    consumer: tuple[str, ...] = ()   # a concurrent reader (f:->u:)


CASES = [
    Case("logger", "logger", ("logger", "-i", "f:IN"), 0.4 * M, "0.22-0.40M",
         stdout_null=True),
    Case("repeater_ff", "traffic_repeater f:->f:", ("traffic_repeater", "-i", "f:IN,f:OUT"),
         3 * M, "2.7M"),
    Case("repeater_fu", "traffic_repeater f:->u:",
         ("traffic_repeater", "-i", f"f:IN,u:{SOCKET_NAME}"), 3 * M, "-",
         consumer=("flowcounter", "-i", f"u:{SOCKET_NAME}")),
    Case("flowcounter", "flowcounter", ("flowcounter", "-i", "f:IN"), 2 * M, "4.7M"),
    Case("unirecfilter", "unirecfilter", ("unirecfilter", "-i", "f:IN,f:OUT", "-F", FILTER),
         1 * M, "3.1M"),
    Case("merger", "merger (2 inputs)", ("merger", "-i", "f:IN,f:IN2,f:OUT"), 1 * M, "1.4M",
         records_factor=2),
]
KEYS = [case.key for case in CASES]
FILES = {"IN": "in.trapcap", "IN2": "in2.trapcap", "OUT": "out.trapcap",
         "EMPTY": "empty.trapcap", "ONE": "one.trapcap"}
STARTUP_TIMEOUT = 120.0
NOISE_SECONDS = 0.05             # `excl.start` is not shown when wall - start-up is below this


# --- input ------------------------------------------------------------------------------------

@dataclass
class InputFile:
    path: Path
    records: int
    wire_batches: int
    packets: int                     # sums flowcounter must print
    bytes: int
    filter_matches: int              # records unirecfilter must pass


@functools.cache
def _transport_generator():
    """bench/transport.py's generator: thousands of hosts (Zipf), 8 % IPv6, 256 MACs, lognormal
    packet counts; harder on memoised text than demo_flows' 85 addresses and zero MACs."""
    spec = importlib.util.spec_from_file_location("bench_transport", ROOT / "bench" /
                                                  "transport.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules.setdefault(spec.name, module)  # type: ignore[union-attr]  (for its dataclasses)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.generate_columns


def make_chunk(data: str, count: int, seed: int, number: int) -> RecordBatch:
    if data == "transport":
        columns = _transport_generator()(count, seed)
        return RecordBatch.from_columns(BIFLOW_BASIC, count, columns)
    return demo_flows(count, seed=seed, start_sec=1_700_000_000 + 300 * number)


def write_input(path: Path, records: int, seed: int, send_records: int,
                data: str = "demo") -> InputFile:
    """N generated flows in send_batch calls of `send_records`, as a module would send them."""
    output = open_output(parse_ifc_specs(f"f:{path}", 0, 1)[1][0])
    output.set_format(DataFormat.unirec(BIFLOW_BASIC))
    packets = octets = matches = 0
    for number, start in enumerate(range(0, records, CHUNK)):
        count = min(CHUNK, records - start)
        batch = make_chunk(data, count, seed + number, number)
        packets += int(batch.column("PACKETS").sum(dtype=np.uint64))
        octets += int(batch.column("BYTES").sum(dtype=np.uint64))
        matches += int(np.count_nonzero((batch.column("DST_PORT") == 53)
                                        | (batch.column("BYTES") > 50000)))
        for first in range(0, count, send_records):
            size = min(send_records, count - first)
            output.send_batch(RecordBatch(batch.template,
                                          [column[first:first + size] for column in batch.columns],
                                          size))
    output.send_eof()
    output.close()
    return InputFile(path, records, output.counters.buffers, packets, octets, matches)


def write_tiny(path: Path, records: int) -> None:
    """A trapcap with the format, `records` records (0 or 1) and end-of-stream: start-up alone.
    (traffic_repeater announces its output format with the first batch, so its socket reader
    needs one record to see an end-of-stream.)"""
    output = open_output(parse_ifc_specs(f"f:{path}", 0, 1)[1][0])
    output.set_format(DataFormat.unirec(BIFLOW_BASIC))
    if records:
        output.send_batch(demo_flows(records))
    output.send_eof()
    output.close()


def count_records(path: Path) -> int:
    """Records in a trapcap file, from each data block's head (columns are not decoded); 0
    when there is no file (a module that received no format writes none)."""
    if not path.exists():
        return 0
    with open(path, "rb") as stream:
        if stream.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{path}: not a trapcap file")
        blocks = read_blocks(stream, str(path))
        return sum(batch_length(body) for kind, body in blocks  # type: ignore[arg-type]
                   if kind == DATA_BLOCK)


# --- running commands -------------------------------------------------------------------------

@dataclass
class Proc:
    argv: list[str]
    popen: subprocess.Popen
    start: float
    stdout_path: Path | None
    stderr_path: Path
    end: float = 0.0
    status: int | None = None
    rss_mib: float = float("nan")
    cpu: float = float("nan")

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path else ""

    def stderr_tail(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-2000:]


def nemea_executable() -> str:
    beside = Path(sys.executable).parent / "nemea"
    found = str(beside) if beside.exists() else shutil.which("nemea")
    if not found:
        sys.exit("bench/modules.py: no `nemea` command (pip install -e . into the venv)")
    return found


def substitute(argv: tuple[str, ...], names: dict[str, str]) -> list[str]:
    pattern = re.compile(r"\b(" + "|".join(sorted(names, key=len, reverse=True)) + r")\b")
    return [pattern.sub(lambda m: names[m.group(1)], word) for word in argv]


class Runner:
    """Starts commands in the work directory and reaps them with wait4 (own rusage)."""

    def __init__(self, workdir: Path, nemea: str, pycache: bool = False):
        self.workdir = workdir
        self.nemea = nemea
        self.env = {**os.environ, "TRAP_SOCKET_DIR": str(workdir)}
        if pycache:
            self.env.pop("PYTHONDONTWRITEBYTECODE", None)
            self.env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
        self.serial = 0

    def start(self, argv: list[str], stdout_null: bool) -> Proc:
        self.serial += 1
        stderr_path = self.workdir / f"cmd{self.serial}.stderr"
        stdout_path = None if stdout_null else self.workdir / f"cmd{self.serial}.stdout"
        with contextlib.ExitStack() as files:
            out = files.enter_context(open(os.devnull if stdout_path is None else stdout_path,
                                           "wb"))
            err = files.enter_context(open(stderr_path, "wb"))
            start = time.monotonic()
            popen = subprocess.Popen([self.nemea, *argv], stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=err, cwd=self.workdir, env=self.env)
        return Proc(argv, popen, start, stdout_path, stderr_path)

    @staticmethod
    def wait(procs: list[Proc], timeout: float = TIMEOUT) -> None:
        """Reap every process as it exits (blocking wait4: no polling load, exact end time),
        noting its own peak RSS and CPU. A failed process or the timeout kills the others."""
        pending = {proc.popen.pid: proc for proc in procs}

        def kill_pending() -> None:
            for proc in list(pending.values()):
                with contextlib.suppress(OSError):
                    proc.popen.kill()

        timer = threading.Timer(timeout, kill_pending)
        timer.daemon = True
        timer.start()
        try:
            while pending:
                pid, status, usage = os.wait4(-1, 0)
                now = time.monotonic()
                proc = pending.pop(pid, None)
                if proc is None:
                    continue
                proc.end, proc.status = now, os.waitstatus_to_exitcode(status)
                proc.popen.returncode = proc.status
                proc.rss_mib = usage.ru_maxrss / 1024           # KiB on Linux
                proc.cpu = usage.ru_utime + usage.ru_stime
                if proc.status:
                    kill_pending()
        finally:
            timer.cancel()


class CommandFailed(RuntimeError):
    pass


def check(condition: bool, proc: Proc, why: str) -> None:
    if not condition:
        raise CommandFailed(f"`nemea {shlex.join(proc.argv)}`: {why}\n  stderr: "
                            f"{proc.stderr_tail() or '(empty)'}")


def flowcounter_totals(text: str) -> tuple[int, int, int]:
    found = dict(re.findall(r"^(Flows|Packets|Bytes):\s+(\d+)\s*$", text, re.MULTILINE))
    return int(found.get("Flows", -1)), int(found.get("Packets", -1)), int(found.get("Bytes", -1))


@dataclass
class Run:
    seconds: float
    rss_mib: float
    cpu: float
    consumer_seconds: float | None = None
    consumer_rss_mib: float | None = None


def run_case(case: Case, runner: Runner, inputs: dict[str, InputFile], empty: bool) -> Run:
    """One timed run of a case (on the EMPTY input when `empty`), its result checked."""
    names = dict(FILES)
    if empty:
        names["IN"] = names["IN2"] = FILES["ONE" if case.consumer else "EMPTY"]
    out_path = runner.workdir / FILES["OUT"]
    out_path.unlink(missing_ok=True)
    argv = substitute(case.argv, names)
    procs = [runner.start(argv, case.stdout_null)]
    if case.consumer:                # started right after the repeater: both start up together
        procs.append(runner.start(list(case.consumer), stdout_null=False))
    runner.wait(procs, STARTUP_TIMEOUT if empty else TIMEOUT)
    main = procs[0]
    for proc in procs:
        check(proc.status == 0, proc, f"exit status {proc.status}")
    source = inputs["IN"]
    expected = 0 if empty else source.records
    if case.consumer and empty:
        expected = 1
    if case.key == "repeater_ff":
        check(count_records(out_path) == expected, main, "output record count differs")
    elif case.key == "repeater_fu":
        flows = flowcounter_totals(procs[1].stdout())[0]
        check(flows == expected, procs[1], f"consumer counted {flows} of {expected} records")
    elif case.key == "flowcounter":
        totals = flowcounter_totals(main.stdout())
        wanted = (expected, 0 if empty else source.packets, 0 if empty else source.bytes)
        check(totals == wanted, main, f"printed {totals}, expected {wanted}")
    elif case.key == "unirecfilter":
        wanted = 0 if empty else source.filter_matches
        got = count_records(out_path)
        check(got == wanted, main, f"output has {got} records, expected {wanted}")
    elif case.key == "merger":
        wanted = 0 if empty else source.records + inputs["IN2"].records
        got = count_records(out_path)
        check(got == wanted, main, f"output has {got} records, expected {wanted}")
    out_path.unlink(missing_ok=True)
    run = Run(main.seconds, main.rss_mib, main.cpu)
    if case.consumer:
        run.consumer_seconds, run.consumer_rss_mib = procs[1].seconds, procs[1].rss_mib
    for proc in procs:
        for path in (proc.stdout_path, proc.stderr_path):
            if path is not None:
                path.unlink(missing_ok=True)
    return run


# --- report -----------------------------------------------------------------------------------

def reproduce_command(args: argparse.Namespace) -> str:
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    command = [str(python), "bench/modules.py", "--records", str(args.records),
               "--repeat", str(args.repeat), "--seed", str(args.seed),
               "--send-records", str(args.send_records), "--only", ",".join(args.only)]
    if args.data != "demo":
        command += ["--data", args.data]
    if args.pycache:
        command.append("--pycache")
    if args.profile:
        command += ["--profile", args.profile]
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < (os.cpu_count() or 0):
        command = ["taskset", "-c", ",".join(map(str, cpus)), *command]
    return f"cd {shlex.quote(str(ROOT))} && {shlex.join(command)}"


def print_header(args: argparse.Namespace, workdir: Path) -> None:
    msgpack_impl = "C" if "cmsgpack" in msgpack.Packer.__module__ else "pure Python"
    print(f"# command: {reproduce_command(args)}")
    print(f"# python {platform.python_version()} ({platform.python_implementation()}), "
          f"numpy {np.__version__}, msgpack {'.'.join(map(str, msgpack.version))} "
          f"({msgpack_impl}), pyzmq {zmq.__version__} (libzmq {zmq.zmq_version()}), "
          f"click {metadata.version('click')}; {platform.machine()} {_cpu_model()}, "
          f"cpus {sorted(os.sched_getaffinity(0))} of {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.2f}; commit {source_commit(ROOT)}")
    print(f"# work directory (cwd of every command, TRAP_SOCKET_DIR): {workdir}")
    print(f"# bytecode: {_bytecode_note(args)}")
    sys.stdout.flush()


def _bytecode_note(args: argparse.Namespace) -> str:
    if args.pycache:
        return "commands use cached bytecode (PYTHONPYCACHEPREFIX=WORKDIR/pycache, --pycache)"
    cached = all((ROOT / package / "__pycache__").is_dir()
                 for package in ("unirec", "libtrap_py", "modules"))
    if cached:
        return "the project's __pycache__ directories exist"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return ("PYTHONDONTWRITEBYTECODE is set and the project has no __pycache__: every "
                "command compiles unirec/, libtrap_py/ and modules/ from source at start-up "
                "(see --pycache)")
    return "the project's bytecode is not cached yet (the warm-up runs write it)"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return "(" + line.split(":", 1)[1].strip() + ")"
    return ""


def print_input(inputs: dict[str, InputFile], args: argparse.Namespace, seconds: float) -> None:
    source = inputs["IN"]
    size = source.path.stat().st_size
    print(f"# input: IN = {FILES['IN']}, {source.records:,} biflow basic records "
          f"({GENERATORS[args.data]}, seeds {args.seed}..; template {BIFLOW_BASIC.fixed_size} B "
          f"fixed), {source.wire_batches:,} wire batches of "
          f"~{source.records / max(1, source.wire_batches):,.0f} records "
          f"(send_batch of {args.send_records}, buffer_size 100000), {size / 1e6:,.1f} MB; "
          f"IN2 = {FILES['IN2']}, {inputs['IN2'].records:,} more (seeds {args.seed + 1000}..); "
          f"EMPTY = {FILES['EMPTY']}, format + end-of-stream only (ONE = 1 record, for "
          f"f:->u:); "
          f"written in {seconds:.1f} s, page cache warm")
    print(f"# filter passes {source.filter_matches:,} of {source.records:,} records "
          f"({source.filter_matches / source.records:.1%}); timed: Popen to exit, start-up "
          f"included, nothing subtracted; median of {args.repeat} runs, modules round-robin")
    sys.stdout.flush()


def print_table_head() -> None:
    print(f"{'module':<24} {'records/s':>10} {'runs (M rec/s)':<22} {'wall s':>6} "
          f"{'cpu s':>5} {'rec/cpu-s':>9} {'RSS':>6} {'start s':>7} {'excl.start':>10} "
          f"{'C NEMEA':>10} {'target':>7} result   command")


def print_row(case: Case, runs: list[Run], startups: list[Run], records: int) -> bool:
    total = records * case.records_factor
    rates = [total / run.seconds for run in runs]
    rate = statistics.median(rates)
    seconds = statistics.median(run.seconds for run in runs)
    startup = statistics.median(run.seconds for run in startups) if startups else None
    net = f"{total / (seconds - startup) / M:9.2f}M" if startup is not None \
        and seconds - startup >= NOISE_SECONDS else f"{'-':>10}"
    startup_text = f"{startup:7.3f}" if startup is not None else f"{'-':>7}"
    passed = rate >= case.target
    listed = " ".join(f"{r / M:.3f}" for r in rates)
    command = "nemea " + shlex.join(substitute(case.argv, FILES))
    if case.stdout_null:
        command += " > /dev/null"
    if case.consumer:
        command += f"  & nemea {shlex.join(case.consumer)}"
    cpu = statistics.median(run.cpu for run in runs)
    print(f"{case.title:<24} {rate:>10,.0f} {listed:<22} {seconds:6.3f} "
          f"{cpu:5.2f} {total / cpu / M:8.2f}M "
          f"{max(run.rss_mib for run in runs):5.0f}M {startup_text} {net} "
          f"{case.c_figure:>10} {case.target / M:>6.1f}M {'PASS' if passed else 'MISS':<8} "
          f"{command}")
    if case.consumer:
        consumer = statistics.median(r.consumer_seconds or 0.0 for r in runs)
        print(f"#   consumer flowcounter: median {consumer:.3f} s wall, peak RSS "
              f"{max(r.consumer_rss_mib or 0.0 for r in runs):.0f}M; the repeater waits for it "
              f"to connect (both started together)")
    sys.stdout.flush()
    return passed


def print_startup(startups: dict[str, list[Run]]) -> None:
    runs = startups.get("logger")
    if not runs:
        return
    seconds = [run.seconds for run in runs]
    print(f"# start-up alone: nemea logger -i f:{FILES['EMPTY']} > /dev/null: median "
          f"{statistics.median(seconds):.3f} s (runs {' '.join(f'{s:.3f}' for s in seconds)}), "
          f"peak RSS {max(run.rss_mib for run in runs):.0f}M; the `start s` column is each "
          f"command on EMPTY inputs")
    sys.stdout.flush()


# --- profile ----------------------------------------------------------------------------------

def profile_case(case: Case, runner: Runner, inputs: dict[str, InputFile], top: int) -> None:
    """`python -m cProfile -o PROF -m modules.NAME ARGS` on the full input (wall clock)."""
    from modules.nemea_cli import COMMANDS

    prof = runner.workdir / f"{case.key}.prof"
    argv = substitute(case.argv, FILES)
    module = COMMANDS[argv[0]][0]
    command = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", module, *argv[1:]]
    consumer = None
    with contextlib.ExitStack() as files:
        out = files.enter_context(open(os.devnull, "wb"))
        start = time.monotonic()
        main = subprocess.Popen(command, stdout=out, cwd=runner.workdir, env=runner.env)
        if case.consumer:
            consumer = runner.start(list(case.consumer), stdout_null=True)
        main.wait(TIMEOUT)
        seconds = time.monotonic() - start
        if consumer is not None:
            consumer.popen.wait(TIMEOUT)
    (runner.workdir / FILES["OUT"]).unlink(missing_ok=True)
    if main.returncode:
        raise CommandFailed(f"{shlex.join(command)}: exit status {main.returncode}")
    total = inputs["IN"].records * case.records_factor
    print(f"\n# cProfile of {case.title} (wall clock, whole process after the imports of "
          f"`-m`): {seconds:.2f} s, {total / seconds:,.0f} rec/s under the profiler")
    print(f"# {shlex.join(['python', '-m', 'cProfile', '-o', prof.name, '-m', module, *argv[1:]])}")
    stats = pstats.Stats(str(prof), stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    sys.stdout.flush()


# --- main -------------------------------------------------------------------------------------

@dataclass
class Results:
    runs: dict[str, list[Run]] = field(default_factory=dict)
    startups: dict[str, list[Run]] = field(default_factory=dict)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records per input file")
    parser.add_argument("--repeat", type=int, default=3, help="runs per module (median)")
    parser.add_argument("--seed", type=int, default=7, help="first seed of the generated data")
    parser.add_argument("--send-records", type=int, default=100,
                        help="records per send_batch when writing the input")
    parser.add_argument("--only", default=",".join(KEYS),
                        type=lambda text: [k for k in text.split(",") if k],
                        help=f"modules to run, of {','.join(KEYS)}")
    parser.add_argument("--data", choices=("demo", "transport"), default="demo",
                        help="record generator: modules.demo_flows (default) or "
                             "bench/transport.py's generate_columns (many more distinct addresses)")
    parser.add_argument("--pycache", action="store_true",
                        help="let the commands use cached bytecode (PYTHONPYCACHEPREFIX in the "
                             "work directory) even when PYTHONDONTWRITEBYTECODE is set")
    parser.add_argument("--no-startup", action="store_true",
                        help="do not time the commands on the empty input")
    parser.add_argument("--profile", metavar="KEY", default="",
                        help="instead of timing: run this module once under cProfile")
    parser.add_argument("--top", type=int, default=30, help="rows of profile output")
    parser.add_argument("--tmpdir", default=None, help="where the work directory is made")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.records < 1 or args.repeat < 1 or args.send_records < 1:
        parser.error("--records, --repeat and --send-records must be positive")
    unknown = set(args.only) - set(KEYS)
    if unknown:
        parser.error(f"--only: unknown module {sorted(unknown)[0]!r}, use {','.join(KEYS)}")
    if args.profile and args.profile not in KEYS:
        parser.error(f"--profile: unknown module {args.profile!r}, use one of {','.join(KEYS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench_modules_", dir=args.tmpdir))
    try:
        print_header(args, workdir)
        runner = Runner(workdir, nemea_executable(), args.pycache)
        started = time.monotonic()
        inputs = {"IN": write_input(workdir / FILES["IN"], args.records, args.seed,
                                    args.send_records, args.data),
                  "IN2": write_input(workdir / FILES["IN2"], args.records, args.seed + 1000,
                                     args.send_records, args.data)}
        write_tiny(workdir / FILES["EMPTY"], 0)
        write_tiny(workdir / FILES["ONE"], 1)
        print_input(inputs, args, time.monotonic() - started)
        cases = [case for case in CASES if case.key in args.only]
        if args.profile:
            profile_case(next(c for c in CASES if c.key == args.profile), runner, inputs,
                         args.top)
            return 0
        for case in cases:           # untimed: page cache (and --pycache bytecode) warm
            run_case(case, runner, inputs, empty=True)
        results = Results()
        for _ in range(args.repeat):
            for case in cases:
                if not args.no_startup:
                    results.startups.setdefault(case.key, []).append(
                        run_case(case, runner, inputs, empty=True))
                results.runs.setdefault(case.key, []).append(
                    run_case(case, runner, inputs, empty=False))
        print_startup(results.startups)
        print_table_head()
        passed = [print_row(case, results.runs[case.key], results.startups.get(case.key, []),
                            args.records) for case in cases]
        print(f"# {sum(passed)} of {len(passed)} at target; `start s` = median wall time of the "
              f"same command on EMPTY inputs, `excl.start` = records / (wall - start s) ('-' "
              f"below {NOISE_SECONDS} s), "
              f"`rec/cpu-s` = records / the module process's CPU seconds (user+sys, start-up "
              f"included), both for reading only (f:->u: start-up: on ONE); RSS = peak of "
              f"the module process (wait4), max over runs; "
              f"load at the end {os.getloadavg()[0]:.2f}")
        return 0 if all(passed) else 1
    except CommandFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"# kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
