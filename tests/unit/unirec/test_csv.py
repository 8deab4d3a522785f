"""CSV text: logger rendering (ref §5), logreplay parsing (§6), the §7 example, error reporting."""

from __future__ import annotations

import ipaddress

import pytest

from unirec import (
    CsvError,
    CsvFormatter,
    CsvParser,
    MacAddr,
    Record,
    RecordBatch,
    Template,
    TemplateError,
    UrTime,
    read_csv,
)
from unirec.text_values import MAX_TEXT_BYTES, format_value, parse_value

UPSTREAM_TEMPLATE = Template.parse("ipaddr SRC_IP,ipaddr DST_IP,uint8 PROTOCOL,uint32 PACKETS,"
                                   "uint64 BYTES,string URL,bytes MESSAGE")
UPSTREAM_HEADER = ("ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint32 PACKETS,uint8 PROTOCOL,"
                   "bytes MESSAGE,string URL")

EXAMPLE = """\
ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS,bytes DNS_RDATA,string HTTP_REQUEST_HOST,uint16* PPI_PKT_LENGTHS
198.51.100.7,192.0.2.10,1460,2024-03-01T10:15:02.125000,2024-03-01T10:15:03.500250,8,80,51514,6,27,,"example.org",[60|60|52|1288]
2001:db8::53,2001:db8:ff::2,96,2024-03-01T10:15:04.000000,2024-03-01T10:15:04.000000,1,53,40000,17,0,c000020a,"",[96]
203.0.113.5,192.0.2.10,180,2024-03-01T10:15:05.999999,2024-03-01T10:15:06.000001,3,443,40001,6,2,,"bad""host,name",[60|60|60]
"""  # noqa: E501


def _render(batch: RecordBatch, **header) -> str:
    formatter = CsvFormatter(batch.template)
    return formatter.header(**header) + "\n" + formatter.format_batch(batch)


def _one(template: str, **values) -> str:
    """The single rendered line of one record."""
    batch = RecordBatch.from_records([Record(template, **values)])
    return CsvFormatter(batch.template).format_batch(batch)


# --- rendering: upstream vectors ------------------------------------------------------------------

def test_upstream_header_and_row():
    record = Record(UPSTREAM_TEMPLATE, SRC_IP="10.0.0.1", DST_IP="10.0.0.2", PROTOCOL=6,
                    PACKETS=6, BYTES=6, URL="www.example.com",
                    MESSAGE=bytes.fromhex("3000010209a100"))
    text = _render(RecordBatch.from_records([record]))
    assert text == (UPSTREAM_HEADER + "\n"
                    + '10.0.0.2,10.0.0.1,6,6,6,3000010209a100,"www.example.com"\n')


def test_upstream_quote_doubling():
    line = _one(UPSTREAM_TEMPLATE.spec, URL='www."example".com')
    assert line.endswith(',"www.""example"".com"\n')


def test_upstream_trivial_pair():
    text = "uint8 TEST,uint8 TEST2\n" + "".join(f"{i},{i}\n" for i in range(1, 7))
    parsed = read_csv(text)
    assert parsed.errors == [] and len(parsed.batch) == 6
    assert [(r.TEST, r.TEST2) for r in parsed.batch] == [(i, i) for i in range(1, 7)]
    assert _render(parsed.batch) == text


# --- rendering rules ------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "value", "text"), [
    ("int8 X", -128, "-128"),
    ("uint64 X", 2**64 - 1, "18446744073709551615"),
    ("char X", "A", "A"),
    ("float X", 1.5, "1.500000"),
    ("float X", 0.0, "0.000000"),
    ("double X", -1.25, "-1.250000"),
    ("double X", 1e-7, "0.000000"),
    ("double X", 2.0 / 3, "0.666667"),
    ("ipaddr X", "10.0.0.1", "10.0.0.1"),
    ("ipaddr X", "fd7c:e770:9b8a:0:0:0:0:465", "fd7c:e770:9b8a::465"),
    ("ipaddr X", "::", "::"),
    ("ipaddr X", "2001:DB8::A", "2001:db8::a"),
    ("macaddr X", "AA:BB:CC:D:E:F", "aa:bb:cc:0d:0e:0f"),
    ("time X", "2024-03-01T10:15:02.1234569", "2024-03-01T10:15:02.123456"),
    ("time X", 0, "1970-01-01T00:00:00.000000"),
    ("string X", "", '""'),
    ("string X", "plain", '"plain"'),
    ("string X", "line\nbreak", '"line break"'),
    ("string X", "tab\there\x7f\x00", '"tabhere"'),
    ("string X", "žluť", '"lu"'),
    ("bytes X", b"", ""),
    ("bytes X", b"\x00\xab\xff", "00abff"),
    ("uint16* X", [], "[]"),
    ("uint16* X", [60, 1500], "[60|1500]"),
    ("float* X", [0.5, 2], "[0.500000|2.000000]"),
    ("ipaddr* X", ["10.0.0.1", "::1"], "[10.0.0.1|::1]"),
    ("macaddr* X", ["1:2:3:4:5:6"], "[01:02:03:04:05:06]"),
    ("time* X", [1_000_000], "[1970-01-01T00:00:00.001000]"),
    ("int8* X", [-1, 0], "[-1|0]"),
])
def test_value_rendering(spec, value, text):
    assert _one(spec, X=value) == text + "\n"


