"""The written capture: time order, lengths, checksums, safe addresses, and a ground truth
that matches the packets (counted independently with dpkt)."""

from __future__ import annotations

import struct
from collections import Counter
from datetime import UTC, datetime
from ipaddress import ip_address, ip_network

import dpkt
import pytest

from modules.trafficgen.scenarios import SCENARIOS, generate

from .conftest import pcap_bytes, read_pcap

ALLOWED = [ip_network(n) for n in ("10.0.0.0/8", "192.0.2.0/24", "198.51.100.0/24",
                                   "203.0.113.0/24", "2001:db8::/32")]


def _ip_and_l4(frame: bytes):
    ip = dpkt.ethernet.Ethernet(frame).data
    return ip, ip.data


def _iso(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _checksum_ok(frame: bytes) -> bool:
    ip = dpkt.ethernet.Ethernet(frame).data
    raw = frame[14:]
    if isinstance(ip, dpkt.ip.IP):
        if dpkt.in_cksum(raw[:20]) != 0 or ip.len != len(raw):
            return False
        if ip.mf or ip.offset:
            return True
        l4 = raw[20:]
        pseudo = struct.pack(">4s4sxBH", ip.src, ip.dst, ip.p, len(l4))
    else:
        l4 = raw[40:]
        if ip.plen != len(l4):
            return False
        pseudo = ip.src + ip.dst + struct.pack(">I3xB", len(l4), ip.nxt)
    total = dpkt.in_cksum_add(dpkt.in_cksum_add(0, pseudo), l4)
    return dpkt.in_cksum_done(total) == 0


def test_packets_are_time_ordered_inside_the_window(small_mixed):
    capture, data = small_mixed
    times = [ts for ts, _ in read_pcap(data)]
    assert times == sorted(times)
    assert len(times) == capture.truth["packets"] == len(capture.packets)
    start = datetime.fromisoformat(capture.truth["start"]).timestamp()
    end = datetime.fromisoformat(capture.truth["end"]).timestamp()
    assert start <= times[0] and times[-1] < end


def test_lengths_checksums_and_addresses(small_mixed):
    _capture, data = small_mixed
    versions = Counter()
    for _ts, frame in read_pcap(data):
        assert _checksum_ok(frame)
        ip, _l4 = _ip_and_l4(frame)
        versions[ip.v] += 1
        for raw in (ip.src, ip.dst):
            address = ip_address(raw)
            assert any(address in net for net in ALLOWED if net.version == address.version), \
                address
    assert versions[6] > 0 and versions[4] > versions[6]


def _attack_of(truth: dict, frame: bytes) -> str:
    """Which attack a packet belongs to, judged from its addresses only."""
    ip, _l4 = _ip_and_l4(frame)
    ends = {str(ip_address(ip.src)), str(ip_address(ip.dst))}
    for attack in truth["attacks"]:
        attackers, victims = set(attack["attackers"]), set(attack["victims"])
        if attack["type"] == "syn_flood":
            spoofed = ip_network(attack["attackers"][0])
            if any(ip_address(end) in spoofed for end in ends if ":" not in end):
                return attack["id"]
        elif ends & attackers and ends & victims:
            return attack["id"]
    return ""


def test_truth_matches_the_packets(small_mixed):
    capture, data = small_mixed
    truth = capture.truth
    counts, first, last = Counter(), {}, {}
    for ts, frame in read_pcap(data):
        tag = _attack_of(truth, frame)
        counts[tag] += 1
        first.setdefault(tag, ts)
        last[tag] = ts
    assert [a["type"] for a in truth["attacks"]] == ["vscan", "hscan", "ssh_bruteforce",
                                                      "dns_amplification", "syn_flood"]
    for attack in truth["attacks"]:
        tag = attack["id"]
        assert attack["packets"] == counts[tag] > 0, tag
        assert datetime.fromisoformat(attack["first"]) == _iso(first[tag])
        assert datetime.fromisoformat(attack["last"]) == _iso(last[tag])
    assert truth["background"]["packets"] == counts[""]
    assert sum(counts.values()) == truth["packets"]


def test_attack_shapes(small_mixed):
    capture, data = small_mixed
    attacks = {a["type"]: a for a in capture.truth["attacks"]}
    syns = Counter()
    vscan_ports, hscan_targets, ssh_ports = set(), set(), set()
    dns_responses = Counter()
    for _ts, frame in read_pcap(data):
        ip, l4 = _ip_and_l4(frame)
        src, dst = str(ip_address(ip.src)), str(ip_address(ip.dst))
        if isinstance(l4, dpkt.tcp.TCP) and l4.flags & dpkt.tcp.TH_SYN \
                and not l4.flags & dpkt.tcp.TH_ACK:
            if src in attacks["vscan"]["attackers"]:
                vscan_ports.add(l4.dport)
            elif src in attacks["hscan"]["attackers"]:
                hscan_targets.add(dst)
            elif src in attacks["ssh_bruteforce"]["attackers"]:
                ssh_ports.add(l4.sport)
            elif dst in attacks["syn_flood"]["victims"]:
                syns[src] += 1
        if src in attacks["dns_amplification"]["attackers"]:
            dns_responses[len(frame)] += 1
    assert vscan_ports == set(attacks["vscan"]["ports"])
    assert len(vscan_ports) == attacks["vscan"]["size"]
    assert hscan_targets == set(attacks["hscan"]["victims"])
    assert len(ssh_ports) == attacks["ssh_bruteforce"]["sessions"]
    assert sum(syns.values()) == attacks["syn_flood"]["size"]
    assert len(syns) == attacks["syn_flood"]["distinct_sources"]
    # each ~3000-byte answer is three IPv4 fragments: two full ones and a tail
    queries = attacks["dns_amplification"]["size"]
    assert sum(dns_responses.values()) == 3 * queries
    assert dns_responses[1514] == 2 * queries


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n != "mixed"])
def test_every_scenario_builds_its_attacks(name):
    capture = generate(name, seed=1, duration=10, hosts=2, scale=0.02)
    expected = [p.kind for p in SCENARIOS[name].attacks]
    assert [a["type"] for a in capture.truth["attacks"]] == expected
    assert all(a["packets"] > 0 for a in capture.truth["attacks"])
    assert capture.truth["background"]["packets"] > 0
    assert pcap_bytes(capture)[:4] == b"\xd4\xc3\xb2\xa1"


def test_bad_options_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown scenario 'nope'; known: background, vscan"):
        generate("nope")
    with pytest.raises(ValueError, match="--scale"):
        generate("demo", scale=-1)
    with pytest.raises(ValueError, match="--start"):
        generate("demo", start="soon")
    with pytest.raises(ValueError, match="--duration"):
        generate("demo", duration=0)
