"""Exported flows to UniRec batches: ipfixprobe's biflow basic template, or the uniflow one."""

from __future__ import annotations

import numpy as np

from unirec import RecordBatch, Template

from .flow_table import (
    BYTES,
    BYTES_REV,
    FIRST,
    FLAGS,
    FLAGS_REV,
    LAST,
    PACKETS,
    PACKETS_REV,
    ExportedFlows,
)

BIFLOW_TEMPLATE = Template.parse(
    "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,uint64 LINK_BIT_FIELD,"
    "time TIME_FIRST,time TIME_LAST,macaddr DST_MAC,macaddr SRC_MAC,uint32 PACKETS,"
    "uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,"
    "uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV")
UNIFLOW_TEMPLATE = Template.parse(
    "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 LINK_BIT_FIELD,time TIME_FIRST,"
    "time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,"
    "uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TOS,uint8 TTL")


def flow_batch(exported: ExportedFlows, biflow: bool, link: int, direction: int) -> RecordBatch:
    values, count, creators = exported.values, len(exported), exported.creators

    def creator(name: str) -> np.ndarray:
        return np.ascontiguousarray(creators[name])

    def value(row: int, dtype) -> np.ndarray:
        return values[row].astype(dtype)

    columns = {
        "SRC_IP": creator("src_ip"), "DST_IP": creator("dst_ip"),
        "SRC_PORT": creator("src_port"), "DST_PORT": creator("dst_port"),
        "PROTOCOL": creator("protocol"),
        "TIME_FIRST": value(FIRST, np.int64), "TIME_LAST": value(LAST, np.int64),
        "PACKETS": value(PACKETS, np.uint32), "BYTES": value(BYTES, np.uint64),
        "TCP_FLAGS": value(FLAGS, np.uint8),
        "LINK_BIT_FIELD": np.full(count, link, dtype=np.uint64),
        "DIR_BIT_FIELD": np.full(count, direction, dtype=np.uint8),
    }
    if biflow:
        columns.update({
            "PACKETS_REV": value(PACKETS_REV, np.uint32),
            "BYTES_REV": value(BYTES_REV, np.uint64),
            "TCP_FLAGS_REV": value(FLAGS_REV, np.uint8),
            "SRC_MAC": creator("src_mac"), "DST_MAC": creator("dst_mac"),
        })
        return RecordBatch.from_columns(BIFLOW_TEMPLATE, count, columns)
    columns["TTL"] = creator("ttl")
    columns["TOS"] = creator("tos")
    return RecordBatch.from_columns(UNIFLOW_TEMPLATE, count, columns)
