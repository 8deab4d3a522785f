"""The flow cache: packets (as parsed columns) to flow records, with ipfixprobe's rules.

Key = (source address, destination address, source port, destination port, protocol, VLAN id).
Biflow by default: a packet matching the reversed key of a cached flow counts on its reverse
side; the creator's side is the source. Per packet, in order (times in whole seconds):
  1. a SYN for a flow whose flags in that direction contain FIN or RST ends the flow (eof),
  2. a gap >= the inactive timeout since the flow's last packet ends it (inactive),
  3. an age >= the active timeout since its first packet ends it (active),
then the packet starts a new flow. Flows idle for the inactive timeout are exported while the
capture goes on; a full cache evicts its least recently used flow (evicted); the end of input
exports everything (forced).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

import numpy as np

FIN, SYN, RST = 0x01, 0x02, 0x04
NS = 1_000_000_000

# flow list layout: positions of the per-flow state (a list is the fastest mutable record)
FIRST, LAST, PACKETS, BYTES, FLAGS, PACKETS_REV, BYTES_REV, FLAGS_REV, SRC_MAC, DST_MAC, \
    TTL, TOS, ICMP, PLUGIN_STATE, LOW_SOURCE, KEY = range(16)

_KEY_DTYPE = np.dtype([("a", "V16"), ("b", "V16"), ("port_a", "<u2"), ("port_b", "<u2"),
                       ("protocol", "u1"), ("vlan", "<u2")])


def canonical_keys(columns, biflow: bool) -> tuple[list[bytes], np.ndarray]:
    """One hashable key per packet, the same for both directions of a biflow (the lower
    address/port end first), and whether the packet's source is that lower end."""
    count = columns.count
    if biflow:
        src = np.frombuffer(columns.src_ip.tobytes(), dtype=">u8").reshape(-1, 2)
        dst = np.frombuffer(columns.dst_ip.tobytes(), dtype=">u8").reshape(-1, 2)
        low = (src[:, 0] < dst[:, 0]) | ((src[:, 0] == dst[:, 0]) & (
            (src[:, 1] < dst[:, 1]) | ((src[:, 1] == dst[:, 1])
                                       & (columns.src_port <= columns.dst_port))))
    else:
        low = np.ones(count, dtype=bool)
    packed = np.empty(count, dtype=_KEY_DTYPE)
    packed["a"] = np.where(low, columns.src_ip, columns.dst_ip)
    packed["b"] = np.where(low, columns.dst_ip, columns.src_ip)
    packed["port_a"] = np.where(low, columns.src_port, columns.dst_port)
    packed["port_b"] = np.where(low, columns.dst_port, columns.src_port)
    packed["protocol"] = columns.protocol
    packed["vlan"] = columns.vlan_id
    return packed.view(f"V{_KEY_DTYPE.itemsize}").tolist(), low


@dataclass
class ExportedFlows:
    """Flows ended since the last take(); each flow's KEY is its creator's
    (source, destination, source port, destination port, protocol, VLAN id)."""

    flows: list[list] = field(default_factory=list)

    @property
    def keys(self) -> list[tuple]:
        return [flow[KEY] for flow in self.flows]

    def __len__(self) -> int:
        return len(self.flows)


