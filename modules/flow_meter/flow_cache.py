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

import logging
from collections import Counter, OrderedDict
from itertools import repeat

import numpy as np

from .flow_groups import FIN, NS, RST, SYN, PacketGroups
from .flow_table import (
    BYTES,
    BYTES_REV,
    FIRST,
    FLAGS,
    FLAGS_REV,
    LAST,
    LOW_SOURCE,
    PACKETS,
    PACKETS_REV,
    SLOT,
    TOUCH,
    ExportedFlows,
    FlowTable,
)

log = logging.getLogger("flow_meter")

# a flow key: 40 bytes (a zero byte at the end), five whole 64-bit words to hash
_KEY_DTYPE = np.dtype([("a", "V16"), ("b", "V16"), ("port_a", "<u2"), ("port_b", "<u2"),
                       ("protocol", "u1"), ("vlan", "<u2"), ("zero", "u1")])
_ADDED = [PACKETS, BYTES, PACKETS_REV, BYTES_REV]          # summed when a group continues a flow
_ORED = [FLAGS, FLAGS_REV]


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
    packed["zero"] = 0
    return packed.view(f"V{_KEY_DTYPE.itemsize}"), low


class FlowCache:
    def __init__(self, active: int = 300, inactive: int = 30, size: int = 1 << 17,
                 biflow: bool = True, per_packet: bool = False):
        """`per_packet` turns the grouped fast path off (the reference the tests compare
        the fast path with)."""
        self.active, self.inactive, self.size, self.biflow = active, inactive, size, biflow
        self.per_packet = per_packet
        self.table = FlowTable(_KEY_DTYPE.itemsize, min(size, 1024))
        self._exported: list[np.ndarray] = []      # slots of the flows ended since take()
        self.reasons: Counter[str] = Counter()
        self.created = 0
        self.plugin_errors: Counter[str] = Counter()
        self._now = 0
        self._chunk_start = 0                      # capture position of the chunk's first packet

    def __len__(self) -> int:
        """Flows in the cache."""
        return len(self.table)

    def _export(self, slots: np.ndarray, reason: str, indexed: bool = True) -> None:
        if len(slots):
            self.table.remove(slots, indexed)
            self._exported.append(slots)
            self.reasons[reason] += len(slots)

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
        groups = PacketGroups(keys, low, columns, self.inactive)
        slow = groups.plugin_groups([mask for _, mask in masks])
        if self.per_packet or len(self.table) + groups.count > self.size:
            slow[:] = True                       # evictions: keep exact LRU order
        groups.mark_active_spans(slow, self.active)
        slots = self._continue_or_end(groups, slow)
        creator_low, ended_forward, ended_reverse = self._sides(groups, slots)
        reverse = groups.reverse(creator_low)
        groups.mark_syn_after_end(slow, reverse, ended_forward, ended_reverse)
        groups.spread_over_keys(slow)
        self._add_groups(groups, slow, slots, reverse, columns)
        slow_positions = groups.positions_of(slow)
        if len(slow_positions):
            self._add_packets(slow_positions, keys, low, columns, masks, packets)
        self._chunk_start += columns.count
        self._now = int(columns.time_ns[-1]) // NS
        self.expire_idle(self._now)

    def _continue_or_end(self, groups: PacketGroups, slow: np.ndarray) -> np.ndarray:
        """For each group, the slot of the cached flow it continues (-1: it starts a new flow,
        or goes packet by packet). A cached flow the group's first packet ends (eof,
        inactive, active) is exported; a group whose flow may end later in the chunk is marked
        slow."""
        found = np.fromiter(map(self.table.index.get, groups.keys, repeat(-1)), dtype=np.intp,
                            count=groups.count)
        checked = np.flatnonzero((found >= 0) & ~slow & ~groups.after_gap)
        slots = np.full(groups.count, -1, dtype=np.intp)
        if not len(checked):
            return slots
        first_low, first_time, first_flags, last_second = groups.firsts()
        found = found[checked]
        cached = self.table.values[:, found]
        reason = self._end_reasons(cached, first_low[checked], first_flags[checked],
                                   first_time[checked] // NS)
        for code, name in enumerate(("eof", "inactive", "active")):
            self._export(found[reason == code], name)
        staying = reason < 0
        checked, found, cached = checked[staying], found[staying], cached[:, staying]
        late = last_second[checked] - cached[FIRST] // NS >= self.active
        # a cached time later than the chunk's: the cut after it may be no inactive gap
        late |= groups.ends_in_chunk[checked] & (cached[LAST] // NS > last_second[checked])
        slow[checked[late]] = True
        slots[checked[~late]] = found[~late]
        return slots

    def _end_reasons(self, cached: np.ndarray, low_source: np.ndarray, flags: np.ndarray,
                     second: np.ndarray) -> np.ndarray:
        """Per flow (`cached`: FIELDS rows) and the packet that follows it (its low-side flag,
        TCP flags and second): 0 eof, 1 inactive, 2 active, -1 none (_end_reason's checks,
        column-wise)."""
        seen = np.where(low_source != cached[LOW_SOURCE], cached[FLAGS_REV], cached[FLAGS])
        reason = np.full(len(second), -1, dtype=np.int8)
        reason[second - cached[FIRST] // NS >= self.active] = 2
        reason[second - cached[LAST] // NS >= self.inactive] = 1
        reason[(flags & SYN != 0) & (seen & (FIN | RST) != 0)] = 0
        return reason

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

    def _sides(self, groups: PacketGroups,
               slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per group: is the creator of its flow the low side; has the flow it continues seen
        FIN/RST forward, and in reverse?"""
        creator_low = groups.low[groups.starts]
        forward = np.zeros(groups.count, dtype=bool)
        backward = np.zeros(groups.count, dtype=bool)
        continued = np.flatnonzero(slots >= 0)
        if len(continued):
            cached = self.table.values[:, slots[continued]]
            creator_low[continued] = cached[LOW_SOURCE] != 0
            forward[continued] = cached[FLAGS] & (FIN | RST) != 0
            backward[continued] = cached[FLAGS_REV] & (FIN | RST) != 0
        return creator_low, forward, backward

    def _add_groups(self, groups: PacketGroups, slow: np.ndarray, slots: np.ndarray,
                    reverse: np.ndarray, columns) -> None:
        """Account the fast groups in one step each: the flows they continue are updated, the
        others' flows made in one go. A group followed by another of its key (after an
        inactive gap) ends its flow here."""
        fast = np.flatnonzero(~slow)
        if not len(fast):
            return
        made = groups.flow_values(reverse)
        if len(fast) < groups.count:
            made = made[:, fast]
        touch = self._chunk_start + groups.last_positions()[fast]
        fast_slots = slots[fast]
        continued, new = fast_slots >= 0, fast_slots < 0
        table = self.table
        created = table.allocate(int(np.count_nonzero(new)))
        values = table.values                    # (after allocate: the table may have grown)
        if continued.any():
            flows, update = fast_slots[continued], made[:, continued]
            values[np.ix_(_ADDED, flows)] += update[_ADDED]
            values[np.ix_(_ORED, flows)] |= update[_ORED]
            values[LAST, flows] = np.maximum(values[LAST, flows], update[LAST])
            values[TOUCH, flows] = touch[continued]
        fast_slots[new] = created
        values[:TOUCH, created] = made[:, new]
        values[TOUCH, created] = touch[new]
        table.describe(created, columns, groups.order[groups.starts[fast[new]]])
        table.keys[created] = groups.key_array[fast[new]]
        self.created += len(created)
        ending = groups.ends_in_chunk[fast]
        if ending.any():                         # (before the key's next flow is indexed)
            self._export_before_gaps(groups, fast[ending], fast_slots[ending],
                                     continued[ending])
        table.insert(fast_slots[new & ~ending])

    def _export_before_gaps(self, groups: PacketGroups, indexes: np.ndarray, slots: np.ndarray,
                            indexed: np.ndarray) -> None:
        """Export the flows (`slots`) of groups `indexes`, each ended by the first packet of
        its key's next group: inactive (that packet follows a gap), or eof where it is a SYN
        after a FIN or RST in its direction (as _end_reasons decides). `indexed`: the flow
        was in the cache before the chunk (a new one never was)."""
        following = groups.starts[indexes + 1]
        eof = self._end_reasons(self.table.values[:, slots], groups.low[following],
                                groups.flags[following], groups.seconds[following]) == 0
        for reason, chosen in (("eof", eof), ("inactive", ~eof)):
            self._export(slots[chosen & indexed], reason)
            self._export(slots[chosen & ~indexed], reason, indexed=False)

    def _add_packets(self, positions: np.ndarray, keys: np.ndarray, low: np.ndarray, columns,
                     masks: list, packets: list[bytes] | None) -> None:
        """The exact per-packet path, for the packets at `positions` (in capture order). The
        cached flows of its keys are taken out of the table as lists, the flows it touches
        kept in `touched` in LRU order; all are put back at the end, and the flows that ended
        are exported then."""
        table, end_reason, size_limit = self.table, self._end_reason, self.size
        chunk_start = self._chunk_start
        index, allocate = table.index, table.allocate_one
        row_keys = keys[positions].tolist()
        cached = table.take_out(dict.fromkeys(row_keys))
        touched: OrderedDict[bytes, list] = OrderedDict()
        get, move = touched.get, touched.move_to_end
        made: list[list] = []
        made_at: list[int] = []
        ended: dict[str, list[int]] = {}         # reason -> slots of the flows that ended
        # an eviction needs a full cache: then every group of the chunk comes here (see add)
        victims = _Victims(table, touched) if len(table) + len(positions) > size_limit else None
        plugin_masks = [(plugin, mask[positions].tolist()) for plugin, mask in masks]
        rows = zip(positions.tolist(), row_keys, low[positions].tolist(),
                   columns.time_ns[positions].tolist(), columns.ip_bytes[positions].tolist(),
                   columns.tcp_flags[positions].tolist(), strict=True)
        for number, (position, key, low_source, time_ns, size, flags) in enumerate(rows):
            flow = get(key)
            if flow is None and key in index:    # a cached flow this pass has not touched
                flow = touched[key] = cached[key]
            if flow is not None:
                reason = end_reason(flow, low_source, flags, time_ns // NS)
                if reason is not None:
                    del touched[key], index[key]
                    ended.setdefault(reason, []).append(flow[SLOT])
                    flow = None
                else:
                    reverse = low_source != flow[LOW_SOURCE]
            if flow is None:
                reverse = False
                slot = allocate()
                flow = touched[key] = [time_ns, time_ns, 0, 0, 0, 0, 0, 0, low_source, 0,
                                       None, slot]
                made.append(flow)
                made_at.append(position)
                index[key] = slot
                self.created += 1
                if len(index) > size_limit:
                    victim_key, victim = victims.next()
                    del index[victim_key]
                    ended.setdefault("evicted", []).append(victim)
            else:
                move(key)
                if time_ns > flow[LAST]:
                    flow[LAST] = time_ns
            flow[TOUCH] = chunk_start + position
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
                if mask[number] and self._plugin_update(plugin, flow, reverse, columns,
                                                        position, packets):
                    flush = True
            if flush:
                del touched[key], index[key]
                ended.setdefault("plugin", []).append(flow[SLOT])
        table.put_back([*cached.values(), *made])
        if made:
            slots = np.array([flow[SLOT] for flow in made], dtype=np.intp)
            made_at = np.array(made_at, dtype=np.intp)
            table.describe(slots, columns, made_at)
            table.keys[slots] = keys[made_at]
        for reason, slots in ended.items():
            self._export(np.array(slots, dtype=np.intp), reason, indexed=False)

    def _plugin_update(self, plugin, flow: list, reverse: bool, columns, position: int,
                       packets: list[bytes] | None) -> bool:
        """plugin.update; a payload the plugin fails on is counted (plugin_errors) and logged
        once per plugin, never fatal: the packet still counts in its flow."""
        try:
            return plugin.update(flow, reverse, columns, position, packets)
        except Exception as exc:          # third-party payload parsers raise anything
            if not self.plugin_errors[plugin.name]:
                log.warning("plugin %s: a packet's payload could not be read (%s: %s); such "
                            "packets are counted in plugin_errors", plugin.name,
                            type(exc).__name__, exc)
            self.plugin_errors[plugin.name] += 1
            return False

    def expire_idle(self, now_second: int) -> None:
        """Export flows idle for the inactive timeout, least recently used first, up to the
        first flow (in LRU order) that is not idle."""
        table = self.table
        live = np.flatnonzero(table.alive)
        recent = (now_second - self.inactive + 1) * NS   # a flow last seen before: idle
        idle = table.values[LAST, live] < recent
        if not idle.any():
            return
        touch = table.values[TOUCH, live]
        if not idle.all():
            idle &= touch < touch[~idle].min()
        expired = live[idle]
        self._export(expired[np.argsort(touch[idle])], "inactive")

    def flush(self) -> None:
        """End of input: export every flow."""
        self._export(self.table.live_slots(), "forced")

    def take(self) -> ExportedFlows:
        """The flows ended since the last take(). Within a chunk their order follows the
        cache's steps (by reason, by group), not the order of the packets that ended them."""
        if not self._exported:
            return ExportedFlows.empty()
        exported = self.table.gather(np.concatenate(self._exported))
        self._exported = []
        self.table.release()
        return exported


class _Victims:
    """The least recently used flows, for evictions in the per-packet path: first the cached
    flows the pass has not touched (in LRU order), then those in `touched` (the pass's
    flows, in LRU order too: every one of them is more recent than the others)."""

    def __init__(self, table: FlowTable, touched: OrderedDict):
        self.index, self.touched = table.index, touched
        live = table.live_slots()
        self._untouched = zip(live.tolist(), table.keys[live].tolist(), strict=True)

    def next(self) -> tuple[bytes, int]:
        """The key and slot of the least recently used flow; a touched one leaves `touched`."""
        for slot, key in self._untouched:        # (skipping those ended or touched since)
            if self.index.get(key) == slot and key not in self.touched:
                return key, slot
        key, flow = self.touched.popitem(last=False)
        return key, flow[SLOT]
