"""Messages out of TCP streams cut at arbitrary points: IPFIX, NetFlow v5 and v9."""

from __future__ import annotations

import pytest

from modules.ipfix.core import CollectorCore
from modules.ipfix.framing import StreamError, StreamFramer

from .wire import (
    BASIC_FIELDS,
    basic_record,
    field,
    ip4,
    ipfix_message,
    ipfix_set,
    template_record,
    u,
    v5_message,
    v5_record,
    v9_message,
)


def pieces(stream: bytes, size: int) -> list[bytes]:
    return [stream[i:i + size] for i in range(0, len(stream), size)]


def run(stream: bytes, size: int) -> tuple[CollectorCore, int]:
    core = CollectorCore()
    session = core.session("tcp", ("192.0.2.1", 1234))
    framer = StreamFramer()
    for chunk in pieces(stream, size):
        for data, start, end in framer.feed(chunk):
            core.feed(session, data, start, end)
    batch = core.flush()
    return core, 0 if batch is None else batch.length


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
def test_ipfix_stream(size):
    template = ipfix_set(2, template_record(256, BASIC_FIELDS))
    record = basic_record("10.0.0.1", "10.0.0.2", 1, 2, 6, 1, 1, 0, 0)
    stream = ipfix_message(template) + b"".join(
        ipfix_message(ipfix_set(256, record * 3), sequence=3 * i) for i in range(5))
    core, records = run(stream, size)
    assert records == 15
    assert core.stats()["messages"] == 6 and core.stats()["malformed"] == 0


@pytest.mark.parametrize("size", [1, 13, 100_000])
def test_v5_stream(size):
    record = v5_record("10.0.0.1", "10.0.0.2", 1, 2, 6, 1, 1, 0, 0)
    stream = v5_message([record] * 30) + v5_message([record] * 2)
    _, records = run(stream, size)
    assert records == 32


@pytest.mark.parametrize("size", [1, 5, 100_000])
def test_v9_stream_cut_at_flowsets(size):
    template = ipfix_set(0, template_record(300, [field(8, 4), field(2, 4)]))
    data = ipfix_set(300, (ip4("10.0.0.1") + u(5, 4)) * 2)
    stream = v9_message(template, data) + v9_message(data, data, sequence=1)
    core, records = run(stream, size)
    assert records == 6
    assert core.stats()["malformed"] == 0


def test_mixed_versions_in_one_stream():
    template = ipfix_set(2, template_record(256, BASIC_FIELDS))
    record = basic_record("10.0.0.1", "10.0.0.2", 1, 2, 6, 1, 1, 0, 0)
    v9_template = ipfix_set(0, template_record(300, [field(8, 4), field(2, 4)]))
    stream = (ipfix_message(template, ipfix_set(256, record))
              + v9_message(v9_template, ipfix_set(300, ip4("10.0.0.1") + u(5, 4)))
              + v5_message([v5_record("10.0.0.1", "10.0.0.2", 1, 2, 6, 1, 1, 0, 0)]))
    _, records = run(stream, 3)
    assert records == 3


def test_garbage_stream_raises():
    framer = StreamFramer()
    with pytest.raises(StreamError):
        framer.feed(b"\x00\x07\x00\x10" + b"\0" * 12)
    with pytest.raises(StreamError):
        StreamFramer().feed(u(10, 2) + u(8, 2) + b"\0" * 12)
