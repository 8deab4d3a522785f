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

from .flow_groups import FIN, NS, RST, SYN, PacketGroups

# flow list layout: positions of the per-flow state (a list is the fastest mutable record)
FIRST, LAST, PACKETS, BYTES, FLAGS, PACKETS_REV, BYTES_REV, FLAGS_REV, PLUGIN_STATE, \
    LOW_SOURCE, CREATOR = range(11)

# what a flow keeps of the packet that created it, packed in one bytes object (CREATOR)
CREATOR_DTYPE = np.dtype([("src_ip", "V16"), ("dst_ip", "V16"), ("src_port", "<u2"),
                          ("dst_port", "<u2"), ("protocol", "u1"), ("vlan_id", "<u2"),
                          ("src_mac", "V6"), ("dst_mac", "V6"), ("ttl", "u1"), ("tos", "u1")])
_KEY_FIELDS = ("src_ip", "dst_ip", "src_port", "dst_port", "protocol", "vlan_id")

_KEY_DTYPE = np.dtype([("a", "V16"), ("b", "V16"), ("port_a", "<u2"), ("port_b", "<u2"),
                       ("protocol", "u1"), ("vlan", "<u2")])


def canonical_keys(columns, biflow: bool) -> tuple[np.ndarray, np.ndarray]:
    """One key per packet (a void array: the key's bytes), the same for both directions of a
    biflow (the lower address/port end first), and whether the packet's source is that lower
    end."""
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
    return packed.view(f"V{_KEY_DTYPE.itemsize}"), low


@dataclass
class ExportedFlows:
    """Flows ended since the last take(), each with the header fields of the packet that
    created it (CREATOR_DTYPE: its key, MACs, TTL and ToS)."""

    flows: list[list] = field(default_factory=list)

    def creators(self) -> np.ndarray:
        """One CREATOR_DTYPE row per flow."""
        return np.frombuffer(b"".join([flow[CREATOR] for flow in self.flows]),
                             dtype=CREATOR_DTYPE)

    @property
    def keys(self) -> list[tuple]:
        """Per flow: (source, destination, source port, destination port, protocol, VLAN id)
        of its creator."""
        creators = self.creators()
        return list(zip(*(creators[name].tolist() for name in _KEY_FIELDS), strict=True))

    def __len__(self) -> int:
        return len(self.flows)


