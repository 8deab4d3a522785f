"""PacketParser: link types, encapsulations, both IP families, truncation, fragments, real files."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import dpkt
import numpy as np
import pytest

from modules.flow_meter.capture import PacketChunk, read_packets
from modules.flow_meter.packet_parser import (
    COUNTERS,
    SKIP_REASONS,
    PacketColumns,
    PacketParser,
)
from unirec.ipaddr import raw_from_packed

from .packets import (
    MAC_A,
    MAC_B,
    ethernet,
    ethernet_vlan,
    icmp,
    icmp6,
    ipv4,
    ipv4_fragments,
    ipv6,
    ipv6_extension,
    ipv6_fragment_header,
    ipv6_fragments,
    mpls,
    null,
    pppoe,
    raw16,
    sll,
    sll2,
    tcp,
    udp,
)

V4_TCP = ipv4(tcp(40000, 80), src="192.0.2.1", dst="198.51.100.7", ttl=61, tos=0x28)
V4_UDP = ipv4(udp(5353, 53), src="192.0.2.1", dst="198.51.100.7")
V4_ICMP = ipv4(icmp(8, 0), src="192.0.2.1", dst="198.51.100.7")
V6_UDP = ipv6(udp(5353, 53), hlim=33, tc=0xB8)
V6_TCP = ipv6(tcp(40001, 443))
V6_ICMP = ipv6(icmp6(128, 0))

V4_KEY = dict(src="192.0.2.1", dst="198.51.100.7")
V6_KEY = dict(src="2001:db8::1", dst="2001:db8::2")
TCP_PAYLOAD = b"GET / HTTP/1.1\r\n\r\n"
UDP_PAYLOAD = b"\x12\x34dns-query"


def parse(frames, linktype=1, parser=None, times=None):
    parser = parser or PacketParser()
    times = list(range(len(frames))) if times is None else times
    chunk = PacketChunk(linktype, list(times), list(frames), [len(f) for f in frames])
    return parser.parse(chunk), parser


def check_invariant(parser):
    c = parser.counters
    assert c["packets"] == c["parsed"] + sum(c[r] for r in SKIP_REASONS)
    assert c["parsed"] == c["ipv4"] + c["ipv6"]


def row(columns, i=0):
    return {
        "src": columns.src_ip[i].tobytes(), "dst": columns.dst_ip[i].tobytes(),
        "sport": int(columns.src_port[i]), "dport": int(columns.dst_port[i]),
        "proto": int(columns.protocol[i]), "ip_bytes": int(columns.ip_bytes[i]),
        "flags": int(columns.tcp_flags[i]), "vlan": int(columns.vlan_id[i]),
        "smac": columns.src_mac[i].tobytes(), "dmac": columns.dst_mac[i].tobytes(),
        "ttl": int(columns.ttl[i]), "tos": int(columns.tos[i]),
        "icmp": int(columns.icmp_type_code[i]), "payload": int(columns.payload_offset[i]),
        "index": int(columns.packet_index[i]), "version": int(columns.ip_version[i]),
    }


# (name, linktype, frame, family, l4 kind, vlan, mac present (src, dst))
CASES = [
    ("eth-v4-tcp", 1, ethernet(V4_TCP), 4, "tcp", 0, (True, True)),
    ("eth-v4-udp", 1, ethernet(V4_UDP), 4, "udp", 0, (True, True)),
    ("eth-v4-icmp", 1, ethernet(V4_ICMP), 4, "icmp", 0, (True, True)),
    ("eth-v6-udp", 1, ethernet(V6_UDP, 0x86DD), 6, "udp6", 0, (True, True)),
    ("eth-v6-tcp", 1, ethernet(V6_TCP, 0x86DD), 6, "tcp6", 0, (True, True)),
    ("eth-v6-icmp", 1, ethernet(V6_ICMP, 0x86DD), 6, "icmp6", 0, (True, True)),
    ("vlan", 1, ethernet_vlan(V4_TCP, [100]), 4, "tcp", 100, (True, True)),
    ("vlan-prio", 1, ethernet_vlan(V4_TCP, [0x2000 | 7]), 4, "tcp", 7, (True, True)),
    ("qinq-88a8", 1, ethernet_vlan(V6_UDP, [200, 300], 0x86DD, 0x88A8), 6, "udp6", 200,
     (True, True)),
    ("qinq-9100", 1, ethernet_vlan(V4_UDP, [5, 6, 7], outer_tpid=0x9100), 4, "udp", 5,
     (True, True)),
    ("mpls-1", 1, mpls(V4_TCP, [16]), 4, "tcp", 0, (True, True)),
    ("mpls-3-v6", 1, mpls(V6_UDP, [16, 17, 18]), 6, "udp6", 0, (True, True)),
    ("vlan-mpls", 1, ethernet_vlan(b"".join([struct.pack(">I", (99 << 12) | 0x100 | 64),
                                             V4_UDP]), [42], 0x8847), 4, "udp", 42,
     (True, True)),
    ("pppoe-v4", 1, pppoe(V4_TCP), 4, "tcp", 0, (True, True)),
    ("pppoe-v6", 1, pppoe(V6_UDP, 0x0057), 6, "udp6", 0, (True, True)),
    ("sll-v4", 113, sll(V4_TCP), 4, "tcp", 0, (True, False)),
    ("sll-v6", 113, sll(V6_UDP, 0x86DD), 6, "udp6", 0, (True, False)),
    ("sll-tun", 113, sll(V4_UDP, 0x0800, arphrd=65534, address=b""), 4, "udp", 0,
     (False, False)),
    ("sll-vlan", 113, sll(struct.pack(">HH", 12, 0x0800) + V4_UDP, 0x8100), 4, "udp", 12,
     (True, False)),
    ("sll2-v4", 276, sll2(V4_UDP), 4, "udp", 0, (True, False)),
    ("sll2-v6", 276, sll2(V6_TCP, 0x86DD), 6, "tcp6", 0, (True, False)),
    ("raw-101-v4", 101, V4_TCP, 4, "tcp", 0, (False, False)),
    ("raw-101-v6", 101, V6_UDP, 6, "udp6", 0, (False, False)),
    ("raw-12", 12, V4_ICMP, 4, "icmp", 0, (False, False)),
    ("raw-14", 14, V6_ICMP, 6, "icmp6", 0, (False, False)),
    ("raw-228", 228, V4_UDP, 4, "udp", 0, (False, False)),
    ("raw-229", 229, V6_TCP, 6, "tcp6", 0, (False, False)),
    ("null-le-v4", 0, null(V4_TCP, 2, "<"), 4, "tcp", 0, (False, False)),
    ("null-be-v4", 0, null(V4_UDP, 2, ">"), 4, "udp", 0, (False, False)),
    ("null-darwin-v6", 0, null(V6_UDP, 30, "<"), 6, "udp6", 0, (False, False)),
    ("null-bsd-v6", 0, null(V6_TCP, 24, "<"), 6, "tcp6", 0, (False, False)),
    ("null-freebsd-v6", 0, null(V6_ICMP, 28, ">"), 6, "icmp6", 0, (False, False)),
    ("null-linux-v6", 0, null(V6_UDP, 10, "<"), 6, "udp6", 0, (False, False)),
    ("loop-v4", 108, null(V4_TCP, 2, ">"), 4, "tcp", 0, (False, False)),
    ("loop-v6", 108, null(V6_UDP, 24, ">"), 6, "udp6", 0, (False, False)),
]

L4_EXPECT = {
    "tcp": dict(sport=40000, dport=80, proto=6, flags=dpkt.tcp.TH_SYN, icmp=0,
                payload=TCP_PAYLOAD),
    "tcp6": dict(sport=40001, dport=443, proto=6, flags=dpkt.tcp.TH_SYN, icmp=0,
                 payload=TCP_PAYLOAD),
    "udp": dict(sport=5353, dport=53, proto=17, flags=0, icmp=0, payload=UDP_PAYLOAD),
    "udp6": dict(sport=5353, dport=53, proto=17, flags=0, icmp=0, payload=UDP_PAYLOAD),
    "icmp": dict(sport=0, dport=0, proto=1, flags=0, icmp=8 * 256, payload=b"ping-data"),
    "icmp6": dict(sport=0, dport=0, proto=58, flags=0, icmp=128 * 256, payload=b"abcd"),
}


@pytest.mark.parametrize("name,linktype,frame,family,kind,vlan,macs", CASES,
                         ids=[c[0] for c in CASES])
def test_link_types_and_encapsulations(name, linktype, frame, family, kind, vlan, macs):
    columns, parser = parse([frame], linktype)
    assert columns.count == 1, parser.counters
    check_invariant(parser)
    r = row(columns)
    key = V4_KEY if family == 4 else V6_KEY
    assert r["src"] == raw16(key["src"]) and r["dst"] == raw16(key["dst"])
    assert r["version"] == family
    expect = L4_EXPECT[kind]
    for field in ("sport", "dport", "proto", "flags", "icmp"):
        assert r[field] == expect[field], field
    assert r["vlan"] == vlan
    assert r["smac"] == (MAC_A if macs[0] else bytes(6))
    assert r["dmac"] == (MAC_B if macs[1] else bytes(6))
    l3 = int(columns.l3_offset[0])
    if family == 4:
        assert r["ip_bytes"] == struct.unpack_from(">H", frame, l3 + 2)[0]
    else:
        assert r["ip_bytes"] == struct.unpack_from(">H", frame, l3 + 4)[0] + 40
    payload = frame[r["payload"]:r["payload"] + int(columns.payload_len[0])]
    assert payload == expect["payload"]
    assert r["index"] == 0 and int(columns.time_ns[0]) == 0


def test_ttl_tos_both_families():
    columns, _ = parse([ethernet(V4_TCP), ethernet(V6_UDP, 0x86DD)])
    assert columns.ttl.tolist() == [61, 33]
    assert columns.tos.tolist() == [0x28, 0xB8]


def test_ipv4_mapping_matches_unirec_layout():
    columns, _ = parse([ethernet(V4_TCP)])
    assert columns.src_ip[0].tobytes() == raw_from_packed(bytes([192, 0, 2, 1]))
    assert columns.src_ip[0].tobytes() == bytes(8) + bytes([192, 0, 2, 1]) + b"\xff" * 4


@pytest.mark.parametrize("chain", [[0], [0, 43, 60], [60], [51], [0, 51, 60], [43, 43]])
def test_ipv6_extension_headers(chain):
    extensions = b""
    kinds = [*chain, 17]
    for kind, following in itertools.pairwise(kinds):
        extensions += ipv6_extension(kind, following)
    packet = ipv6(udp(1111, 2222), nxt=chain[0], extensions=extensions)
    columns, parser = parse([ethernet(packet, 0x86DD)])
    assert columns.count == 1, parser.counters
    assert (int(columns.src_port[0]), int(columns.dst_port[0]), int(columns.protocol[0])) == \
        (1111, 2222, 17)
    assert int(columns.l4_offset[0]) == 14 + 40 + len(extensions)
    assert int(columns.ip_bytes[0]) == len(packet)


def test_ipv6_atomic_fragment_and_no_next_header():
    atomic = ipv6(udp(7, 9), nxt=44, extensions=ipv6_fragment_header(17, 0, False, 5))
    none = struct.pack(">IHBB", 0x60000000, 0, 59, 64) + raw16("2001:db8::1") + \
        raw16("2001:db8::2")
    columns, parser = parse([ethernet(atomic, 0x86DD), ethernet(none, 0x86DD)])
    assert columns.count == 2
    assert columns.protocol.tolist() == [17, 59]
    assert columns.src_port.tolist() == [7, 0]
    assert columns.payload_offset.tolist()[1] == -1
    assert parser.counters["fragments"] == 0  # an atomic fragment is a whole datagram


def test_skipped_packets_are_counted_by_reason():
    arp = dpkt.ethernet.Ethernet(dst=b"\xff" * 6, src=MAC_A, type=0x0806,
                                 data=dpkt.arp.ARP())
    frames = [
        bytes(arp),                                      # arp
        ethernet(b"\x00" * 40, 0x88CC),                  # LLDP: not_ip
        MAC_B + MAC_A + struct.pack(">H", 46) + bytes(46),  # 802.3 length: not_ip
        mpls(b"\x00" * 40, [3]),                         # MPLS, not IP inside: not_ip
        ethernet(b"\x11\x09" + bytes(40), 0x8863),       # PPPoE discovery: not_ip
        pppoe(b"\xc0\x21" + bytes(20), 0xC021),          # PPP LCP: not_ip
        ethernet(b"\x55" + V4_TCP[1:]),                  # version 5 under 0x0800: bad
        ethernet(b"\x44" + V4_TCP[1:]),                  # IHL 4: bad
        ethernet(V4_TCP[:2] + b"\x00\x10" + V4_TCP[4:]),  # total length 16 < 20: bad
        ethernet(b"\x40" + V6_UDP[1:], 0x86DD),          # IPv4 nibble under 0x86dd: bad
        ethernet(V4_TCP[:10]),                           # truncated
        b"\x00" * 5,                                     # truncated Ethernet
    ]
    columns, parser = parse(frames)
    assert columns.count == 0
    c = parser.counters
    assert (c["arp"], c["not_ip"], c["bad_ip_header"], c["truncated"]) == (1, 5, 4, 2)
    check_invariant(parser)


def test_unknown_linktype_and_raw_garbage():
    columns, parser = parse([ethernet(V4_TCP)] * 3, linktype=147)
    assert columns.count == 0 and parser.counters["unknown_linktype"] == 3
    columns, parser = parse([b"\x10" * 30, b""], linktype=101)
    assert columns.count == 0
    assert parser.counters["not_ip"] == 1 and parser.counters["truncated"] == 1
    columns, parser = parse([null(V4_TCP, 7)], linktype=0)
    assert parser.counters["not_ip"] == 1
    check_invariant(parser)


def test_too_many_ipv6_extension_headers_is_bad():
    extensions = b"".join(ipv6_extension(60, 60) for _ in range(9)) + ipv6_extension(60, 17)
    packet = ipv6(udp(), nxt=60, extensions=extensions)
    columns, parser = parse([ethernet(packet, 0x86DD)])
    assert columns.count == 0 and parser.counters["bad_ip_header"] == 1


def test_ip_length_too_short_for_transport_header():
    # total length 20 (no room for TCP) while the frame carries a TCP header: bad_l4_header
    frame = ethernet(V4_TCP[:2] + b"\x00\x14" + V4_TCP[4:])
    columns, parser = parse([frame])
    assert columns.count == 0 and parser.counters["bad_l4_header"] == 1
    check_invariant(parser)


def test_tso_zero_total_length_uses_frame_length():
    frame = ethernet(V4_TCP[:2] + b"\x00\x00" + V4_TCP[4:])
    columns, _ = parse([frame])
    assert columns.count == 1
    assert int(columns.ip_bytes[0]) == len(V4_TCP)


def test_tso_without_wire_lengths_uses_captured_length():
    frame = ethernet(V4_TCP[:2] + b"\x00\x00" + V4_TCP[4:])
    columns = PacketParser().parse(PacketChunk(1, [0], [frame]))
    assert int(columns.ip_bytes[0]) == len(V4_TCP)


def test_payload_excludes_ethernet_padding_and_empty_payload_is_minus_one():
    short_udp = ipv4(udp(1, 2, data=b"ab"))
    padded = ethernet(short_udp) + b"\x00" * (60 - 14 - len(short_udp))
    ack = ethernet(ipv4(tcp(1, 2, flags=dpkt.tcp.TH_ACK, data=b"")))
    columns, _ = parse([padded, ack])
    assert columns.payload_offset.tolist() == [14 + 20 + 8, -1]
    assert columns.payload_len.tolist() == [2, 0]
    assert int(columns.ip_bytes[0]) == 20 + 8 + 2


def test_tcp_bad_data_offset_keeps_packet_without_payload():
    frame = bytearray(ethernet(V4_TCP))
    frame[14 + 20 + 12] = 0x20  # data offset 2 words
    columns, _ = parse([bytes(frame)])
    assert columns.count == 1 and int(columns.payload_offset[0]) == -1


# --- truncation and corruption ---------------------------------------------------------------

TRUNCATION_CASES = [c for c in CASES if c[0] in {
    "eth-v4-tcp", "eth-v6-udp", "eth-v4-icmp", "qinq-88a8", "mpls-3-v6", "pppoe-v4",
    "sll-v4", "sll2-v6", "raw-101-v4", "null-darwin-v6", "loop-v4", "vlan-mpls"}]
V6_EXT = ethernet(ipv6(tcp(5, 6), nxt=0, extensions=ipv6_extension(0, 43)
                       + ipv6_extension(43, 51) + ipv6_extension(51, 6)), 0x86DD)


@pytest.mark.parametrize("linktype,frame,need", [
    (c[1], c[2], None) for c in TRUNCATION_CASES] + [(1, V6_EXT, None)])
def test_truncated_at_every_length(linktype, frame, need):
    full, _ = parse([frame], linktype)
    assert full.count == 1
    whole = row(full)
    cuts = [frame[:length] for length in range(len(frame) + 1)]
    columns, parser = parse(cuts, linktype)
    check_invariant(parser)
    assert parser.counters["packets"] == len(cuts)
    assert parser.counters["parsed"] + parser.counters["truncated"] == len(cuts)
    usable = columns.packet_index.tolist()
    # usable from some length on, and always with the full packet's flow key
    assert usable == list(range(usable[0], len(cuts)))
    for i in range(columns.count):
        r = row(columns, i)
        for field in ("src", "dst", "sport", "dport", "proto", "ip_bytes", "flags", "vlan",
                      "icmp"):
            assert r[field] == whole[field], (usable[i], field)
        assert r["payload"] == -1 or r["payload"] < usable[i]
    l4 = int(full.l4_offset[0])
    need = {6: 14, 17: 4, 1: 2, 58: 2}[whole["proto"]]
    assert usable[0] == l4 + need


def test_random_corruption_never_raises():
    rng = np.random.default_rng(7)
    frames = [c[2] for c in CASES] + [V6_EXT]
    linktypes = sorted({c[1] for c in CASES})
    for linktype in linktypes:
        mutated = []
        for _ in range(400):
            frame = bytearray(frames[int(rng.integers(len(frames)))])
            for _ in range(int(rng.integers(1, 6))):
                frame[int(rng.integers(len(frame)))] = int(rng.integers(256))
            cut = int(rng.integers(0, len(frame) + 1))
            mutated.append(bytes(frame[:cut]) if rng.random() < 0.3 else bytes(frame))
        mutated.append(bytes(rng.integers(0, 256, 3000, dtype=np.uint8)))
        columns, parser = parse(mutated, linktype)
        check_invariant(parser)
        lengths = {len(getattr(columns, name)) for name in (
            "time_ns", "src_ip", "dst_ip", "src_port", "dst_port", "protocol", "ip_bytes",
            "tcp_flags", "vlan_id", "src_mac", "dst_mac", "ttl", "tos", "icmp_type_code",
            "payload_offset", "packet_index")}
        assert lengths == {columns.count}
        offsets = columns.payload_offset
        ok = offsets >= 0
        sizes = np.array([len(mutated[i]) for i in columns.packet_index.tolist()], dtype=int)
        assert (offsets[ok] + columns.payload_len[ok] <= sizes[ok]).all()


# --- fragments -------------------------------------------------------------------------------

SEGMENT = bytes(udp(4444, 53, data=bytes(range(256)) * 2))


def test_ipv4_fragments_get_the_first_fragments_ports():
    frames = [ethernet(f) for f in ipv4_fragments(SEGMENT, 17, [104, 200, 400])]
    columns, parser = parse(frames)
    assert columns.count == 3
    assert columns.src_port.tolist() == [4444] * 3 and columns.dst_port.tolist() == [53] * 3
    assert columns.protocol.tolist() == [17] * 3
    assert columns.payload_offset.tolist()[1:] == [-1, -1]
    assert columns.l4_offset.tolist()[1:] == [-1, -1]
    assert columns.ip_bytes.tolist() == [124, 220, 20 + len(SEGMENT) - 304]
    c = parser.counters
    assert (c["fragments"], c["fragments_matched"], c["fragments_unmatched"]) == (3, 2, 0)


def test_ipv6_fragments_get_the_first_fragments_ports():
    frames = [ethernet(f, 0x86DD) for f in ipv6_fragments(SEGMENT, 17, [104, 200, 400])]
    columns, parser = parse(frames)
    assert columns.src_port.tolist() == [4444] * 3 and columns.dst_port.tolist() == [53] * 3
    assert columns.protocol.tolist() == [17] * 3
    assert parser.counters["fragments_matched"] == 2


def test_ipv6_fragments_with_an_extension_header_after_the_fragment_header():
    # first fragment: fragment header (next 60) + destination options (next 17) + UDP;
    # later fragments: fragment header with next header 60, no transport header
    body = ipv6_extension(60, 17) + SEGMENT
    frames = [ethernet(f, 0x86DD) for f in ipv6_fragments(body, 60, [112, 400])]
    columns, parser = parse(frames)
    assert columns.protocol.tolist() == [17, 17]
    assert columns.src_port.tolist() == [4444, 4444]
    assert parser.counters["fragments_matched"] == 1


def test_fragments_across_chunks_and_interleaved_datagrams():
    a = ipv4_fragments(SEGMENT, 17, [104, 504], ident=1)
    other = bytes(udp(1000, 2000, data=bytes(600)))
    b = ipv4_fragments(other, 17, [208, 400], ident=2)
    tcp_segment = bytes(tcp(3333, 22, data=bytes(300)))
    c = ipv4_fragments(tcp_segment, 6, [96, 300], ident=1)  # same id, other protocol
    order = [a[0], b[0], c[0], b[1], c[1], a[1]]
    parser = PacketParser()
    ports = []
    for number, frame in enumerate(order):  # one chunk per packet
        columns, _ = parse([ethernet(frame)], parser=parser, times=[number])
        ports.append((int(columns.src_port[0]), int(columns.dst_port[0])))
    assert ports == [(4444, 53), (1000, 2000), (3333, 22), (1000, 2000), (3333, 22),
                     (4444, 53)]


def test_fragment_before_its_first_fragment_keeps_ports_zero():
    frames = [ethernet(f) for f in ipv4_fragments(SEGMENT, 17, [104, 200, 400])]
    columns, parser = parse([frames[2], frames[0], frames[1]])
    assert columns.src_port.tolist() == [0, 4444, 4444]
    assert parser.counters["fragments_unmatched"] == 1
    assert parser.counters["fragments_matched"] == 1


def test_fragment_cache_expires_on_packet_time():
    frames = [ethernet(f) for f in ipv4_fragments(SEGMENT, 17, [104, 200, 400])]
    second = 1_000_000_000
    columns, parser = parse(frames, times=[0, 2 * second, 5 * second])
    assert columns.src_port.tolist() == [4444, 4444, 0]
    parser = PacketParser(fragment_timeout_s=10)
    columns, _ = parse(frames, parser=parser, times=[0, 2 * second, 5 * second])
    assert columns.src_port.tolist() == [4444] * 3


def test_fragment_cache_is_bounded():
    parser = PacketParser(fragment_cache_size=2)
    datagrams = [ipv4_fragments(SEGMENT, 17, [104, 504], ident=i) for i in range(3)]
    firsts = [ethernet(d[0]) for d in datagrams]
    rests = [ethernet(d[1]) for d in datagrams]
    columns, _ = parse(firsts + rests, parser=parser)
    assert columns.src_port.tolist() == [4444] * 3 + [0, 4444, 4444]
    assert len(parser.fragments) == 2


def test_icmp_fragments_get_type_code_and_can_be_disabled():
    echo = bytes(icmp(8, 0, data=bytes(1000)))
    frames = [ethernet(f) for f in ipv4_fragments(echo, 1, [504, 504])]
    columns, _ = parse(frames)
    assert columns.icmp_type_code.tolist() == [8 * 256] * 2
    frames = [ethernet(f) for f in ipv4_fragments(SEGMENT, 17, [104, 504])]
    columns, parser = parse(frames, parser=PacketParser(fragments=False))
    assert columns.src_port.tolist() == [4444, 0]
    assert parser.counters["fragments"] == 2


def test_truncated_first_fragment_is_skipped_and_its_fragments_unmatched():
    frames = [ethernet(f) for f in ipv4_fragments(SEGMENT, 17, [104, 504])]
    columns, parser = parse([frames[0][:14 + 20 + 2], frames[1]])
    assert columns.count == 1 and int(columns.src_port[0]) == 0
    assert parser.counters["truncated"] == 1 and parser.counters["fragments_unmatched"] == 1


# --- columns ---------------------------------------------------------------------------------

def test_columns_dtypes_and_helpers():
    columns, parser = parse([ethernet(V4_TCP), b"", ethernet(V6_UDP, 0x86DD)])
    expected = {
        "time_ns": np.int64, "src_ip": "V16", "dst_ip": "V16", "src_port": np.uint16,
        "dst_port": np.uint16, "protocol": np.uint8, "ip_bytes": np.uint32,
        "tcp_flags": np.uint8, "vlan_id": np.uint16, "src_mac": "V6", "dst_mac": "V6",
        "ttl": np.uint8, "tos": np.uint8, "icmp_type_code": np.uint16,
        "payload_offset": np.int32, "packet_index": np.int32, "ip_version": np.uint8,
        "l3_offset": np.int32, "l4_offset": np.int32, "payload_len": np.int32,
    }
    for name, dtype in expected.items():
        assert getattr(columns, name).dtype == np.dtype(dtype), name
        assert getattr(columns, name).shape == (2,), name
    assert columns.count == len(columns) == 2
    assert columns.packet_index.tolist() == [0, 2]
    assert columns.time_ns.tolist() == [0, 2]
    one = columns.take(columns.ip_version == 6)
    assert one.count == 1 and int(one.packet_index[0]) == 2
    empty = PacketColumns.empty()
    assert empty.count == 0 and empty.src_ip.dtype == np.dtype("V16")
    assert set(parser.counters) == set(COUNTERS)
    empty_chunk = PacketParser().parse(PacketChunk(1, [], [], []))
    assert empty_chunk.count == 0
    minimal = PacketColumns(**{name: getattr(columns, name) for name in list(expected)[:16]})
    assert minimal.ip_version.tolist() == [4, 6] and minimal.count == 2


# --- real captures ---------------------------------------------------------------------------

def _all_captures(root: Path) -> list[Path]:
    return sorted(p for p in (root / "pcaps").rglob("*") if p.suffix in {".pcap", ".pcapng",
                                                                        ".cap"})


def test_every_shared_capture_parses(shared_data):
    files = _all_captures(shared_data)
    assert len(files) > 50
    for path in files:
        parser = PacketParser()
        count = 0
        for chunk in read_packets(path):
            columns = parser.parse(chunk)
            count += columns.count
            assert (columns.packet_index < len(chunk.packets)).all()
        check_invariant(parser)
        assert count == parser.counters["parsed"], path


def _reference(path: Path) -> list[tuple]:
    """Independent per-packet decode with dpkt: the flow fields of the usable packets."""
    fragments: dict[tuple, tuple[int, int]] = {}
    out = []
    with open(path, "rb") as f:
        reader = (dpkt.pcapng.Reader if f.read(4) == b"\n\r\r\n" else dpkt.pcap.Reader)(
            f.seek(0) or f)
        linktype = reader.datalink()
        packets = iter(reader)
        index = 0
        while True:
            try:
                ts, frame = next(packets)
            except (StopIteration, dpkt.NeedData):  # NeedData: a cut record at the end
                return out
            decoded = _reference_packet(linktype, frame, fragments)
            if decoded is not None:
                out.append((index, round(ts * 1e6), *decoded))
            index += 1


def _reference_packet(linktype, frame, fragments):
    vlan = 0
    try:
        if linktype == 1:
            eth = dpkt.ethernet.Ethernet(frame)
            if eth.type < 0x0600:
                return None
            tags = getattr(eth, "vlan_tags", None)
            vlan = tags[0].id if tags else 0
            net = eth.data
            while isinstance(net, dpkt.pppoe.PPPoE | dpkt.ppp.PPP):
                net = net.data
        elif linktype == 0:
            net = dpkt.loopback.Loopback(frame).data
        else:
            raise AssertionError(f"no reference decoder for link type {linktype}")
    except (dpkt.UnpackError, struct.error):
        return None
    if isinstance(net, dpkt.ip.IP):
        if net.v != 4 or len(net.opts) != net.hl * 4 - 20 or 0 < net.len < net.hl * 4:
            return None
        version, src, dst = 4, raw_from_packed(net.src), raw_from_packed(net.dst)
        first, fragment, ident, ttl = net.offset == 0, net.mf or net.offset, net.id, net.ttl
        ip_bytes, proto = net.len or len(net), net.p  # 0: TSO, the frame's length
    elif isinstance(net, dpkt.ip6.IP6):
        if net.v != 6:
            return None
        version, src, dst, ttl = 6, net.src, net.dst, net.hlim
        ip_bytes, proto = net.plen + 40, getattr(net, "p", net.nxt)
        frag = net.extension_hdrs.get(44)
        first = frag is None or frag.frag_off == 0
        fragment = frag is not None and (frag.frag_off or frag.m_flag)
        ident = frag.id if frag is not None else 0
    else:
        return None
    sport = dport = flags = icmp_code = 0
    icmp = (version, proto) in ((4, 1), (6, 58))
    if first:
        l4 = net.data
        if proto == 6 and isinstance(l4, dpkt.tcp.TCP):
            sport, dport, flags = l4.sport, l4.dport, l4.flags & 0xFF  # no NS bit
        elif (proto, type(l4)) in ((17, dpkt.udp.UDP), (132, dpkt.sctp.SCTP)):
            sport, dport = l4.sport, l4.dport
        elif icmp and isinstance(l4, dpkt.icmp.ICMP | dpkt.icmp6.ICMP6):
            icmp_code = l4.type * 256 + l4.code
        elif proto in (6, 17, 132, 136) or icmp:
            raw = l4 if isinstance(l4, bytes) else bytes(l4)
            need = 2 if icmp else 14 if proto == 6 else 4
            if len(raw) < need:
                return None
            if icmp:
                icmp_code = raw[0] * 256 + raw[1]
            else:
                sport, dport = struct.unpack_from(">HH", raw)
                flags = raw[13] if proto == 6 else 0
        if fragment:
            fragments[(src, dst, proto, ident)] = (sport, dport, icmp_code)
    elif fragment:
        sport, dport, icmp_code = fragments.get((src, dst, proto, ident), (0, 0, 0))
    return (src, dst, sport, dport, proto, ip_bytes, flags, vlan, ttl, icmp_code)


def _ours(path: Path) -> list[tuple]:
    parser = PacketParser(fragment_timeout_s=1e9)
    out, base = [], 0
    for chunk in read_packets(path):
        columns = parser.parse(chunk)
        for i in range(columns.count):
            r = row(columns, i)
            out.append((base + r["index"], int(columns.time_ns[i]) // 1000, r["src"],
                        r["dst"], r["sport"], r["dport"], r["proto"], r["ip_bytes"],
                        r["flags"], r["vlan"], r["ttl"], r["icmp"]))
        base += len(chunk.packets)
    return out


@pytest.mark.parametrize("name", [
    "debian/dpkt__http.pcap",                 # plain Ethernet/IPv4/TCP
    "debian/dpkt__nb6-http.pcap",             # PPPoE
    "debian/gopacket__test_loopback.pcap",    # DLT_NULL, IPv6
    "edge/ipfixprobe__vlan.pcap",             # 802.1Q
    "edge/ndpi__http_ipv6.pcap",              # IPv6
    "dns/ndpi__dns_fragmented.pcap",          # IPv4 and IPv6 fragments
    "edge/ppa__ipfragments.pcap",             # fragmented ICMP
    "mixed/slips__test7-malicious.pcap",      # ARP, IPv6, scans
    "scan/evilfingers__IP_PROTOCOL_SCAN.pcap",  # odd protocols, short frames
    "edge/ndpi__badpackets.pcap",             # frames cut shorter than the IP length
])
def test_usable_packets_match_an_independent_dpkt_decode(shared_data, name):
    path = shared_data / "pcaps" / name
    reference = _reference(path)
    ours = _ours(path)
    assert len(ours) == len(reference)
    assert ours == reference


def test_chunk_size_does_not_change_the_result(shared_data):
    path = shared_data / "pcaps" / "ddos" / "stopddos__amp.dns.RRSIG.fragmented.pcap"

    def run(chunk):
        parser = PacketParser()
        parts = [parser.parse(c) for c in read_packets(path, chunk=chunk)]
        return {name: np.concatenate([getattr(p, name) for p in parts]) for name in (
            "time_ns", "src_ip", "src_port", "dst_port", "protocol", "ip_bytes")}, \
            parser.counters

    big, counters_big = run(65536)
    small, counters_small = run(97)
    assert counters_big == counters_small
    for name in big:
        assert np.array_equal(big[name], small[name]), name
