"""The 29 field types: names, sizes, Python value <-> raw value mapping, range checks."""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import pickle
import struct

import numpy as np
import pytest

from unirec import FIELD_TYPES, FieldValueError, MacAddr, UrTime, field_type
from unirec.field_types import MAX_TIME_NS

SCALARS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "char",
           "float", "double", "ipaddr", "macaddr", "time", "string", "bytes"]
ELEMENTS = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float",
            "double", "ipaddr", "macaddr", "time"]
ALL_TYPES = SCALARS + [e + "*" for e in ELEMENTS]

# reference §3.2: canonical order size key of every type
ORDER_SIZE = {
    "ipaddr": 16, "int64": 8, "uint64": 8, "double": 8, "time": 8, "macaddr": 6,
    "int32": 4, "uint32": 4, "float": 4, "int16": 2, "uint16": 2, "int8": 1, "uint8": 1,
    "char": 1, "string": -1, "bytes": -1, "int8*": -1, "uint8*": -1, "int16*": -2,
    "uint16*": -2, "int32*": -4, "uint32*": -4, "float*": -4, "macaddr*": -6, "int64*": -8,
    "uint64*": -8, "double*": -8, "time*": -8, "ipaddr*": -16,
}

INT_RANGES = {
    "int8": (-128, 127), "int16": (-32768, 32767), "int32": (-2**31, 2**31 - 1),
    "int64": (-2**63, 2**63 - 1), "uint8": (0, 255), "uint16": (0, 65535),
    "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1),
}

V4_RAW = bytes(8) + bytes([10, 0, 0, 1]) + b"\xff" * 4


def test_there_are_exactly_the_29_upstream_types():
    assert len(ALL_TYPES) == 29
    assert sorted(FIELD_TYPES) == sorted(ALL_TYPES)
    assert all(field_type(name).name == name for name in ALL_TYPES)


def test_no_char_string_or_bytes_arrays():
    for name in ("char*", "string*", "bytes*"):
        with pytest.raises(KeyError):
            field_type(name)


@pytest.mark.parametrize("name", ALL_TYPES)
def test_order_size_follows_reference_table(name):
    ftype = FIELD_TYPES[name]
    assert ftype.order_size == ORDER_SIZE[name]
    assert ftype.is_fixed == (ORDER_SIZE[name] > 0)
    assert ftype.is_array == name.endswith("*")
    if ftype.is_fixed:
        assert ftype.dtype.itemsize == ftype.fixed_size == ORDER_SIZE[name]
    else:
        assert ftype.fixed_size == 0


@pytest.mark.parametrize("name", ELEMENTS)
def test_array_element_is_the_scalar_type(name):
    array = FIELD_TYPES[name + "*"]
    assert array.element is FIELD_TYPES[name]
    assert array.order_size == -FIELD_TYPES[name].order_size


@pytest.mark.parametrize("name", ALL_TYPES)
def test_types_survive_copy_and_pickle_as_the_same_object(name):
    ftype = FIELD_TYPES[name]
    assert copy.copy(ftype) is ftype
    assert copy.deepcopy(ftype) is ftype
    assert pickle.loads(pickle.dumps(ftype)) is ftype


# --- defaults -----------------------------------------------------------------------------------

DEFAULTS = {
    "int8": 0, "uint64": 0, "char": "\0", "float": 0.0, "double": 0.0,
    "ipaddr": ipaddress.IPv6Address("::"), "macaddr": MacAddr("00:00:00:00:00:00"),
    "time": UrTime(0), "string": "", "bytes": b"", "uint16*": [], "ipaddr*": [],
}


@pytest.mark.parametrize(("name", "expected"), DEFAULTS.items())
def test_default_value(name, expected):
    ftype = FIELD_TYPES[name]
    value = ftype.from_raw(ftype.default_raw)
    assert value == expected
    assert type(value) is type(expected)


def test_array_default_is_a_new_list_each_time():
    ftype = FIELD_TYPES["uint8*"]
    first = ftype.default_raw
    first.append(1)
    assert ftype.default_raw == []


# --- integers -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "bounds"), INT_RANGES.items())
def test_integer_bounds_are_accepted(name, bounds):
    ftype = FIELD_TYPES[name]
    for value in (bounds[0], bounds[1], 0, 1):
        raw = ftype.to_raw(value)
        assert raw == value and type(raw) is int
        assert ftype.from_raw(raw) == value and type(ftype.from_raw(raw)) is int


