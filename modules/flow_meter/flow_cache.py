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

FIN, SYN, RST = 0x01, 0x02, 0x04
NS = 1_000_000_000

# flow list layout: positions of the per-flow state (a list is the fastest mutable record)
FIRST, LAST, PACKETS, BYTES, FLAGS, PACKETS_REV, BYTES_REV, FLAGS_REV, SRC_MAC, DST_MAC, \
    TTL, TOS, ICMP, PLUGIN_STATE = range(14)


@dataclass
class ExportedFlows:
    """Flows ended since the last take(): their keys and states, and why they ended."""

    keys: list[tuple] = field(default_factory=list)
    flows: list[list] = field(default_factory=list)

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

    def _export(self, key: tuple, flow: list, reason: str) -> None:
        self.exported.keys.append(key)
        self.exported.flows.append(flow)
        self.reasons[reason] += 1

    def add(self, columns, plugins=(), packets: list[bytes] | None = None) -> None:
        """Account every packet of a PacketColumns chunk (times in packet order); `packets` are
        the chunk's raw packets, for plugins that read payloads."""
        flows = self.flows
        get, move = flows.get, flows.move_to_end
        biflow, active, inactive = self.biflow, self.active, self.inactive
        plugin_masks = [(plugin, plugin.wants(columns)) for plugin in plugins]
        rows = zip(columns.time_ns.tolist(), columns.src_ip.tolist(), columns.dst_ip.tolist(),
                   columns.src_port.tolist(), columns.dst_port.tolist(),
                   columns.protocol.tolist(), columns.vlan_id.tolist(),
                   columns.ip_bytes.tolist(), columns.tcp_flags.tolist(), strict=True)
        for position, (time_ns, src, dst, sport, dport, proto, vlan, size, flags) in \
                enumerate(rows):
            key = (src, dst, sport, dport, proto, vlan)
            flow = get(key)
            reverse = False
            if flow is None and biflow:
                reverse_key = (dst, src, dport, sport, proto, vlan)
                flow = get(reverse_key)
                if flow is not None:
                    reverse, key = True, reverse_key
            second = time_ns // NS
            if flow is not None:
                reason = None
                seen = flow[FLAGS_REV] if reverse else flow[FLAGS]
                if flags & SYN and seen & (FIN | RST):
                    reason = "eof"
                elif second - flow[LAST] // NS >= inactive:
                    reason = "inactive"
                elif second - flow[FIRST] // NS >= active:
                    reason = "active"
                if reason is not None:
                    del flows[key]
                    self._export(key, flow, reason)
                    flow = None
                    if reverse:
                        key, reverse = (src, dst, sport, dport, proto, vlan), False
            if flow is None:
                flow = [time_ns, time_ns, 0, 0, 0, 0, 0, 0, None, None, None, None, None, None]
                self._start(flow, columns, position)
                flows[key] = flow
                self.created += 1
                if len(flows) > self.size:
                    old_key, old_flow = flows.popitem(last=False)
                    self._export(old_key, old_flow, "evicted")
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
                self._export(key, flow, "plugin")
        if columns.count:
            self._now = int(columns.time_ns[-1]) // NS
        self.expire_idle(self._now)

    @staticmethod
    def _start(flow: list, columns, position: int) -> None:
        flow[SRC_MAC] = columns.src_mac[position].tobytes()
        flow[DST_MAC] = columns.dst_mac[position].tobytes()
        flow[TTL] = int(columns.ttl[position])
        flow[TOS] = int(columns.tos[position])
        flow[ICMP] = int(columns.icmp_type_code[position])

    def expire_idle(self, now_second: int) -> None:
        """Export flows idle for the inactive timeout (the least recently used come first)."""
        flows, inactive = self.flows, self.inactive
        while flows:
            key, flow = next(iter(flows.items()))
            if now_second - flow[LAST] // NS < inactive:
                break
            del flows[key]
            self._export(key, flow, "inactive")

    def flush(self) -> None:
        """End of input: export every flow."""
        for key, flow in self.flows.items():
            self._export(key, flow, "forced")
        self.flows.clear()

    def take(self) -> ExportedFlows:
        exported, self.exported = self.exported, ExportedFlows()
        return exported
