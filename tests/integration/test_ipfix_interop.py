"""Interoperability with real peers from Debian packages: pmacct (pmacctd's nfprobe plugin
exporting IPFIX and NetFlow v9 from a capture) and nfdump (nfreplay sending NetFlow v5/v9 from
an nfpcapd file; nfcapd collecting what our exporter sends). The totals on both sides must be
equal: the peer's own report (pmacct's print plugin, `nfdump`) against ours. Each test skips
when its peer is not installed (`apt-get install pmacct nfdump`)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.integration.conftest import free_port
from tests.integration.test_ipfix_modules import (
    CAPTURE,
    flow_meter_records,
    read_batches,
    run,  # noqa: F401  (fixture)
    start_collector,
    stop,
    totals,
    wait_quiet,
)

IPV6_CAPTURE = "edge/ndpi__http_ipv6.pcap"


def need(binary: str) -> str:
    path = shutil.which(binary) or next(
        (str(p) for p in (Path("/usr/sbin") / binary, Path("/usr/bin") / binary) if p.exists()),
        None)
    if path is None:
        pytest.skip(f"{binary} not installed (Debian: apt-get install -y pmacct nfdump)")
    return path


def udp_port_bound(port: int) -> bool:
    """Is some socket bound to this UDP port (/proc/net/udp: local_address is ADDR:PORT hex)?"""
    for table in (Path("/proc/net/udp"), Path("/proc/net/udp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 1 and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def nfdump_sums(nfdump: str, source: list[str], flt: str = "any") -> dict:
    """Flows and (in, out) packets and bytes as nfdump reports them."""
    out = subprocess.run([nfdump, *source, "-q", "-N", "-o", "fmt:%ipkt %ibyt %opkt %obyt",
                          flt], capture_output=True, text=True, timeout=30, check=True).stdout
    rows = [[int(v) for v in line.split()] for line in out.splitlines() if line.strip()]
    return {"flows": len(rows), "packets": sum(r[0] for r in rows),
            "bytes": sum(r[1] for r in rows), "packets_rev": sum(r[2] for r in rows),
            "bytes_rev": sum(r[3] for r in rows)}


# --- pmacct -> ipfixcol ---------------------------------------------------------------------
@pytest.mark.parametrize(("version", "capture"), [(10, CAPTURE), (9, IPV6_CAPTURE)])
def test_pmacct_nfprobe_to_our_collector(run, shared_data, tmp_path, version,  # noqa: F811
                                         capture):
    pmacctd = need("pmacctd")
    port = free_port()
    out = tmp_path / "collected.trapcap"
    collector = start_collector(run, out, f"udp:127.0.0.1:{port}")
    printed = tmp_path / "print.csv"
    config = tmp_path / "pmacctd.conf"
    config.write_text(
        "daemonize: false\n"
        f"pcap_savefile: {shared_data / 'pcaps' / capture}\n"
        "pcap_savefile_delay: 1\n"
        "plugins: nfprobe[np], print[pr]\n"
        f"nfprobe_receiver[np]: 127.0.0.1:{port}\n"
        f"nfprobe_version[np]: {version}\n"
        "aggregate[pr]: proto\n"
        "print_output[pr]: csv\n"
        f"print_output_file[pr]: {printed}\n"
        "print_output_file_append[pr]: true\n"
        "print_refresh_time[pr]: 60\n")
    peer = run(pmacctd, "-f", str(config))
    assert peer.wait(30) == 0, peer.stderr         # exits at the end of the capture (flushes)
    stats = wait_quiet(collector)
    assert stop(collector) == 0
    with printed.open() as stream:
        rows = list(csv.DictReader(stream))
    expected = {"packets": sum(int(r["PACKETS"]) for r in rows),
                "bytes": sum(int(r["BYTES"]) for r in rows)}
    got = totals(read_batches(out))
    assert expected["packets"] > 0
    assert {k: got[k] for k in expected} == expected
    assert got["flows"] == stats["records"] > 0
    assert stats["malformed"] == 0 and stats["dropped_sets"] == 0
    assert stats["messages_ipfix" if version == 10 else "messages_v9"] > 0


# --- nfreplay -> ipfixcol -------------------------------------------------------------------
@pytest.mark.parametrize("version", [5, 9])
def test_nfreplay_to_our_collector(run, shared_data, tmp_path, version):  # noqa: F811
    nfpcapd, nfreplay, nfdump = need("nfpcapd"), need("nfreplay"), need("nfdump")
    flows_dir = tmp_path / "nfcapd"
    flows_dir.mkdir()
    subprocess.run([nfpcapd, "-r", str(shared_data / "pcaps" / CAPTURE), "-w", str(flows_dir)],
                   capture_output=True, timeout=30, check=True)
    merged = tmp_path / "merged.nfcapd"
    subprocess.run([nfdump, "-R", str(flows_dir), "-w", str(merged)], capture_output=True,
                   timeout=30, check=True)
    # NetFlow v5 carries IPv4 flows only
    expected = nfdump_sums(nfdump, ["-r", str(merged)], "inet" if version == 5 else "any")
    port = free_port()
    out = tmp_path / "collected.trapcap"
    collector = start_collector(run, out, f"udp:127.0.0.1:{port}")
    peer = run(nfreplay, "-r", str(merged), "-H", "127.0.0.1", "-p", str(port), "-v",
               str(version))
    assert peer.wait(30) == 0, peer.stderr
    stats = wait_quiet(collector, expected["flows"])
    assert stop(collector) == 0
    got = totals(read_batches(out))
    assert expected["flows"] > 0
    assert {k: got[k] for k in ("flows", "packets", "bytes")} == \
        {k: expected[k] for k in ("flows", "packets", "bytes")}
    assert stats["malformed"] == 0
    assert stats[f"messages_v{version}"] > 0


# --- ipfixexport -> nfcapd ------------------------------------------------------------------
def test_our_exporter_to_nfcapd(run, shared_data, tmp_path):  # noqa: F811
    nfcapd, nfdump = need("nfcapd"), need("nfdump")
    source = flow_meter_records(shared_data, tmp_path)
    sent = totals(read_batches(source))
    port = free_port()
    flows_dir = tmp_path / "nfcapd"
    flows_dir.mkdir()
    peer = run(nfcapd, "-b", "127.0.0.1", "-p", str(port), "-w", str(flows_dir))
    wait_until(lambda: udp_port_bound(port) or peer.popen.poll() is not None, 10)
    assert peer.popen.poll() is None, peer.stdout + peer.stderr
    exporter = run("export_module", "-i", f"f:{source}", "-x", f"127.0.0.1:{port}:udp")
    assert exporter.wait(30) == 0, exporter.stderr
    time.sleep(0.5)                                    # let nfcapd take the last datagrams
    assert stop(peer) == 0                             # SIGTERM: nfcapd writes its file
    assert any(flows_dir.iterdir()), peer.stdout
    got = nfdump_sums(nfdump, ["-R", str(flows_dir)])
    assert sent["flows"] > 0 and sent["packets_rev"] > 0
    assert got == sent
