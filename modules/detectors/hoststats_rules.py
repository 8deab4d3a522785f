"""hoststats rules, evaluated on expired host records, vectorised over the records.

NEMEA's detection rules (detectionrules.cpp), same estimates and thresholds:

* Horizontal SYN scan (2): many SYN-only request flows to many addresses, few ACKs, few answers,
  more than half the host's outgoing flows, and much more than it receives (not p2p).
* DoS victim / attacker (10): a SYN flood (SYN flows over the threshold, SYN > 2x ACK, < 2
  packets per flow) or another flood (request flows over the threshold, < 2 packets per flow,
  less than half answered); for an attacker per destination. NOTE as NEMEA's, "(probably
  spoofed)" when nearly every flow comes from another address.
* SSH brute force (30), victim and attacker: request and response flows of login size, many of
  them per peer.
* DNS amplification (15): more than the threshold of large DNS responses sent or received.

The request/response estimates split flows without a direction (ports both >= 10000) 80/20 as
NEMEA does (`dos-req-rsp-est-ratio`, `dos-rsp-req-est-ratio`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hoststats_config import HostStatsConfig
from .hoststats_profile import HostTable

EVENT_SCAN, EVENT_DOS, EVENT_DNS, EVENT_SSH = 2, 10, 15, 30


@dataclass
class HostEvent:
    type: int
    slot: int
    host_is_source: bool
    scale: int
    note: str
    protocol: int = 0
    src_port: int = 0
    dst_port: int = 0


def _estimate(part, total, others, ratio):
    return np.floor(part + (total - others) * ratio)


def check(table: HostTable, slots: np.ndarray, cfg: HostStatsConfig) -> list[HostEvent]:
    if not len(slots):
        return []
    c = {name: table.column(name, slots) for name in _USED}
    events: list[HostEvent] = []
    if cfg.rules_generic:
        events += _scan(c, slots, cfg) + _dos_victim(c, slots, cfg) + _dos_attacker(c, slots, cfg)
    if cfg.rules_ssh:
        events += _ssh(c, slots, cfg)
    if cfg.rules_dns:
        events += _dns(c, slots, cfg)
    return events


def _scan(c, slots, cfg) -> list[HostEvent]:
    r, rr = cfg.dos_req_rsp_est_ratio, cfg.dos_rsp_req_est_ratio
    out_req_syn = _estimate(c["out_req_syn_cnt"], c["out_all_syn_cnt"],
                            c["out_req_syn_cnt"] + c["out_rsp_syn_cnt"], r)
    out_req_ack = _estimate(c["out_req_ack_cnt"], c["out_all_ack_cnt"],
                            c["out_req_ack_cnt"] + c["out_rsp_ack_cnt"], r)
    in_rsp_ack = _estimate(c["in_rsp_ack_cnt"], c["in_all_ack_cnt"],
                           c["in_req_ack_cnt"] + c["in_rsp_ack_cnt"], rr)
    hit = ((out_req_syn > cfg.syn_scan_threshold)
           & (out_req_syn > cfg.syn_scan_syn_to_ack_ratio * out_req_ack)
           & (out_req_syn > cfg.syn_scan_request_to_response_ratio * in_rsp_ack)
           & (c["out_req_uniqueips"] >= cfg.syn_scan_ips)
           & (c["out_req_syn_cnt"] > np.floor(c["out_all_flows"] / 2))
           & (c["out_req_syn_cnt"] > 10 * c["in_all_syn_cnt"]))
    return [HostEvent(EVENT_SCAN, int(slots[i]), True,
                      int(max(0, c["out_all_syn_cnt"][i] - c["out_all_ack_cnt"][i])),
                      "horizontal SYN scan", protocol=6) for i in np.flatnonzero(hit)]


def _dos_victim(c, slots, cfg) -> list[HostEvent]:
    r, rr = cfg.dos_req_rsp_est_ratio, cfg.dos_rsp_req_est_ratio
    in_flows, in_packets = c["in_all_flows"], c["in_all_packets"]
    out_rsp_flows = _estimate(c["out_rsp_flows"], c["out_all_flows"],
                              c["out_req_flows"] + c["out_rsp_flows"], rr)
    in_req_flows = _estimate(c["in_req_flows"], in_flows, c["in_req_flows"] + c["in_rsp_flows"], r)
    in_req_packets = _estimate(c["in_req_packets"], in_packets,
                               c["in_req_packets"] + c["in_rsp_packets"], r)
    syn = c["in_all_syn_cnt"]
    tcp = ((syn > cfg.dos_victim_connections_synflood) & (syn > 2 * c["in_all_ack_cnt"])
           & (in_packets < cfg.dos_victim_packet_ratio * in_flows))
    other = ((in_req_flows > cfg.dos_victim_connections_others)
             & (in_req_packets < cfg.dos_victim_packet_ratio * in_req_flows)
             & (out_rsp_flows < np.floor(in_req_flows / 2)))
    events = []
    for i in np.flatnonzero(tcp | other):
        sources = int(c["in_all_uniqueips"][i])
        note = (f"in: {int(in_flows[i])} flows, {int(in_packets[i])} packets; out: "
                f"{int(c['out_all_flows'][i])} flows, {int(c['out_all_packets'][i])} packets; "
                f"approx. {sources} source addresses")
        if tcp[i]:
            note += "; SYN flood"
        if in_flows[i] < 2 * sources:
            note += " (probably spoofed)"
        events.append(HostEvent(EVENT_DOS, int(slots[i]), False, int(in_flows[i]), note,
                                protocol=6 if tcp[i] else 0))
    return events


def _dos_attacker(c, slots, cfg) -> list[HostEvent]:
    r, rr = cfg.dos_req_rsp_est_ratio, cfg.dos_rsp_req_est_ratio
    out_flows, out_packets = c["out_all_flows"], c["out_all_packets"]
    peers = np.maximum(c["out_all_uniqueips"], 1)
    out_req_flows = _estimate(c["out_req_flows"], out_flows,
                              c["out_req_flows"] + c["out_rsp_flows"], r)
    out_req_packets = _estimate(c["out_req_packets"], out_packets,
                                c["out_req_packets"] + c["out_rsp_packets"], r)
    in_rsp_flows = _estimate(c["in_rsp_flows"], c["in_all_flows"],
                             c["in_req_flows"] + c["in_rsp_flows"], rr)
    tcp = ((np.floor(out_flows / peers) >= cfg.dos_attacker_connections_synflood)
           & (out_packets < cfg.dos_attacker_packet_ratio * out_flows)
           & (c["out_all_syn_cnt"] > 2 * c["out_all_ack_cnt"]))
    other = ((np.floor(out_req_flows / peers) >= cfg.dos_attacker_connections_others)
             & (out_req_packets < cfg.dos_attacker_packet_ratio * out_req_flows)
             & (in_rsp_flows < np.floor(out_req_flows / 2)))
    events = []
    for i in np.flatnonzero(tcp | other):
        note = (f"out: {int(out_flows[i])} flows, {int(out_packets[i])} packets; in: "
                f"{int(c['in_all_flows'][i])} flows, {int(c['in_all_packets'][i])} packets; "
                f"approx. {int(c['out_all_uniqueips'][i])} destination addresses")
        if tcp[i]:
            note += "; SYN flood"
        events.append(HostEvent(EVENT_DOS, int(slots[i]), True, int(out_flows[i]), note,
                                protocol=6 if tcp[i] else 0))
    return events


def _ssh(c, slots, cfg) -> list[HostEvent]:
    data_min, data_max = cfg.bruteforce_data_min_packet_ratio, cfg.bruteforce_data_max_packet_ratio
    req_min, req_max = cfg.bruteforce_req_min_packet_ratio, cfg.bruteforce_req_max_packet_ratio
    out_rsp_syn, in_req_syn = c["ssh_out_rsp_syn_cnt"], c["ssh_in_req_syn_cnt"]
    out_req_syn, in_rsp_syn = c["ssh_out_req_syn_cnt"], c["ssh_in_rsp_syn_cnt"]
    victim = ((c["ssh_out_rsp_packets"] >= data_min * out_rsp_syn)
              & (c["ssh_out_rsp_packets"] <= data_max * out_rsp_syn)
              & (out_rsp_syn > cfg.bruteforce_data_threshold)
              & (c["ssh_in_req_packets"] >= req_min * in_req_syn)
              & (c["ssh_in_req_packets"] <= req_max * in_req_syn)
              & (in_req_syn > cfg.bruteforce_req_threshold)
              & (in_req_syn > cfg.bruteforce_server_ratio * out_req_syn)
              & (out_rsp_syn > cfg.bruteforce_ips_ratio * c["ssh_out_all_uniqueips"]))
    peers = c["ssh_out_all_uniqueips"]
    attacker = ((c["ssh_out_req_packets"] > req_min * out_req_syn)
                & (c["ssh_out_req_packets"] < req_max * out_req_syn)
                & (out_req_syn > cfg.bruteforce_req_threshold)
                & (c["ssh_in_rsp_packets"] > data_min * in_rsp_syn)
                & (c["ssh_in_rsp_packets"] < data_max * in_rsp_syn)
                & (in_rsp_syn > cfg.bruteforce_data_threshold)
                & (in_req_syn < cfg.bruteforce_server_ratio * out_req_syn)
                & (((out_req_syn > cfg.bruteforce_ips_ratio * peers)
                    & (peers < cfg.bruteforce_ips))
                   | ((out_req_syn > 0.5 * cfg.bruteforce_ips_ratio * peers)
                      & (peers >= cfg.bruteforce_ips))))
    return ([HostEvent(EVENT_SSH, int(slots[i]), False, int(in_req_syn[i]), "victim",
                       protocol=6, dst_port=22) for i in np.flatnonzero(victim)]
            + [HostEvent(EVENT_SSH, int(slots[i]), True, int(out_req_syn[i]), "attacker",
                         protocol=6, dst_port=22) for i in np.flatnonzero(attacker)])


def _dns(c, slots, cfg) -> list[HostEvent]:
    sent, received = c["dns_out_rsp_overlimit_cnt"], c["dns_in_rsp_overlimit_cnt"]
    return ([HostEvent(EVENT_DNS, int(slots[i]), True, int(sent[i]),
                       "DNS amplification - misused server", src_port=53)
             for i in np.flatnonzero(sent > cfg.dns_amplif_threshold)]
            + [HostEvent(EVENT_DNS, int(slots[i]), False, int(received[i]),
                         "DNS amplification - victim", dst_port=53)
               for i in np.flatnonzero(received > cfg.dns_amplif_threshold)])


_USED = (
    "out_req_syn_cnt", "out_all_syn_cnt", "out_rsp_syn_cnt", "out_req_ack_cnt",
    "out_all_ack_cnt", "out_rsp_ack_cnt", "in_rsp_ack_cnt", "in_all_ack_cnt", "in_req_ack_cnt",
    "out_req_uniqueips", "out_all_flows", "in_all_syn_cnt", "in_all_flows", "in_all_packets",
    "out_rsp_flows", "out_req_flows", "in_req_flows", "in_rsp_flows", "in_req_packets",
    "in_rsp_packets", "out_all_packets", "in_all_uniqueips", "out_all_uniqueips",
    "out_req_packets", "out_rsp_packets", "ssh_out_rsp_packets", "ssh_out_rsp_syn_cnt",
    "ssh_in_req_packets", "ssh_in_req_syn_cnt", "ssh_out_req_syn_cnt", "ssh_out_all_uniqueips",
    "ssh_out_req_packets", "ssh_in_rsp_packets", "ssh_in_rsp_syn_cnt",
    "dns_out_rsp_overlimit_cnt", "dns_in_rsp_overlimit_cnt",
)
