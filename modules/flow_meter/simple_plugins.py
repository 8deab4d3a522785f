"""Plugins that only need header fields: icmp (type and code) and vlan (the tag)."""

from __future__ import annotations

import numpy as np

from .plugin_base import FlowPlugin


class IcmpPlugin(FlowPlugin):
    name = "icmp"
    fields = "uint16 L4_ICMP_TYPE_CODE"
    description = "ICMP/ICMPv6 type*256+code of the flow's first packet"

    def wants(self, columns) -> np.ndarray:
        return (columns.protocol == 1) | (columns.protocol == 58)

    def update(self, flow, reverse, columns, position, packets) -> bool:
        if self.stored(flow) is None:   # the flow's first ICMP packet
            self.store(flow, {"L4_ICMP_TYPE_CODE": int(columns.icmp_type_code[position])})
        return False


class VlanPlugin(FlowPlugin):
    name = "vlan"
    fields = "uint16 VLAN_ID"
    description = "the outermost 802.1Q VLAN id of tagged flows"

    def wants(self, columns) -> np.ndarray:
        return np.zeros(columns.count, dtype=bool)

    def update(self, flow, reverse, columns, position, packets) -> bool:
        return False

    def values(self, key, state):
        return {"VLAN_ID": key[5]} if key[5] else None
