"""The flow cache: the grouped fast path gives exactly the flows of the per-packet path, on
every shared capture, with several timeouts and chunk sizes; and the rules themselves."""

from __future__ import annotations

import random

import numpy as np
import pytest

from modules.flow_meter.capture import read_packets
from modules.flow_meter.flow_cache import FlowCache
from modules.flow_meter.flow_records import flow_batch
from modules.flow_meter.flow_table import LOW_SOURCE, PACKETS, ExportedFlows
from modules.flow_meter.packet_parser import PacketColumns, PacketParser
from modules.flow_meter.plugins import make_plugins


def flows_of(path, chunk: int, plugins: str = "", reasons: dict | None = None,
             **options) -> list[tuple]:
    """The flow records of a capture, sorted; `reasons` gets the export reasons counted."""
    cache, parser = FlowCache(**options), PacketParser()
    plugin_objects = make_plugins(plugins)
    rows = []
    for packets in read_packets([str(path)], chunk=chunk):
        cache.add(parser.parse(packets), plugin_objects, packets.packets)
        rows.extend(flow_batch(cache.take(), options.get("biflow", True), 1, 0).rows())
    cache.flush()
    rows.extend(flow_batch(cache.take(), options.get("biflow", True), 1, 0).rows())
    if reasons is not None:
        reasons.update(cache.reasons)
    return sorted(rows)


def captures(shared):
    return sorted(p for p in (shared / "pcaps").rglob("*") if p.suffix in (".pcap", ".pcapng",
                                                                           ".cap")
                  and p.stat().st_size < 4_000_000)


@pytest.mark.parametrize(("chunk", "active", "inactive"), [(65536, 300, 30), (977, 10, 2)])
def test_grouped_path_equals_per_packet_path(shared_data, chunk, active, inactive):
    for path in captures(shared_data):
        fast_reasons, exact_reasons = {}, {}
        fast = flows_of(path, chunk, reasons=fast_reasons, active=active, inactive=inactive)
        exact = flows_of(path, chunk, reasons=exact_reasons, active=active, inactive=inactive,
                         per_packet=True)
        assert fast == exact, path.name
        assert fast_reasons == exact_reasons, path.name


def test_uniflows_and_plugins_agree_too(shared_data):
    for name in ("mixed/ndpi__ssh.pcap", "debian/dpkt__http.pcap", "scan/ndpi__synscan.pcap"):
        path = shared_data / "pcaps" / name
        assert flows_of(path, 500, biflow=False) == flows_of(path, 500, biflow=False,
                                                             per_packet=True)
        assert flows_of(path, 500, "dns,http,tls") == flows_of(path, 500, "dns,http,tls",
                                                               per_packet=True)


def test_small_cache_evicts_and_keeps_every_packet(shared_data):
    path = shared_data / "pcaps/bench/ndpi_mix_102k.pcap"
    rows = flows_of(path, 65536, size=64)
    template_packets = sum(row[9] + row[10] for row in rows)   # PACKETS + PACKETS_REV
    parser = PacketParser()
    usable = sum(parser.parse(c).count for c in read_packets([str(path)]))
    assert template_packets == usable


def synthetic_columns(rows: list[tuple]) -> PacketColumns:
    """Columns of TCP packets given as (time_ns, host_a, host_b, port_a, port_b, bytes,
    flags), hosts 10.0.0.N."""
    def address(host: int) -> bytes:
        return bytes(8) + bytes([10, 0, 0, host]) + b"\xff" * 4

    count = len(rows)
    return PacketColumns(
        time_ns=np.array([r[0] for r in rows], dtype=np.int64),
        src_ip=np.array([address(r[1]) for r in rows], dtype="V16"),
        dst_ip=np.array([address(r[2]) for r in rows], dtype="V16"),
        src_port=np.array([r[3] for r in rows], dtype=np.uint16),
        dst_port=np.array([r[4] for r in rows], dtype=np.uint16),
        protocol=np.full(count, 6, dtype=np.uint8),
        ip_bytes=np.array([r[5] for r in rows], dtype=np.uint32),
        tcp_flags=np.array([r[6] for r in rows], dtype=np.uint8),
        vlan_id=np.zeros(count, dtype=np.uint16), src_mac=np.zeros(count, dtype="V6"),
        dst_mac=np.zeros(count, dtype="V6"), ttl=np.zeros(count, dtype=np.uint8),
        tos=np.zeros(count, dtype=np.uint8), icmp_type_code=np.zeros(count, dtype=np.uint16),
        payload_offset=np.full(count, -1, dtype=np.int32),
        packet_index=np.arange(count, dtype=np.int32))


def cache_result(chunks: list[list[tuple]], **options) -> tuple[list, dict]:
    cache = FlowCache(**options)
    exported = []
    for rows in chunks:
        cache.add(synthetic_columns(rows))
        exported.extend(counters(cache.take()))
    cache.flush()
    exported.extend(counters(cache.take()))
    return sorted(exported), dict(cache.reasons)


def counters(exported: ExportedFlows) -> list[tuple]:
    """Per exported flow: its fields from FIRST to FLAGS_REV."""
    return list(map(tuple, exported.values[:LOW_SOURCE].T.tolist()))


def random_chunks(seed: int) -> list[list[tuple]]:
    """Packets of a few hosts and ports with pauses (some beyond the inactive timeout),
    timestamps sometimes going back, FIN/RST/SYN flags, cut into chunks of random sizes."""
    rng = random.Random(seed)
    now, rows = 10**12, []
    for _ in range(rng.randrange(1, 120)):
        now += rng.choice([0, 10**6, 10**8, 10**9, 3 * 10**9])
        time = now - (rng.randrange(3 * 10**9) if rng.random() < 0.2 else 0)
        a, b = rng.randrange(4), rng.randrange(4)
        ports = (rng.choice([1, 2, 80]), rng.choice([1, 2, 80]))
        rows.append((time, a, b, *ports, rng.randrange(40, 1500),
                     rng.choice([0x02, 0x10, 0x11, 0x01, 0x04, 0x12, 0x18])))
    cuts = sorted(rng.sample(range(1, len(rows)), min(len(rows) - 1, rng.randrange(5))))
    return [rows[i:j] for i, j in zip([0, *cuts], [*cuts, len(rows)], strict=True)]


@pytest.mark.parametrize("size", [2, 3, 1 << 10])
def test_random_chunk_sequences_give_the_per_packet_result(size):
    """Evictions from a small cache, inactive gaps inside and across chunks, timestamps that
    go back (also below a cached flow's last time), SYN after FIN/RST: the grouped path gives
    exactly the flows and export reasons of the per-packet path."""
    for seed in range(300):
        chunks = random_chunks(seed)
        options = {"active": 6, "inactive": 2, "size": size}
        assert cache_result(chunks, **options) == \
            cache_result(chunks, per_packet=True, **options), seed


def test_a_cached_flow_later_than_the_chunk_is_no_inactive_gap():
    start = 10**12
    chunks = [[(start + 2_300_000_000, 1, 2, 1000, 80, 100, 0x10)],
              [(start, 1, 2, 1000, 80, 100, 0x10), (start + 2_500_000_000, 1, 2, 1000, 80, 100,
                                                    0x10)]]
    flows, reasons = cache_result(chunks, inactive=2)
    assert [flow[PACKETS] for flow in flows] == [3]
    assert reasons.get("forced") == 1 and not reasons.get("inactive")