@pytest.mark.parametrize(("name", "bounds"), INT_RANGES.items())
def test_integer_out_of_range_names_the_type(name, bounds):
    ftype = FIELD_TYPES[name]
    for value in (bounds[0] - 1, bounds[1] + 1):
        with pytest.raises(FieldValueError, match=rf"^{name}: .*{value}"):
            ftype.to_raw(value)


def test_70000_in_uint16():
    with pytest.raises(FieldValueError) as info:
        FIELD_TYPES["uint16"].to_raw(70000)
    assert "uint16" in str(info.value) and "70000" in str(info.value)
    assert isinstance(info.value, ValueError)  # reference: out-of-range on set -> ValueError


def test_integer_accepts_decimal_text_and_numpy_integers():
    assert FIELD_TYPES["int32"].to_raw("-17") == -17
    assert FIELD_TYPES["uint64"].to_raw(np.uint64(2**64 - 1)) == 2**64 - 1
    assert type(FIELD_TYPES["uint8"].to_raw(np.uint8(7))) is int


@pytest.mark.parametrize("bad", [1.5, 2.0, "1.5", "x", None, b"1", [1]])
def test_integer_rejects_non_integers(bad):
    with pytest.raises(FieldValueError, match=r"^int16: "):
        FIELD_TYPES["int16"].to_raw(bad)


# --- char -----------------------------------------------------------------------------------------

def test_char_maps_one_character_to_its_code():
    ftype = FIELD_TYPES["char"]
    assert ftype.to_raw("A") == 65
    assert ftype.from_raw(65) == "A"
    assert ftype.to_raw(b"z") == ord("z")
    assert ftype.to_raw(0) == 0 and ftype.from_raw(0) == "\0"
    assert ftype.to_raw("\xff") == 255


@pytest.mark.parametrize("bad", ["", "ab", "€", 256, -1, None, 1.0])
def test_char_rejects_what_is_not_one_byte_character(bad):
    with pytest.raises(FieldValueError, match=r"^char: "):
        FIELD_TYPES["char"].to_raw(bad)


# --- float and double -----------------------------------------------------------------------------

def _f32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


@pytest.mark.parametrize("value", [0.1, 1 / 3, 3.14159265358979, -2.5e-30, 1e30, 16777217.0])
def test_float_is_rounded_through_32_bit(value):
    raw = FIELD_TYPES["float"].to_raw(value)
    assert raw == _f32(value) == float(np.float32(value))
    assert FIELD_TYPES["float"].from_raw(raw) == raw


@pytest.mark.parametrize("value", [0.1, 1 / 3, -2.5e-300, 1e300])
def test_double_keeps_the_value(value):
    assert FIELD_TYPES["double"].to_raw(value) == value


def test_float_accepts_ints_and_infinities():
    assert FIELD_TYPES["float"].to_raw(3) == 3.0
    assert type(FIELD_TYPES["float"].to_raw(3)) is float
    assert FIELD_TYPES["double"].to_raw(float("-inf")) == float("-inf")
    assert FIELD_TYPES["float"].to_raw(float("inf")) == float("inf")


def test_float_too_big_for_32_bit_is_an_error_naming_the_type():
    with pytest.raises(FieldValueError, match=r"^float: "):
        FIELD_TYPES["float"].to_raw(1e39)


@pytest.mark.parametrize("bad", ["1.5", b"1", None, [1.0]])
def test_float_rejects_non_numbers(bad):
    with pytest.raises(FieldValueError, match=r"^double: "):
        FIELD_TYPES["double"].to_raw(bad)


# --- ipaddr ---------------------------------------------------------------------------------------

IP_VECTORS = [  # (input, raw, Python value, text)
    ("10.0.0.1", V4_RAW, ipaddress.IPv4Address("10.0.0.1"), "10.0.0.1"),
    (ipaddress.IPv4Address("10.0.0.1"), V4_RAW, ipaddress.IPv4Address("10.0.0.1"), "10.0.0.1"),
    (bytes([10, 0, 0, 1]), V4_RAW, ipaddress.IPv4Address("10.0.0.1"), "10.0.0.1"),
    ("2001:db8::1", bytes.fromhex("20010db8000000000000000000000001"),
     ipaddress.IPv6Address("2001:db8::1"), "2001:db8::1"),
    ("2001:DB8:0:0:0:0:0:1", bytes.fromhex("20010db8000000000000000000000001"),
     ipaddress.IPv6Address("2001:db8::1"), "2001:db8::1"),
    (ipaddress.IPv6Address("fd7c:e770:9b8a::465"),
     ipaddress.IPv6Address("fd7c:e770:9b8a::465").packed,
     ipaddress.IPv6Address("fd7c:e770:9b8a::465"), "fd7c:e770:9b8a::465"),
    ("::", bytes(16), ipaddress.IPv6Address("::"), "::"),
    ("0.0.0.0", bytes(12) + b"\xff" * 4, ipaddress.IPv4Address("0.0.0.0"), "0.0.0.0"),
    (" 192.0.2.10 ", bytes(8) + bytes([192, 0, 2, 10]) + b"\xff" * 4,
     ipaddress.IPv4Address("192.0.2.10"), "192.0.2.10"),
]


