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

import itertools
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
class _Created:
    """The flows a chunk created and the positions of the packets that created them."""

    flows: list[list] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)


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
        created = _Created()
        groups = PacketGroups(keys, low, columns, self.inactive)
        slow = groups.plugin_groups([mask for _, mask in masks])
        if self.per_packet or len(self.flows) + groups.count > self.size:
            slow[:] = True                       # evictions: keep exact LRU order
        groups.mark_active_spans(slow, self.active)
        flows_of_groups, continued = self._continue_or_end(groups, slow)
        creator_low, ended_forward, ended_reverse = self._sides(groups, flows_of_groups,
                                                                continued)
        reverse = groups.reverse(creator_low)
        groups.mark_syn_after_end(slow, reverse, ended_forward, ended_reverse)
        groups.spread_over_keys(slow)
        self._add_groups(groups, slow, flows_of_groups, reverse, created)
        slow_positions = groups.positions_of(slow)
        if len(slow_positions):
            self._add_packets(slow_positions, keys, low, columns, masks, packets, created)
        self._touch_in_capture_order(groups)
        self._describe_created(created, columns)
        self._now = int(columns.time_ns[-1]) // NS
        self.expire_idle(self._now)

    def _continue_or_end(self, groups: PacketGroups, slow: np.ndarray) -> tuple[list, list]:
        """For each fast group, the cached flow it continues (None: it starts a new flow), and
        the indexes of the groups that continue one. A cached flow the group's first packet
        ends (eof, inactive, active) is exported."""
        result = list(map(self.flows.get, groups.keys))
        cached = [index for index, flow in enumerate(result) if flow is not None]
        if not cached:
            return result, []
        first_low, first_time, first_flags, last_second = groups.firsts()
        after_gap, cut, continued = groups.after_gap, groups.ends_in_chunk, []
        for index in cached:
            flow, result[index] = result[index], None
            if slow[index] or after_gap[index]:
                continue
            reason = self._end_reason(flow, first_low[index], first_flags[index],
                                      first_time[index] // NS)
            if reason is not None:
                del self.flows[groups.keys[index]]
                self._export(flow, reason)
            elif last_second[index] - flow[FIRST] // NS >= self.active:
                slow[index] = True               # its active timeout falls inside the chunk
            elif cut[index] and flow[LAST] // NS > last_second[index]:
                slow[index] = True               # a later cached time: the cut may not be one
            else:
                result[index] = flow
                continued.append(index)
        return result, continued

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
    def _sides(groups: PacketGroups, flows_of_groups: list,
               continued: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per group: is the creator of its flow the low side; has the flow it continues seen
        FIN/RST forward, and in reverse?"""
        creator_low = groups.low[groups.starts]
        forward = np.zeros(groups.count, dtype=bool)
        backward = np.zeros(groups.count, dtype=bool)
        for index in continued:
            flow = flows_of_groups[index]
            creator_low[index] = flow[LOW_SOURCE]
            forward[index] = flow[FLAGS] & (FIN | RST) != 0
            backward[index] = flow[FLAGS_REV] & (FIN | RST) != 0
        return creator_low, forward, backward

    def _add_groups(self, groups: PacketGroups, slow: np.ndarray, flows_of_groups: list,
                    reverse: np.ndarray, created: _Created) -> None:
        """Account the fast groups in one step each: the flows they continue are updated, the
        others' flows made in one go. A group followed by another of its key (after an
        inactive gap) ends its flow here."""
        table = groups.flow_table(reverse)
        ends_here = groups.ends_in_chunk
        order = np.flatnonzero(~slow).tolist()
        if any(flows_of_groups[index] is not None for index in order):
            self._continue_flows(groups, flows_of_groups, table, ends_here.tolist(),
                                 [index for index in order if flows_of_groups[index] is not None])
            order = [index for index in order if flows_of_groups[index] is None]
        new = np.array(order, dtype=np.intp)
        made = table[new].tolist()
        created.flows.extend(made)
        created.positions.extend(groups.order[groups.starts[new]].tolist())
        self.created += len(made)
        ending = ends_here[new]
        if ending.any():
            ended = new[ending]
            self._export_before_gaps(groups, ended, table[ended],
                                     list(itertools.compress(made, ending.tolist())))
        staying = (~ending).tolist()
        self.flows.update(zip(itertools.compress([groups.keys[i] for i in order], staying),
                              itertools.compress(made, staying), strict=True))

    def _continue_flows(self, groups: PacketGroups, flows_of_groups: list, table: np.ndarray,
                        ends_here: list, chosen: list[int]) -> None:
        for index, (_, last, packets, octets, flags, packets_rev, octets_rev, flags_rev, *_) \
                in zip(chosen, table[chosen].tolist(), strict=True):
            flow = flows_of_groups[index]
            flow[PACKETS] += packets
            flow[BYTES] += octets
            flow[FLAGS] |= flags
            flow[PACKETS_REV] += packets_rev
            flow[BYTES_REV] += octets_rev
            flow[FLAGS_REV] |= flags_rev
            if last > flow[LAST]:
                flow[LAST] = last
            if ends_here[index]:
                del self.flows[groups.keys[index]]
                self._end_before_gap(groups, index, flow)

    def _touch_in_capture_order(self, groups: PacketGroups) -> None:
        """Move the flows of the chunk's keys to the end of the LRU list in the order of their
        last packets: the order the per-packet path leaves them in, whatever order the grouped
        and per-packet steps took them in (so evictions and idle expiry are exact)."""
        flows, move = self.flows, self.flows.move_to_end
        for key in groups.keys_by_last_packet():
            if key in flows:                     # (its flow may have ended in the chunk)
                move(key)

    def _export_before_gaps(self, groups: PacketGroups, indexes: np.ndarray, rows: np.ndarray,
                            flows: list[list]) -> None:
        """Export the new `flows` of groups `indexes` (their flow table `rows`), each ended by
        the first packet of its key's next group: inactive (that packet follows a gap), or
        eof where it is a SYN after a FIN or RST in its direction (as _end_reason decides)."""
        following = groups.starts[indexes + 1]
        seen = np.where(groups.low[following] != rows[:, LOW_SOURCE], rows[:, FLAGS_REV],
                        rows[:, FLAGS])
        eof = int(np.count_nonzero((groups.flags[following] & SYN != 0)
                                   & (seen & (FIN | RST) != 0)))
        self.exported.flows.extend(flows)
        for reason, count in (("eof", eof), ("inactive", len(flows) - eof)):
            if count:
                self.reasons[reason] += count

    def _end_before_gap(self, groups: PacketGroups, index: int, flow: list) -> None:
        """Export the flow of group `index`, ended by the first packet of the next group."""
        first_low, first_time, first_flags, _ = groups.firsts()
        following = index + 1
        self._export(flow, self._end_reason(flow, first_low[following], first_flags[following],
                                            first_time[following] // NS))

    def _add_packets(self, positions: np.ndarray, keys: np.ndarray, low: np.ndarray, columns,
                     masks: list, packets: list[bytes] | None, created: _Created) -> None:
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
                created.flows.append(flow)
                created.positions.append(position)
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
    def _describe_created(created: _Created, columns) -> None:
        """Store the creating packet's header fields in the flows this chunk started
        (gathered column-wise at the end, so the per-packet path stays short)."""
        if not created.flows:
            return
        positions = np.array(created.positions, dtype=np.intp)
        creators = np.empty(len(positions), dtype=CREATOR_DTYPE)
        for name in CREATOR_DTYPE.names:
            creators[name] = getattr(columns, name)[positions]
        blobs = creators.view(f"V{CREATOR_DTYPE.itemsize}").tolist()
        for flow, blob in zip(created.flows, blobs, strict=True):
            flow[CREATOR] = blob

    def expire_idle(self, now_second: int) -> None:
        """Export flows idle for the inactive timeout (the least recently used come first)."""
        flows = self.flows
        recent = (now_second - self.inactive + 1) * NS   # a flow last seen before: idle
        expired = []
        append = expired.append
        for flow in flows.values():
            if flow[LAST] >= recent:
                break
            append(flow)
        if len(expired) > len(flows) // 2:    # most of the cache: keep the rest instead
            self.flows = OrderedDict(itertools.islice(flows.items(), len(expired), None))
        else:
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
