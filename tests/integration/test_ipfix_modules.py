"""ipfixcol, ipfixexport and ipfixsend as real processes: flow_meter records exported over
TCP and UDP and collected back, replays of IPFIX files and trapcaps, bad input, counters.
The helpers here are shared with test_ipfix_interop.py."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from libtrap_py.ifc_spec import parse_ifc_specs
from libtrap_py.interfaces import open_input
from libtrap_py.service import query
from modules.ipfix.encoder import IpfixEncoder
from modules.ipfix.records import BIFLOW_TEMPLATE
from tests.conftest import wait_until
from tests.integration.conftest import Proc, free_port
from unirec import RecordBatch

PYTHON = sys.executable
CAPTURE = "mixed/slips__test7-malicious.pcap"      # TCP, UDP, ICMP, IPv4 and IPv6


@pytest.fixture
def run(start_process):
    """run(*args): an ipfix module (collector, export_module, send) or any command, in its own
    process group (the shared start_process fixture)."""
    def start(*args: str) -> Proc:
        head = [PYTHON, "-m", f"modules.ipfix.{args[0]}"] if args[0] in \
            ("collector", "export_module", "send") else [args[0]]
        return start_process([*head, *args[1:]])
    return start


def collector_stats(proc: Proc) -> dict | None:
    try:
        answer = query(proc.pid, "stats", 500)
    except OSError:
        return None
    module = answer.get("module", {})
    return module if "records" in module else None


def start_collector(run, out: Path, *listen: str, extra: tuple = ()) -> Proc:
    args = [item for spec in listen for item in ("-l", spec)]
    proc = run("collector", *args, "-i", f"f:{out}", "-v", *extra)

    def ready():
        if proc.popen.poll() is not None:
            raise AssertionError(f"collector exited: {proc.stderr[-2000:]}")
        return collector_stats(proc)
    wait_until(ready, 15)
    return proc


def wait_quiet(proc: Proc, expected: int | None = None, timeout: float = 15.0,
               quiet: float = 0.7) -> dict:
    """Wait until the collector has `expected` records, or (None) its record count stops
    changing for `quiet` seconds with no data set waiting for a template."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while True:
        stats = collector_stats(proc) or {}
        records = stats.get("records", -1)
        if expected is not None and records >= expected:
            return stats
        if records != last:
            last, since = records, time.monotonic()
        elif expected is None and time.monotonic() - since >= quiet and \
                not stats.get("held_sets_now"):
            return stats
        if time.monotonic() > deadline:
            raise AssertionError(f"collector stats after {timeout} s: {stats}")
        time.sleep(0.05)


def stop(proc: Proc, timeout: float = 15.0) -> int:
    proc.signal(signal.SIGTERM)
    return proc.wait(timeout)


def read_batches(path: Path) -> RecordBatch | None:
    source = open_input(parse_ifc_specs(f"f:{path}", 1, 0)[0][0])
    batches = []
    try:
        while True:
            message = source.receive(-1)
            if message is None:
                continue
            if message.is_eof:
                break
            batches.append(message.batch())
    finally:
        source.close()
    return RecordBatch.concat(batches) if batches else None


def totals(batch: RecordBatch | None) -> dict:
    if batch is None:
        return {"flows": 0, "packets": 0, "bytes": 0, "packets_rev": 0, "bytes_rev": 0}
    def total(name: str) -> int:
        return int(batch.column(name).astype(np.uint64).sum()) if name in batch.template.index \
            else 0
    return {"flows": batch.length, "packets": total("PACKETS"), "bytes": total("BYTES"),
            "packets_rev": total("PACKETS_REV"), "bytes_rev": total("BYTES_REV")}


def flow_meter_records(shared_data: Path, tmp_path: Path, capture: str = CAPTURE) -> Path:
    out = tmp_path / "meter.trapcap"
    code = subprocess.run([str(Path(PYTHON).with_name("nemea")), "flow_meter", "-r",
                           str(shared_data / "pcaps" / capture), "-i", f"f:{out}"],
                          capture_output=True, timeout=60).returncode
    assert code == 0
    return out


def comparable(batch: RecordBatch) -> list[tuple]:
    """Rows with times truncated to milliseconds (what IPFIX export carries)."""
    rows = []
    first = batch.template.index["TIME_FIRST"]
    last = batch.template.index["TIME_LAST"]
    for row in batch.rows():
        row = list(row)
        row[first] -= row[first] % 1_000_000
        row[last] -= row[last] % 1_000_000
        rows.append(tuple(row))
    return sorted(rows)