class FlowCache:
    def __init__(self, active: int = 300, inactive: int = 30, size: int = 1 << 17,
                 biflow: bool = True, per_packet: bool = False):
        """`per_packet` turns the grouped fast path off (the reference the tests compare
        the fast path with)."""
        self.active, self.inactive, self.size, self.biflow = active, inactive, size, biflow
        self.per_packet = per_packet
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
        the chunk's raw packets, for plugins that read payloads.

        Packets are grouped by flow key column-wise, a key's packets cut into several groups
        where an inactive gap ends a flow; a group whose packets cannot end its flow inside
        the chunk otherwise (no active timeout, no SYN after FIN/RST, no plugin) is added in
        one step. The keys of the other groups go packet by packet, in order."""
        if not columns.count:
            self.expire_idle(self._now)
            return
        keys, low = canonical_keys(columns, self.biflow)
        masks = [(plugin, plugin.wants(columns)) for plugin in plugins]
        created: list[tuple[list, int]] = []
        groups = PacketGroups(keys, low, columns, self.inactive)
        slow = groups.plugin_groups([mask for _, mask in masks])
        if self.per_packet or len(self.flows) + groups.count > self.size:
            slow[:] = True                       # evictions: keep exact LRU order
        groups.mark_active_spans(slow, self.active)
        flows_of_groups = self._continue_or_end(groups, slow)
        first_low = groups.firsts()[0]
        creator_low = np.array([low_side if flow is None else flow[LOW_SOURCE]
                                for flow, low_side in zip(flows_of_groups, first_low,
                                                          strict=True)], dtype=bool)
        reverse = groups.reverse(creator_low)
        groups.mark_syn_after_end(slow, reverse, *self._ended_sides(flows_of_groups))
        groups.spread_over_keys(slow)
        self._add_groups(groups, slow, flows_of_groups, reverse, created)
        slow_positions = groups.positions_of(slow)
        if len(slow_positions):
            self._add_packets(slow_positions, keys, low, columns, masks, packets, created)
        self._describe_created(created, columns)
        self._now = int(columns.time_ns[-1]) // NS
        self.expire_idle(self._now)

    def _continue_or_end(self, groups: PacketGroups, slow: np.ndarray) -> list:
        """For each fast group, the cached flow it continues (None: it starts a new flow).
        A cached flow the group's first packet ends (eof, inactive, active) is exported."""
        flows, get, end_reason = self.flows, self.flows.get, self._end_reason
        active = self.active
        result: list = [None] * groups.count
        first_low, first_time, first_flags, last_second = groups.firsts()
        after_gap = groups.after_gap
        for index, key in enumerate(groups.keys):
            if slow[index] or after_gap[index]:
                continue
            flow = get(key)
            if flow is None:
                continue
            reason = end_reason(flow, first_low[index], first_flags[index],
                                first_time[index] // NS)
            if reason is not None:
                del flows[key]
                self._export(flow, reason)
            elif last_second[index] - flow[FIRST] // NS >= active:
                slow[index] = True               # its active timeout falls inside the chunk
            else:
                result[index] = flow
        return result

    def _end_reason(self, flow: list, low_source: bool, flags: int, second: int) -> str | None:
        """Why a packet (its low-side flag, TCP flags and second) ends the cached `flow`,
        checked in ipfixprobe's order; None: it does not."""
        seen = flow[FLAGS_REV] if low_source != flow[LOW_SOURCE] else flow[FLAGS]
        if flags & SYN and seen & (FIN | RST):
            return "eof"
        if second - flow[LAST] // NS >= self.inactive:
            return "inactive"
        if second - flow[FIRST] // NS >= self.active:
            return "active"
        return None

    @staticmethod
    def _ended_sides(flows_of_groups: list) -> tuple[np.ndarray, np.ndarray]:
        """Per group: has the flow it continues seen FIN/RST forward, and in reverse?"""
        forward = [bool(flow[FLAGS] & (FIN | RST)) if flow else False
                   for flow in flows_of_groups]
        backward = [bool(flow[FLAGS_REV] & (FIN | RST)) if flow else False
                    for flow in flows_of_groups]
        return np.array(forward, dtype=bool), np.array(backward, dtype=bool)

    def _add_groups(self, groups: PacketGroups, slow: np.ndarray, flows_of_groups: list,
                    reverse: np.ndarray, created: list) -> None:
        flows, move = self.flows, self.flows.move_to_end
        sums = groups.sums(reverse)
        first_low, first_time, first_flags, _ = groups.firsts()
        first_positions = groups.first_positions()
        after_gap = groups.after_gap
        for index in groups.in_last_packet_order(~slow):
            key = groups.keys[index]
            packets, octets, flags, packets_rev, octets_rev, flags_rev, last = sums[index]
            flow = flows_of_groups[index]
            if flow is None:
                if after_gap[index]:             # the key's previous group's flow ends here
                    ended = flows.pop(key)
                    self._export(ended, self._end_reason(ended, first_low[index],
                                                         first_flags[index],
                                                         first_time[index] // NS))
                flow = [first_time[index], last, packets, octets, flags, packets_rev,
                        octets_rev, flags_rev, None, first_low[index], None]
                flows[key] = flow
                created.append((flow, first_positions[index]))
                self.created += 1
                continue
            move(key)
            flow[PACKETS] += packets
            flow[BYTES] += octets
            flow[FLAGS] |= flags
            flow[PACKETS_REV] += packets_rev
            flow[BYTES_REV] += octets_rev
            flow[FLAGS_REV] |= flags_rev
            if last > flow[LAST]:
                flow[LAST] = last

    def _add_packets(self, positions: np.ndarray, keys: np.ndarray, low: np.ndarray, columns,
                     masks: list, packets: list[bytes] | None, created: list) -> None:
        """The exact per-packet path, for the packets at `positions` (in capture order)."""
        flows, end_reason = self.flows, self._end_reason
        get, move = flows.get, flows.move_to_end
        size_limit = self.size
        plugin_masks = [(plugin, mask[positions].tolist()) for plugin, mask in masks]
        rows = zip(positions.tolist(), keys[positions].tolist(), low[positions].tolist(),
                   columns.time_ns[positions].tolist(), columns.ip_bytes[positions].tolist(),
                   columns.tcp_flags[positions].tolist(), strict=True)
        for index, (position, key, low_source, time_ns, size, flags) in enumerate(rows):
            flow = get(key)
            if flow is not None:
                reason = end_reason(flow, low_source, flags, time_ns // NS)
                if reason is not None:
                    del flows[key]
                    self._export(flow, reason)
                    flow = None
                else:
                    reverse = low_source != flow[LOW_SOURCE]
            if flow is None:
                reverse = False
                flow = [time_ns, time_ns, 0, 0, 0, 0, 0, 0, None, low_source, None]
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
                if mask[index] and plugin.update(flow, reverse, columns, position, packets):
                    flush = True
            if flush:
                del flows[key]
                self._export(flow, "plugin")

    @staticmethod
    def _describe_created(created: list[tuple[list, int]], columns) -> None:
        """Store the creating packet's header fields in the flows this chunk started
        (gathered column-wise after the loop, so the per-packet path stays short)."""
        if not created:
            return
        positions = np.fromiter((position for _, position in created), dtype=np.intp,
                                count=len(created))
        creators = np.empty(len(created), dtype=CREATOR_DTYPE)
        for name in CREATOR_DTYPE.names:
            creators[name] = getattr(columns, name)[positions]
        blobs = creators.view(f"V{CREATOR_DTYPE.itemsize}").tolist()
        for (flow, _), blob in zip(created, blobs, strict=True):
            flow[CREATOR] = blob

    def expire_idle(self, now_second: int) -> None:
        """Export flows idle for the inactive timeout (the least recently used come first)."""
        flows, inactive = self.flows, self.inactive
        expired = []
        for flow in flows.values():
            if now_second - flow[LAST] // NS < inactive:
                break
            expired.append(flow)
        for _ in expired:
            flows.popitem(last=False)
        self.exported.flows.extend(expired)
        self.reasons["inactive"] += len(expired)

    def flush(self) -> None:
        """End of input: export every flow."""
        for flow in self.flows.values():
            self._export(flow, "forced")
        self.flows.clear()

    def take(self) -> ExportedFlows:
        exported, self.exported = self.exported, ExportedFlows()
        return exported
