"""The core modules as real processes: options, exit codes, signals, files."""

from __future__ import annotations

import pstats
import signal
import sys
import time

import pytest

from modules.demo_flows import demo_flows
from tests.conftest import wait_until
from unirec import CsvFormatter, read_csv


@pytest.fixture
def flows_csv(tmp_path):
    batch = demo_flows(500, seed=3)
    formatter = CsvFormatter(batch.template)
    path = tmp_path / "flows.csv"
    path.write_text(formatter.header() + "\n" + formatter.format_batch(batch))
    return path


def trapcap_of(spawn, csv_path, out_path):
    assert spawn("nemea", "logreplay", "-i", f"f:{out_path}", "-f", str(csv_path)).wait(30) == 0
    return out_path


def logged(spawn, source: str, *options: str) -> str:
    proc = spawn("nemea", "logger", "-i", source, *options)
    assert proc.wait(30) == 0, proc.stderr
    return proc.stdout


def test_logger_options(spawn, flows_csv, tmp_path):
    trapcap = trapcap_of(spawn, flows_csv, tmp_path / "f.trapcap")
    text = flows_csv.read_text()
    assert logged(spawn, f"f:{trapcap}", "-t") == text
    assert logged(spawn, f"f:{trapcap}", "-c", "3") == "".join(text.splitlines(True)[1:4])
    with_time = logged(spawn, f"f:{trapcap}", "-t", "-T", "-c", "2").splitlines()
    assert with_time[0] == "time," + text.splitlines()[0]
    assert with_time[1].split(",", 1)[1] == text.splitlines()[1]
    assert len(with_time[1].split(",", 1)[0]) == len("2024-01-01T00:00:00")
    out = tmp_path / "out.csv"
    logged(spawn, f"f:{trapcap}", "-w", str(out), "-c", "1")
    logged(spawn, f"f:{trapcap}", "-a", str(out), "-c", "1")
    assert out.read_text() == text.splitlines(True)[1] * 2
    tabbed = logged(spawn, f"f:{trapcap}", "-d", "\\t", "-c", "1")
    assert tabbed == text.splitlines(True)[1].replace(",", "\t")


def test_a_module_under_a_profiler_exits_normally_so_the_profile_is_written(
        start_process, flows_csv, tmp_path, spawn):
    """Modules skip the interpreter's teardown at exit, except under a profiler or tracer."""
    trapcap = trapcap_of(spawn, flows_csv, tmp_path / "f.trapcap")
    profile = tmp_path / "logger.prof"
    proc = start_process([sys.executable, "-m", "cProfile", "-o", str(profile), "-m",
                          "modules.logger", "-i", f"f:{trapcap}", "-t"])
    assert proc.wait(60) == 0, proc.stderr
    assert proc.stdout == flows_csv.read_text()
    assert pstats.Stats(str(profile)).total_calls > 0


def test_logreplay_skips_bad_lines_and_names_them(spawn, tmp_path):
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text("uint16 DST_PORT,ipaddr SRC_IP\n53,10.0.0.1\n70000,10.0.0.2\n"
                        "80,1.2.3\n443,10.0.0.4\n")
    proc = spawn("nemea", "logreplay", "-i", f"f:{tmp_path / 'o.trapcap'}", "-f", str(csv_path))
    assert proc.wait(30) == 0
    assert f"{csv_path}:3: column 1 (uint16 DST_PORT)" in proc.stderr
    assert f"{csv_path}:4: column 2 (ipaddr SRC_IP)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert logged(spawn, f"f:{tmp_path / 'o.trapcap'}") == "10.0.0.1,53\n10.0.0.4,443\n"
    stop = spawn("nemea", "logreplay", "-e", "-i", f"f:{tmp_path / 'p.trapcap'}", "-f",
                 str(csv_path))
    assert stop.wait(30) != 0
    assert stop.stderr.strip().splitlines()[-1].startswith("error: logreplay:")


