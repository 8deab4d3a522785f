"""The record walker flow_meter starts before its own imports: taken over by the pcap reader
with the same chunks as a walk of its own, and never started where it has no business."""

from __future__ import annotations

import os
import threading

import pytest

from modules import nemea_cli
from modules.flow_meter import prestart
from modules.flow_meter.capture import read_packets
from modules.flow_meter.walker_process import WalkerProcess
from tests.conftest import child_processes

from .capfiles import write_pcap
from .packets import ethernet, ipv4, udp

T0 = 1_700_000_000 * 10**9


@pytest.mark.parametrize(("argv", "path"), [
    (["-r", "a.pcap", "-i", "b:"], "a.pcap"), (["-ra.pcap"], "a.pcap"),
    (["--read", "a.pcap", "-r", "b.pcap"], "a.pcap"), (["-i", "b:", "--read=a.pcap"], "a.pcap"),
    (["-i", "b:"], None), (["-r"], None), (["--", "-r", "a.pcap"], None)])
def test_the_first_read_option_names_the_file(argv, path):
    assert prestart.first_read_path(argv) == path


def capture(tmp_path, count: int = 40):
    packets = [ethernet(ipv4(udp(sport=1000 + i % 7))) for i in range(count)]
    return write_pcap(tmp_path / "c.pcap", [(T0 + i * 10**6, p) for i, p in enumerate(packets)])


def test_a_prestarted_walker_is_taken_over_and_gives_the_same_chunks(tmp_path, monkeypatch):
    path = capture(tmp_path)
    own_walk = [chunk.packets[:] for chunk in read_packets(path, chunk=7)]
    monkeypatch.setattr(prestart, "FIRST_CHUNK_BYTES", 64)     # any file is large enough
    monkeypatch.setattr(prestart, "CHUNK", 7)
    prestart.prestart_walker(["-i", "b:", "-r", str(path)])
    assert [started.path for started in prestart._prestarted] == [str(path)]
    assert [chunk.packets[:] for chunk in read_packets(path, chunk=7)] == own_walk
    assert prestart._prestarted == []
    assert not [p for p in child_processes() if "pcap_walk" in p.command and p.state != "Z"]


def test_a_walker_for_other_chunks_is_not_taken(tmp_path, monkeypatch):
    path = capture(tmp_path)
    monkeypatch.setattr(prestart, "FIRST_CHUNK_BYTES", 64)
    prestart.prestart_walker(["-r", str(path)])
    try:
        assert len(list(read_packets(path, chunk=5))) == 8     # walked here, not taken
        assert prestart.take(str(path), 5) is None
    finally:
        started = prestart.take(str(path), prestart.CHUNK)
        WalkerProcess(str(path), started.process).close()
        os.close(started.fd)


def test_nothing_is_started_for_a_fifo_a_small_file_a_pcapng_or_a_missing_file(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    small = capture(tmp_path)
    pcapng = tmp_path / "x.pcapng"
    pcapng.write_bytes(b"\x0a\x0d\x0d\x0a" + bytes(2 << 20))
    for path in (fifo, small, pcapng, tmp_path / "missing.pcap", tmp_path):
        call = threading.Thread(target=prestart.prestart_walker, args=(["-r", str(path)],),
                                daemon=True)
        call.start()
        call.join(5)                      # opening the FIFO would block: it must not happen
        assert not call.is_alive(), path
    assert prestart._prestarted == []


EARLY_CALLS: list[list[str]] = []


def record_early_call(argv: list[str]) -> None:
    EARLY_CALLS.append(argv)


def test_the_nemea_command_runs_the_early_hook_before_loading_the_module(monkeypatch):
    monkeypatch.setattr(nemea_cli, "EARLY", {"flow_meter": f"{__name__}:record_early_call"})
    with pytest.raises(SystemExit):
        nemea_cli.main(["flow_meter", "-r", "x.pcap", "--help"])
    assert EARLY_CALLS == [["-r", "x.pcap", "--help"]]
