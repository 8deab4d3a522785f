"""BatchCodec: msgpack payload round trips for every type; corrupt payloads are CodecErrors."""

from __future__ import annotations

import contextlib
import random

import msgpack
import numpy as np
import pytest

from unirec import (
    BatchCodec,
    CodecError,
    CsvFormatter,
    Record,
    RecordBatch,
    Template,
    batch_length,
)
from unirec.field_types import MAX_TIME_NS

ALL = Template.parse(
    "int8 I8,int16 I16,int32 I32,int64 I64,uint8 U8,uint16 U16,uint32 U32,uint64 U64,char C,"
    "float F,double D,ipaddr IP,macaddr MAC,time T,string S,bytes B,int8* AI8,uint8* AU8,"
    "int16* AI16,uint16* AU16,int32* AI32,uint32* AU32,int64* AI64,uint64* AU64,float* AF,"
    "double* AD,ipaddr* AIP,macaddr* AMAC,time* AT")

LOW = {"I8": -128, "I16": -32768, "I32": -2**31, "I64": -2**63, "U8": 0, "U16": 0, "U32": 0,
       "U64": 0, "C": "\0", "F": -3.4028234663852886e38, "D": -1.7976931348623157e308,
       "IP": "0.0.0.0", "MAC": "0:0:0:0:0:0", "T": 0, "S": "", "B": b"",
       "AI8": [-128], "AU8": [0], "AI16": [-32768], "AU16": [0], "AI32": [-2**31], "AU32": [0],
       "AI64": [-2**63], "AU64": [0], "AF": [-1e-45], "AD": [-5e-324], "AIP": ["::"],
       "AMAC": ["0:0:0:0:0:0"], "AT": [0]}
HIGH = {"I8": 127, "I16": 32767, "I32": 2**31 - 1, "I64": 2**63 - 1, "U8": 255, "U16": 65535,
        "U32": 2**32 - 1, "U64": 2**64 - 1, "C": "\xff", "F": float("inf"),
        "D": float("-inf"), "IP": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "MAC": "ff:ff:ff:ff:ff:ff", "T": MAX_TIME_NS, "S": "žluťoučký kůň \U0001F600 \0",
        "B": bytes(range(256)), "AI8": [127, -1, 0], "AU8": [255, 1], "AI16": [32767],
        "AU16": [65535, 0], "AI32": [2**31 - 1], "AU32": [2**32 - 1], "AI64": [2**63 - 1],
        "AU64": [2**64 - 1, 0], "AF": [0.1, 1e38], "AD": [0.1, 1e308, -0.0],
        "AIP": ["10.0.0.1", "2001:db8::1"], "AMAC": ["1:2:3:4:5:6", "aa:bb:cc:dd:ee:ff"],
        "AT": [MAX_TIME_NS, 1]}


def _all_types_batch() -> RecordBatch:
    return RecordBatch.from_records([Record(ALL), Record(ALL, LOW), Record(ALL, HIGH)])


def test_every_type_round_trips():
    batch = _all_types_batch()
    codec = BatchCodec(ALL)
    payload = codec.encode(batch)
    assert isinstance(payload, bytes)
    decoded = codec.decode(payload)
    assert decoded == batch
    assert decoded.records() == batch.records()
    assert [r.to_dict() for r in decoded] == [r.to_dict() for r in batch]
    assert batch_length(payload) == 3


@pytest.mark.parametrize("name", ALL.names)
def test_each_type_alone_round_trips(name):
    template = ALL.select([name])
    batch = RecordBatch.from_records([Record(template, {name: LOW[name]}),
                                      Record(template, {name: HIGH[name]}), Record(template)])
    codec = BatchCodec(template)
    assert codec.decode(codec.encode(batch)) == batch


def test_fixed_columns_decode_to_numpy_arrays():
    codec = BatchCodec(ALL)
    decoded = codec.decode(codec.encode(_all_types_batch()))
    for ftype, column in zip(ALL.types, decoded.columns, strict=True):
        if ftype.is_fixed:
            assert isinstance(column, np.ndarray) and column.dtype == ftype.dtype
        else:
            assert isinstance(column, list)


def test_empty_batch_and_empty_template():
    codec = BatchCodec(ALL)
    payload = codec.encode(RecordBatch.empty(ALL))
    assert batch_length(payload) == 0
    assert codec.decode(payload) == RecordBatch.empty(ALL)
    nothing = BatchCodec("")
    batch = RecordBatch.from_rows("", [(), (), ()])
    assert nothing.decode(nothing.encode(batch)) == batch
    assert batch_length(nothing.encode(batch)) == 3


def test_records_helpers():
    codec = BatchCodec(ALL)
    records = _all_types_batch().records()
    assert codec.decode_records(codec.encode_records(records)) == records


def test_codec_accepts_an_equal_template_in_other_order():
    batch = _all_types_batch()
    reordered = BatchCodec(", ".join(reversed(ALL.spec.split(","))))
    assert reordered.decode(reordered.encode(batch)) == batch


def test_encoding_a_batch_of_another_template_is_an_error():
    with pytest.raises(CodecError, match="not the codec's"):
        BatchCodec("uint8 A").encode(_all_types_batch())


def test_taken_and_concatenated_batches_encode():
    batch = _all_types_batch()
    codec = BatchCodec(ALL)
    picked = RecordBatch.concat([batch.take([2, 0]), batch.take(np.array([True, False, True]))])
    assert codec.decode(codec.encode(picked)).records() == [batch[2], batch[0], batch[0], batch[2]]


