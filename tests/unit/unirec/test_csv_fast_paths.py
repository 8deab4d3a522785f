"""The whole-column fast paths of CSV rendering and parsing agree with the value-by-value rules."""

from __future__ import annotations

import pytest

from unirec import CsvFormatter, CsvParser, Record, RecordBatch, Template
from unirec.text_values import format_value, parse_value

GOOD_TIME = "2024-03-14T09:26:53.123456"


def _parse_one_column(spec: str, texts: list[str]):
    """Parse a column between good rows; the value of each text and the errors."""
    parser = CsvParser(f"{spec},uint8 N", "t.csv")
    lines = [f"{text},{n}\n" for n, text in enumerate(texts)]
    parsed = parser.parse(lines, first_line=2)
    return parsed, parsed.batch.column("X").tolist()


def _expected(spec: str, text: str):
    try:
        return parse_value(Template.parse(spec).types[0], text)
    except (ValueError, OverflowError):
        return None


@pytest.mark.parametrize("text", [
    GOOD_TIME,
    "1970-01-01T00:00:00.000000",
    "2262-04-11T23:47:16.854775",          # the last microsecond that fits
    "2262-04-11T23:47:16.854776",
    "2600-01-01T00:00:00.000000",          # in nanoseconds this wraps around to a positive value
    "9999-12-31T23:59:59.999999",
    "1969-12-31T23:59:59.999999",
    "2023-02-29T00:00:00.000000",
    "2024-02-29T00:00:00.000000",
    "2024-03-14T24:00:00.000000",
    "2024-03-14 09:26:53.123456",
    "２０２４-03-14T09:26:53.123456",       # digits int() reads but the time format does not
    "2024-03-14T09:26:53.12345|",
    "2024-03-14T09:26:53.1234567",
    "2024-03-14T09:26:53Z",
])
def test_time_column_matches_value_by_value_parsing(text):
    parsed, values = _parse_one_column("time X", [GOOD_TIME, text, GOOD_TIME])
    want = _expected("time X", text)
    if want is None:
        assert [e.line for e in parsed.errors] == [3]
        assert str(parsed.errors[0]).startswith("t.csv:3: column 1 (time X): ")
        assert len(values) == 2
    else:
        assert parsed.errors == []
        assert values[1] == want


@pytest.mark.parametrize(("spec", "text"), [
    ("uint8 X", "300"), ("uint8 X", "-1"), ("uint8 X", "255"), ("int8 X", "-129"),
    ("int8 X", "-128"), ("uint16 X", "70000"), ("int32 X", "-2147483649"),
    ("uint32 X", "4294967296"), ("int64 X", "9223372036854775808"),
    ("int64 X", "-9223372036854775808"), ("uint64 X", "-1"), ("uint64 X", "-0"),
    ("uint64 X", "18446744073709551615"), ("uint64 X", "18446744073709551616"),
    ("uint16 X", " 7"), ("uint16 X", "+7"), ("uint16 X", "1_0"), ("uint16 X", "1.0"),
    ("uint16 X", ""),
])
def test_int_column_matches_value_by_value_parsing(spec, text):
    parsed, values = _parse_one_column(spec, ["1", text, "2"])
    want = _expected(spec, text)
    if want is None:  # numpy 1.x would have wrapped the out-of-range ones around
        assert [e.line for e in parsed.errors] == [3]
        assert str(parsed.errors[0]).startswith(f"t.csv:3: column 1 ({spec}): ")
        assert values == [1, 2]
    else:
        assert parsed.errors == [] and values == [1, want, 2]


@pytest.mark.parametrize(("spec", "text"), [
    ("ipaddr X", "10.0.0.1"), ("ipaddr X", "1.2.3"), ("macaddr X", "A:b:0C:d:e:f"),
    ("macaddr X", "aa:bb"),
])
def test_address_columns_match_value_by_value_parsing(spec, text):
    good = "::1" if spec.startswith("ipaddr") else "00:00:00:00:00:01"
    parsed, values = _parse_one_column(spec, [good, text, text])
    want = _expected(spec, text)
    if want is None:
        assert [e.line for e in parsed.errors] == [3, 4]
    else:
        assert parsed.errors == [] and values[1:] == [want, want]


def test_plain_chunk_with_a_bad_line_numbers_lines_as_given():
    parser = CsvParser("uint8 A,uint8 B", "c.csv")
    lines = (line for line in ["1,1\r\n", "2,2\n", "3\n", "\n", "5,5,5\n", "4,4"])
    parsed = parser.parse(lines, first_line=7)
    assert [r.A for r in parsed.batch] == [1, 2, 4]
    assert parsed.lines == [7, 8, 12]
    assert [str(e) for e in parsed.errors] == ["c.csv:9: 1 columns, header has 2",
                                               "c.csv:11: 3 columns, header has 2"]


def test_plain_chunk_lines_keep_their_inner_line_breaks():
    parsed = CsvParser("uint8 A,string S").parse(["1,a\nb\n", "2,c\r\n", "3\r,d\n"])
    assert parsed.errors == [] and parsed.lines == [2, 3, 4]
    assert [(r.A, r.S) for r in parsed.batch] == [(1, "a\nb"), (2, "c"), (3, "d")]


def test_plain_chunk_keeps_receive_times_as_ints():
    parser = CsvParser("time,uint8 A")
    parsed = parser.parse([f"{GOOD_TIME},1\n", f"{GOOD_TIME},2\n"])
    assert parsed.times == [parse_value(Template.parse("time X").types[0], GOOD_TIME)] * 2
    assert all(type(t) is int for t in parsed.times)


def test_rendering_with_percent_signs_in_delimiter_and_prefix():
    record = Record("uint8 A,char C,double D,time T,ipaddr I,macaddr M,string S,uint16* L",
                    A=7, C="%", D=1.5, T=GOOD_TIME, I="10.0.0.1", M="0:1:2:3:4:5", S="%d%%",
                    L=[1, 2])
    batch = RecordBatch.from_records([record, record])
    formatter = CsvFormatter(batch.template, delimiter="%s")
    line = "%s".join(format_value(t, raw) for t, raw in zip(batch.template.types,
                                                            record.raw_values, strict=True))
    assert formatter.format_batch(batch) == (line + "\n") * 2
    assert formatter.format_batch(batch, prefix="%d") == ("%d%s" + line + "\n") * 2
