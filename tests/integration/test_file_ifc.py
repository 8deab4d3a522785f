"""f: interfaces on real files: NEMEA naming and rotation (controlled clock), globs and lists,
NEMEA's own binary files, and truncated files."""

from __future__ import annotations

import calendar
import os
import shutil
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from libtrap_py.errors import FormatMismatch, NegotiationFailed, TrapError, TrapIOError
from libtrap_py.file_blocks import BLOCK_HEAD, MAGIC
from libtrap_py.file_input import FileInput
from libtrap_py.file_output import MIB, FileOutput
from libtrap_py.formats import ANY_UNIREC, DataFormat
from libtrap_py.ifc_spec import parse_ifc_specs
from unirec import RecordBatch

TEMPLATE = "uint64 PAD,uint64 SEQ"
OTHER = "uint32 SEQ"
CAPTURES = {"test_data.trapcap": "test_data.csv", "types.trapcap": "types.logger.csv",
            "synscan_flows.trapcap": "synscan_flows.logger.csv",
            "dns_flows.trapcap": "dns_flows.logger.csv"}


class Clock:
    def __init__(self, text: str):
        self.now = float(calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M")))

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


@pytest.fixture
def utc():
    """Local time = UTC for the time suffixes (as the reference runs its tests)."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if previous is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = previous
    time.tzset()


def output(text: str, clock=time.time) -> FileOutput:
    return FileOutput(parse_ifc_specs(text, 0, 1)[1][0], clock=clock)


def file_input(text: str, required: str = "") -> FileInput:
    fmt = DataFormat.unirec(required) if required else ANY_UNIREC
    return FileInput(parse_ifc_specs(text, 1, 0)[0][0], fmt)


def records(start: int, count: int, template: str = TEMPLATE) -> RecordBatch:
    seq = np.arange(start, start + count, dtype=np.uint64)
    return RecordBatch.from_columns(template, count, {"SEQ": seq})


def write_file(text: str, batches: list[tuple[int, int]], template: str = TEMPLATE) -> None:
    out = output(text)
    out.set_format(DataFormat.unirec(template))
    for start, count in batches:
        out.send_batch(records(start, count, template))
        out.flush(autoflush=False)
    out.close()


def read_all(text: str, required: str = "") -> list[tuple[bool, str, list[int]]]:
    """(format changed, template, SEQ values) per received batch, up to end-of-stream."""
    ifc, got = file_input(text, required), []
    for _ in range(100_000):
        message = ifc.receive(0)
        if message.is_eof:
            return got
        seq = [int(v) for v in message.batch().column("SEQ")]
        got.append((message.format_changed, message.format.spec, seq))
    raise AssertionError("no end-of-stream")


def seqs(got) -> list[int]:
    return [value for _, _, values in got for value in values]


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def block_offsets(path: Path) -> list[int]:
    """Offsets of the blocks of one of our files (the first is the format block)."""
    data, offsets, position = path.read_bytes(), [], len(MAGIC)
    while position < len(data):
        offsets.append(position)
        _, length = BLOCK_HEAD.unpack_from(data, position)
        position += BLOCK_HEAD.size + length
    return offsets


# --- naming and rotation ----------------------------------------------------------------------
def test_size_rotation_names_and_limits(tmp_path):
    out = output(f"f:{tmp_path}/out.trapcap:size=1")
    out.set_format(DataFormat.unirec(TEMPLATE))
    for start in range(0, 250_000, 5000):     # 5000 x 24 B > buffer_size: one batch each
        out.send_batch(records(start, 5000))
    out.close()
    files = names(tmp_path)
    assert files == [f"out.trapcap.{i:05d}" for i in range(len(files))]
    assert len(files) >= 3
    largest_block = max(b - a for path in tmp_path.iterdir()
                        for a, b in zip(block_offsets(path), block_offsets(path)[1:],
                                        strict=False))
    for name in files[:-1]:
        size = (tmp_path / name).stat().st_size
        assert MIB <= size < MIB + largest_block + BLOCK_HEAD.size + 100_000
    for name in files:                        # every file starts with its own header
        assert (tmp_path / name).read_bytes().startswith(MAGIC)
        assert read_all(f"f:{tmp_path}/{name}")
    assert seqs(read_all(f"f:{tmp_path}/out.trapcap.*")) == list(range(250_000))


def test_time_rotation_follows_the_clock(tmp_path, utc):
    clock = Clock("2024-03-01 10:05")
    out = output(f"f:{tmp_path}/out.trapcap:time=30", clock)
    out.set_format(DataFormat.unirec(TEMPLATE))
    for start, minutes in ((0, 0), (100, 10), (200, 16), (300, 0), (400, 30)):
        clock.advance(minutes)               # writes at 10:05, 10:15, 10:31, 10:31, 11:01
        out.send_batch(records(start, 100))
        out.flush(autoflush=False)
    out.close()
    assert names(tmp_path) == ["out.trapcap.202403011000", "out.trapcap.202403011030",
                               "out.trapcap.202403011100"]
    assert seqs(read_all(f"f:{tmp_path}/out.trapcap.202403011000")) == list(range(200))
    assert seqs(read_all(f"f:{tmp_path}/out.trapcap.202403011030")) == list(range(200, 400))
    assert seqs(read_all(f"f:{tmp_path}/out.trapcap.2024*")) == list(range(500))


def test_time_and_size_rotation_together(tmp_path, utc):
    clock = Clock("2024-03-01 10:29")
    out = output(f"f:{tmp_path}/out:time=30:size=1", clock)
    out.set_format(DataFormat.unirec(TEMPLATE))
    for start in range(0, 150_000, 5000):
        out.send_batch(records(start, 5000))
    clock.advance(2)
    out.send_batch(records(150_000, 5000))
    out.close()
    files = names(tmp_path)
    assert files[0] == "out.202403011000.00000" and files[1] == "out.202403011000.00001"
    assert files[-1] == "out.202403011030.00000"
    assert seqs(read_all(f"f:{tmp_path}/out.2024*")) == list(range(155_000))


def test_append_mode_adds_a_suffix_and_never_overwrites(tmp_path):
    for run in range(3):
        write_file(f"f:{tmp_path}/out.trapcap:a", [(run * 10, 10)])
    assert names(tmp_path) == ["out.trapcap.00000", "out.trapcap.00001", "out.trapcap.00002"]
    assert seqs(read_all(f"f:{tmp_path}/out.trapcap.00001")) == list(range(10, 20))


def test_write_mode_truncates(tmp_path):
    write_file(f"f:{tmp_path}/out.trapcap", [(0, 10)])
    write_file(f"f:{tmp_path}/out.trapcap:w", [(50, 5)])
    assert names(tmp_path) == ["out.trapcap"]
    assert seqs(read_all(f"f:{tmp_path}/out.trapcap")) == list(range(50, 55))


def test_format_change_continues_in_the_next_name(tmp_path):
    out = output(f"f:{tmp_path}/out.trapcap")
    for start, template in ((0, TEMPLATE), (10, OTHER), (20, TEMPLATE)):
        out.set_format(DataFormat.unirec(template))
        out.send_batch(records(start, 10, template))
        out.flush(autoflush=False)
    out.close()
    assert names(tmp_path) == ["out.trapcap", "out.trapcap.00000", "out.trapcap.00001"]
    d = tmp_path
    got = read_all(f"f:{d}/out.trapcap {d}/out.trapcap.00000 {d}/out.trapcap.00001")
    assert [(changed, spec) for changed, spec, _ in got] == [       # any template accepted:
        (True, TEMPLATE), (True, OTHER), (True, TEMPLATE)]           # every file announces
    assert seqs(got) == list(range(30))


# --- input: globs, lists, end ------------------------------------------------------------------
def test_input_globs_lists_and_end_of_stream(tmp_path):
    wider = "uint64 PAD,uint64 SEQ,uint8 FLAG"
    write_file(f"f:{tmp_path}/part-b.trapcap", [(100, 5)])
    write_file(f"f:{tmp_path}/part-a.trapcap", [(0, 5), (5, 5)])
    write_file(f"f:{tmp_path}/part-c.trapcap", [(200, 3)], template=wider)
    got = read_all(f"f:{tmp_path}/part-*.trapcap", required=TEMPLATE)   # sorted matches
    assert seqs(got) == [*range(10), *range(100, 105), *range(200, 203)]
    assert [(changed, spec) for changed, spec, _ in got] == [
        (False, TEMPLATE), (False, TEMPLATE), (False, TEMPLATE), (True, wider)]
    d = tmp_path
    listed = read_all(f"f:{d}/part-c.trapcap {d}/part-a.trapcap")      # order as given
    assert seqs(listed) == [200, 201, 202, *range(10)]
    assert [changed for changed, _, _ in listed] == [True, True, False]  # any template: per file
    ifc = file_input(f"f:{d}/part-c.trapcap {d}/part-a.trapcap", "uint8 FLAG,uint64 SEQ")
    assert ifc.receive(0).count == 3
    with pytest.raises(FormatMismatch) as error:
        ifc.receive(0)
    assert f"file {d}/part-a.trapcap:" in str(error.value)
    assert "missing uint8 FLAG" in str(error.value)
    ifc = file_input(f"f:{d}/part-a.trapcap")
    while not ifc.receive(-1).is_eof:
        pass
    started = time.monotonic()
    assert all(ifc.receive(-1).is_eof for _ in range(5))               # forever, never blocks
    assert time.monotonic() - started < 1


def test_input_missing_files_fail_at_init(tmp_path):
    write_file(f"f:{tmp_path}/a.trapcap", [(0, 1)])
    with pytest.raises(TrapError, match=r"nope\.trapcap"):
        file_input(f"f:{tmp_path}/a.trapcap {tmp_path}/nope.trapcap")
    with pytest.raises(TrapError, match=r"no file matches .*zzz\*"):
        file_input(f"f:{tmp_path}/zzz*")


def test_empty_file_fails_negotiation(tmp_path):
    (tmp_path / "empty.trapcap").write_bytes(b"")
    with pytest.raises(NegotiationFailed, match=r"empty\.trapcap"):
        file_input(f"f:{tmp_path}/empty.trapcap").receive(0)


# --- truncated files ---------------------------------------------------------------------------
@pytest.mark.parametrize("cut", ["in_header", "in_body"])
def test_truncated_file_delivers_complete_batches_then_names_file_and_offset(tmp_path, cut):
    path = tmp_path / "cut.trapcap"
    write_file(f"f:{path}", [(i * 100, 100) for i in range(5)])
    last = block_offsets(path)[-1]
    data = path.read_bytes()
    path.write_bytes(data[:last + (2 if cut == "in_header" else BLOCK_HEAD.size + 10)])
    ifc, delivered = file_input(f"f:{path}"), []
    with pytest.raises(TrapIOError) as error:
        for _ in range(10):
            delivered.extend(int(v) for v in ifc.receive(0).batch().column("SEQ"))
    assert delivered == list(range(400))
    assert str(path) in str(error.value) and f"offset {last}" in str(error.value)


def nemea_batches(data: bytes) -> list[tuple[int, int]]:
    """(offset, number of records) of each batch of a NEMEA trapcap file."""
    (spec_length,) = struct.unpack_from(">I", data, 4)
    position, batches = 8 + spec_length, []
    while position < len(data):
        (length,) = struct.unpack_from(">I", data, position)
        body, inner, count = data[position + 4:position + 4 + length], 0, 0
        while inner < len(body):
            (size,) = struct.unpack_from(">H", body, inner)
            count += size > 1
            inner += 2 + size
        batches.append((position, count))
        position += 4 + length
    return batches


def test_truncated_nemea_file_delivers_complete_batches(tmp_path, shared_data):
    data = (shared_data / "nemea" / "synscan_flows.trapcap").read_bytes()
    batches = nemea_batches(data)
    cut_batch = len(batches) // 2 + 7
    offset = batches[cut_batch][0]
    path = tmp_path / "synscan_cut.trapcap"
    path.write_bytes(data[:offset + 9])
    ifc, delivered = file_input(f"f:{path}"), 0
    with pytest.raises(TrapIOError) as error:
        for _ in range(len(batches) + 1):
            delivered += ifc.receive(0).count
    assert delivered == sum(count for _, count in batches[:cut_batch])
    assert str(path) in str(error.value) and f"offset {offset}" in str(error.value)


# --- NEMEA's own files through the logger module -----------------------------------------------
def test_nemea_files_print_as_nemea_logger(spawn, shared_data, tmp_path):
    loggers = {name: spawn("nemea", "logger", "-t", "-i", f"f:{shared_data / 'nemea' / name}")
               for name in CAPTURES}
    for name, proc in loggers.items():
        assert proc.wait(20) == 0, proc.stderr
        assert proc.stdout == (shared_data / "nemea" / CAPTURES[name]).read_text(), name


def test_logger_on_truncated_nemea_file(spawn, shared_data, tmp_path):
    source = shared_data / "nemea" / "synscan_flows.trapcap"
    data = source.read_bytes()
    batches = nemea_batches(data)
    offset = batches[600][0]
    path = tmp_path / "cut.trapcap"
    shutil.copyfile(source, path)
    os.truncate(path, offset + 3)
    proc = spawn("nemea", "logger", "-i", f"f:{path}")
    assert proc.wait(20) == 1
    expected = (shared_data / "nemea" / "synscan_flows.logger.csv").read_text().splitlines()
    assert proc.lines == expected[1:601]
    assert f"{path}: truncated batch header at offset {offset}" in proc.stderr
