"""UrTime: exact nanoseconds, text parsing, NEMEA 32.32 fixed point conversions (ref §1.2)."""

from __future__ import annotations

import datetime as dt
import pickle
import random

import pytest

from unirec import UrTime

SEC = 1_000_000_000
BASE = 1_530_118_374  # 2018-06-27T16:52:54Z


# --- text parsing (reference vectors) -------------------------------------------------------------

@pytest.mark.parametrize(("text", "ns"), [
    ("2018-06-27T16:52:54", BASE * SEC),
    ("2018-06-27T16:52:54.123", BASE * SEC + 123_000_000),
    ("2018-06-27T16:52:54.123456", BASE * SEC + 123_456_000),
    ("2018-06-27T16:52:54.222222222000", BASE * SEC + 222_222_222),
    ("2018-06-27T16:52:54.1234567899", BASE * SEC + 123_456_789),  # digits beyond 9 ignored
    ("2018-06-27T16:52:54Z", BASE * SEC),
    ("2018-06-27T16:52:54.5z", BASE * SEC + 500_000_000),
    ("1970-01-01T00:00:00", 0),
    ("2262-04-11T23:47:16.854775807", 2**63 - 1),
])
def test_parse_vectors(text, ns):
    value = UrTime.parse(text)
    assert value == ns and type(value) is UrTime


def test_parse_vector_units():
    assert UrTime.parse("2018-06-27T16:52:54").sec == 1530118374
    assert UrTime.parse("2018-06-27T16:52:54.123").nsec == 123 * 10**6
    assert UrTime.parse("2018-06-27T16:52:54.123456").usec % 10**6 == 123456
    assert UrTime.parse("2018-06-27T16:52:54.222222222000").nsec == 222222222


@pytest.mark.parametrize("text", [
    "1.1.2018 16:52:54", "2018-06-27 16:52:54", "2018-06-27T16:52", "2018-06-27T16:52:54.",
    "2018-6-27T16:52:54", "2018-02-30T00:00:00", "2018-06-27T24:00:00", "2018-06-27T16:52:54+01:00",
    "２０１８-06-27T16:52:54", "2018-06-27T16:52:54.1ZZ", "",
])
def test_parse_rejects_bad_text(text):
    with pytest.raises(ValueError, match="bad time"):
        UrTime.parse(text)


# --- NEMEA fixed point ----------------------------------------------------------------------------

def test_half_second_is_0x80000000():
    assert UrTime(SEC // 2).to_nemea() == 0x80000000
    assert UrTime.from_nemea(0x80000000) == SEC // 2


def test_999_ms_is_0xffbe76c8():
    assert UrTime(999_000_000).to_nemea() == 0xFFBE76C8
    assert UrTime.from_nemea(0xFFBE76C8) == 999_000_000


def test_seconds_are_the_high_32_bits():
    value = UrTime.from_parts(BASE, SEC // 2)
    assert value.to_nemea() == (BASE << 32) | 0x80000000
    assert UrTime.from_nemea((BASE << 32) | 0x80000000) == value


@pytest.mark.parametrize("ns", [0, 1, 123456789, 555666777, 999999999])
def test_upstream_ns_vectors_round_trip(ns):
    value = UrTime.from_parts(BASE, ns)
    assert UrTime.from_nemea(value.to_nemea()) == value


def test_every_millisecond_round_trips():
    for ms in range(1000):
        back = UrTime.from_nemea(UrTime.from_parts(BASE, ms * 10**6).to_nemea())
        assert back.msec == BASE * 1000 + ms, ms


def test_microseconds_round_trip():
    for us in [*range(0, 10**6, 3), *range(10**6 - 1000, 10**6)]:  # every third: keep it fast
        back = UrTime.from_nemea(UrTime.from_parts(BASE, us * 1000).to_nemea())
        assert back.usec == BASE * 10**6 + us, us


def test_nanoseconds_come_back_exactly():
    # our decoder is the exact inverse of NEMEA's encoder (upstream's gives +1 ns for ~3 %)
    rng = random.Random(20240301)
    for _ in range(20_000):
        ns = rng.randrange(SEC)
        assert UrTime.from_nemea(UrTime(ns).to_nemea()) == ns


# --- value behaviour ------------------------------------------------------------------------------

def test_parts():
    value = UrTime.from_parts(BASE, 123_456_789)
    assert (value.sec, value.nsec) == (BASE, 123_456_789)
    assert value.msec == BASE * 1000 + 123
    assert value.usec == BASE * 10**6 + 123_456
    assert float(value) == pytest.approx(BASE + 0.123456789)
    assert int(value) == BASE * SEC + 123_456_789


def test_datetime_conversions():
    value = UrTime.from_parts(BASE, 123_456_789)
    assert value.to_datetime() == dt.datetime(2018, 6, 27, 16, 52, 54, 123456, tzinfo=dt.UTC)
    assert UrTime.from_datetime(value.to_datetime()) == BASE * SEC + 123_456_000
    naive = dt.datetime(2018, 6, 27, 16, 52, 54)
    assert UrTime.from_datetime(naive) == BASE * SEC  # naive = UTC
    plus2 = dt.datetime(2018, 6, 27, 18, 52, 54, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert UrTime.from_datetime(plus2) == BASE * SEC


def test_from_float_is_exact_at_microseconds_of_current_epochs():
    rng = random.Random(7)
    for _ in range(5000):
        us = rng.randrange(1_500_000_000 * 10**6, 1_900_000_000 * 10**6)
        assert UrTime.from_float(us / 10**6).usec == us
    assert UrTime.from_float(0.5) == SEC // 2
    assert UrTime.from_float(1530118374.123456) == BASE * SEC + 123_456_000


def test_arithmetic_in_seconds():
    value = UrTime.from_parts(BASE)
    assert value + 1 == (BASE + 1) * SEC and type(value + 1) is UrTime
    assert value + 0.25 == BASE * SEC + 250_000_000
    assert value - 1.5 == (BASE - 1) * SEC - 500_000_000 and type(value - 1) is UrTime
    assert (value + 2) - value == 2.0
    assert UrTime(5) - UrTime(SEC + 5) == -1.0


def test_ordering_and_hashing():
    times = [UrTime(3), UrTime(1), UrTime(2)]
    assert sorted(times) == [1, 2, 3]
    assert UrTime(1) < UrTime(2) and UrTime(2) >= UrTime(2)
    assert len({UrTime(1), UrTime(1)}) == 1


def test_text_forms():
    value = UrTime.from_parts(BASE, 999_999_999)
    assert str(value) == "2018-06-27T16:52:54.999999"  # microseconds floored, no Z
    assert repr(value) == "UrTime('2018-06-27T16:52:54.999999999')"
    assert str(UrTime(0)) == "1970-01-01T00:00:00.000000"
    assert UrTime.parse(repr(value)[8:-2]) == value


def test_pickle_keeps_type_and_value():
    value = UrTime.from_parts(BASE, 1)
    back = pickle.loads(pickle.dumps(value))
    assert back == value and type(back) is UrTime
