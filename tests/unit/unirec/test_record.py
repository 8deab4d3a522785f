"""Record: building, defaults, access by name and attribute, equality, repr, size limit."""

from __future__ import annotations

import copy
import ipaddress
import pickle

import pytest

from unirec import FieldValueError, MacAddr, Record, Template, TemplateError, UrTime
from unirec.record import MAX_RECORD_SIZE, unirec_size

FLOW = Template.parse("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
                      "time TIME_FIRST,string NOTE,uint16* PPI_PKT_LENGTHS")
ALL = Template.parse(
    "int8 I8,int16 I16,int32 I32,int64 I64,uint8 U8,uint16 U16,uint32 U32,uint64 U64,char C,"
    "float F,double D,ipaddr IP,macaddr MAC,time T,string S,bytes B,int8* AI8,uint8* AU8,"
    "int16* AI16,uint16* AU16,int32* AI32,uint32* AU32,int64* AI64,uint64* AU64,float* AF,"
    "double* AD,ipaddr* AIP,macaddr* AMAC,time* AT")


def test_build_from_keywords():
    record = Record(FLOW, SRC_IP="10.0.0.1", DST_PORT=80, NOTE="hi", PPI_PKT_LENGTHS=[60, 1500])
    assert ipaddress.IPv4Address("10.0.0.1") == record.SRC_IP
    assert record["DST_PORT"] == 80
    assert record.NOTE == "hi"
    assert record.PPI_PKT_LENGTHS == [60, 1500]


def test_build_from_dict_and_keywords_override():
    record = Record(FLOW, {"SRC_PORT": 1, "PROTOCOL": 6}, SRC_PORT=2)
    assert (record.SRC_PORT, record.PROTOCOL) == (2, 6)


def test_build_from_spec_string():
    record = Record("uint8 A,string B", A=1)
    assert record.template == Template.parse("string B,uint8 A")
    assert record.to_dict() == {"A": 1, "B": ""}


def test_defaults_of_every_type():
    record = Record(ALL)
    values = record.to_dict()
    for name in ("I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64"):
        assert values[name] == 0
    assert values["C"] == "\0"
    assert values["F"] == 0.0 and values["D"] == 0.0
    assert values["IP"] == ipaddress.IPv6Address("::")
    assert values["MAC"] == MacAddr(b"\0" * 6)
    assert values["T"] == UrTime(0) and type(values["T"]) is UrTime
    assert values["S"] == "" and values["B"] == b""
    for name in ALL.names:
        if name.startswith("A"):
            assert values[name] == []


def test_unknown_field_in_constructor_is_an_error():
    with pytest.raises(TemplateError, match="NOPE"):
        Record(FLOW, NOPE=1)
    with pytest.raises(TemplateError, match="NOPE"):
        Record(FLOW, {"NOPE": 1})


def test_bad_value_in_constructor_is_an_error_naming_the_type():
    with pytest.raises(FieldValueError, match="uint16"):
        Record(FLOW, SRC_PORT=70000)


def test_set_by_name_and_attribute():
    record = Record(FLOW)
    record["SRC_PORT"] = 443
    record.DST_IP = "2001:db8::1"
    record.TIME_FIRST = "2024-03-01T10:15:02.125"
    record.PPI_PKT_LENGTHS = 60
    assert record.SRC_PORT == 443
    assert record["DST_IP"] == ipaddress.IPv6Address("2001:db8::1")
    assert UrTime.parse("2024-03-01T10:15:02.125") == record.TIME_FIRST
    assert record.PPI_PKT_LENGTHS == [60]


def test_bad_set_is_an_error_and_keeps_the_old_value():
    record = Record(FLOW, SRC_PORT=5)
    with pytest.raises(FieldValueError, match="uint16"):
        record.SRC_PORT = 70000
    with pytest.raises(FieldValueError, match="ipaddr"):
        record["SRC_IP"] = "1.2.3"
    assert record.SRC_PORT == 5 and ipaddress.IPv6Address("::") == record.SRC_IP


def test_unknown_names():
    record = Record(FLOW)
    with pytest.raises(TemplateError, match="NOPE"):
        record["NOPE"]
    with pytest.raises(AttributeError, match="NOPE"):
        record.NOPE  # noqa: B018
    with pytest.raises(TemplateError, match="NOPE"):
        record.NOPE = 1
    with pytest.raises(TemplateError, match="NOPE"):
        record.raw("NOPE")
    assert record.get("NOPE") is None and record.get("NOPE", 7) == 7
    assert record.get("SRC_PORT") == 0
    assert not hasattr(record, "NOPE")


def test_membership():
    record = Record(FLOW)
    assert "SRC_IP" in record and "NOPE" not in record and 0 not in record


