"""The brute-force whitelist, its PrefixSet and the service table."""

from __future__ import annotations

import numpy as np
import pytest

from modules.detectors.bruteforce_services import BUILTIN, Window, parse_service
from modules.detectors.bruteforce_whitelist import Whitelist, parse_ports, parse_rule
from modules.detectors.inprocess import flow_batch
from modules.detectors.prefix_set import PrefixSet
from unirec.ipaddr import raw_from_text


def column(*addresses):
    return np.frombuffer(b"".join(raw_from_text(a) for a in addresses), dtype="V16")


def test_prefix_set_matches_a_column():
    nets = PrefixSet(["10.0.0.0/8", "10.1.0.0/16", "192.168.1.5", "2001:db8::/32", "0.0.0.0"])
    addresses = ["10.2.3.4", "11.0.0.1", "192.168.1.5", "192.168.1.6", "2001:db8::1",
                 "2001:db9::", "0.0.0.0", "::", "9.255.255.255", "10.255.255.255"]
    assert dict(zip(addresses, nets.contains(column(*addresses)).tolist(), strict=True)) == {
        "10.2.3.4": True, "11.0.0.1": False, "192.168.1.5": True, "192.168.1.6": False,
        "2001:db8::1": True, "2001:db9::": False, "0.0.0.0": True, "::": False,
        "9.255.255.255": False, "10.255.255.255": True}
    assert "10.9.9.9" in nets and "::1" not in nets
    assert len(nets) == 5 and PrefixSet().contains(column("1.1.1.1")).tolist() == [False]


def test_prefix_set_of_many_networks():
    nets = PrefixSet(f"10.{i // 256}.{i % 256}.0/24" for i in range(0, 4096, 2))
    probe = column("10.0.0.7", "10.0.1.7", "10.15.254.1", "10.15.255.1", "10.16.0.1")
    assert nets.contains(probe).tolist() == [True, False, True, False, False]


def test_rules_follow_nemeas_format():
    assert parse_rule("src 1.2.3.4/32") == (("src",), "1.2.3.4/32", ())
    assert parse_rule("dst 192.30.252.128/30/22") == (("dst",), "192.30.252.128/30", ((22, 22),))
    assert parse_rule("3.1.1.1/13/80,53,100-200") == (("src", "dst"), "3.1.1.1/13",
                                                      ((53, 53), (80, 80), (100, 200)))
    assert parse_rule("2.1.1.1/22/10,")[2] == ((10, 10),)
    assert parse_rule("2001:db8::1") == (("src", "dst"), "2001:db8::1", ())
    assert parse_ports("1-3, 7") == ((1, 3), (7, 7))
    for bad in ("src", "1.2.3", "1.2.3.4/33", "1.2.3.4/32/x", "1.2.3.4/32/9-1", "a b c"):
        with pytest.raises(ValueError):
            parse_rule(bad)


def test_whitelist_matches_direction_address_and_port(tmp_path):
    path = tmp_path / "w.wl"
    path.write_text("# comment\n\ndst 10.0.0.0/24/22   # ssh servers\nsrc 172.16.0.1\n"
                    "192.168.0.0/16/2000-2100\n")
    listing = Whitelist.load(path)
    assert listing.rules == 3
    flows = flow_batch([
        dict(SRC_IP="1.1.1.1", DST_IP="10.0.0.9", SRC_PORT=5000, DST_PORT=22),   # dst rule
        dict(SRC_IP="1.1.1.1", DST_IP="10.0.0.9", SRC_PORT=5000, DST_PORT=23),   # other port
        dict(SRC_IP="10.0.0.9", DST_IP="1.1.1.1", SRC_PORT=22, DST_PORT=5000),   # dst rule only
        dict(SRC_IP="172.16.0.1", DST_IP="1.1.1.1", SRC_PORT=1, DST_PORT=2),     # src rule
        dict(SRC_IP="1.1.1.1", DST_IP="172.16.0.1", SRC_PORT=1, DST_PORT=2),
        dict(SRC_IP="192.168.3.3", DST_IP="1.1.1.1", SRC_PORT=2050, DST_PORT=2),  # both ways
        dict(SRC_IP="1.1.1.1", DST_IP="192.168.3.3", SRC_PORT=1, DST_PORT=2050),
        dict(SRC_IP="1.1.1.1", DST_IP="192.168.3.3", SRC_PORT=1, DST_PORT=2200),
    ])
    assert listing.mask(flows).tolist() == [True, False, False, True, False, True, True, False]


def test_bad_whitelist_names_file_and_line(tmp_path):
    path = tmp_path / "w.wl"
    path.write_text("10.0.0.0/8\n\nsrc 10.0.0.1/40\n")
    with pytest.raises(ValueError, match=r"w.wl:3: "):
        Whitelist.load(path)


def test_services():
    assert BUILTIN["ssh"].inc == Window(11, 30, 1000, 5000)
    assert BUILTIN["telnet"].out is None
    assert parse_service("SSH:2222") == BUILTIN["ssh"].__class__(
        "ssh", 2222, BUILTIN["ssh"].inc, BUILTIN["ssh"].out)
    pop = parse_service("pop3:110:5-20:100-900:5-30:100-2000")
    assert (pop.port, pop.inc, pop.out) == (110, Window(5, 20, 100, 900), Window(5, 30, 100, 2000))
    window = Window(5, 10, 100, 200)
    assert window.matches(np.array([4, 5, 10, 11]), np.array([150] * 4)).tolist() == [
        False, True, True, False]
