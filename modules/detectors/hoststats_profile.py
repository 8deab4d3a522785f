"""HostTable: NEMEA hoststats' per-host profile, updated a whole batch at a time.

Every address of a flow gets a record: the source its `out_*` counters, the destination its
`in_*` counters (flows, packets, bytes, TCP flag counts, request/response splits, distinct
peers), plus the SSH (TCP port 22) and DNS (port 53) subprofiles. A flow is a *request* or a
*response* by DIRECTION_FLAGS, or with `port-flowdir` by its ports (the lower port < 10000 is the
server's; flows from it are responses). Records live in flow time: a record expires `timeout-
inactive` after its last flow or `timeout-active` after its first one, and is then checked by the
rules (hoststats_rules) and dropped.

Distinct peers are counted exactly per record generation (NEMEA: a Bloom filter keyed by the pair
and the record's start): pair keys live in a KeySet (numpy hash tables), two generations of
`timeout-active` each, so a lookup is a few vectorised probes, not a Python loop per flow.
"""

from __future__ import annotations

import numpy as np

from .ddos_keys import KeyIndex, KeySet, address_keys, grow_slot_arrays, mix
from .flow_columns import ACK, FIN, PSH, RST, SYN, URG

REQ_FLAG, RSP_FLAG = 0x01, 0x02          # UniRec DIRECTION_FLAGS bits
PENDING_ROWS = 32_768                    # contributions summed into the counters at once
SERVER_PORT_LIMIT = 10_000

# column: (value, condition); the prefix says whose record it is (out = source, in = destination)
COLUMNS: dict[str, tuple[str, str]] = {
    "out_all_flows": ("one", "all"), "out_req_flows": ("one", "req"),
    "out_rsp_flows": ("one", "rsp"), "out_all_packets": ("packets", "all"),
    "out_req_packets": ("packets", "req"), "out_rsp_packets": ("packets", "rsp"),
    "out_all_bytes": ("bytes", "all"), "out_req_bytes": ("bytes", "req"),
    "out_all_fin_cnt": ("fin", "all"), "out_all_syn_cnt": ("syn", "all"),
    "out_all_rst_cnt": ("rst", "all"), "out_all_psh_cnt": ("psh", "all"),
    "out_all_ack_cnt": ("ack", "all"), "out_all_urg_cnt": ("urg", "all"),
    "out_req_syn_cnt": ("syn", "req"), "out_req_rst_cnt": ("rst", "req"),
    "out_req_psh_cnt": ("psh", "req"), "out_req_ack_cnt": ("ack", "req"),
    "out_rsp_syn_cnt": ("syn", "rsp"), "out_rsp_ack_cnt": ("ack", "rsp"),
    "out_all_uniqueips": ("new", "all"), "out_req_uniqueips": ("new", "req"),
    "in_all_flows": ("one", "all"), "in_req_flows": ("one", "req"),
    "in_rsp_flows": ("one", "rsp"), "in_all_packets": ("packets", "all"),
    "in_req_packets": ("packets", "req"), "in_rsp_packets": ("packets", "rsp"),
    "in_all_bytes": ("bytes", "all"), "in_req_bytes": ("bytes", "req"),
    "in_all_fin_cnt": ("fin", "all"), "in_all_syn_cnt": ("syn", "all"),
    "in_all_rst_cnt": ("rst", "all"), "in_all_psh_cnt": ("psh", "all"),
    "in_all_ack_cnt": ("ack", "all"), "in_all_urg_cnt": ("urg", "all"),
    "in_req_rst_cnt": ("rst", "req"), "in_req_psh_cnt": ("psh", "req"),
    "in_req_ack_cnt": ("ack", "req"), "in_rsp_ack_cnt": ("ack", "rsp"),
    "in_all_uniqueips": ("new", "all"), "in_req_uniqueips": ("new", "req"),
    "ssh_out_req_packets": ("packets", "ssh_req"), "ssh_out_rsp_packets": ("packets", "ssh_rsp"),
    "ssh_out_req_syn_cnt": ("syn", "ssh_req"), "ssh_out_rsp_syn_cnt": ("syn", "ssh_rsp"),
    "ssh_out_all_uniqueips": ("new_ssh", "ssh"),
    "ssh_in_req_packets": ("packets", "ssh_req"), "ssh_in_rsp_packets": ("packets", "ssh_rsp"),
    "ssh_in_req_syn_cnt": ("syn", "ssh_req"), "ssh_in_rsp_syn_cnt": ("syn", "ssh_rsp"),
    "ssh_in_all_uniqueips": ("new_ssh", "ssh"),
    "dns_out_rsp_overlimit_cnt": ("one", "dns_over"),
    "dns_in_rsp_overlimit_cnt": ("one", "dns_over"),
}
OUT_COLUMNS = [n for n in COLUMNS if n.startswith(("out_", "ssh_out", "dns_out"))]
IN_COLUMNS = [n for n in COLUMNS if n not in OUT_COLUMNS]
NAMES = OUT_COLUMNS + IN_COLUMNS                 # each side's counters side by side
INDEX = {name: i for i, name in enumerate(NAMES)}
SIDE_VALUES = ("new", "new_ssh")                 # values that differ between the two sides
SHARED = sorted({spec for spec in COLUMNS.values() if spec[0] not in SIDE_VALUES})


