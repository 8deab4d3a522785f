"""Deterministic made-up biflow records for the demo (a small office network talking out)."""

from __future__ import annotations

import numpy as np

from unirec import RecordBatch, Template
from unirec.ipaddr import raw_from_text

BIFLOW_BASIC = Template.parse(
    "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,uint64 LINK_BIT_FIELD,"
    "time TIME_FIRST,time TIME_LAST,macaddr DST_MAC,macaddr SRC_MAC,uint32 PACKETS,"
    "uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,"
    "uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV")

_SERVICES = [(443, 6), (80, 6), (53, 17), (22, 6), (123, 17), (25, 6)]


def demo_flows(count: int, seed: int = 7, start_sec: int = 1_700_000_000) -> RecordBatch:
    rng = np.random.default_rng(seed)
    clients = [raw_from_text(f"10.0.{i // 250}.{i % 250 + 1}") for i in range(60)]
    servers = [raw_from_text(f"198.51.100.{i + 1}") for i in range(20)] + \
        [raw_from_text(f"2001:db8::{i + 1:x}") for i in range(5)]
    service = rng.integers(0, len(_SERVICES), count)
    ports = np.array([_SERVICES[s][0] for s in service], dtype=np.uint16)
    protocols = np.array([_SERVICES[s][1] for s in service], dtype=np.uint8)
    first = start_sec * 10**9 + np.sort(rng.integers(0, 300 * 10**9, count))
    packets = rng.integers(1, 40, count).astype(np.uint32)
    src = np.array(clients, dtype="V16")[rng.integers(0, len(clients), count)]
    dst = np.array(servers, dtype="V16")[rng.integers(0, len(servers), count)]
    tcp = protocols == 6
    return RecordBatch.from_columns(BIFLOW_BASIC, count, {
        "SRC_IP": src, "DST_IP": dst, "SRC_PORT": rng.integers(1024, 65535, count),
        "DST_PORT": ports, "PROTOCOL": protocols, "PACKETS": packets,
        "PACKETS_REV": packets // 2, "BYTES": packets.astype(np.uint64) * 90,
        "BYTES_REV": (packets // 2).astype(np.uint64) * 700,
        "TIME_FIRST": first, "TIME_LAST": first + rng.integers(0, 5 * 10**9, count),
        "TCP_FLAGS": np.where(tcp, 27, 0), "TCP_FLAGS_REV": np.where(tcp, 26, 0),
        "LINK_BIT_FIELD": np.ones(count, dtype=np.uint64),
    })
