"""read_packets / live_packets: pcap and pcapng variants, chunking, errors, BPF, live capture."""

from __future__ import annotations

import dataclasses
import gzip
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from modules.flow_meter import pcap_file, pcapng_file, walker_spawn
from modules.flow_meter.capture import CaptureError, PacketChunk, live_packets, read_packets
from modules.flow_meter.packet_parser import PacketParser
from modules.flow_meter.walker_process import WalkerProcess
from tests.conftest import child_processes, wait_until

from .capfiles import epb, idb, opb, other_block, shb, spb, write_pcap
from .packets import ethernet, ipv4, ipv6, tcp, udp

T0 = 1_700_000_000_123_456_789  # ns


def frames(count: int, start=0) -> list[bytes]:
    out = []
    for i in range(start, start + count):
        l4 = udp(1000 + i, 53) if i % 2 else tcp(2000 + i, 80)
        out.append(ethernet(ipv4(l4, src=f"10.0.0.{i % 250 + 1}")))
    return out


def collect(chunks) -> tuple[list, list, list, list]:
    linktypes, times, packets, wires = [], [], [], []
    for chunk in chunks:
        assert isinstance(chunk, PacketChunk)
        assert len(chunk.times_ns) == len(chunk.packets) == len(chunk.wire_lengths) > 0
        linktypes.append(chunk.linktype)
        times += list(chunk.times_ns)
        packets += chunk.packets
        wires += list(chunk.wire_lengths)
    return linktypes, times, packets, wires


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path, order, nano):
    data = frames(5)
    times = [T0 + i * 1_000_001 for i in range(5)]
    path = write_pcap(tmp_path / "x.pcap", list(zip(times, data, strict=True)), order=order,
                      nano=nano)
    linktypes, got_times, packets, wires = collect(read_packets(path))
    assert linktypes == [1] and packets == data
    assert got_times == (times if nano else [t // 1000 * 1000 for t in times])
    assert wires == [len(d) for d in data]


def test_modified_pcap_and_wire_lengths(tmp_path):
    data = frames(3)
    path = write_pcap(tmp_path / "m.pcap", [(T0, data[0], 1500), (T0 + 1, data[1]),
                                            (T0 + 2, data[2], 9000)], modified=True)
    _, _, packets, wires = collect(read_packets(path))
    assert packets == data and wires == [1500, len(data[1]), 9000]


def test_records_longer_than_the_snaplen_are_cut_by_libpcap(tmp_path):
    data = frames(4)
    path = write_pcap(tmp_path / "s.pcap", [(T0 + i, d) for i, d in enumerate(data)],
                      snaplen=50)
    _, times, packets, wires = collect(read_packets(path))
    assert packets == [d[:50] for d in data]
    assert wires == [len(d) for d in data]
    assert times == [(T0 + i) // 1000 * 1000 for i in range(4)]
    chunk = next(iter(read_packets(path)))
    raw = chunk.buffer
    for i, packet in enumerate(chunk.packets):
        start = int(raw.starts[i])
        assert raw.buffer[start:start + int(raw.lengths[i])].tobytes() == packet


def test_chunks_and_several_files_in_order(tmp_path):
    first = write_pcap(tmp_path / "a.pcap", [(T0 + i * 1000, d) for i, d in
                                             enumerate(frames(10))])
    raw = [ipv6(udp(7, 9)) for _ in range(4)]
    second = write_pcap(tmp_path / "b.pcap", [(T0 + 10**9 + i * 1000, d) for i, d in
                                              enumerate(raw)], linktype=101)
    chunks = list(read_packets([first, str(second)], chunk=3))
    assert [len(c) for c in chunks] == [3, 3, 3, 1, 3, 1]
    assert [c.linktype for c in chunks] == [1, 1, 1, 1, 101, 101]
    _, times, packets, _ = collect(chunks)
    assert packets == frames(10) + raw
    assert times == sorted(times)


def test_buffer_matches_packets_and_parse_is_the_same_without_it(tmp_path):
    path = write_pcap(tmp_path / "a.pcap", [(T0 + i, d) for i, d in enumerate(frames(50))])
    for chunk in read_packets(path, chunk=17):
        raw = chunk.buffer
        assert raw is not None and raw.packets is chunk.packets
        for i, packet in enumerate(chunk.packets):
            start = int(raw.starts[i])
            assert raw.buffer[start:start + len(packet)].tobytes() == packet
        with_buffer = PacketParser().parse(chunk)
        without = PacketParser().parse(dataclasses.replace(chunk, packets=list(chunk.packets)))
        for field in dataclasses.fields(with_buffer):
            a, b = getattr(with_buffer, field.name), getattr(without, field.name)
            assert np.array_equal(a, b), field.name


def test_tiny_timestamps_keep_capture_order(tmp_path):
    # pypcap hands packets to list.insert(ts, packet); timestamps below the chunk length
    # (the first ns of 1970) must not reorder them
    data = frames(20)
    times = [5, 0, 3, 3, 1, *range(100, 115)]
    path = write_pcap(tmp_path / "z.pcap", list(zip(times, data, strict=True)), nano=True)
    _, got_times, packets, _ = collect(read_packets(path))
    assert packets == data and got_times == times


def test_truncated_last_record_keeps_the_packets_before_it(tmp_path, caplog):
    data = frames(3)
    path = write_pcap(tmp_path / "t.pcap", [(T0 + i, d) for i, d in enumerate(data)])
    blob = path.read_bytes()
    path.write_bytes(blob[:-10])
    with caplog.at_level(logging.WARNING):
        _, _, packets, _ = collect(read_packets(path))
    assert packets == data[:2]
    assert "t.pcap" in caplog.text and "truncated" in caplog.text
    path.write_bytes(blob[:-len(data[2]) - 9])  # cut inside the record header
    _, _, packets, _ = collect(read_packets(path))
    assert packets == data[:2]


def test_bad_files_raise_capture_error_naming_the_file(tmp_path):
    good = write_pcap(tmp_path / "good.pcap", [(T0, frames(1)[0])])
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a capture\n")
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    packed = tmp_path / "x.pcap.gz"
    packed.write_bytes(gzip.compress(good.read_bytes()))
    header_only = tmp_path / "header.pcap"
    header_only.write_bytes(good.read_bytes()[:10])
    for bad, words in [(tmp_path / "missing.pcap", "does not exist"), (tmp_path, "directory"),
                       (text, "not a pcap"), (empty, "empty"), (packed, "gzip")]:
        with pytest.raises(CaptureError, match=words) as info:
            read_packets([good, bad])  # checked before any packet is produced
        assert str(bad) in str(info.value)
    with pytest.raises(CaptureError, match=r"header\.pcap"):
        list(read_packets(header_only))
    with pytest.raises(ValueError):
        read_packets(good, chunk=0)


def test_header_only_pcap_has_no_packets(tmp_path):
    path = write_pcap(tmp_path / "h.pcap", [])
    assert list(read_packets(path)) == []


def test_bpf_filter_on_files(tmp_path):
    data = frames(10)  # odd: UDP, even: TCP
    path = write_pcap(tmp_path / "f.pcap", [(T0 + i, d) for i, d in enumerate(data)])
    _, _, packets, _ = collect(read_packets(path, bpf="udp"))
    assert packets == data[1::2]
    chunk = next(iter(read_packets(path, bpf="tcp")))
    assert chunk.buffer.packets is chunk.packets
    columns = PacketParser().parse(chunk)
    assert columns.protocol.tolist() == [6] * 5
    assert columns.src_port.tolist() == [2000 + i for i in range(0, 10, 2)]
    ng = tmp_path / "f.pcapng"
    ng.write_bytes(shb() + idb(1) + b"".join(epb(0, i, d) for i, d in enumerate(data)))
    _, _, packets, _ = collect(read_packets(ng, bpf="udp"))
    assert packets == data[1::2]
    with pytest.raises(CaptureError, match="BPF"):
        list(read_packets(path, bpf="not a ( filter"))


# --- pcapng ----------------------------------------------------------------------------------

@pytest.fixture(params=["in-process", "walker-process"])
def pcapng_walker(request, monkeypatch):
    """Each pcapng test twice: walked in this process (small files) and by a walker process
    (large files)."""
    if request.param == "walker-process":
        monkeypatch.setattr(pcapng_file, "_IN_PROCESS", 0)


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_interfaces_link_types_and_resolutions(tmp_path, order, pcapng_walker):
    eth = frames(3)
    raw = [ipv4(udp(5, 6)), ipv6(tcp(7, 8))]
    blob = (shb(order) + idb(1, order) + idb(101, order, tsresol=9)
            + idb(1, order, tsresol=0x80 | 10, tsoffset=100)
            + epb(0, 1_700_000_000_000_001, eth[0], order, wire=1514, comment=b"first")
            + other_block(0x00000004, order)  # name resolution block: skipped
            + epb(1, 1_700_000_000_000_000_002, raw[0], order)
            + other_block(0x00000BAD, order)  # custom block: skipped
            + epb(1, 1_700_000_000_000_000_003, raw[1], order)
            + epb(2, 3 * 1024, eth[1], order)
            + opb(0, 1_700_000_000_000_004, eth[2], order)
            + other_block(0x00000005, order))  # interface statistics: skipped
    path = tmp_path / "x.pcapng"
    path.write_bytes(blob)
    chunks = list(read_packets(path))
    assert [c.linktype for c in chunks] == [1, 101, 1]
    _, times, packets, wires = collect(chunks)
    assert packets == [eth[0], raw[0], raw[1], eth[1], eth[2]]
    assert times == [1_700_000_000_000_001_000, 1_700_000_000_000_000_002,
                     1_700_000_000_000_000_003, 103 * 10**9,  # 3*1024 ticks of 2^-10 s + 100 s
                     1_700_000_000_000_004_000]
    assert wires[0] == 1514
    columns = [PacketParser().parse(c) for c in chunks]
    assert [c.count for c in columns] == [1, 2, 2]


def test_pcapng_sections_simple_packets_and_corrupt_tail(tmp_path, caplog, pcapng_walker):
    data = frames(4)
    blob = (shb("<") + idb(1, "<", snaplen=40) + spb(data[0], "<")
            + shb(">") + idb(1, ">") + epb(0, 5, data[1], ">") + spb(data[2], ">")
            + epb(3, 6, data[3], ">"))  # undeclared interface: skipped
    path = tmp_path / "s.pcapng"
    path.write_bytes(blob + b"\x06\x00\x00\x00\xff\x00")  # cut block at the end
    with caplog.at_level(logging.WARNING):
        _, times, packets, wires = collect(read_packets(path))
    assert packets == [data[0][:40], data[1], data[2]]
    assert wires == [len(data[0]), len(data[1]), len(data[2])]
    assert times[1] == 5000
    assert "s.pcapng" in caplog.text and "undeclared" in caplog.text


def test_pcapng_unsupported_version_stops_reading(tmp_path, caplog, pcapng_walker):
    data = frames(2)
    path = tmp_path / "v.pcapng"
    path.write_bytes(shb() + idb(1) + epb(0, 1, data[0]) + shb(major=2) + idb(1)
                     + epb(0, 2, data[1]))
    with caplog.at_level(logging.WARNING):
        _, _, packets, _ = collect(read_packets(path))
    assert packets == data[:1] and "version 2" in caplog.text


def test_pcapng_reference_counts(shared_data, pcapng_walker):
    """gopacket's pcapng conformance files: packet counts as capinfos gives them."""
    expected = {}
    for line in (shared_data / "pcaps/expected/reference_flow_counts.tsv").read_text() \
            .splitlines()[1:]:
        name, packets = line.split("\t")[:2]
        if name.endswith(".pcapng") and packets:
            expected[name] = int(packets)
    assert len(expected) > 40
    for name, count in expected.items():
        got = sum(len(c) for c in read_packets(shared_data / "pcaps" / name))
        assert got == count, name


# --- live ------------------------------------------------------------------------------------

def test_live_capture_on_loopback_gives_idle_chunks_and_stops():
    stop = threading.Event()
    try:
        chunks = live_packets("lo", 65535, False, "udp port 45679", chunk=100, timeout_ms=50,
                              stop=stop)
        started = time.monotonic()
        first = next(chunks)
    except CaptureError as e:
        pytest.skip(f"no live capture here: {e}")
    assert len(first) == 0 and first.linktype == 1  # idle: an empty chunk after ~50 ms
    assert time.monotonic() - started < 2
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for size in range(5):
            sender.sendto(b"x" * size, ("127.0.0.1", 45679))
    finally:
        sender.close()
    got = []
    deadline = time.monotonic() + 5
    while len(got) < 5 and time.monotonic() < deadline:
        got += next(chunks).packets
    assert len(got) == 5
    columns = PacketParser().parse(PacketChunk(1, list(range(5)), got, [len(p) for p in got]))
    assert columns.dst_port.tolist() == [45679] * 5
    stop.set()
    assert next(chunks, None) is None


def test_live_capture_errors():
    with pytest.raises(CaptureError, match="nonexistent0"):
        next(live_packets("nonexistent0"))
    with pytest.raises(CaptureError):
        live_packets("")


def test_corrupt_record_length_keeps_the_packets_before_it(tmp_path, caplog):
    data = frames(5)
    path = write_pcap(tmp_path / "c.pcap", [(T0 + i, d) for i, d in enumerate(data)])
    blob = bytearray(path.read_bytes())
    third = 24 + sum(16 + len(d) for d in data[:2])
    blob[third + 8:third + 12] = (10 ** 6).to_bytes(4, "little")  # caplen beyond libpcap's
    path.write_bytes(bytes(blob))
    with caplog.at_level(logging.WARNING):
        _, _, packets, _ = collect(read_packets(path))
    assert packets == data[:2]
    assert "c.pcap" in caplog.text and f"corrupt record length 1000000 at offset {third}" \
        in caplog.text


def test_stopping_early_ends_the_walker_process(tmp_path):
    data = frames(50)
    path = write_pcap(tmp_path / "w.pcap", [(T0 + i, d) for i, d in enumerate(data)])
    before = child_processes()
    chunks = read_packets(path, chunk=5)
    assert next(chunks).packets[:] == data[:5]
    assert len(child_processes()) == len(before) + 1
    chunks.close()
    assert [child.pid for child in child_processes()] == [child.pid for child in before]


def test_a_walker_that_dies_is_an_error_naming_the_file(tmp_path):
    script = "import sys; sys.stdout.buffer.write(bytes(3)); sys.exit('walker: out of memory')"
    walker = WalkerProcess(str(tmp_path / "x.pcap"),
                           subprocess.Popen([sys.executable, "-c", script],
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    with pytest.raises(CaptureError, match=r"x\.pcap: the record walker stopped: "
                                           r"walker: out of memory"):
        walker.ints(1)
    walker.close()


def test_a_file_that_shrinks_while_read_ends_with_a_warning(tmp_path, caplog):
    data = frames(20)
    path = write_pcap(tmp_path / "s.pcap", [(T0 + i, d) for i, d in enumerate(data)])
    before = child_processes()
    chunks = read_packets(path, chunk=5)
    assert next(chunks).packets[:] == data[:5]
    waiting = {child.pid for child in before}
    wait_until(lambda: any(child.state == "Z" and child.pid not in waiting
                           for child in child_processes()))          # the walker has finished
    with open(path, "r+b") as f:
        f.truncate(300)
    with caplog.at_level(logging.WARNING):
        assert list(chunks) == []
    assert "s.pcap" in caplog.text and "shrank" in caplog.text


@pytest.mark.parametrize("prefix", [24, 100, 133, 2000])
def test_the_walker_takes_over_where_the_first_walk_stops(tmp_path, monkeypatch, prefix):
    data = frames(30)
    path = write_pcap(tmp_path / "p.pcap", [(T0 + i, d) for i, d in enumerate(data)])
    whole = collect(read_packets(path, chunk=7))[1:]           # times, packets, wire lengths
    assert whole[1] == data
    monkeypatch.setattr(pcap_file, "FIRST_CHUNK_BYTES", prefix)   # a record across the prefix's end
    assert collect(read_packets(path, chunk=7))[1:] == whole
    blob = bytearray(path.read_bytes())
    fifth = 24 + sum(16 + len(d) for d in data[:4])
    blob[fifth + 8:fifth + 12] = (10 ** 6).to_bytes(4, "little")
    path.write_bytes(bytes(blob))
    assert collect(read_packets(path, chunk=7))[2] == data[:4]


def walked_file(tmp_path, kind: str, count: int):
    data = frames(count)
    if kind == "pcap":
        return data, write_pcap(tmp_path / "w.pcap", [(T0 + i, d) for i, d in enumerate(data)])
    path = tmp_path / "w.pcapng"
    path.write_bytes(shb() + idb(1) + b"".join(epb(0, i, d) for i, d in enumerate(data)))
    return data, path


def page_aligned_file(tmp_path, kind: str, count: int) -> tuple[list[bytes], Path]:
    """`count` packets whose records end on 4 KiB page borders every 4 packets (the first
    record fills the first page, the others take 1 KiB each)."""
    if kind == "pcap":
        head, overhead = 24, 16
    else:
        head, overhead = len(shb() + idb(1)), 32
    sizes = [4096 - head - overhead] + [1024 - overhead] * (count - 1)
    data = [bytes([i % 251]) * size for i, size in enumerate(sizes)]
    if kind == "pcap":
        return data, write_pcap(tmp_path / "a.pcap", [(T0 + i, d) for i, d in enumerate(data)])
    path = tmp_path / "a.pcapng"
    path.write_bytes(shb() + idb(1) + b"".join(epb(0, i, d) for i, d in enumerate(data)))
    return data, path


@pytest.fixture
def walker_process_only(monkeypatch):
    """Both formats through the walker process, which runs at most a page ahead."""
    monkeypatch.setattr(pcap_file, "FIRST_CHUNK_BYTES", 64)
    monkeypatch.setattr(pcapng_file, "_IN_PROCESS", 0)
    monkeypatch.setattr(walker_spawn, "_PIPE_SIZE", 4096)


@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_a_file_cut_under_the_walker_process_ends_with_a_warning(tmp_path, caplog, kind,
                                                                  walker_process_only):
    """The walker dies of SIGBUS on the first page past the new end; what it found before is
    read and the file ends with a warning (the next -r file would follow)."""
    data, path = page_aligned_file(tmp_path, kind, 3001)
    chunks = read_packets(path, chunk=1)
    got = list(next(chunks).packets)
    wait_until(lambda: any(child.state == "S" for child in child_processes()))
    with open(path, "r+b") as f:                  # far past where the blocked walker is
        f.truncate(4096 + 2000 * 1024)
    with caplog.at_level(logging.WARNING):
        for chunk in chunks:
            got += list(chunk.packets)
    assert got == data[:2001]
    assert path.name in caplog.text and "the file shrank while it was read" in caplog.text


@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_a_file_replaced_while_read_is_read_to_its_end(tmp_path, kind, walker_process_only):
    data, path = walked_file(tmp_path, kind, 300)
    chunks = read_packets(path, chunk=4)
    got = list(next(chunks).packets)
    other = tmp_path / "other"
    other.write_bytes(b"\0" * 64)
    os.replace(other, path)                       # the open file is still the one read
    for chunk in chunks:
        got += list(chunk.packets)
    assert got == data


def test_a_pipe_is_refused_with_a_clear_error(tmp_path):
    fifo = tmp_path / "capture.pcap"
    os.mkfifo(fifo)
    with pytest.raises(CaptureError, match="not a regular file"):
        read_packets(fifo)
