"""flow_meter against nfpcapd (nfdump) and NFStream: packets/s, peak RSS and flow counts.

    .venv/bin/python bench/flow_meter.py                 # 102k pcap and its 4x, median of 3
    .venv/bin/python bench/flow_meter.py --repeat 5 --only 4x
    .venv/bin/python bench/flow_meter.py --profile       # + cProfile of our flow_meter, by stage

In one invocation and on the same files, three tools turn a pcap into flows, with the same
timeouts (active 300 s, inactive/idle 30 s):

* ours:     `python -m modules.flow_meter -r FILE -i b: -t 300:30 -v` (records to the blackhole
            output; the flow count is read from the end-of-run log line that -v prints),
* nfpcapd:  `nfpcapd -r FILE -w DIR -e 300,30` (nfdump's pcap reader; nfcapd files into a fresh
            directory; only nfpcapd is timed, its flows are counted afterwards with
            `nfdump -R DIR -I`),
* NFStream: `NFStreamer(source=FILE, n_dissections=0, statistical_analysis=False,
            idle_timeout=30, active_timeout=300)` iterated to the end, run by the Python of a
            separate venv (--nfstream-python; the project's venv stays free of it).

Inputs: bench/ndpi_mix_102k.pcap of the shared pcap folder and its 4x concatenation, built in
the work directory as its README says (editcap -t shifts of 0/2/4/6 h, mergecap -a), or, where
editcap/mergecap are missing, in Python by rewriting the record headers' ts_sec (same bytes).

Every command runs under `/usr/bin/time -v` (peak RSS = its "Maximum resident set size": the
largest single process of the tree, not a sum) and is timed from Popen to exit with
time.monotonic. Nothing is subtracted: packets/s = packets in the file / wall seconds, start-up
included. Start-up is measured alone on an empty pcap (header only) and printed; the
`excl. start-up` column is only for reading, PASS/MISS uses the wall rate. `pkts/cpu-s` is
packets / (user + sys seconds): steadier than wall on a busy machine (nfpcapd is multi-threaded,
so its CPU can exceed its wall). Each tool first runs once untimed on the empty pcap (libraries,
.pyc); then the tools run round-robin within each repeat (the noise of a busy machine spreads
over all of them); the files are read once before timing (page cache warm). Figures are medians
of --repeat runs.

Flow counts are not the same thing for every tool: ours and NFStream export biflows, nfpcapd
uniflows (and every DNS packet as its own flow).
"""

from __future__ import annotations

import argparse
import os
import platform
import pstats
import re
import shlex
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from provenance import source_commit  # bench/ is the script folder

ROOT = Path(__file__).resolve().parent.parent
PCAPS = ROOT.parent / "shared" / "data" / "pcaps"
BASE_INPUT = PCAPS / "bench" / "ndpi_mix_102k.pcap"
ACTIVE, INACTIVE = 300, 30
X4_SHIFT = 7200                    # seconds between the copies (README recipe)
DEFAULT_NFS_PYTHON = "/tmp/nfs-venv/bin/python"
TIME = "/usr/bin/time"
TIMEOUT = 1800.0                   # seconds one command may take
TOOLS = ("ours", "nfpcapd", "nfstream")
# PYTHONDONTWRITEBYTECODE (set on this workplace) would make every run of ours compile the
# project's sources again: drop it, so the warm-up run leaves the .pyc an install would have.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TITLES = {"ours": "ours (flow_meter)", "nfpcapd": "nfpcapd", "nfstream": "NFStream"}

# Targets (issue): ours >= 500k packets/s, >= 8x NFStream, >= 0.6x nfpcapd, peak RSS < 300 MB
# (taken as MiB: GNU time reports KiB).
TARGET_PPS = 500_000
TARGET_VS_NFSTREAM = 8.0
TARGET_VS_NFPCAPD = 0.6
TARGET_RSS_MIB = 300.0