def _layout(columns: list[str]) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """For one side: where its shared values go, which shared column feeds each, its own
    (side-specific) columns and where they go."""
    spec_index = {spec: j for j, spec in enumerate(SHARED)}
    shared_at = [i for i, name in enumerate(columns) if COLUMNS[name][0] not in SIDE_VALUES]
    own = [name for name in columns if COLUMNS[name][0] in SIDE_VALUES]
    return (np.array(shared_at), np.array([spec_index[COLUMNS[columns[i]]] for i in shared_at]),
            own, np.array([columns.index(name) for name in own]))


LAYOUTS = {True: _layout(OUT_COLUMNS), False: _layout(IN_COLUMNS)}
SPANS = {True: (0, len(OUT_COLUMNS)), False: (len(OUT_COLUMNS), len(NAMES))}


def flow_direction(sport: np.ndarray, dport: np.ndarray, flags: np.ndarray | None,
                   by_ports: bool) -> tuple[np.ndarray, np.ndarray]:
    """(request, response) masks."""
    if not by_ports and flags is not None:
        return (flags & REQ_FLAG) != 0, (flags & RSP_FLAG) != 0
    differ = sport != dport
    request = differ & (dport < sport) & (dport < SERVER_PORT_LIMIT)
    response = differ & (sport < dport) & (sport < SERVER_PORT_LIMIT)
    return request, response