def test_delimiter():
    batch = RecordBatch.from_records([Record("uint8 A,uint8 B,string S", A=1, B=2, S="x;y")])
    formatter = CsvFormatter(batch.template, delimiter=";")
    assert formatter.header() == "uint8 A;uint8 B;string S"
    assert formatter.format_batch(batch) == '1;2;"x;y"\n'


def test_empty_batch_renders_nothing():
    assert CsvFormatter("uint8 A").format_batch(RecordBatch.empty("uint8 A")) == ""


def test_formatting_a_batch_of_another_template_is_an_error():
    with pytest.raises(TemplateError, match="not the formatter's"):
        CsvFormatter("uint8 A").format_batch(RecordBatch.from_rows("uint8 B", [(1,)]))


# --- the §7 example -------------------------------------------------------------------------------

def test_reference_example_parses():
    parsed = read_csv(EXAMPLE, "example.csv")
    assert parsed.errors == [] and parsed.times is None
    assert parsed.lines == [2, 3, 4]
    first, second, third = parsed.batch.records()
    assert first.TCP_FLAGS == 27 and first.DNS_RDATA == b""
    assert first.HTTP_REQUEST_HOST == "example.org"
    assert first.PPI_PKT_LENGTHS == [60, 60, 52, 1288]
    assert UrTime.parse("2024-03-01T10:15:03.500250") == first.TIME_LAST
    assert ipaddress.IPv6Address("2001:db8::53") == second.DST_IP
    assert bytes.fromhex("c000020a") == second.DNS_RDATA and second.HTTP_REQUEST_HOST == ""
    assert third.HTTP_REQUEST_HOST == 'bad"host,name'
    assert third.TIME_FIRST.usec % 10**6 == 999999


def test_reference_example_re_renders_identically():
    assert _render(read_csv(EXAMPLE).batch) == EXAMPLE


def test_receive_time_column():
    batch = read_csv(EXAMPLE).batch
    formatter = CsvFormatter(batch.template)
    header = formatter.header(time_column=True)
    assert header.startswith("time,ipaddr DST_IP,ipaddr SRC_IP,")
    stamp = CsvFormatter.receive_time(UrTime.parse("2024-03-01T10:20:00.999"))
    assert stamp == "2024-03-01T10:20:00"
    body = formatter.format_batch(batch, prefix=stamp)
    assert body.splitlines()[0].startswith("2024-03-01T10:20:00,198.51.100.7,")
    parsed = read_csv(header + "\n" + body)
    assert parsed.errors == []
    assert parsed.times == [UrTime.parse("2024-03-01T10:20:00")] * 3
    assert parsed.batch == batch
    assert CsvFormatter(batch.template, ";").header(time_column=True).startswith("time;ipaddr")


def test_time_column_errors_name_column_1():
    parsed = read_csv("time,uint8 A\n2024-03-01T10:20:00,1\nyesterday,2\n2024-03-01T10:20:01,3\n")
    assert [r.A for r in parsed.batch] == [1, 3]
    assert parsed.times == [UrTime.parse("2024-03-01T10:20:00"),
                            UrTime.parse("2024-03-01T10:20:01")]
    assert len(parsed.errors) == 1
    assert parsed.errors[0].line == 3 and ":3: column 1 (time)" in str(parsed.errors[0])


# --- parsing rules --------------------------------------------------------------------------------

def test_columns_follow_header_order():
    parsed = read_csv("uint8 B, ipaddr A ,string C\n5,1.2.3.4,x\n")
    record = parsed.batch[0]
    assert (ipaddress.IPv4Address("1.2.3.4"), 5, "x") == (record.A, record.B, record.C)
    assert parsed.batch.template.spec == "ipaddr A,uint8 B,string C"


