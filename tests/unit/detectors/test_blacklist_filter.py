"""ipblacklistfilter: detector-file format, prefix matching, ports, list names, reloading."""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from modules.detectors.blacklist_files import (
    list_names,
    parse_line,
    read_detector_file,
    read_filter_config,
    read_list_names,
)
from modules.detectors.blacklist_filter import BlacklistFilter, BlacklistParams
from modules.detectors.blacklist_match import BlacklistTable
from modules.detectors.inprocess import feed, run, start
from unirec import RecordBatch
from unirec.ipaddr import raw_from_text

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
TEMPLATE = ("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
            "uint32 PACKETS,uint64 BYTES,time TIME_FIRST,time TIME_LAST,string HTTP_HOST")
LISTS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <struct name="blacklist_array">
    <array type="IP">
      <struct><element name="id">1</element><element name="name">Feodo Tracker</element>
        <element name="category">Intrusion.Botnet</element></struct>
      <struct><element name="id">4</element><element name="name">Spamhaus DROP</element>
        <element name="category">Abusive.Spam</element></struct>
    </array>
    <array type="URL/DNS">
      <struct><element name="id">1</element><element name="name">PhishTank</element></struct>
    </array>
  </struct>
</configuration>
"""


def column(*texts: str) -> np.ndarray:
    return np.frombuffer(b"".join(raw_from_text(t) for t in texts), dtype="V16")


def flows(pairs, sport=40000, dport=443):
    n = len(pairs)
    return RecordBatch.from_columns(TEMPLATE, n, {
        "SRC_IP": column(*[p[0] for p in pairs]), "DST_IP": column(*[p[1] for p in pairs]),
        "SRC_PORT": np.broadcast_to(np.asarray(sport, np.uint16), (n,)).copy(),
        "DST_PORT": np.broadcast_to(np.asarray(dport, np.uint16), (n,)).copy(),
        "PROTOCOL": np.full(n, 6, np.uint8), "PACKETS": np.full(n, 3, np.uint32),
        "BYTES": np.full(n, 300, np.uint64), "TIME_FIRST": np.full(n, T0, np.int64),
        "TIME_LAST": np.full(n, T0 + NS, np.int64), "HTTP_HOST": [f"h{i}" for i in range(n)]})


def test_detector_file_lines():
    entry = parse_line("198.51.100.7,9;1:80,8080,443;4:80")
    assert entry.network == ipaddress.ip_network("198.51.100.7/32") and entry.bitmap == 9
    assert entry.ports == {1: frozenset({80, 8080, 443}), 4: frozenset({80})}
    assert entry.restricted_bits() == 9
    assert parse_line("192.0.2.0/24,8").network.num_addresses == 256
    six = parse_line("2401:c580:0000:0000:0000:0000:0000:0000/32,256")
    assert six.network == ipaddress.ip_network("2401:c580::/32") and six.bitmap == 256
    for bad in ("192.0.2.1", "192.0.2.300,1", "192.0.2.1,x", "192.0.2.1,0", "192.0.2.1,1;1",
                "192.0.2.1,1;x:80", "192.0.2.1,1;1:99999"):
        with pytest.raises(ValueError):
            parse_line(bad)


def test_detector_file_skips_comments_and_bad_lines(tmp_path, caplog):
    path = tmp_path / "ip4.blist"
    path.write_text("# generated\n\n1.10.16.0/20,8\nnot-an-address,1\n 1.22.124.243 , 256\n")
    with caplog.at_level(logging.WARNING, logger="ipblacklistfilter"):
        entries = read_detector_file(str(path))
    assert [str(e.network) for e in entries] == ["1.10.16.0/20", "1.22.124.243/32"]
    assert "ip4.blist:4" in caplog.text


def test_table_lookup_prefixes_nesting_and_families():
    table = BlacklistTable(parse_line(line) for line in (
        "10.0.0.0/8,1", "10.1.0.0/16,2", "10.1.2.3,4", "2001:db8::/32,8",
        "255.255.255.255,16", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,32"))
    addrs = column("10.1.2.3", "10.1.9.9", "10.200.0.1", "11.0.0.1", "9.255.255.255",
                   "2001:db8:1::1", "2001:db9::1", "255.255.255.255",
                   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::")
    bits = table.lookup(addrs, np.zeros(len(addrs), np.uint16)).tolist()
    assert bits == [7, 3, 1, 0, 0, 8, 0, 16, 32, 0]


def test_table_ports_restrict_only_their_lists():
    table = BlacklistTable([parse_line("198.51.100.7,9;1:80,8080,443;4:80")])
    addrs = column("198.51.100.7", "198.51.100.7", "198.51.100.7")
    assert table.lookup(addrs, np.array([80, 443, 22], np.uint16)).tolist() == [9, 1, 0]
    mixed = BlacklistTable([parse_line("198.51.100.0/24,2"),
                            parse_line("198.51.100.7,3;1:443")])
    assert mixed.lookup(addrs, np.array([80, 443, 22], np.uint16)).tolist() == [2, 3, 2]


def test_list_names_from_the_downloader_config(tmp_path):
    path = tmp_path / "bl_downloader_config.xml"
    path.write_text(LISTS_XML)
    lists = read_list_names(str(path))
    assert sorted(lists) == [1, 4] and lists[1].category == "Intrusion.Botnet"
    assert list_names(9, lists) == "Feodo Tracker, Spamhaus DROP"
    assert list_names(2, lists) == "blacklist 2"
    (tmp_path / "bad.xml").write_text("<configuration><array type='IP'><struct>"
                                      "<element name='id'>99</element></struct></array>"
                                      "</configuration>")
    with pytest.raises(ValueError, match=r"not 1\.\.64"):
        read_list_names(str(tmp_path / "bad.xml"))


def make_filter(tmp_path, text="203.0.113.0/24,1\n198.51.100.7,8\n", **params):
    blist = tmp_path / "ip4.blist"
    blist.write_text(text)
    names = tmp_path / "lists.xml"
    names.write_text(LISTS_XML)
    p = BlacklistParams(ipv4=str(blist), lists=str(names), **params)
    p.validate()
    return BlacklistFilter(p), blist


def records(port):
    return [{f.name: r[f.name] for f in r.template.fields} for r in port.records()]


def test_filter_marks_listed_flows_and_keeps_the_input_fields(tmp_path):
    module, _ = make_filter(tmp_path)
    batch = flows([("203.0.113.9", "10.0.0.1"), ("10.0.0.1", "198.51.100.7"),
                   ("10.0.0.1", "10.0.0.2"), ("203.0.113.9", "198.51.100.7")])
    out = records(run(module, [batch])[0])
    assert [(str(r["SRC_IP"]), r["SRC_BLACKLIST"], r["DST_BLACKLIST"], r["BLACKLIST_NAMES"])
            for r in out] == [("203.0.113.9", 1, 0, "Feodo Tracker"),
                              ("10.0.0.1", 0, 8, "Spamhaus DROP"),
                              ("203.0.113.9", 1, 0, "Feodo Tracker")]   # one side only
    assert [r["HTTP_HOST"] for r in out] == ["h0", "h1", "h3"]


def test_filter_leaves_out_dns_unless_asked(tmp_path):
    dns = flows([("203.0.113.9", "10.0.0.1")], sport=53, dport=33000)
    module, _ = make_filter(tmp_path)
    assert records(run(module, [dns])[0]) == []
    module, _ = make_filter(tmp_path, keep_dns=True)
    assert len(records(run(module, [dns])[0])) == 1


def test_filter_reloads_a_changed_file_and_keeps_the_old_lists_on_failure(tmp_path):
    module, blist = make_filter(tmp_path)
    ports = start(module)
    listed = flows([("10.0.0.1", "192.0.2.77")])
    feed(module, listed)
    assert records(ports[0]) == []
    assert module.check_reload() is False                    # nothing changed
    blist.write_text("192.0.2.0/24,1\n")
    os.utime(blist, ns=(T0, T0))                             # a different mtime for sure
    assert module.check_reload() is True and module.reloads == 1
    feed(module, listed)
    assert [r["DST_BLACKLIST"] for r in records(ports[0])] == [1]
    blist.unlink()
    assert module.check_reload() is False                    # unreadable: old lists stay
    feed(module, listed)
    assert len(records(ports[0])) == 2
    module.on_tick(0.0)                                      # the runtime's periodic check


def test_filter_without_watching_never_reloads(tmp_path):
    module, blist = make_filter(tmp_path, no_watch=True)
    start(module)
    blist.write_text("192.0.2.0/24,1\n")
    os.utime(blist, ns=(T0, T0))
    assert module.check_reload() is False


def test_filter_configuration(tmp_path):
    blist = tmp_path / "ip4.blist"
    blist.write_text("192.0.2.1,1\n")
    six = tmp_path / "ip6.blist"
    six.write_text("2001:db8::/32,2\n")
    config = tmp_path / "ipdetect_config.xml"
    config.write_text(f"""<configuration><struct name="main struct">
        <element name="ipv4_blacklist_file">{blist}</element>
        <element name="ipv6_blacklist_file">{six}</element>
        <element name="watch_blacklists">false</element></struct></configuration>""")
    assert read_filter_config(str(config))["watch_blacklists"] == "false"
    params = BlacklistParams(config=str(config))
    params.validate()
    assert (params.ipv4, params.ipv6, params.no_watch) == (str(blist), str(six), True)
    module = BlacklistFilter(params)
    out = records(run(module, [flows([("10.0.0.1", "192.0.2.1"),
                                      ("2001:db8::5", "2001:dead::1")])])[0])
    assert [(r["SRC_BLACKLIST"], r["DST_BLACKLIST"]) for r in out] == [(0, 1), (2, 0)]
    with pytest.raises(ValueError, match="-4"):
        BlacklistParams().validate()
    with pytest.raises(ValueError, match="no such file"):
        BlacklistParams(ipv4=str(tmp_path / "missing")).validate()
    config.write_text("<configuration><element name='typo'>x</element></configuration>")
    with pytest.raises(ValueError, match="unknown element 'typo'"):
        BlacklistParams(config=str(config)).validate()


def test_sample_files():
    samples = Path(__file__).resolve().parents[3] / "configs" / "detectors"
    assert read_filter_config(str(samples / "ipdetect_config.xml"))["watch_blacklists"] == "true"
    lists = read_list_names(str(samples / "bl_downloader_config.xml"))
    assert list_names(9, lists) == "Feodo Tracker, Spamhaus DROP"
    entries = read_detector_file(str(samples / "ip4.blist"))
    assert [e.bitmap for e in entries] == [8, 9, 1]