def test_logreplay_paces_by_time_column(spawn, tmp_path):
    csv_path = tmp_path / "timed.csv"
    csv_path.write_text("time,uint8 X\n2024-01-01T00:00:00,1\n2024-01-01T00:00:01,2\n")
    started = time.monotonic()
    assert spawn("nemea", "logreplay", "-i", f"f:{tmp_path / 't'}", "-f", str(csv_path)) \
        .wait(30) == 0
    assert time.monotonic() - started >= 1.0
    assert logged(spawn, f"f:{tmp_path / 't'}") == "1\n2\n"


def test_flowcounter_totals_and_periodic_records(spawn, flows_csv, tmp_path):
    trapcap = trapcap_of(spawn, flows_csv, tmp_path / "f.trapcap")
    parsed = read_csv(flows_csv.read_text())
    packets = int(parsed.batch.column("PACKETS").sum())
    octets = int(parsed.batch.column("BYTES").sum())
    proc = spawn("nemea", "flowcounter", "-i", f"f:{trapcap}")
    assert proc.wait(30) == 0
    assert proc.stdout == f"Flows:   {500:20d}\nPackets: {packets:20d}\nBytes:   {octets:20d}\n"
    counter = spawn("nemea", "flowcounter", "-o", "1", "-i", "u:never,f:" + str(tmp_path / "o"))
    wait_until(lambda: (tmp_path / "o").exists() and (tmp_path / "o").stat().st_size > 60, 10)
    counter.signal(signal.SIGTERM)
    assert counter.wait(10) == 0
    assert logged(spawn, f"f:{tmp_path / 'o'}", "-t").splitlines()[:2] == \
        ["uint64 BYTES,uint64 FLOWS,uint32 PACKETS", "0,0,0"]


def test_unirecfilter_rules_file_and_projection(spawn, flows_csv, tmp_path):
    trapcap = trapcap_of(spawn, flows_csv, tmp_path / "f.trapcap")
    rules = tmp_path / "rules.txt"
    rules.write_text("# out 0: web\n:DST_PORT in [80, 443];\n"
                     "ipaddr SRC_IP,uint16 DST_PORT,string NOTE=\"dns\":PROTOCOL == UDP "
                     "&& port == 53;\n")
    proc = spawn("nemea", "unirecfilter", "-f", str(rules), "-i",
                 f"f:{trapcap},f:{tmp_path / 'web'},f:{tmp_path / 'dns'}")
    assert proc.wait(30) == 0, proc.stderr
    batch = read_csv(flows_csv.read_text()).batch
    web = [r for r in batch.records() if r.DST_PORT in (80, 443)]
    dns = [r for r in batch.records() if r.PROTOCOL == 17 and 53 in (r.DST_PORT, r.SRC_PORT)]
    assert len(logged(spawn, f"f:{tmp_path / 'web'}").splitlines()) == len(web) > 0
    dns_lines = logged(spawn, f"f:{tmp_path / 'dns'}", "-t").splitlines()
    assert dns_lines[0] == "ipaddr SRC_IP,uint16 DST_PORT,string NOTE"
    assert dns_lines[1:] == [f'{r.SRC_IP},{r.DST_PORT},"dns"' for r in dns]