def test_header_may_use_known_names_and_canonical_output():
    parsed = read_csv("SRC_PORT,SRC_IP\n80,10.0.0.1\n")
    assert _render(parsed.batch) == "ipaddr SRC_IP,uint16 SRC_PORT\n10.0.0.1,80\n"


def test_crlf_and_blank_lines():
    parsed = read_csv("uint8 A,string S\r\n1,\"a\"\r\n\r\n2,b\r\n")
    assert parsed.errors == []
    assert [(r.A, r.S) for r in parsed.batch] == [(1, "a"), (2, "b")]
    assert parsed.lines == [2, 4]


@pytest.mark.parametrize(("spec", "text", "raw"), [
    ("int32 X", "-5", -5),
    ("int32 X", "+5", 5),
    ("char X", "xyz", ord("x")),
    ("char X", "", 0),
    ("float X", "0.1", float.fromhex("0x1.99999ap-4")),
    ("double X", "0.1", 0.1),
    ("double X", "-1e3", -1000.0),
    ("ipaddr X", "2001:db8::1", bytes.fromhex("20010db8000000000000000000000001")),
    ("macaddr X", "0:1:11:A:AA:FF", bytes.fromhex("0001110aaaff")),
    ("time X", "2018-06-27T16:52:54Z", 1530118374 * 10**9),
    ("time X", "2018-06-27T16:52:54.222222222000", 1530118374 * 10**9 + 222222222),
    ("string X", 'raw "text"', 'raw "text"'),
    ("bytes X", "", b""),
    ("bytes X", "DEADbeef", bytes.fromhex("deadbeef")),
    ("uint8* X", "[]", []),
    ("uint8* X", "[1|2|3]", [1, 2, 3]),
    ("uint8* X", "1|2", [1, 2]),
    ("float* X", "[0.1]", [float.fromhex("0x1.99999ap-4")]),
    ("time* X", "[1970-01-01T00:00:01|1970-01-01T00:00:02.5]", [10**9, 25 * 10**8]),
    ("ipaddr* X", "[10.0.0.1|::]", [bytes(8) + bytes([10, 0, 0, 1]) + b"\xff" * 4, bytes(16)]),
])
def test_value_parsing(spec, text, raw):
    ftype = Template.parse(spec).types[0]
    assert parse_value(ftype, text) == raw


@pytest.mark.parametrize(("spec", "text"), [
    ("uint16 X", "70000"), ("uint16 X", "-1"), ("uint16 X", ""), ("uint16 X", "1.5"),
    ("int8 X", "x"), ("char X", "€"), ("float X", "x"), ("float X", "1e39"),
    ("ipaddr X", "1.2.3"), ("ipaddr X", "10.0.0.1/8"), ("macaddr X", "00:11:22:33:44"),
    ("time X", "1.1.2018 16:52:54"), ("time X", "9999-01-01T00:00:00"),
    ("time X", "1960-01-01T00:00:00"), ("bytes X", "abc"), ("bytes X", "zz"),
    ("bytes X", "0a 0b"), ("bytes X", "0a\t\t0b"), ("uint8* X", "[1|256]"),
    ("uint8* X", "[1||2]"), ("uint8* X", "[1|2"), ("time* X", "[0]"),
])
def test_value_parsing_errors(spec, text):
    ftype = Template.parse(spec).types[0]
    with pytest.raises(ValueError):
        parse_value(ftype, text)


def test_long_text_is_truncated_at_16384_bytes():
    ftype = Template.parse("string X").types[0]
    assert parse_value(ftype, "x" * 20000) == "x" * MAX_TEXT_BYTES
    assert len(parse_value(ftype, "é" * 9000).encode()) <= MAX_TEXT_BYTES
    btype = Template.parse("bytes X").types[0]
    assert parse_value(btype, "ab" * 20000) == b"\xab" * MAX_TEXT_BYTES


def test_format_and_parse_value_agree():
    for spec, value in [("time X", 1530118374123456000), ("macaddr X", bytes(range(6))),
                        ("uint64* X", [0, 2**64 - 1]), ("double X", 0.5)]:
        ftype = Template.parse(spec).types[0]
        assert parse_value(ftype, format_value(ftype, value)) == value


def test_line_separators_inside_values_do_not_split_lines():
    parsed = read_csv('string S,uint8 A\n"a\u2028b\x0cc\x1cd",1\n')
    assert parsed.errors == []
    assert parsed.batch[0].S == "a\u2028b\x0cc\x1cd"


def test_single_bytes_column_with_empty_values_is_not_lost():
    batch = RecordBatch.from_records([Record("bytes B", B=b""), Record("bytes B", B=b"\x01"),
                                      Record("bytes B", B=b"")])
    parsed = read_csv(_render(batch))
    assert parsed.errors == [] and parsed.batch == batch