NFSTREAM_CODE = (
    "import sys; from nfstream import NFStreamer; "
    "s = NFStreamer(source=sys.argv[1], n_dissections=0, statistical_analysis=False, "
    f"idle_timeout={INACTIVE}, active_timeout={ACTIVE}); "
    "p = [f.bidirectional_packets for f in s]; "
    "print('flows', len(p), 'packets', sum(p), 'meters', s.n_meters)"
)
NFSTREAM_SETUP = "python3 -m venv /tmp/nfs-venv && /tmp/nfs-venv/bin/pip install nfstream"

# --- inputs -----------------------------------------------------------------------------------

_PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",      # microseconds
               b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}      # nanoseconds


def pcap_count(path: Path) -> int:
    """Packets in a classic pcap file (walk of the 16-byte record headers)."""
    data = path.read_bytes()
    order = _PCAP_MAGIC.get(data[:4])
    if order is None:
        raise SystemExit(f"{path}: not a classic pcap file")
    record = struct.Struct(order + "IIII")
    offset, count, size = 24, 0, len(data)
    while offset + 16 <= size:
        caplen = record.unpack_from(data, offset)[2]
        offset += 16 + caplen
        count += 1
    return count


def concat_python(source: Path, target: Path, copies: int, shift: int) -> None:
    """`copies` copies of a classic pcap, copy i with ts_sec + i*shift, one header: the same
    bytes as `editcap -t` (per copy) + `mergecap -a -F pcap`."""
    data = source.read_bytes()
    order = _PCAP_MAGIC.get(data[:4])
    if order is None:
        raise SystemExit(f"{source}: not a classic pcap file (the Python fallback needs one)")
    record = struct.Struct(order + "IIII")
    with open(target, "wb") as out:
        out.write(data[:24])
        for copy in range(copies):
            body = bytearray(data[24:])
            offset, size = 0, len(body)
            while offset + 16 <= size:
                ts_sec, ts_frac, caplen, wire = record.unpack_from(body, offset)
                record.pack_into(body, offset, ts_sec + copy * shift, ts_frac, caplen, wire)
                offset += 16 + caplen
            out.write(body)


def build_x4(source: Path, workdir: Path) -> tuple[Path, str]:
    target = workdir / "ndpi_mix_x4.pcap"
    editcap, mergecap = shutil.which("editcap"), shutil.which("mergecap")
    if editcap and mergecap:
        parts = []
        lines = []
        for i in range(4):
            part = workdir / f"x4_part{i}.pcap"
            argv = [editcap, "-F", "pcap", "-t", str(i * X4_SHIFT), str(source), str(part)]
            subprocess.run(argv, check=True)
            lines.append(shlex.join(argv))
            parts.append(str(part))
        argv = [mergecap, "-a", "-F", "pcap", "-w", str(target), *parts]
        subprocess.run(argv, check=True)
        lines.append(shlex.join(argv))
        for part in parts:
            os.unlink(part)
        return target, "\n".join(lines)
    concat_python(source, target, 4, X4_SHIFT)
    return target, f"(editcap/mergecap missing) Python: 4 copies of {source}, ts_sec + i*{X4_SHIFT}"


def write_empty_pcap(source: Path, target: Path) -> None:
    with open(source, "rb") as f:
        target.write_bytes(f.read(24))


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


# --- running ----------------------------------------------------------------------------------

@dataclass
class Run:
    wall: float
    rss_mib: float
    cpu: float
    stdout: str
    stderr: str


@dataclass
class Result:
    runs: list[Run] = field(default_factory=list)
    startups: list[float] = field(default_factory=list)
    flows: set[str] = field(default_factory=set)     # flow-count text per run (should be one)
    error: str = ""