class HostTable:
    def __init__(self, dns_bytes_overlimit: float = 1000.0, by_ports: bool = True):
        self.index = KeyIndex()
        self.dns_bytes_overlimit = dns_bytes_overlimit
        self.by_ports = by_ports
        self.pairs = KeySet()
        self.pending: list[tuple[bool, np.ndarray, np.ndarray]] = []
        self.pending_rows = 0
        self.capacity = 0
        self.next_generation = 1
        self._grow(4096)

    def _grow(self, needed: int) -> None:
        if needed > self.capacity:
            self.capacity = max(needed, 2 * self.capacity)
            grow_slot_arrays(self, self.capacity, {
                "counters": ((len(NAMES),), np.float64),
                "first": ((), np.int64, np.iinfo(np.int64).max), "last": ((), np.int64),
                "generation": ((), np.uint64), "addresses": ((), "V16")})

    def __len__(self) -> int:
        return self.index.live

    def _slots(self, column: np.ndarray, keys: np.ndarray) -> np.ndarray:
        slots, fresh, first_rows = self.index.lookup_fresh(keys)
        self._grow(len(self.index))
        if len(fresh):
            self.counters[fresh] = 0
            self.first[fresh] = np.iinfo(np.int64).max
            self.last[fresh] = 0
            self.generation[fresh] = np.arange(self.next_generation,
                                               self.next_generation + len(fresh))
            self.next_generation += len(fresh)
            self.addresses[fresh] = column[first_rows]
        return slots

    def update(self, src, dst, sport, dport, proto, packets, octets, tcp_flags, tf, tl,
               dir_flags=None) -> None:
        n = len(src)
        if not n:
            return
        src_keys, dst_keys = address_keys(src), address_keys(dst)
        both = self._slots(np.concatenate([src, dst]), np.concatenate([src_keys, dst_keys]))
        src_slots, dst_slots = both[:n], both[n:]
        for slots in (src_slots, dst_slots):
            np.minimum.at(self.first, slots, tf)
            np.maximum.at(self.last, slots, tl)
        flags = tcp_flags if tcp_flags is not None else np.zeros(n, np.uint8)
        request, response = flow_direction(sport, dport, dir_flags, self.by_ports)
        ssh = (proto == 6) & ((sport == 22) | (dport == 22))
        dns = ((proto == 6) | (proto == 17)) & ((sport == 53) | (dport == 53))
        base = {
            "one": np.ones(n), "packets": packets.astype(np.float64),
            "bytes": octets.astype(np.float64),
            "fin": (flags & FIN) != 0, "syn": (flags & SYN) != 0, "rst": (flags & RST) != 0,
            "psh": (flags & PSH) != 0, "ack": (flags & ACK) != 0, "urg": (flags & URG) != 0,
            "all": np.ones(n, bool), "req": request, "rsp": response & ~request,
            "ssh": ssh, "ssh_req": ssh & request, "ssh_rsp": ssh & response & ~request,
            "dns_over": dns & response & ~request
            & (octets >= self.dns_bytes_overlimit * np.maximum(packets, 1)),
        }
        shared = np.empty((n, len(SHARED)))
        for j, (value, condition) in enumerate(SHARED):
            shared[:, j] = np.where(base[condition], base[value], 0.0)
        sides = ((OUT_COLUMNS, src_slots, src_keys, dst_keys, 0x0A),
                 (IN_COLUMNS, dst_slots, dst_keys, src_keys, 0x0B))
        for columns, slots, host, peer, salt in sides:
            gen = self.generation[slots]
            pair = mix(host ^ mix(gen, salt), salt) ^ mix(peer, salt + 1)
            base["new"] = self.pairs.new_first(pair)
            base["new_ssh"] = np.zeros(n, bool)
            if ssh.any():
                ssh_rows = np.flatnonzero(ssh)
                base["new_ssh"][ssh_rows] = self.pairs.new_first(mix(pair[ssh_rows], 0x55))
            self._add(columns, slots, base, shared)

    def _add(self, columns: list[str], slots: np.ndarray, base: dict,
             shared: np.ndarray) -> None:
        """Queue a side's contributions (in its counter order); summed in bulk by flush()."""
        out_side = columns is OUT_COLUMNS
        shared_at, shared_from, own, own_at = LAYOUTS[out_side]
        matrix = np.empty((len(slots), len(columns)))
        matrix[:, shared_at] = shared[:, shared_from]
        for position, name in zip(own_at.tolist(), own, strict=True):
            value, condition = COLUMNS[name]
            matrix[:, position] = base[value] & base[condition]
        self.pending.append((out_side, slots, matrix))
        self.pending_rows += len(slots)
        if self.pending_rows >= PENDING_ROWS:
            self.flush()

    def flush(self) -> None:
        """Sum the queued contributions into the counters (before anything reads them)."""
        if not self.pending:
            return
        for out_side in (True, False):
            parts = [p for p in self.pending if p[0] is out_side]
            if not parts:
                continue
            slots = np.concatenate([p[1] for p in parts])
            matrix = np.concatenate([p[2] for p in parts])
            order = np.argsort(slots, kind="stable")
            sorted_slots = slots[order]
            starts = np.concatenate(([0], np.flatnonzero(np.diff(sorted_slots)) + 1))
            low, high = SPANS[out_side]
            self.counters[sorted_slots[starts], low:high] += \
                np.add.reduceat(matrix[order], starts, axis=0)
        self.pending = []
        self.pending_rows = 0

    def expired(self, now: int, inactive_ns: int, active_ns: int) -> np.ndarray:
        self.flush()
        n = len(self.index)
        due = self.index.slot_live[:n] & ((now - self.last[:n] >= inactive_ns)
                                          | (now - self.first[:n] >= active_ns))
        return np.flatnonzero(due)

    def oldest(self, count: int) -> np.ndarray:
        self.flush()
        n = len(self.index)
        candidates = np.flatnonzero(self.index.slot_live[:n])
        order = np.argsort(self.last[candidates], kind="stable")
        return candidates[order[:count]]

    def all_live(self) -> np.ndarray:
        self.flush()
        return np.flatnonzero(self.index.slot_live[:len(self.index)])

    def remove(self, slots: np.ndarray) -> None:
        self.flush()
        self.index.remove(slots)

    def column(self, name: str, slots: np.ndarray) -> np.ndarray:
        self.flush()
        return self.counters[slots, INDEX[name]]