def test_merger_union_and_fixed_template(spawn, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("ipaddr SRC_IP,uint64 BYTES\n10.0.0.1,5\n10.0.0.2,6\n")
    second.write_text("ipaddr SRC_IP,ipaddr DST_IP2,uint64 BYTES2\n10.0.0.3,1.1.1.1,7\n")
    a, b = trapcap_of(spawn, first, tmp_path / "a"), trapcap_of(spawn, second, tmp_path / "b")
    assert spawn("nemea", "merger", "-i", f"f:{a},f:{b},f:{tmp_path / 'm'}").wait(30) == 0
    lines = logged(spawn, f"f:{tmp_path / 'm'}", "-t").splitlines()
    assert lines[0] == "ipaddr DST_IP2,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES2"
    assert sorted(lines[1:]) == ["1.1.1.1,10.0.0.3,0,7", "::,10.0.0.1,5,0", "::,10.0.0.2,6,0"]
    assert spawn("nemea", "merger", "-u", "ipaddr SRC_IP,uint64 BYTES2", "-i",
                 f"f:{a},f:{b},f:{tmp_path / 'u'}").wait(30) == 0
    assert sorted(logged(spawn, f"f:{tmp_path / 'u'}").splitlines()) == \
        ["10.0.0.1,0", "10.0.0.2,0", "10.0.0.3,7"]


@pytest.mark.parametrize("args", [
    ["logger", "-i", "u:quiet"], ["traffic_repeater", "-i", "u:quiet,u:out"],
    ["unirecfilter", "-i", "u:quiet,u:out", "-F", "DST_PORT == 1"],
    ["merger", "-i", "u:quiet,u:quiet2,u:out"], ["flowcounter", "-i", "u:quiet"],
])
def test_modules_exit_0_on_sigterm(spawn, socket_dir, args):
    proc = spawn("nemea", *args)
    wait_until(lambda: (socket_dir / f"trap-service_{proc.pid}.sock").exists(), 15)
    proc.signal(signal.SIGTERM)
    assert proc.wait(15) == 0, proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["logger"], "interface specifier (-i) not found"),
    (["logger", "-i", "u:a,u:b"], "bad number of interfaces"),
    (["logger", "-i", "x:a"], "unknown interface type 'x'"),
    (["logreplay", "-i", "u:a", "-f", "/nonexistent.csv"], "/nonexistent.csv"),
    (["logreplay", "-i", "u:a", "-f", "x.csv", "-c", "-1"], "-c -1"),
    (["merger", "-u", "uint99 X", "-i", "u:a,u:b"], "unknown type 'uint99'"),
    (["flowcounter", "-o", "5", "-i", "u:a"], "output exactly when -o"),
    (["unirecfilter", "-F", "A == 1", "-f", "r.txt", "-i", "u:a,u:b"], "-F and -f"),
    (["traffic_repeater", "-i", "u:a,u:b:timeout=soon"], "bad value 'soon' for timeout"),
])
def test_bad_options_fail_with_one_clear_line(spawn, args, message):
    proc = spawn("nemea", *args)
    assert proc.wait(15) != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], lines


def test_flowcounter_prints_totals_on_sigusr1(spawn, socket_dir, tmp_path):
    source = tmp_path / "src.csv"
    source.write_text("uint32 PACKETS,uint64 BYTES\n3,100\n4,200\n")
    replay = spawn("nemea", "logreplay", "-n", "-i", "u:counted", "-f", str(source))
    counter = spawn("nemea", "flowcounter", "-i", "u:counted")
    wait_until(lambda: (socket_dir / f"trap-service_{counter.pid}.sock").exists(), 15)
    assert replay.wait(30) == 0
    wait_until(lambda: counter.signal(signal.SIGUSR1) or "Flows:" in counter.stdout, 10, 0.5)
    lines = counter.stdout.splitlines()
    assert lines[0].startswith("Time: ") and lines[1:4] == [
        f"Flows:   {2:20d}", f"Packets: {7:20d}", f"Bytes:   {300:20d}"]
    counter.signal(signal.SIGTERM)
    assert counter.wait(15) == 0


def test_unirecfilter_reloads_its_rules_on_sigusr1(spawn, socket_dir, tmp_path):
    rules = tmp_path / "rules.txt"
    rules.write_text(":DST_PORT == 53;\n")
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("uint16 DST_PORT\n53\n80\n")
    second.write_text("uint16 DST_PORT\n53\n80\n")
    out = tmp_path / "out"
    filtering = spawn("nemea", "unirecfilter", "-f", str(rules), "-i", f"u:rules,f:{out}")
    wait_until(lambda: (socket_dir / f"trap-service_{filtering.pid}.sock").exists(), 15)
    assert spawn("nemea", "logreplay", "-n", "-i", "u:rules", "-f", str(first)).wait(30) == 0
    wait_until(lambda: out.exists() and out.stat().st_size > 40, 15)
    rules.write_text(":DST_PORT == 80;\n")
    filtering.signal(signal.SIGUSR1)
    assert spawn("nemea", "logreplay", "-i", "u:rules", "-f", str(second)).wait(30) == 0
    assert filtering.wait(30) == 0, filtering.stderr
    assert logged(spawn, f"f:{out}") == "53\n80\n"