# --- tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_flow_meter_records_exported_and_collected_back(run, shared_data, tmp_path, transport):
    source = flow_meter_records(shared_data, tmp_path)
    original = read_batches(source)
    port = free_port()
    out = tmp_path / "collected.trapcap"
    collector = start_collector(run, out, f"{transport}:127.0.0.1:{port}")
    exporter = run("export_module", "-i", f"f:{source}", "-x", f"127.0.0.1:{port}:{transport}",
                   "-v")
    assert exporter.wait(30) == 0, exporter.stderr
    assert f"records={original.length}" in exporter.stderr
    wait_quiet(collector, original.length)
    assert stop(collector) == 0
    collected = read_batches(out)
    assert collected.template == BIFLOW_TEMPLATE
    assert comparable(collected) == comparable(original)
    assert "malformed=0" in collector.stderr and f"records={original.length}" in collector.stderr


def test_ipfixsend_replays_an_ipfix_file_and_a_trapcap(run, shared_data, tmp_path):
    source = flow_meter_records(shared_data, tmp_path)
    original = read_batches(source)
    ipfix = tmp_path / "flows.ipfix"
    assert run("export_module", "-i", f"f:{source}", "-x", f"file:{ipfix}").wait(30) == 0
    port = free_port()
    out = tmp_path / "collected.trapcap"
    collector = start_collector(run, out, f"tcp:127.0.0.1:{port}", f"udp:127.0.0.1:{port}")
    sender = run("send", "-r", str(ipfix), "-d", f"127.0.0.1:{port}:tcp", "-R", "0", "-v")
    assert sender.wait(30) == 0, sender.stderr
    wait_quiet(collector, original.length)
    sender = run("send", "-r", f"f:{source}", "-d", f"127.0.0.1:{port}", "-R", "0")
    assert sender.wait(30) == 0, sender.stderr
    stats = wait_quiet(collector, 2 * original.length)
    assert stats["messages_ipfix"] > 0 and stats["malformed"] == 0
    assert stop(collector) == 0
    collected = read_batches(out)
    assert collected.length == 2 * original.length
    want = totals(original)
    got = totals(collected)
    assert got == {key: 2 * value for key, value in want.items()}


def test_ipfixsend_keeps_the_original_pace_times_the_factor(run, tmp_path):
    batch = RecordBatch.from_columns(BIFLOW_TEMPLATE, 1, {"PACKETS": np.array([1], np.uint32)})
    encoder = IpfixEncoder()
    ipfix = tmp_path / "paced.ipfix"
    ipfix.write_bytes(b"".join(encoder.encode(batch, 1_000 + second, with_templates=second == 0)[0]
                               for second in range(3)))        # export times 1000..1002
    port = free_port()
    collector = start_collector(run, tmp_path / "o.trapcap", f"udp:127.0.0.1:{port}")
    def replay_seconds(speed: str) -> float:
        sender = run("send", "-r", str(ipfix), "-d", f"127.0.0.1:{port}", "-R", speed, "-v")
        assert sender.wait(20) == 0, sender.stderr
        return float(re.search(r"seconds=([0-9.]+)", sender.stderr).group(1))
    assert 0.5 <= replay_seconds("4") < 1.5              # 2 s of export time at 4x: 0.5 s
    assert replay_seconds("0") < 0.4
    assert wait_quiet(collector, 6)["records"] == 6


def test_collector_survives_garbage_and_counts_it(run, tmp_path):
    port = free_port()
    out = tmp_path / "o.trapcap"
    collector = start_collector(run, out, f"udp:127.0.0.1:{port}", f"tcp:127.0.0.1:{port}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for garbage in (b"", b"\x00\x0a\xff\xff" + b"x" * 40, b"\x00\x09\x00",
                        b"GET / HTTP/1.0\r\n\r\n"):
            udp.sendto(garbage, ("127.0.0.1", port))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as tcp:
        tcp.sendall(b"\x00\x0a\x00\x05garbage-after-a-bad-length")
        tcp.settimeout(5)
        assert tcp.recv(10) == b""                      # the collector closed the stream
    stats = wait_until(lambda: (s := collector_stats(collector)) and s["malformed"] >= 5 and s,
                       10)
    assert stats["malformed"] == 5 and stats["records"] == 0
    batch = RecordBatch.from_columns(BIFLOW_TEMPLATE, 2, {"PACKETS": np.array([3, 4], np.uint32)})
    with socket.create_connection(("127.0.0.1", port), timeout=5) as tcp:
        tcp.sendall(b"".join(IpfixEncoder(max_message=65000).encode(batch, 0, True)))
    wait_quiet(collector, 2)
    assert stop(collector) == 0
    assert read_batches(out).column("PACKETS").tolist() == [3, 4]
    assert "malformed message from udp:127.0.0.1:" in collector.stderr
    assert "malformed message from tcp:127.0.0.1:" in collector.stderr
    assert "malformed=5" in collector.stderr            # -v: counters at exit