class FlowCache:
    def __init__(self, active: int = 300, inactive: int = 30, size: int = 1 << 17,
                 biflow: bool = True):
        self.active, self.inactive, self.size, self.biflow = active, inactive, size, biflow
        self.flows: OrderedDict[tuple, list] = OrderedDict()
        self.exported = ExportedFlows()
        self.reasons: Counter[str] = Counter()
        self.created = 0
        self._now = 0

    def _export(self, flow: list, reason: str) -> None:
        self.exported.flows.append(flow)
        self.reasons[reason] += 1

    def add(self, columns, plugins=(), packets: list[bytes] | None = None) -> None:
        """Account every packet of a PacketColumns chunk (times in packet order); `packets` are
        the chunk's raw packets, for plugins that read payloads."""
        flows = self.flows
        get, move = flows.get, flows.move_to_end
        active, inactive, size_limit = self.active, self.inactive, self.size
        plugin_masks = [(plugin, plugin.wants(columns).tolist()) for plugin in plugins]
        keys, low = canonical_keys(columns, self.biflow)
        created: list[tuple[list, int]] = []
        rows = zip(keys, low.tolist(), columns.time_ns.tolist(), columns.ip_bytes.tolist(),
                   columns.tcp_flags.tolist(), strict=True)
        for position, (key, low_source, time_ns, size, flags) in enumerate(rows):
            flow = get(key)
            if flow is not None:
                reverse = low_source != flow[LOW_SOURCE]
                second = time_ns // NS
                seen = flow[FLAGS_REV] if reverse else flow[FLAGS]
                reason = None
                if flags & SYN and seen & (FIN | RST):
                    reason = "eof"
                elif second - flow[LAST] // NS >= inactive:
                    reason = "inactive"
                elif second - flow[FIRST] // NS >= active:
                    reason = "active"
                if reason is not None:
                    del flows[key]
                    self._export(flow, reason)
                    flow = None
            if flow is None:
                reverse = False
                flow = [time_ns, time_ns, 0, 0, 0, 0, 0, 0, None, None, 0, 0, 0, None,
                        low_source, None]
                created.append((flow, position))
                flows[key] = flow
                self.created += 1
                if len(flows) > size_limit:
                    self._export(flows.popitem(last=False)[1], "evicted")
            else:
                move(key)
                if time_ns > flow[LAST]:
                    flow[LAST] = time_ns
            if reverse:
                flow[PACKETS_REV] += 1
                flow[BYTES_REV] += size
                flow[FLAGS_REV] |= flags
            else:
                flow[PACKETS] += 1
                flow[BYTES] += size
                flow[FLAGS] |= flags
            flush = False
            for plugin, mask in plugin_masks:
                if mask[position] and plugin.update(flow, reverse, columns, position, packets):
                    flush = True
            if flush:
                del flows[key]
                self._export(flow, "plugin")
        self._describe_created(created, columns)
        if columns.count:
            self._now = int(columns.time_ns[-1]) // NS
        self.expire_idle(self._now)

    @staticmethod
    def _describe_created(created: list[tuple[list, int]], columns) -> None:
        """Fill in the creator's key, MACs, TTL and ToS of the flows this chunk started
        (gathered column-wise after the loop, so the per-packet path stays short)."""
        if not created:
            return
        positions = np.fromiter((position for _, position in created), dtype=np.intp,
                                count=len(created))
        fields = zip(columns.src_ip[positions].tolist(), columns.dst_ip[positions].tolist(),
                     columns.src_port[positions].tolist(), columns.dst_port[positions].tolist(),
                     columns.protocol[positions].tolist(), columns.vlan_id[positions].tolist(),
                     columns.src_mac[positions].tolist(), columns.dst_mac[positions].tolist(),
                     columns.ttl[positions].tolist(), columns.tos[positions].tolist(),
                     columns.icmp_type_code[positions].tolist(), strict=True)
        for (flow, _), (src, dst, sport, dport, proto, vlan, src_mac, dst_mac, ttl, tos,
                        icmp) in zip(created, fields, strict=True):
            flow[KEY] = (src, dst, sport, dport, proto, vlan)
            flow[SRC_MAC], flow[DST_MAC], flow[TTL], flow[TOS], flow[ICMP] = \
                src_mac, dst_mac, ttl, tos, icmp

    def expire_idle(self, now_second: int) -> None:
        """Export flows idle for the inactive timeout (the least recently used come first)."""
        flows, inactive = self.flows, self.inactive
        while flows:
            key, flow = next(iter(flows.items()))
            if now_second - flow[LAST] // NS < inactive:
                break
            del flows[key]
            self._export(flow, "inactive")

    def flush(self) -> None:
        """End of input: export every flow."""
        for flow in self.flows.values():
            self._export(flow, "forced")
        self.flows.clear()

    def take(self) -> ExportedFlows:
        exported, self.exported = self.exported, ExportedFlows()
        return exported