def test_single_char_column_with_a_space():
    batch = RecordBatch.from_records([Record("char C", C=" ")])
    assert read_csv(_render(batch)).batch == batch


# --- errors: line, column, field; good lines still come through ------------------------------

MIXED = """\
ipaddr SRC_IP,uint16 SRC_PORT,string NOTE
10.0.0.1,1,"ok one"
1.2.3,2,"bad address"
10.0.0.3,70000,"bad port"
10.0.0.4,4
10.0.0.5,5,"unterminated
10.0.0.6,6,"quote"x
10.0.0.7,7,"ok two"
10.0.0.8,8,"x",extra
10.0.0.9,9,ok three
"""


def test_good_lines_around_bad_lines_come_through():
    parsed = read_csv(MIXED, "mixed.csv")
    assert [r.SRC_PORT for r in parsed.batch] == [1, 7, 9]
    assert [r.NOTE for r in parsed.batch] == ["ok one", "ok two", "ok three"]
    assert parsed.lines == [2, 8, 10]
    assert [e.line for e in parsed.errors] == [3, 4, 5, 6, 7, 9]
    assert all(isinstance(e, CsvError) for e in parsed.errors)


def test_error_messages_name_line_column_and_field():
    messages = {e.line: str(e) for e in read_csv(MIXED, "mixed.csv").errors}
    assert messages[3].startswith("mixed.csv:3: column 1 (ipaddr SRC_IP):")
    assert "1.2.3" in messages[3]
    assert messages[4].startswith("mixed.csv:4: column 2 (uint16 SRC_PORT):")
    assert "70000" in messages[4]
    assert messages[5] == "mixed.csv:5: 2 columns, header has 3"
    assert messages[6].startswith("mixed.csv:6: bad quoting")
    assert messages[7].startswith("mixed.csv:7: bad quoting")
    assert messages[9] == "mixed.csv:9: 4 columns, header has 3"


def test_one_error_per_line_and_errors_in_line_order():
    parsed = read_csv("uint8 A,uint8 B\nx,y\n1,2\n300,z\n")
    assert [e.line for e in parsed.errors] == [2, 4]
    assert "column 1 (uint8 A)" in str(parsed.errors[0])
    assert [r.A for r in parsed.batch] == [1]


def test_all_lines_bad():
    parsed = read_csv("uint8 A\nx\n-1\n")
    assert len(parsed.batch) == 0 and len(parsed.errors) == 2


def test_whitespace_only_line_is_reported_not_dropped():
    parsed = read_csv("uint8 A\n1\n   \n2\n")
    assert [r.A for r in parsed.batch] == [1, 2]
    assert [e.line for e in parsed.errors] == [3]


@pytest.mark.parametrize(("header", "column"), [
    ("uint8 A,uint33 B", 2),
    ("uint8 A,B C D", 2),
    ("uint8 A,", 2),
    ("uint8 FOO_T", 1),
    ("<BASIC_FLOW>", 1),
    ("", 1),
    ("time,uint8 A,time", 3),
    ("uint8 A,NO_SUCH_FIELD_IN_HEADER", 2),
])
def test_broken_header_names_line_1_and_the_column(header, column):
    with pytest.raises(CsvError) as info:
        read_csv(header + "\n1\n", "h.csv")
    assert info.value.line == 1
    assert str(info.value).startswith(f"h.csv:1: bad header, column {column}")


def test_header_with_a_field_twice():
    with pytest.raises(CsvError, match=r"h\.csv:1: bad header: field A appears twice"):
        read_csv("uint8 A,uint8 A\n1,1\n", "h.csv")


def test_header_only_document_has_no_records():
    parsed = read_csv("uint8 A,string S\n")
    assert parsed.errors == [] and len(parsed.batch) == 0 and parsed.lines == []
    assert parsed.batch.template.spec == "uint8 A,string S"
    timed = read_csv("time,uint8 A")
    assert timed.times == [] and len(timed.batch) == 0


def test_empty_document():
    with pytest.raises(CsvError, match="empty file"):
        read_csv("", "e.csv")


def test_parser_on_lines_with_own_numbering():
    parser = CsvParser("uint8 A,macaddr M", "feed")
    parsed = parser.parse(["1,0:1:2:3:4:5\n", "2,bad\n"], first_line=10)
    assert parsed.lines == [10]
    assert MacAddr("00:01:02:03:04:05") == parsed.batch[0].M
    assert str(parsed.errors[0]).startswith("feed:11: column 2 (macaddr M):")
