"""flow_meter as a process: against NEMEA's own probe (the same captures give the same flows,
byte for byte in logger CSV; ipfixprobe's output is in ../shared/data/nemea/), its errors, its
IPFIX export, a stop while reading, and the record walker started before the imports."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from modules.flow_meter.capture import read_packets
from modules.flow_meter.flow_cache import FlowCache
from modules.flow_meter.packet_parser import PacketParser
from tests.conftest import child_processes, process_state, wait_until
from tests.integration.conftest import NEMEA


def _logged(spawn, path) -> list[str]:
    proc = spawn("nemea", "logger", "-t", "-i", f"f:{path}")
    assert proc.wait(30) == 0, proc.stderr
    return proc.stdout.splitlines()


def test_syn_scan_flows_equal_ipfixprobe(spawn, shared_data, tmp_path):
    out = tmp_path / "flows.trapcap"
    meter = spawn("nemea", "flow_meter", "-r",
                  str(shared_data / "pcaps/scan/evilfingers__TCP_SYN_SCAN.pcap"), "-i", f"f:{out}")
    assert meter.wait(60) == 0, meter.stderr
    expected = (shared_data / "nemea/synscan_flows.logger.csv").read_text().splitlines()
    lines = _logged(spawn, out)
    assert lines[0] == expected[0]
    assert sorted(lines[1:]) == sorted(expected[1:])


def test_dns_plugin_equals_ipfixprobe(spawn, shared_data, tmp_path):
    basic, dns = tmp_path / "basic.trapcap", tmp_path / "dns.trapcap"
    capture = shared_data / "pcaps/debian/dpkt__dns_icmp.pcap"
    meter = spawn("nemea", "flow_meter", "-r", str(capture), "-p", "dns",
                  "-i", f"f:{basic},f:{dns}")
    assert meter.wait(60) == 0, meter.stderr
    expected = (shared_data / "nemea/dns_flows.logger.csv").read_text().splitlines()
    lines = _logged(spawn, dns)
    assert lines[0] == expected[0]
    assert sorted(lines[1:]) == sorted(expected[1:])
    assert len(_logged(spawn, basic)) == 1 + 14   # every flow, DNS messages split as above


def test_bad_options_are_one_line_errors(spawn, tmp_path):
    cases = [(["-i", "b:"], "give either -r FILE"),
             (["-r", str(tmp_path / "missing.pcap"), "-i", "b:"], "missing.pcap"),
             (["-r", "x.pcap", "-p", "dns", "-i", "b:"], "needs 2 output interfaces"),
             (["-r", "x.pcap", "-p", "nope", "-i", "b:,b:"], "unknown plugin 'nope'"),
             (["-r", "x.pcap", "-t", "a:b", "-i", "b:"], "-t a:b")]
    for args, message in cases:
        proc = spawn("nemea", "flow_meter", *args)
        assert proc.wait(30) != 0
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, lines)


def test_ipfix_export_carries_every_flow(spawn, shared_data, tmp_path):
    from modules.ipfix.core import CollectorCore
    from modules.ipfix.ipfix_file import read_messages

    exported = tmp_path / "flows.ipfix"
    capture = shared_data / "pcaps/scan/evilfingers__TCP_SYN_SCAN.pcap"
    meter = spawn("nemea", "flow_meter", "-r", str(capture), "-i", "b:", "-x",
                  f"file:{exported}")
    assert meter.wait(60) == 0, meter.stderr
    core = CollectorCore()
    session = core.session("file", ("127.0.0.1", 0))
    for _, message in read_messages(str(exported)):
        core.feed(session, message)
    batch = core.flush()
    assert batch is not None and batch.length == 1005
    assert int(batch.column("PACKETS").sum() + batch.column("PACKETS_REV").sum()) == 2011


def test_ctrl_c_while_reading_a_large_capture_is_a_clean_stop(spawn, shared_data, tmp_path,
                                                              socket_dir):
    """SIGINT to the whole process group (a terminal's Ctrl-C, the supervisor's stop) while
    the pcap walker process runs: flow_meter stops cleanly, exports what it has, exit 0."""
    capture = str(shared_data / "pcaps/bench/ndpi_mix_102k.pcap")
    out = tmp_path / "flows.trapcap"
    meter = spawn("nemea", "flow_meter", "-v", *["-r", capture] * 8, "-i", f"f:{out}")
    walkers: list[int] = []

    def walking() -> bool:
        walkers[:] = [child.pid for child in child_processes(meter.pid)
                      if "pcap_walk" in child.command]
        return bool(walkers)

    wait_until(lambda: (socket_dir / f"trap-service_{meter.pid}.sock").exists()  # it runs
               and walking(), timeout=20)
    meter.signal(signal.SIGINT)
    assert meter.wait(30) == 0, meter.stderr
    wait_until(lambda: all(process_state(pid) in ("Z", "gone") for pid in walkers))   # none left
    assert "error" not in meter.stderr.lower(), meter.stderr
    assert len(_logged(spawn, out)) > 1


def _walkers_of(size: int) -> list[str]:
    """Command lines of the pcap walker processes walking a file of `size` bytes."""
    found = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            if "modules.flow_meter.pcap_walk" in command and f" {size} " in command:
                found.append(command)
    return found


def test_a_large_capture_walked_from_before_the_imports_gives_every_flow(
        spawn, start_process, shared_data, tmp_path):
    """Files larger than the first chunk's walk get their walker before flow_meter's imports
    (nemea's early hook, and python -m): the same flows as a walk in the test's process."""
    capture = shared_data / "pcaps/bench/ndpi_mix_102k.pcap"
    cache, parser = FlowCache(), PacketParser()
    for chunk in read_packets([str(capture)]):
        cache.add(parser.parse(chunk), (), chunk.packets)
    cache.flush()
    expected = 1 + len(cache.take())                     # the header line, then the flows
    for name, command in (("nemea", [NEMEA, "flow_meter"]),
                          ("module", [sys.executable, "-m", "modules.flow_meter"])):
        out = tmp_path / f"{name}.trapcap"
        meter = start_process([*command, "-r", str(capture), "-i", f"f:{out}"])
        assert meter.wait(60) == 0, meter.stderr
        assert len(_logged(spawn, out)) == expected, name


def test_an_early_walker_nobody_takes_over_ends_with_flow_meter(spawn, shared_data):
    capture = shared_data / "pcaps/bench/ndpi_mix_102k.pcap"
    meter = spawn("nemea", "flow_meter", "-r", str(capture), "-I", "lo", "-i", "b:")
    assert meter.wait(30) != 0 and "give either -r FILE" in meter.stderr
    wait_until(lambda: not _walkers_of(capture.stat().st_size), timeout=10)
