"""Outputs in-process: batching, buffer=off, autoflush, counters, and what the send timeouts do
when no reader is connected (drop and count, never block past the timeout)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from libtrap_py.blackhole import BlackholeOutput
from libtrap_py.errors import TrapError, TrapTimeout
from libtrap_py.formats import DataFormat, FormatType
from libtrap_py.ifc_spec import parse_ifc_specs
from libtrap_py.interfaces import open_output
from unirec import RecordBatch

TEMPLATE = "uint32 SEQ"


def spec(text: str):
    return parse_ifc_specs(text, 0, 1)[1][0]


def records(count: int, template: str = TEMPLATE) -> RecordBatch:
    return RecordBatch.from_columns(template, count, {"SEQ": np.arange(count, dtype=np.uint32)})


class Recording(BlackholeOutput):
    """A blackhole that remembers each wire batch's record count."""

    def __init__(self, text: str):
        super().__init__(spec(text))
        self.batches: list[int] = []

    def _deliver(self, payload: bytes, count: int) -> int:
        self.batches.append(count)
        return count


def test_records_are_batched_by_buffer_size():
    out = Recording("u:x:buffer_size=1200")     # (no socket) 12 estimated bytes per record
    out.set_format(DataFormat.unirec(TEMPLATE))
    for _ in range(25):
        out.send_batch(records(10))
    assert out.batches == [100, 100]            # the rest waits for a flush
    out.flush(autoflush=False)
    assert out.batches == [100, 100, 50]
    c = out.counters
    assert (c.sent_messages, c.buffers, c.dropped_messages, c.autoflushes) == (250, 3, 0, 0)


def test_buffer_off_sends_every_record_alone():
    out = Recording("b:buffer=off")
    out.set_format(DataFormat.unirec(TEMPLATE))
    out.send_batch(records(3))
    assert out.batches == [1, 1, 1]
    out.set_format(DataFormat.json("IDEA"))
    out.send_messages(['{"a": 1}', '{"b": 2}'])
    assert out.batches == [1, 1, 1, 1, 1]


def test_autoflush_after_the_interval_and_counted():
    out = Recording("b:autoflush=500000")
    out.set_format(DataFormat.unirec(TEMPLATE))
    out.send_batch(records(5))
    now = time.monotonic()
    out.tick(now + 0.1)
    assert out.batches == []
    out.tick(now + 0.6)
    assert out.batches == [5] and out.counters.autoflushes == 1
    out.tick(now + 5)                           # nothing pending: nothing to flush
    assert out.counters.autoflushes == 1
    off = Recording("b:autoflush=off")
    off.set_format(DataFormat.unirec(TEMPLATE))
    off.send_batch(records(5))
    off.tick(time.monotonic() + 3600)
    assert off.batches == []


def test_blackhole_counts_everything_as_sent():
    out = open_output(spec("b"))
    out.set_format(DataFormat.unirec(TEMPLATE))
    out.send_batch(records(7))
    out.send_eof()
    stats = out.stats()
    assert (stats["ifc_type"], stats["ifc_id"], stats["sent-messages"]) == (98, "none", 7)
    assert stats["dropped-messages"] == 0
    out.close()


def test_sending_needs_the_announced_format():
    out = open_output(spec("b"))
    with pytest.raises(TrapError, match='output 0 "b"'):
        out.send_batch(records(1))
    out.set_format(DataFormat.unirec(TEMPLATE))
    with pytest.raises(TrapError, match="not the announced"):
        out.send_batch(records(1, "uint32 SEQ,uint8 X"))
    with pytest.raises(TrapError, match="cannot announce an empty UniRec template"):
        out.set_format(DataFormat(FormatType.UNIREC, ""))


@pytest.mark.parametrize(("timeout", "most_seconds"), [
    ("NO_WAIT", 0.05), ("HALF_WAIT", 0.05), ("300000", 1.0)])
def test_no_reader_drops_and_counts_without_blocking(socket_dir_env, timeout, most_seconds):
    out = open_output(spec(f"u:nobody:timeout={timeout}:buffer=off"))
    try:
        out.set_format(DataFormat.unirec(TEMPLATE))
        started = time.monotonic()
        with pytest.raises(TrapTimeout, match='output 0 "u:nobody'):
            out.send_batch(records(1))
        took = time.monotonic() - started
        assert took < most_seconds
        if timeout.isdigit():
            assert took >= 0.29                   # waited the timeout first
        stats = out.stats()
        assert (stats["sent-messages"], stats["dropped-messages"]) == (0, 1)
        assert stats["num_clients"] == 0
    finally:
        out.close(0.1)
    assert not (socket_dir_env / "trap-nobody.sock").exists()   # removed at close


def test_unix_output_socket_file(socket_dir_env):
    (socket_dir_env / "trap-stale.sock").write_text("left by a dead writer")
    out = open_output(spec("u:stale"))
    path = socket_dir_env / "trap-stale.sock"
    assert path.is_socket() and path.stat().st_mode & 0o777 == 0o666
    out.close(0.1)
    assert not path.exists()


def test_missing_socket_dir_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAP_SOCKET_DIR", str(tmp_path / "absent"))
    with pytest.raises(TrapError, match=r"socket directory .*absent does not exist"):
        open_output(spec("u:x"))


@pytest.fixture
def socket_dir_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAP_SOCKET_DIR", str(tmp_path))
    return tmp_path


def test_message_size_limit():
    out = Recording("b:buffer=off")
    out.set_format(DataFormat.json(""))
    out.send_messages(["x" * 65_535, b"y" * 65_535])
    with pytest.raises(ValueError, match="65536 bytes is over the limit of 65535"):
        out.send_messages(["é" * 32_768])                     # counted in UTF-8 bytes
    assert out.batches == [1, 1]
