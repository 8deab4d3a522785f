"""flow_meter as a process: against NEMEA's own probe (the same captures give the same flows,
byte for byte in logger CSV; ipfixprobe's output is in ../shared/data/nemea/), its errors, its
IPFIX export and a stop while reading."""

from __future__ import annotations

import signal

from tests.conftest import child_processes, wait_until


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


def test_ctrl_c_while_reading_a_large_capture_is_a_clean_stop(spawn, shared_data, tmp_path):
    """SIGINT to the whole process group (a terminal's Ctrl-C, the supervisor's stop) while
    the pcap walker process runs: flow_meter stops cleanly, exports what it has, exit 0."""
    capture = str(shared_data / "pcaps/bench/ndpi_mix_102k.pcap")
    out = tmp_path / "flows.trapcap"
    meter = spawn("nemea", "flow_meter", "-v", *["-r", capture] * 8, "-i", f"f:{out}")
    wait_until(lambda: any("pcap_walk" in child.command
                           for child in child_processes(meter.pid)), timeout=20)
    meter.signal(signal.SIGINT)
    assert meter.wait(30) == 0, meter.stderr
    assert "error" not in meter.stderr.lower(), meter.stderr
    assert len(_logged(spawn, out)) > 1