def test_raw_values():
    record = Record(FLOW, SRC_IP="10.0.0.1", TIME_FIRST=5)
    assert record.raw("SRC_IP") == bytes(8) + bytes([10, 0, 0, 1]) + b"\xff" * 4
    assert record.raw("TIME_FIRST") == 5
    assert len(record.raw_values) == len(FLOW)
    assert Record.from_raw(FLOW, list(record.raw_values)) == record


def test_char_reads_as_a_one_character_string():
    record = Record("char C", C="x")
    assert record.C == "x" and record.raw("C") == ord("x")


def test_equality():
    first = Record(FLOW, SRC_PORT=1, NOTE="a")
    assert first == Record(FLOW, SRC_PORT=1, NOTE="a")
    assert first != Record(FLOW, SRC_PORT=2, NOTE="a")
    assert first != Record(FLOW, SRC_PORT=1, NOTE="b")
    reordered = Template.parse(", ".join(reversed([str(f) for f in FLOW])))
    assert first == Record(reordered, SRC_PORT=1, NOTE="a")
    assert Record("uint8 A") != Record("uint16 A")
    assert first != {"SRC_PORT": 1}
    with pytest.raises(TypeError):
        hash(first)


def test_repr_uses_the_text_forms():
    record = Record("ipaddr SRC_IP,uint16 SRC_PORT,string NOTE,uint8* L,time T",
                    SRC_IP="10.0.0.1", SRC_PORT=80, NOTE='a"b', L=[1, 2],
                    T="2024-03-01T10:15:02.125")
    assert repr(record) == ('<Record SRC_IP=10.0.0.1 T=2024-03-01T10:15:02.125000 SRC_PORT=80 '
                            'L=[1|2] NOTE="a""b">')


def test_copy_is_independent():
    record = Record(FLOW, PPI_PKT_LENGTHS=[1, 2])
    twin = record.copy()
    twin.raw("PPI_PKT_LENGTHS").append(3)
    twin.SRC_PORT = 9
    assert record.PPI_PKT_LENGTHS == [1, 2] and record.SRC_PORT == 0


def test_copy_module_and_pickle():
    record = Record(FLOW, SRC_IP="10.0.0.1", PPI_PKT_LENGTHS=[1, 2], NOTE="x")
    for twin in (copy.copy(record), copy.deepcopy(record), pickle.loads(pickle.dumps(record))):
        assert twin == record
        assert twin.template == record.template
    deep = copy.deepcopy(record)
    deep.raw("PPI_PKT_LENGTHS").append(3)
    assert record.PPI_PKT_LENGTHS == [1, 2]


# --- size limit -----------------------------------------------------------------------------------

def test_size_is_computed_in_unirec_layout():
    record = Record(FLOW, NOTE="héllo", PPI_PKT_LENGTHS=[1, 2, 3])
    fixed = 16 + 16 + 8 + 2 + 2 + 1
    assert unirec_size(FLOW, list(record.raw_values)) == fixed + (4 + 6) + (4 + 3 * 2)


def test_string_up_to_the_limit():
    Record("string S", S="x" * (MAX_RECORD_SIZE - 4))
    with pytest.raises(FieldValueError, match="65536 bytes"):
        Record("string S", S="x" * (MAX_RECORD_SIZE - 3))


def test_limit_counts_utf8_bytes():
    with pytest.raises(FieldValueError, match="at most 65535"):
        Record("string S", S="é" * ((MAX_RECORD_SIZE - 4) // 2 + 1))


def test_limit_on_set():
    record = Record("uint64 X,bytes B")
    record.B = b"\0" * (MAX_RECORD_SIZE - 8 - 4)
    with pytest.raises(FieldValueError, match="at most 65535"):
        record.B = b"\0" * (MAX_RECORD_SIZE - 8 - 3)
    assert len(record.B) == MAX_RECORD_SIZE - 12  # the too big value was not stored


def test_limit_with_arrays():
    count = (MAX_RECORD_SIZE - 4) // 8
    Record("uint64* A", A=[0] * count)
    with pytest.raises(FieldValueError):
        Record("uint64* A", A=[0] * (count + 1))
    with pytest.raises(FieldValueError):
        Record("ipaddr* A,ipaddr* B", A=["::"] * 2048, B=["::"] * 2048)


def test_fixed_fields_alone_can_exceed_the_limit():
    spec = ",".join(f"ipaddr A{i}" for i in range(MAX_RECORD_SIZE // 16 + 1))
    with pytest.raises(FieldValueError, match="at most 65535"):
        Record(spec)
    Record(",".join(f"ipaddr A{i}" for i in range(MAX_RECORD_SIZE // 16)))