def run_timed(argv: list[str], workdir: Path, tag: str, cwd: Path | None = None) -> Run:
    """One command under /usr/bin/time -v (or wait4 where it is missing), wall by monotonic."""
    out_path, err_path = workdir / f"{tag}.out", workdir / f"{tag}.err"
    time_path = workdir / f"{tag}.time"
    use_time = os.access(TIME, os.X_OK)
    full = [TIME, "-v", "-o", str(time_path), *argv] if use_time else argv
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd,
                                env=ENV, start_new_session=True)
        timer = threading.Timer(TIMEOUT, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            timer.cancel()
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    if proc.returncode != 0:                # GNU time exits with its command's status
        killed = f" (killed after {TIMEOUT:.0f} s)" if wall >= TIMEOUT else ""
        raise RuntimeError(f"exit status {proc.returncode}{killed}: {shlex.join(argv)}\n"
                           f"{stderr[-2000:]}")
    if use_time:
        text = time_path.read_text(errors="replace")
        rss = _time_field(text, r"Maximum resident set size \(kbytes\)") / 1024
        cpu = (_time_field(text, r"User time \(seconds\)")
               + _time_field(text, r"System time \(seconds\)"))
    else:
        rss, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
    return Run(wall, rss, cpu, stdout, stderr)


def _time_field(text: str, label: str) -> float:
    match = re.search(label + r":\s*([0-9.]+)", text)
    return float(match.group(1)) if match else float("nan")


class Tools:
    def __init__(self, args: argparse.Namespace, workdir: Path):
        self.args, self.workdir = args, workdir
        self.project = Path(args.project).resolve()
        self.python = args.python or str(ROOT / ".venv" / "bin" / "python")
        self.nfpcapd, self.nfdump = shutil.which("nfpcapd"), shutil.which("nfdump")
        self.nfs_python = args.nfstream_python
        self.unavailable: dict[str, str] = {}
        if not (self.nfpcapd and self.nfdump):
            self.unavailable["nfpcapd"] = ("nfpcapd/nfdump not found "
                                           "(apt-get install -y --no-install-recommends nfdump)")
        reason = self._check_nfstream()
        if reason:
            self.unavailable["nfstream"] = reason
        self.serial = 0

    def _check_nfstream(self) -> str:
        if not os.access(self.nfs_python, os.X_OK):
            return f"no interpreter {self.nfs_python} (set it up: {NFSTREAM_SETUP})"
        probe = subprocess.run([self.nfs_python, "-c", "import nfstream"], capture_output=True,
                               text=True)
        if probe.returncode:
            last = (probe.stderr.strip().splitlines() or ["?"])[-1]
            return f"{self.nfs_python} cannot import nfstream: {last} ({NFSTREAM_SETUP})"
        return ""

    def argv(self, tool: str, pcap: Path, outdir: Path) -> list[str]:
        if tool == "ours":
            return [self.python, "-m", "modules.flow_meter", "-r", str(pcap), "-i", "b:",
                    "-t", f"{ACTIVE}:{INACTIVE}", "-v"]
        if tool == "nfpcapd":
            return [self.nfpcapd or "nfpcapd", "-r", str(pcap), "-w", str(outdir),
                    "-e", f"{ACTIVE},{INACTIVE}"]
        return [self.nfs_python, "-c", NFSTREAM_CODE, str(pcap)]

    def cwd(self, tool: str) -> Path | None:
        return self.project if tool == "ours" else None

    def run(self, tool: str, pcap: Path) -> tuple[Run, str]:
        """One timed run; returns it and the flow-count text."""
        self.serial += 1
        outdir = self.workdir / f"nfcapd-{self.serial}"
        if tool == "nfpcapd":
            outdir.mkdir()
        run = run_timed(self.argv(tool, pcap, outdir), self.workdir, f"{tool}-{self.serial}",
                        self.cwd(tool))
        return run, self.flows(tool, run, outdir)

    def flows(self, tool: str, run: Run, outdir: Path) -> str:
        if tool == "ours":
            match = re.search(r"flows created (\d+), exported (\{[^}]*\})", run.stderr)
            if not match:
                return "? (no end-of-run log line)"
            exported = sum(int(n) for n in re.findall(r":\s*(\d+)", match.group(2)))
            parsed = re.search(r"'parsed':\s*(\d+)", run.stderr)
            return (f"{exported:,} biflows; {int(parsed.group(1)) if parsed else 0:,} pkts "
                    "parsed")
        if tool == "nfpcapd":
            files = list(outdir.iterdir())
            if not files:
                return "0 uniflows (no nfcapd file)"
            stats = subprocess.run([self.nfdump or "nfdump", "-R", str(outdir), "-I"],
                                   capture_output=True, text=True, check=True).stdout
            shutil.rmtree(outdir)
            flows = re.search(r"^Flows:\s*(\d+)", stats, re.M)
            packets = re.search(r"^Packets:\s*(\d+)", stats, re.M)
            return (f"{int(flows.group(1)) if flows else 0:,} uniflows; "
                    f"{int(packets.group(1)) if packets else 0:,} pkts in flows")
        match = re.search(r"flows (\d+) packets (\d+) meters (\d+)", run.stdout)
        if not match:
            return "? (no output)"
        return (f"{int(match.group(1)):,} biflows; {int(match.group(2)):,} pkts in flows "
                f"(n_meters={match.group(3)})")


# --- versions ---------------------------------------------------------------------------------

def _first_line(argv: list[str], pattern: str = "") -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"? ({exc})"
    lines = [line.strip() for line in (proc.stdout + "\n" + proc.stderr).splitlines()
             if line.strip()]
    if pattern:
        lines = [line for line in lines if re.search(pattern, line)] or lines
    return lines[0] if lines else "?"


def versions(tools: Tools) -> list[str]:
    rows = [f"machine:  {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs "
            f"({_cpu_model()}), Linux {platform.release()}"]
    ours = _first_line([tools.python, "-c", "import sys, numpy, pcap; print(sys.version.split()"
                        "[0], 'numpy', numpy.__version__, 'pypcap', getattr(pcap, "
                        "'__version__', '?'))"])
    try:
        pynemea = metadata.version("pynemea")
    except metadata.PackageNotFoundError:
        pynemea = "?"
    rows.append(f"ours:     pynemea {pynemea} @ {source_commit(tools.project)} in "
                f"{tools.project}; Python {ours}")
    if "nfpcapd" in tools.unavailable:
        rows.append(f"nfpcapd:  not available ({tools.unavailable['nfpcapd']})")
    else:
        rows.append(f"nfpcapd:  {_first_line([tools.nfpcapd, '-V'], 'ersion')}; "
                    f"nfdump: {_first_line([tools.nfdump, '-V'], 'ersion')}")
    if "nfstream" in tools.unavailable:
        rows.append(f"NFStream: not available ({tools.unavailable['nfstream']})")
    else:
        nfs = _first_line([tools.nfs_python, "-c", "import sys, nfstream; print("
                           "'nfstream', nfstream.__version__, 'Python', sys.version.split()[0])"])
        rows.append(f"NFStream: {nfs} ({tools.nfs_python})")
    rows.append("time:     " + (_first_line([TIME, "--version"]) if os.access(TIME, os.X_OK)
                                else "/usr/bin/time missing: wait4 rusage instead"))
    if shutil.which("editcap"):
        rows.append(f"editcap:  {_first_line(['editcap', '-v'], 'ditcap')}")
    return rows


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# --- report -----------------------------------------------------------------------------------

def fmt_rate(value: float) -> str:
    return f"{value:,.0f}" if value == value and value != float("inf") else "-"


def report_input(name: str, packets: int, size: int, results: dict[str, Result],
                 repeat: int) -> dict[str, dict[str, float]]:
    print(f"\n== {name}: {packets:,} packets, {size / 1e6:.1f} MB; median of {repeat} ==")
    head = (f"{'tool':<18} {'wall s':>7} {'packets/s':>11} {'excl.start-up':>14} "
            f"{'start-up s':>10} {'cpu s':>6} {'pkts/cpu-s':>11} {'RSS MiB':>8}  flows")
    print(head)
    print("-" * len(head))
    medians: dict[str, dict[str, float]] = {}
    for tool, result in results.items():
        if result.error:
            print(f"{TITLES[tool]:<18} {result.error}")
            continue
        wall = statistics.median(r.wall for r in result.runs)
        startup = statistics.median(result.startups) if result.startups else float("nan")
        rss = statistics.median(r.rss_mib for r in result.runs)
        cpu = statistics.median(r.cpu for r in result.runs)
        rate = packets / wall
        net = packets / (wall - startup) if wall > startup else float("nan")
        medians[tool] = {"rate": rate, "rss": rss, "wall": wall}
        flows = " | ".join(sorted(result.flows))
        if len(result.flows) > 1:
            flows = "DIFFER between runs: " + flows
        print(f"{TITLES[tool]:<18} {wall:>7.3f} {fmt_rate(rate):>11} {fmt_rate(net):>14} "
              f"{startup:>10.3f} {cpu:>6.2f} {fmt_rate(packets / cpu):>11} {rss:>8.1f}  {flows}")
    for tool, result in results.items():
        if result.runs:
            walls = " ".join(f"{r.wall:.3f}" for r in result.runs)
            print(f"  {TITLES[tool]} runs (wall s): {walls}")
    return medians


def targets(all_medians: dict[str, dict[str, dict[str, float]]]) -> int:
    print("\n== targets (ours, median wall rates of this run) ==")
    misses = 0

    def line(ok: bool, text: str) -> None:
        nonlocal misses
        misses += not ok
        print(f"[{'PASS' if ok else 'MISS'}] {text}")

    for name, medians in all_medians.items():
        ours = medians.get("ours")
        if ours is None:
            print(f"[----] {name}: ours did not run")
            continue
        line(ours["rate"] >= TARGET_PPS,
             f"{name}: ours >= {TARGET_PPS:,} packets/s: {fmt_rate(ours['rate'])}")
        for tool, factor in (("nfstream", TARGET_VS_NFSTREAM), ("nfpcapd", TARGET_VS_NFPCAPD)):
            other = medians.get(tool)
            if other is None:
                print(f"[----] {name}: ours >= {factor}x {TITLES[tool]}: {TITLES[tool]} not run")
                continue
            ratio = ours["rate"] / other["rate"]
            line(ratio >= factor, f"{name}: ours >= {factor}x {TITLES[tool]}: {ratio:.2f}x "
                                  f"({fmt_rate(ours['rate'])} vs {fmt_rate(other['rate'])})")
        line(ours["rss"] < TARGET_RSS_MIB,
             f"{name}: ours peak RSS < {TARGET_RSS_MIB:.0f} MiB: {ours['rss']:.1f} MiB")
    return misses


# --- profile ----------------------------------------------------------------------------------

PROFILE_CODE = (
    "import cProfile, runpy, sys, time\n"
    "out = sys.argv[1]; sys.argv = ['flow_meter', *sys.argv[2:]]\n"
    "p = cProfile.Profile(time.process_time); p.enable()\n"
    "try: runpy.run_module('modules.flow_meter', run_name='__main__', alter_sys=True)\n"
    "except SystemExit: pass\n"
    "p.disable(); p.dump_stats(out)\n"
)


def profile(tools: Tools, pcap: Path, workdir: Path, top: int) -> None:
    """cProfile with a CPU-time clock (time.process_time: other processes on a busy machine do
    not count), imports included, as `python -m cProfile -m modules.flow_meter` would run it."""
    out = workdir / "flow_meter.prof"
    argv = [tools.python, "-c", PROFILE_CODE, str(out), "-r", str(pcap), "-i", "b:",
            "-t", f"{ACTIVE}:{INACTIVE}"]
    print(f"\n== cProfile (CPU clock) of ours on {pcap.name} ==\n"
          f"$ cd {shlex.quote(str(tools.project))} && {shlex.join(argv)}")
    start = time.monotonic()
    subprocess.run(argv, check=True, cwd=tools.project, stdin=subprocess.DEVNULL, env=ENV)
    wall = time.monotonic() - start
    stats = pstats.Stats(str(out))
    total = stats.total_tt                          # type: ignore[attr-defined]
    print(f"wall {wall:.2f} s under the profiler, {total:.2f} CPU s profiled. By stage (the "
          "cumulative time of what FlowMeter.produce/finish call; the rest is start-up: "
          "imports, CLI, setup, and exit):")
    stages = stage_times(stats)
    stages["startup+exit"] = total - sum(stages.values())
    for stage, seconds in stages.items():
        print(f"  {stage:<14} {seconds:7.3f} s  {100 * seconds / total:5.1f} %")
    print("own time by source file (C functions `~` apart):")
    by_file: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        key = filename.replace(str(tools.project) + "/", "")
        by_file[key] = by_file.get(key, 0.0) + tottime
    for filename, seconds in sorted(by_file.items(), key=lambda item: -item[1])[:12]:
        print(f"  {seconds:7.3f} s  {filename}")
    stats.sort_stats("tottime").print_stats(top)


def stage_times(stats: pstats.Stats) -> dict[str, float]:
    """read / parse / cache / export: cumulative times of the callees of meter.py's main loop
    (`produce`, `finish`), from the profile's caller graph."""
    stages = dict.fromkeys(("read", "parse", "cache", "export", "loop other"), 0.0)
    for (filename, _, name), entry in stats.stats.items():  # type: ignore[attr-defined]
        for (caller_file, _, caller), timing in entry[4].items():
            if not caller_file.endswith("flow_meter/meter.py") or caller not in ("produce",
                                                                                  "finish"):
                continue
            if name == "_emit_exported":
                stage = "export"
            elif name == "<built-in method builtins.next>":
                stage = "read"               # resumes the capture generator
            elif filename.endswith("packet_parser.py"):
                stage = "parse"
            elif filename.endswith("flow_cache.py"):
                stage = "cache"
            else:
                stage = "loop other"
            stages[stage] += timing[3]
    return stages


# --- main -------------------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool and input "
                        "(medians; default 3)")
    parser.add_argument("--only", default="1x,4x", help="inputs: 1x (the 102k pcap), 4x (its "
                        "4x concatenation) or a pcap path; comma separated (default 1x,4x)")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"default {','.join(TOOLS)}")
    parser.add_argument("--nfstream-python", default=DEFAULT_NFS_PYTHON,
                        help=f"Python of a venv with nfstream (default {DEFAULT_NFS_PYTHON}; "
                        f"set up: {NFSTREAM_SETUP})")
    parser.add_argument("--python", default="", help="Python that runs our flow_meter "
                        "(default: the project's .venv)")
    parser.add_argument("--project", default=str(ROOT), help="tree whose modules.flow_meter "
                        "runs (cwd of our command; default this checkout)")
    parser.add_argument("--workdir", default="", help="keep inputs and logs here (default: a "
                        "temporary directory, removed at the end)")
    parser.add_argument("--profile", action="store_true", help="then cProfile our flow_meter "
                        "on the largest input and print the time by stage")
    parser.add_argument("--top", type=int, default=25, help="functions listed by --profile")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    args.tools = [t.strip().lower() for t in args.tools.split(",") if t.strip()]
    for tool in args.tools:
        if tool not in TOOLS:
            parser.error(f"--tools: unknown {tool!r} (choose from {', '.join(TOOLS)})")
    return args


