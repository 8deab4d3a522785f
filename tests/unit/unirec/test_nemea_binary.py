"""NEMEA's binary UniRec records: real NEMEA captures decode, render as its logger and re-encode."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from unirec import CodecError, CsvFormatter, Record, RecordBatch, Template, read_csv
from unirec.nemea_binary import NemeaRecordCodec

CAPTURES = {  # trapcap -> the CSV NEMEA printed for it (all with the header line)
    "test_data.trapcap": "test_data.csv",
    "types.trapcap": "types.logger.csv",
    "synscan_flows.trapcap": "synscan_flows.logger.csv",
    "dns_flows.trapcap": "dns_flows.logger.csv",
}


def split_trapcap(path: Path) -> tuple[str, list[bytes]]:
    """The spec and the record messages of a libtrap file (up to the end-of-stream message)."""
    data = path.read_bytes()
    assert data[0] == 2, "format type must be UniRec"
    (spec_len,) = struct.unpack_from(">I", data, 4)
    spec = data[8:8 + spec_len]
    assert b"\0" not in spec, "spec_len counts no trailing NUL"
    position, messages = 8 + spec_len, []
    while position < len(data):
        (batch_len,) = struct.unpack_from(">I", data, position)
        batch = data[position + 4:position + 4 + batch_len]
        position += 4 + batch_len
        inner = 0
        while inner < len(batch):
            (size,) = struct.unpack_from(">H", batch, inner)
            message = batch[inner + 2:inner + 2 + size]
            inner += 2 + size
            if size <= 1:
                return spec.decode(), messages
            messages.append(message)
    return spec.decode(), messages


@pytest.fixture(params=sorted(CAPTURES))
def capture(request, shared_data) -> tuple[str, str, list[bytes]]:
    """(name, spec, messages) of one NEMEA capture."""
    spec, messages = split_trapcap(shared_data / "nemea" / request.param)
    return request.param, spec, messages


def test_capture_renders_as_nemea_logger(capture, shared_data):
    name, spec, messages = capture
    codec = NemeaRecordCodec(spec)
    assert codec.template.spec == spec          # NEMEA writes the template canonically
    batch = codec.decode_batch(messages)
    formatter = CsvFormatter(codec.template)
    expected = (shared_data / "nemea" / CAPTURES[name]).read_text()
    assert formatter.header() + "\n" + formatter.format_batch(batch) == expected


def test_capture_reencodes_byte_for_byte(capture):
    _, spec, messages = capture
    codec = NemeaRecordCodec(spec)
    rows = [codec.decode(message) for message in messages]
    assert [codec.encode(row) for row in rows] == messages
    batch = codec.decode_batch(messages)
    assert batch.rows() == [tuple(row) for row in rows]
    assert codec.encode_batch(batch) == messages


def test_capture_sizes(shared_data):
    assert [len(split_trapcap(shared_data / "nemea" / name)[1]) for name in sorted(CAPTURES)] \
        == [10, 1005, 6, 3]


@pytest.mark.parametrize("name", ["types.csv", "types.logger.csv", "synscan_flows.logger.csv",
                                  "dns_flows.logger.csv", "test_data.csv"])
def test_csv_records_round_trip(shared_data, name):
    parsed = read_csv((shared_data / "nemea" / name).read_text(), name)
    assert parsed.errors == []
    codec = NemeaRecordCodec(parsed.batch.template)
    for row in parsed.batch.rows():
        assert tuple(codec.decode(codec.encode(row))) == row
    assert codec.decode_batch(codec.encode_batch(parsed.batch)) == parsed.batch


ALL_TYPES = ("int8 I8,uint8 U8,int16 I16,uint16 U16,int32 I32,uint32 U32,int64 I64,uint64 U64,"
             "char C,float F,double D,ipaddr IP,macaddr MAC,time T,string S,bytes B,"
             "int8* AI8,uint8* AU8,int16* AI16,uint16* AU16,int32* AI32,uint32* AU32,"
             "int64* AI64,uint64* AU64,float* AF,double* AD,ipaddr* AIP,macaddr* AMAC,time* AT")


def test_every_type_round_trips():
    template = Template.parse(ALL_TYPES)
    values = {"I8": -128, "U8": 255, "I16": -2, "U16": 65535, "I32": -7, "U32": 2**32 - 1,
              "I64": -(2**63), "U64": 2**64 - 1, "C": "x", "F": 1.5, "D": -0.1,
              "IP": "10.0.0.1", "MAC": "aa:bb:cc:dd:ee:ff", "T": "2024-03-01T10:15:02.123456789",
              "S": "žluťoučký \"kůň\"", "B": b"\0\xff", "AI8": [-1, 1], "AU8": [200],
              "AI16": [-300], "AU16": [60, 1500], "AI32": [-1], "AU32": [4000000000],
              "AI64": [-5], "AU64": [2**64 - 1], "AF": [0.25], "AD": [1e300], "AT": [0, 1],
              "AIP": ["::1", "192.0.2.1"], "AMAC": ["0:1:2:3:4:5"]}
    records = [Record(template, values), Record(template)]
    batch = RecordBatch.from_records(records)
    codec = NemeaRecordCodec(template)
    messages = codec.encode_batch(batch)
    assert messages == [codec.encode(row) for row in batch.rows()]
    assert [codec.decode(m) for m in messages] == [list(row) for row in batch.rows()]
    assert codec.decode_batch(messages) == batch


def test_layout_by_hand():
    codec = NemeaRecordCodec("uint16 PORT,time T,string S,uint8* A")
    assert codec.template.names == ("T", "PORT", "A", "S")
    raw = [500_000_000, 0x1234, [7, 8, 9], "ab"]
    message = codec.encode(raw)
    assert message == (struct.pack("<QH", 0x80000000, 0x1234)
                       + struct.pack("<HHHH", 0, 3, 3, 2) + b"\x07\x08\x09ab")
    assert codec.decode(message) == raw
    assert NemeaRecordCodec("time T").encode([999_000_000]) == struct.pack("<Q", 0xFFBE76C8)


@pytest.fixture
def flow_codec() -> tuple[NemeaRecordCodec, bytes]:
    codec = NemeaRecordCodec("ipaddr SRC_IP,uint16 PORT,string NAME,bytes DATA")
    assert codec.template.names == ("SRC_IP", "PORT", "DATA", "NAME")
    return codec, codec.encode([b"\0" * 16, 80, b"\1\2", "example.org"])


def test_truncated_message(flow_codec):
    codec, message = flow_codec
    with pytest.raises(CodecError, match=r"message of 10 bytes ends inside field SRC_IP.*26 bytes"):
        codec.decode(message[:10])
    with pytest.raises(CodecError, match=r"header of field NAME"):
        codec.decode(message[:24])
    with pytest.raises(CodecError, match=r"field NAME: offset 2 \+ length 11 is past the end of "
                                         r"the 12-byte"):
        codec.decode(message[:-1])
    with pytest.raises(CodecError, match=r"message 1: .*field NAME"):
        codec.decode_batch([message, message[:30]])


def test_offset_past_end(flow_codec):
    codec, message = flow_codec
    bad = message[:22] + struct.pack("<H", 200) + message[24:]     # NAME's offset
    with pytest.raises(CodecError, match=r"field NAME: offset 200 \+ length 11 is past the end"):
        codec.decode(bad)
    with pytest.raises(CodecError, match=r"message 0: field NAME"):
        codec.decode_batch([bad])


def test_other_bad_messages():
    with pytest.raises(CodecError, match=r"message of 3 bytes, records of template .* 2 bytes"):
        NemeaRecordCodec("uint8 A,uint8 B").decode(b"\1\2\3")
    codec = NemeaRecordCodec("uint16* A")
    with pytest.raises(CodecError, match=r"field A: length 3 is not a multiple"):
        codec.decode(struct.pack("<HH", 0, 3) + b"abc")


def test_encode_errors():
    codec = NemeaRecordCodec("uint32 N,bytes DATA")
    with pytest.raises(CodecError, match=r"record of 65542 bytes is over the UniRec limit"):
        codec.encode([1, b"x" * 65534])
    batch = RecordBatch.from_rows(codec.template, [(1, b""), (2, b"x" * 65534)])
    with pytest.raises(CodecError, match=r"record 1 is 65542 bytes"):
        codec.encode_batch(batch)
    assert len(codec.encode([1, b"x" * (65535 - 8)])) == 65535
    with pytest.raises(CodecError, match=r"field N"):
        codec.encode([-1, b""])
    with pytest.raises(CodecError, match=r"1 values for the 2 fields"):
        codec.encode([1])
    with pytest.raises(CodecError, match=r"field F"):
        NemeaRecordCodec("uint8 A,float F").encode([1e300, 1])  # F first
    with pytest.raises(CodecError, match=r"field IP"):
        NemeaRecordCodec("ipaddr IP").encode([b"\1\2\3\4"])
    with pytest.raises(CodecError, match=r"field T: time"):
        NemeaRecordCodec("time T").encode([2**32 * 10**9])
