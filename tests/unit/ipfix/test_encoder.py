"""The exporter side: encoder messages (size, sequence numbers, templates, refresh), round
trips through the collector, the address specs, IPFIX files."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from modules.ipfix.core import CollectorCore
from modules.ipfix.encoder import IpfixEncoder
from modules.ipfix.exporter import FlowExporter
from modules.ipfix.ipfix_file import IpfixFileError, is_ipfix_file, read_messages
from modules.ipfix.records import BIFLOW_TEMPLATE, UNIFLOW_TEMPLATE
from modules.ipfix.transports import parse_destination, parse_listen
from unirec import RecordBatch
from unirec.ipaddr import raw_from_text


def flows(count: int, template=BIFLOW_TEMPLATE, ipv6_every: int = 3) -> RecordBatch:
    rng = np.random.default_rng(7)
    def addresses(base: str, v6: str) -> np.ndarray:
        return np.frombuffer(b"".join(
            raw_from_text(v6 + f"{i:x}") if ipv6_every and i % ipv6_every == 0
            else raw_from_text(f"{base}.{i // 250}.{i % 250}") for i in range(count)), "V16")
    start = 1_700_000_000_000 + np.arange(count, dtype=np.int64)
    columns = {
        "SRC_IP": addresses("10.1", "2001:db8::"), "DST_IP": addresses("10.2", "2001:db8:1::"),
        "SRC_PORT": rng.integers(0, 65536, count).astype(np.uint16),
        "DST_PORT": rng.integers(0, 65536, count).astype(np.uint16),
        "PROTOCOL": np.full(count, 6, np.uint8),
        "PACKETS": rng.integers(1, 1 << 32, count).astype(np.uint32),
        "BYTES": rng.integers(1, 1 << 62, count).astype(np.uint64),
        "TIME_FIRST": start * 1_000_000, "TIME_LAST": (start + 1500) * 1_000_000,
        "TCP_FLAGS": rng.integers(0, 256, count).astype(np.uint8),
        "LINK_BIT_FIELD": np.ones(count, np.uint64),
    }
    if "PACKETS_REV" in template.index:
        columns.update(PACKETS_REV=rng.integers(0, 1000, count).astype(np.uint32),
                       BYTES_REV=rng.integers(0, 1 << 40, count).astype(np.uint64),
                       TCP_FLAGS_REV=rng.integers(0, 256, count).astype(np.uint8),
                       SRC_MAC=np.frombuffer(rng.bytes(6 * count), "V6"),
                       DST_MAC=np.frombuffer(rng.bytes(6 * count), "V6"))
    else:
        columns.update(TOS=np.full(count, 0x20, np.uint8), TTL=np.full(count, 63, np.uint8))
    return RecordBatch.from_columns(template, count, columns)


def collect(messages: list[bytes], template=BIFLOW_TEMPLATE) -> tuple[CollectorCore, RecordBatch]:
    core = CollectorCore(template)
    session = core.session("udp", ("127.0.0.1", 1))
    for message in messages:
        core.feed(session, message)
    return core, core.flush()


@pytest.mark.parametrize("template", [BIFLOW_TEMPLATE, UNIFLOW_TEMPLATE])
def test_round_trip_through_the_collector(template):
    batch = flows(2000, template)
    encoder = IpfixEncoder(max_message=1400)
    core, back = collect(encoder.encode(batch, 1_700_000_000, with_templates=True), template)
    assert core.stats()["malformed"] == 0 and core.stats()["unknown_elements"] == 0
    assert sorted(back.rows()) == sorted(batch.rows())


def test_messages_respect_the_size_and_count_records_in_sequence_numbers():
    encoder = IpfixEncoder(odid=7, max_message=512)
    messages = encoder.encode(flows(1000), 1_700_000_000, with_templates=True)
    assert max(len(m) for m in messages) <= 512
    lengths = {t.template_id: t.record_length for t in encoder.templates}
    sequence = 0
    for message in messages:
        version, length, export_time, seq, odid = struct.unpack_from(">HHIII", message)
        assert (version, length, export_time, odid) == (10, len(message), 1_700_000_000, 7)
        assert seq == sequence
        position = 16
        while position < length:
            set_id, set_length = struct.unpack_from(">HH", message, position)
            if set_id >= 256:
                sequence += (set_length - 4) // lengths[set_id]
            position += set_length
    assert sequence == encoder.sequence == 1000


def test_templates_first_and_every_n_messages():
    encoder = IpfixEncoder(max_message=1400, template_every=10)
    messages = encoder.encode(flows(3000, ipv6_every=0), 0, with_templates=True)
    with_templates = [i for i, m in enumerate(messages) if struct.unpack_from(">H", m, 16)[0] == 2]
    assert with_templates[:3] == [0, 10, 20]
    assert len(with_templates) == (len(messages) + 9) // 10


def test_template_only_message_for_an_empty_batch():
    encoder = IpfixEncoder()
    messages = encoder.encode(RecordBatch.empty(BIFLOW_TEMPLATE), 0, with_templates=True)
    assert len(messages) == 1
    core, batch = collect(messages)
    assert batch is None and core.stats()["templates"] == 2


def test_exporter_to_a_file_and_reading_it_back(tmp_path):
    path = tmp_path / "flows.ipfix"
    exporter = FlowExporter(f"file:{path}")
    first, second = flows(500), flows(300)
    exporter.export(first)
    exporter.export(second)
    exporter.close()
    assert exporter.stats()["records"] == 800
    assert is_ipfix_file(str(path))
    messages = [message for _, message in read_messages(str(path))]
    assert max(len(m) for m in messages) > 1400           # stream messages are big
    _, back = collect(messages)
    assert back.length == 800
    def total(b: RecordBatch) -> int:
        return sum(b.column("BYTES").tolist())
    assert total(back) == total(first) + total(second)


def test_reading_a_damaged_ipfix_file(tmp_path):
    path = tmp_path / "bad.ipfix"
    encoder = IpfixEncoder()
    path.write_bytes(b"".join(encoder.encode(flows(50), 0, True)) + b"\x00\x0a\x00")
    with pytest.raises(IpfixFileError, match="stray bytes"):
        list(read_messages(str(path)))
    assert not is_ipfix_file(__file__)


def test_exporter_counts_records_it_cannot_send_over_tcp():
    exporter = FlowExporter("127.0.0.1:1:tcp")
    exporter.export(flows(10))
    exporter.close()
    assert exporter.stats()["dropped_records"] == 10 and exporter.stats()["send_errors"] == 1


def test_address_specs():
    assert str(parse_listen("udp:4739")) == "udp:0.0.0.0:4739"
    assert str(parse_listen("tcp:127.0.0.1:4739")) == "tcp:127.0.0.1:4739"
    assert parse_listen("tcp:[::1]:4739").host == "::1"
    assert str(parse_destination("collector:4739")) == "udp:collector:4739"
    assert str(parse_destination("10.0.0.1:4739:tcp")) == "tcp:10.0.0.1:4739"
    assert parse_destination("file:/tmp/x").path == "/tmp/x"
    for bad in ("sctp:1", "udp:", "udp:x:port", "udp:70000"):
        with pytest.raises(ValueError):
            parse_listen(bad)
    for bad in ("nohost", ":4739", "host:0"):
        with pytest.raises(ValueError):
            parse_destination(bad)