def main() -> int:
    args = parse_args()
    print("reproduce: cd " + shlex.quote(str(Path.cwd())) + " && "
          + shlex.join([sys.executable, *sys.argv]))
    if not BASE_INPUT.exists() and any(s.strip() in ("1x", "4x") for s in args.only.split(",")):
        sys.exit(f"bench/flow_meter.py: {BASE_INPUT} is missing (shared pcap folder)")
    keep = bool(args.workdir)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-flow_meter-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return bench(args, workdir)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def bench(args: argparse.Namespace, workdir: Path) -> int:
    tools = Tools(args, workdir)
    print("\n".join(versions(tools)))
    inputs: list[tuple[str, Path]] = []
    for item in (s.strip() for s in args.only.split(",") if s.strip()):
        if item == "1x":
            inputs.append((BASE_INPUT.name, BASE_INPUT))
        elif item == "4x":
            path, recipe = build_x4(BASE_INPUT, workdir)
            print(f"4x input built in {workdir}:\n" + "\n".join(f"  $ {line}" for line in
                                                                  recipe.splitlines()))
            inputs.append(("4x " + BASE_INPUT.name, path))
        elif Path(item).is_file():
            inputs.append((Path(item).name, Path(item).resolve()))
        else:
            sys.exit(f"bench/flow_meter.py: --only {item}: no such file (1x, 4x or a pcap path)")
    empty = workdir / "empty.pcap"
    write_empty_pcap(inputs[0][1], empty)

    active = [t for t in args.tools if t not in tools.unavailable]
    print("\ncommands (FILE = the input; ours runs in the project directory):")
    for tool in active:
        argv = tools.argv(tool, Path("FILE"), Path("DIR"))
        prefix = f"cd {shlex.quote(str(tools.project))} && " if tool == "ours" else ""
        print(f"  {TITLES[tool]:<18} $ {prefix}{TIME} -v {shlex.join(argv)}")
        if tool == "nfpcapd":
            print(f"  {'':<18}   (fresh empty DIR per run; flows counted after it: "
                  f"nfdump -R DIR -I)")

    packets = {name: pcap_count(path) for name, path in inputs}
    for _, path in inputs:
        warm(path)
    results = {name: {t: Result() for t in active} for name, _ in inputs}
    startups: dict[str, list[float]] = {t: [] for t in active}
    for tool in active:                              # untimed: byte-compile, load libraries
        try:
            tools.run(tool, empty)
        except RuntimeError as exc:
            print(f"{TITLES[tool]}: warm-up run on an empty pcap failed: {exc}", file=sys.stderr)
    for rep in range(args.repeat):
        print(f"repeat {rep + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
        for tool in active:                          # start-up alone, on a header-only pcap
            try:
                run, _ = tools.run(tool, empty)
            except RuntimeError:                     # a tool may refuse an empty file
                continue
            startups[tool].append(run.wall)
        for name, path in inputs:
            for tool in active:
                result = results[name][tool]
                if result.error:
                    continue
                try:
                    run, flows = tools.run(tool, path)
                except (RuntimeError, subprocess.CalledProcessError) as exc:
                    result.error = f"FAILED: {str(exc).strip()[:500]}"
                    continue
                result.runs.append(run)
                result.flows.add(flows)

    all_medians = {}
    for name, path in inputs:
        for tool, result in results[name].items():
            result.startups = startups[tool]
        all_medians[name] = report_input(name, packets[name], path.stat().st_size,
                                         results[name], args.repeat)
    for tool in args.tools:
        if tool in tools.unavailable:
            print(f"{TITLES[tool]}: not available ({tools.unavailable[tool]})")
    misses = targets(all_medians)
    print(f"\n{misses} target(s) missed" if misses else "\nall targets met")
    if args.profile:
        profile(tools, max((p for _, p in inputs), key=lambda p: p.stat().st_size), workdir,
                args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