# --- corrupt payloads -----------------------------------------------------------------------------

def _decode_fully(codec: BatchCodec, payload) -> None:
    """Decode; a batch that does decode must be usable all the way (records, text, re-encode)."""
    try:
        batch = codec.decode(payload)
    except CodecError:
        return
    for record in batch.records():
        record.to_dict()
        repr(record)
    CsvFormatter(codec.template).format_batch(batch)
    payload = codec.encode(batch)
    assert codec.encode(codec.decode(payload)) == payload  # (not ==: a float may be NaN)


def test_every_truncation_is_a_codec_error():
    codec = BatchCodec(ALL)
    payload = codec.encode(_all_types_batch())
    for end in range(len(payload)):
        with pytest.raises(CodecError):
            codec.decode(payload[:end])
        if end < 14:
            with contextlib.suppress(CodecError):
                batch_length(payload[:end])


def test_trailing_garbage_is_a_codec_error():
    codec = BatchCodec(ALL)
    with pytest.raises(CodecError):
        codec.decode(codec.encode(_all_types_batch()) + b"\x00")


def test_random_corruption_never_raises_anything_else():
    codec = BatchCodec(ALL)
    payload = bytearray(codec.encode(_all_types_batch()))
    rng = random.Random(1234)
    for _ in range(3000):
        corrupt = bytearray(payload)
        for _ in range(rng.randint(1, 4)):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        _decode_fully(codec, bytes(corrupt))


def test_random_bytes_never_raise_anything_else():
    rng = random.Random(99)
    codecs = [BatchCodec(ALL), BatchCodec("uint16* A"), BatchCodec("string S,bytes B"),
              BatchCodec("")]
    for _ in range(2000):
        blob = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        for codec in codecs:
            _decode_fully(codec, blob)
        try:
            count = batch_length(blob)
        except CodecError:
            continue
        assert type(count) is int and count >= 0


SMALL = BatchCodec("uint16 A,time T,string S,uint16* L,ipaddr* IP")


@pytest.mark.parametrize("parts", [
    None, 5, "text", b"bytes", {"a": 1}, [], [1], [1, b"", b"", [], [], [], []],
    [-1, b"", b"", [], [], []],
    [True, b"\0\0", b"\0" * 8, [""], [[]], [[]]],
    [1.0, b"\0\0", b"\0" * 8, [""], [[]], [[]]],
    [1, b"\0", b"\0" * 8, [""], [[]], [[]]],                      # fixed column too short
    [1, b"\0\0\0", b"\0" * 8, [""], [[]], [[]]],                  # fixed column too long
    [1, [0], b"\0" * 8, [""], [[]], [[]]],                        # fixed column not bin
    [1, b"\0\0", b"\xff" * 8, [""], [[]], [[]]],                  # negative time
    [1, b"\0\0", b"\0" * 8, [b""], [[]], [[]]],                   # bin for a string
    [1, b"\0\0", b"\0" * 8, ["", ""], [[]], [[]]],                # too many strings
    [1, b"\0\0", b"\0" * 8, [""], [[70000]], [[]]],               # element out of range
    [1, b"\0\0", b"\0" * 8, [""], [[-1]], [[]]],
    [1, b"\0\0", b"\0" * 8, [""], [["1"]], [[]]],
    [1, b"\0\0", b"\0" * 8, [""], [[1.0]], [[]]],
    [1, b"\0\0", b"\0" * 8, [""], [[None]], [[]]],
    [1, b"\0\0", b"\0" * 8, [""], [7], [[]]],                     # array is not a list
    [1, b"\0\0", b"\0" * 8, [""], [[]], [[b"\0" * 4]]],           # address of 4 bytes
    [1, b"\0\0", b"\0" * 8, [""], [[]], [["10.0.0.1"]]],
    [2**40, b"\0\0", b"\0" * 8, [""], [[]], [[]]],
])
def test_structurally_wrong_payloads_are_codec_errors(parts):
    with pytest.raises(CodecError):
        SMALL.decode(msgpack.packb(parts, use_bin_type=True))


def test_element_checks_for_every_array_kind():
    for spec, bad in [("float* A", [[1]]), ("double* A", [["x"]]), ("time* A", [[-1]]),
                      ("time* A", [[2**63]]), ("macaddr* A", [[b"\0" * 5]]),
                      ("int8* A", [[128]]), ("uint64* A", [[-1]]), ("uint64* A", [[True]])]:
        with pytest.raises(CodecError, match="column A"):
            BatchCodec(spec).decode(msgpack.packb([1, *bad], use_bin_type=True))


def test_undecodable_utf8_is_a_codec_error():
    payload = msgpack.packb([1, ["x"]], use_bin_type=True).replace(b"\xa1x", b"\xa1\xff")
    with pytest.raises(CodecError):
        BatchCodec("string S").decode(payload)


@pytest.mark.parametrize("payload", [None, "text", 5])
def test_non_bytes_payload_is_a_codec_error(payload):
    with pytest.raises(CodecError):
        SMALL.decode(payload)
    with pytest.raises(CodecError):
        batch_length(payload)


@pytest.mark.parametrize("head", [b"", msgpack.packb([]), msgpack.packb({"a": 1}),
                                  msgpack.packb([-1]), msgpack.packb([b"12"]),
                                  msgpack.packb([1.5]), msgpack.packb([None]),
                                  msgpack.packb([True]), msgpack.packb(3)])
def test_batch_length_of_bad_heads(head):
    with pytest.raises(CodecError):
        batch_length(head)