@pytest.mark.parametrize(("given", "raw", "value", "text"), IP_VECTORS)
def test_ipaddr_vectors(given, raw, value, text):
    from unirec import ipaddr

    ftype = FIELD_TYPES["ipaddr"]
    assert ftype.to_raw(given) == raw
    assert ftype.from_raw(raw) == value
    assert type(ftype.from_raw(raw)) is type(value)
    assert ipaddr.text_from_raw(raw) == text


def test_ipaddr_raw_16_bytes_pass_through():
    assert FIELD_TYPES["ipaddr"].to_raw(V4_RAW) == V4_RAW


@pytest.mark.parametrize("bad", ["1.2.3", "1.2.3.4.5", "256.0.0.1", "gggg::1", "1.2.3.4\0",
                                 "", "10.0.0.1/24", "2001:db8::1::2", 167772161, b"abc", None])
def test_ipaddr_rejects_bad_addresses_naming_the_type(bad):
    with pytest.raises(FieldValueError, match=r"^ipaddr: "):
        FIELD_TYPES["ipaddr"].to_raw(bad)


# --- macaddr --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "canonical"), [
    ("0:1:11:A:AA:FF", "00:01:11:0a:aa:ff"),
    ("aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff"),
    ("AA:BB:CC:DD:EE:FF", "aa:bb:cc:dd:ee:ff"),
    ("0:0:0:0:0:0", "00:00:00:00:00:00"),
])
def test_mac_text_vectors(text, canonical):
    ftype = FIELD_TYPES["macaddr"]
    value = ftype.from_raw(ftype.to_raw(text))
    assert isinstance(value, MacAddr)
    assert str(value) == canonical
    assert value == MacAddr(canonical)
    assert repr(value) == f"MacAddr('{canonical}')"


@pytest.mark.parametrize("bad", ["", "00:11:22:33:44", "00:11:22:33:44:55:66", "001:1:2:3:4:5",
                                 "gg:00:00:00:00:00", "00-11-22-33-44-55", "00:11:22:33:44:",
                                 b"12345", 5, None])
def test_mac_rejects_bad_values_naming_the_type(bad):
    with pytest.raises(FieldValueError, match=r"^macaddr: "):
        FIELD_TYPES["macaddr"].to_raw(bad)


def test_mac_accepts_six_bytes_and_macaddr():
    raw = bytes(range(1, 7))
    assert FIELD_TYPES["macaddr"].to_raw(raw) == raw
    assert FIELD_TYPES["macaddr"].to_raw(bytearray(raw)) == raw
    assert FIELD_TYPES["macaddr"].to_raw(MacAddr(raw)) == raw


def test_mac_is_hashable_and_ordered_like_bytes():
    low, high = MacAddr("00:00:00:00:00:01"), MacAddr("00:00:00:00:01:00")
    assert low < high and sorted([high, low]) == [low, high]
    assert len({low, MacAddr("0:0:0:0:0:1")}) == 1


# --- time -----------------------------------------------------------------------------------------

