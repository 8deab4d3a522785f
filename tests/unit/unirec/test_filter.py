"""unirecfilter language: NEMEA's acceptance cases with exact counts, and compile errors."""

import itertools

import pytest

from unirec import Record, RecordBatch
from unirec.filter import FilterError, compile_filter

TEMPLATE = "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint64 BYTES"


def batch_of(**columns_per_record) -> RecordBatch:
    names = list(columns_per_record)
    rows = zip(*columns_per_record.values(), strict=True)
    return RecordBatch.from_records(
        [Record(TEMPLATE, dict(zip(names, row, strict=True))) for row in rows], TEMPLATE)


def pairs(false_set, true_set):
    """F x T, T x F, T x T, F x F (the upstream test's block order)."""
    blocks = [(false_set, true_set), (true_set, false_set), (true_set, true_set),
              (false_set, false_set)]
    return [pair for a, b in blocks for pair in itertools.product(a, b)]


def selected(text, batch):
    return compile_filter(text, TEMPLATE).select(batch)


def test_src_ip_prefix():
    ips = ["10.0.0.1", "172.0.0.1", "192.99.0.1",
           "192.168.0.0", "192.168.0.1", "192.168.0.255", "192.168.255.255"]
    out = selected("SRC_IP == 192.168.0.0/16", batch_of(SRC_IP=ips))
    assert [str(r.SRC_IP) for r in out] == ips[3:]


def test_src_ip_in_mixed_prefixes():
    ips = ["172.0.0.1", "192.99.0.1", "1001:ffff::abcd", "10.0.0.1", "192.168.0.0",
           "192.168.0.1", "192.168.0.255", "192.168.255.255", "fe80:12:0:34::56"]
    text = "SRC_IP in [192.168.0.0/16, 10.0.0.0/24, fe80::/8, fd00:ff00::/16]"
    assert [str(r.SRC_IP) for r in selected(text, batch_of(SRC_IP=ips))] == ips[3:]


def test_host_in_array_keeps_all_but_false_pairs():
    false = ["0.0.0.0", "172.0.0.1", "172.16.0.2", "192.99.0.1", "fe80:1234::1", "2001:4321::10"]
    true = ["10.0.0.1", "192.168.0.0", "192.168.0.1", "192.168.0.255", "192.168.255.255",
            "2001:1234:dead:beef:cafe::1"]
    pair_list = pairs(false, true)
    batch = batch_of(SRC_IP=[p[0] for p in pair_list], DST_IP=[p[1] for p in pair_list])
    out = selected("host in [192.168.0.0/16, 10.0.0.0/24, 2001:1234:dead:beef::/64]", batch)
    assert out.rows() == batch.take(range(108)).rows()


def test_host_prefix():
    false = ["0.0.0.0", "172.0.0.1", "172.16.0.2", "192.99.0.1", "fe80:1234::1", "10.0.0.1",
             "2001:1234:dead:beef:cafe::1", "2001:4321::10"]
    true = ["192.168.0.0", "192.168.0.1", "192.168.0.255", "192.168.255.255"]
    pair_list = pairs(false, true)
    batch = batch_of(SRC_IP=[p[0] for p in pair_list], DST_IP=[p[1] for p in pair_list])
    assert selected("host == 192.168.0.0/16", batch).rows() == batch.take(range(80)).rows()


@pytest.mark.parametrize(("text", "ports", "expected"), [
    ("SRC_PORT == 123", [1, 10, 1000, 1234, 10123, 123], [123]),
    ("SRC_PORT in [11, 22, 123, 50000]", [1, 10, 1000, 1234, 10123, 123, 8080, 50000],
     [123, 50000]),
])
def test_src_port(text, ports, expected):
    assert [r.SRC_PORT for r in selected(text, batch_of(SRC_PORT=ports))] == expected


@pytest.mark.parametrize(("text", "count"), [("port in [21, 22, 23, 80, 443]", 33),
                                              ("port == 80", 13)])
def test_port_pairs(text, count):
    pair_list = pairs([1, 10, 444, 65000], [22, 80, 443])
    batch = batch_of(SRC_PORT=[p[0] for p in pair_list], DST_PORT=[p[1] for p in pair_list])
    out = selected(text, batch)
    assert len(out) == count
    if text == "port == 80":
        assert all(80 in (r.SRC_PORT, r.DST_PORT) for r in out)


@pytest.mark.parametrize(("text", "count"), [
    ("true", 4), ("false", 0), ("SRC_IP in [192.168.0.0/24] and false", 0),
    ("SRC_IP in [192.168.0.0/24] or true", 4),
])
def test_constants(text, count):
    batch = batch_of(SRC_IP=["192.168.0.0", "192.168.0.1", "10.1.2.3", "192.168.255.255"])
    assert len(selected(text, batch)) == count


def test_left_to_right_precedence_and_not():
    batch = batch_of(SRC_PORT=[1, 2, 3], DST_PORT=[0, 0, 9])
    # (SRC_PORT == 1 or SRC_PORT == 2) and DST_PORT == 9 -> nothing (NEMEA's order)
    assert len(selected("SRC_PORT == 1 || SRC_PORT == 2 && DST_PORT == 9", batch)) == 0
    assert len(selected("!SRC_PORT == 1 && DST_PORT == 0", batch)) == 1


def test_unknown_field_is_false_and_warns():
    bound = compile_filter("NOPE == 1", TEMPLATE)
    assert bound.warnings and "NOPE" in bound.warnings[0]
    assert len(bound.select(batch_of(SRC_PORT=[1]))) == 0
    assert len(compile_filter("! NOPE == 1", TEMPLATE).select(batch_of(SRC_PORT=[1]))) == 1


def test_protocol_names_and_strings():
    template = "uint8 PROTOCOL,string NOTE"
    batch = RecordBatch.from_records([Record(template, PROTOCOL=p, NOTE=n) for p, n in
                                      [(6, "ssh login"), (17, "dns"), (1, "ping")]])
    assert len(compile_filter("PROTOCOL == TCP", template).select(batch)) == 1
    assert len(compile_filter('PROTOCOL == "udp"', template).select(batch)) == 1
    assert len(compile_filter('NOTE =~ "^(ssh|dns)"', template).select(batch)) == 2
    assert len(compile_filter('NOTE != "dns"', template).select(batch)) == 2


@pytest.mark.parametrize("text", [
    'SRC_IP == "10.0.0.1" and DST_PORT==80', "PROTOCOL == 6", "DST_PORT in [1, 2, 3]",
    "SRC_IP in [10.0.0.1, 10.0.0.0/8]", "BYTES > 50000 or DST_PORT == 53",
])
def test_compiles(text):
    compile_filter(text, TEMPLATE + ",uint8 PROTOCOL")


@pytest.mark.parametrize(("text", "column"), [
    ("", 1), ("SRC_PORT == ", 13), ("SRC_PORT in [127, 127.0.0.1]", 19),
    ("(SRC_PORT == 1", 15), ("SRC_PORT == 1 DST_PORT == 2", 15), ("SRC_PORT $ 1", 10),
    ("SRC_IP == 300.1.1.1", 11),
])
def test_syntax_errors_show_a_caret(text, column):
    with pytest.raises(FilterError) as info:
        compile_filter(text, TEMPLATE)
    message = str(info.value)
    assert f"column {column}" in message
    assert message.endswith(" " * (column - 1) + "^")


def test_malformed_datetime_is_an_error():
    with pytest.raises(FilterError):
        compile_filter("TIME_FIRST < 2018-13-45T10:00:00", "time TIME_FIRST")