def test_time_accepts_ns_urtime_datetime_and_text():
    ftype = FIELD_TYPES["time"]
    assert ftype.to_raw(1_530_118_374_000_000_000) == 1_530_118_374_000_000_000
    assert ftype.to_raw(UrTime(5)) == 5
    assert ftype.to_raw("2018-06-27T16:52:54.123") == 1_530_118_374_123_000_000
    aware = dt.datetime(2018, 6, 27, 18, 52, 54, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert ftype.to_raw(aware) == 1_530_118_374_000_005_000
    assert ftype.to_raw(dt.datetime(2018, 6, 27, 16, 52, 54)) == 1_530_118_374_000_000_000
    value = ftype.from_raw(7)
    assert type(value) is UrTime and value == 7


@pytest.mark.parametrize("bad", [1.5, -1, MAX_TIME_NS + 1, "1.1.2018 16:52:54",
                                 "1969-12-31T23:59:59", "2263-01-01T00:00:00",
                                 dt.datetime(1960, 1, 1), None])
def test_time_rejects_floats_and_out_of_range_naming_the_type(bad):
    with pytest.raises(FieldValueError, match=r"^time: "):
        FIELD_TYPES["time"].to_raw(bad)


def test_time_range_ends_are_accepted():
    assert FIELD_TYPES["time"].to_raw(0) == 0
    assert FIELD_TYPES["time"].to_raw(MAX_TIME_NS) == MAX_TIME_NS


# --- string and bytes -----------------------------------------------------------------------------

def test_string_values():
    ftype = FIELD_TYPES["string"]
    assert ftype.to_raw("héllo") == "héllo"
    assert ftype.to_raw(b"ab\xffc") == "ab\ufffdc"  # undecodable bytes -> U+FFFD
    assert ftype.to_raw(bytearray(b"x")) == "x"
    assert ftype.from_raw("x") == "x"


@pytest.mark.parametrize("bad", [5, None, ["a"], "lone \ud800 surrogate"])
def test_string_rejects_non_text(bad):
    with pytest.raises(FieldValueError, match=r"^string: "):
        FIELD_TYPES["string"].to_raw(bad)


def test_bytes_values():
    ftype = FIELD_TYPES["bytes"]
    assert ftype.to_raw(b"\0\xff") == b"\0\xff"
    assert ftype.to_raw(bytearray(b"ab")) == b"ab"
    assert ftype.to_raw(memoryview(b"ab")) == b"ab"
    assert type(ftype.to_raw(bytearray(b"ab"))) is bytes


@pytest.mark.parametrize("bad", ["ab", 5, None, [1, 2]])
def test_bytes_rejects_non_bytes(bad):
    with pytest.raises(FieldValueError, match=r"^bytes: "):
        FIELD_TYPES["bytes"].to_raw(bad)


# --- arrays ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "scalar", "raw"), [
    ("uint16*", 7, [7]),
    ("int8*", -1, [-1]),
    ("double*", 1.5, [1.5]),
    ("ipaddr*", "10.0.0.1", [V4_RAW]),
    ("macaddr*", "0:1:11:A:AA:FF", [bytes.fromhex("000111 0aaaff")]),
    ("time*", 5, [5]),
])
def test_scalar_assigned_to_array_becomes_one_element_list(name, scalar, raw):
    assert FIELD_TYPES[name].to_raw(scalar) == raw


def test_arrays_accept_lists_tuples_and_numpy_arrays():
    ftype = FIELD_TYPES["uint32*"]
    assert ftype.to_raw([1, 2]) == [1, 2]
    assert ftype.to_raw((1, 2)) == [1, 2]
    assert ftype.to_raw(np.array([1, 2], dtype=np.uint32)) == [1, 2]
    assert ftype.to_raw([]) == []


def test_array_elements_are_converted_like_scalars():
    assert FIELD_TYPES["float*"].to_raw([0.1]) == [_f32(0.1)]
    addresses = FIELD_TYPES["ipaddr*"].from_raw(FIELD_TYPES["ipaddr*"].to_raw(
        ["10.0.0.1", ipaddress.IPv6Address("::1")]))
    assert addresses == [ipaddress.IPv4Address("10.0.0.1"), ipaddress.IPv6Address("::1")]
    macs = FIELD_TYPES["macaddr*"].from_raw(FIELD_TYPES["macaddr*"].to_raw(["1:2:3:4:5:6"]))
    assert macs == [MacAddr("01:02:03:04:05:06")] and type(macs[0]) is MacAddr
    times = FIELD_TYPES["time*"].from_raw([0, 10])
    assert times == [0, 10] and all(type(t) is UrTime for t in times)


def test_array_element_out_of_range_names_type_and_position():
    with pytest.raises(FieldValueError) as info:
        FIELD_TYPES["uint16*"].to_raw([1, 70000])
    message = str(info.value)
    assert "uint16*" in message and "element 1" in message and "70000" in message


def test_array_with_bad_element_type():
    with pytest.raises(FieldValueError, match=r"^time\* element 0: time: "):
        FIELD_TYPES["time*"].to_raw([1.5])
    with pytest.raises(FieldValueError, match=r"^ipaddr\* element 1: ipaddr: "):
        FIELD_TYPES["ipaddr*"].to_raw(["1.2.3.4", "1.2.3"])
