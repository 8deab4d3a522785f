"""ddos_detector in-process on handmade flows: flood classes, episodes, NEMEA's window rule."""

from __future__ import annotations

import numpy as np
import pytest

from modules.detectors.ddos_detector import DdosDetector, DdosParams
from modules.detectors.inprocess import run
from unirec import RecordBatch

from .flow_arrays import NS, T0, flow_columns

UNIFLOW = ("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
           "uint32 PACKETS,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint8 TCP_FLAGS")
BIFLOW = UNIFLOW + ",uint32 PACKETS_REV,uint64 BYTES_REV,uint8 TCP_FLAGS_REV"
VICTIM = "192.0.2.10"
SYN, ACK, RST, PSH, FIN = 0x02, 0x10, 0x04, 0x08, 0x01


def flows(n, *, src, dst=VICTIM, sport=40000, dport=80, proto=6, packets=1, octets=40,
          start=0.0, span=1.0, flags=SYN, template=UNIFLOW, duration=0.0, **extra):
    """n flows spread evenly over [start, start + span) s after T0; scalars or arrays."""
    columns = {**flow_columns(n, src=src, dst=dst, sport=sport, dport=dport, proto=proto,
                              packets=packets, octets=octets, start=start, span=span,
                              duration=duration),
               "TCP_FLAGS": np.broadcast_to(np.asarray(flags, np.uint8), (n,)).copy(), **extra}
    names = {f.name for f in RecordBatch.empty(template).template.fields}
    return RecordBatch.from_columns(template, n, {k: v for k, v in columns.items() if k in names})


def spoofed(n, seed=1):
    rng = np.random.default_rng(seed)
    return [int(x) for x in rng.choice(np.arange(0x0B000000, 0x0BFFFFFF), n, replace=False)]


def detect(batches, **params):
    p = DdosParams(**params)
    p.validate()
    return [{f.name: r[f.name] for f in r.template.fields}
            for r in run(DdosDetector(p), batches)[0].records()]


def test_spoofed_syn_flood_is_one_alert_with_episode_counts():
    alerts = detect([flows(3000, src=spoofed(3000), span=1.5, dport=25565)])
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["ATTACK_TYPE"] == "SYN flood"
    assert str(alert["DST_IP"]) == VICTIM
    assert (alert["SRC_CNT"], alert["FLOWS"], alert["PACKETS"], alert["BYTES"]) == \
        (3000, 3000, 3000, 120_000)
    assert alert["DST_PORT"] == 25565 and alert["PROTOCOL"] == 6
    assert alert["EVENT_SEQ"] == 1 and alert["EVENT_ID"]
    assert int(alert["TIME_FIRST"]) == T0
    assert int(alert["TIME_LAST"]) == T0 + int(1.5 * NS) - int(1.5 * NS / 3000)
    assert "3000 sources" in alert["NOTE"] and "SYN 100%" in alert["NOTE"]


def test_complete_connections_to_a_busy_server_are_not_a_flood():
    clients = [0x0C000000 + i for i in range(500)] * 10
    batch = flows(5000, src=clients, packets=12, octets=4000, flags=SYN | ACK | PSH | FIN)
    assert detect([batch]) == []


def test_below_the_packet_rate_or_the_sources_no_alert():
    assert detect([flows(900, src=spoofed(900))]) == []              # 900 pps < 1000
    few = [0x0C000000 + i % 40 for i in range(3000)]                  # 40 sources < 50
    assert detect([flows(3000, src=few, sport=np.arange(3000) + 1024)]) == []


def test_syn_ack_reflection_and_its_type():
    batch = flows(2000, src=spoofed(2000), sport=443, dport=51000, flags=SYN | ACK, octets=44)
    alerts = detect([batch])
    assert [a["ATTACK_TYPE"] for a in alerts] == ["SYN-ACK reflection"]
    assert alerts[0]["SRC_PORT"] == 443


def test_replies_to_the_victims_own_syns_are_solicited():
    """A scanner gets SYN-ACKs back from the hosts it probed: no reflection."""
    targets = spoofed(2000, seed=2)
    probes = flows(2000, src=VICTIM, dst=targets, sport=50000, dport=443, flags=SYN)
    answers = flows(2000, src=targets, sport=443, dport=50000, flags=SYN | ACK)
    assert detect([probes, answers]) == []
    assert detect([RecordBatch.concat([probes, answers])]) == []


def test_udp_amplification_is_named_after_the_service():
    batch = flows(3000, src=spoofed(3000), sport=123, dport=7777, proto=17, octets=468,
                  flags=0)
    alerts = detect([batch])
    assert [a["ATTACK_TYPE"] for a in alerts] == ["NTP amplification"]
    assert alerts[0]["SRC_PORT"] == 123 and alerts[0]["PROTOCOL"] == 17


def test_icmp_and_udp_floods():
    icmp = flows(2000, src=spoofed(2000), proto=1, sport=0, dport=0, flags=0, octets=84)
    udp = flows(2000, src=spoofed(2000), proto=17, sport=5555, dport=9999, flags=0)
    assert [a["ATTACK_TYPE"] for a in detect([icmp])] == ["ICMP flood"]
    assert [a["ATTACK_TYPE"] for a in detect([udp])] == ["UDP flood"]


def test_bursts_within_idle_time_are_one_episode_later_ones_another():
    near = [flows(2000, src=spoofed(2000, seed=s), start=t) for s, t in ((1, 0), (2, 10))]
    alerts = detect(near)
    assert len(alerts) == 1 and alerts[0]["FLOWS"] == 4000
    far = [flows(2000, src=spoofed(2000, seed=s), start=t) for s, t in ((1, 0), (2, 400))]
    alerts = detect(far)
    assert len(alerts) == 2
    assert alerts[0]["EVENT_ID"] != alerts[1]["EVENT_ID"]


def test_low_rate_tail_and_ramp_belong_to_the_episode():
    """Hysteresis: bins at >= 5 % of the thresholds continue (or lead into) an episode."""
    ramp = flows(60, src=spoofed(60, seed=3), start=0.0, span=1.0)         # 60 pps, warm
    burst = flows(3000, src=spoofed(3000, seed=4), start=1.0, span=1.0)
    tail = flows(300, src=spoofed(300, seed=5), start=5.0, span=5.0)       # 60 pps, warm
    noise = flows(10, src=spoofed(10, seed=6), start=-5.0, span=5.0)       # 2 pps, cold
    alerts = detect([noise, ramp, burst, tail])
    assert len(alerts) == 1
    assert alerts[0]["FLOWS"] == 3360
    assert int(alerts[0]["TIME_FIRST"]) == T0


def test_out_of_order_flows_give_the_same_alert():
    batch = flows(3000, src=spoofed(3000), span=2.0)
    shuffled = batch.take(np.random.default_rng(7).permutation(3000))
    parts = [shuffled.take(np.arange(i, i + 500)) for i in range(0, 3000, 500)]
    first, second = detect([batch]), detect(parts)
    assert len(first) == len(second) == 1
    for name in ("FLOWS", "PACKETS", "BYTES", "SRC_CNT", "TIME_FIRST", "TIME_LAST", "EVENT_ID"):
        assert first[0][name] == second[0][name]


def test_a_long_flood_is_reported_periodically_under_one_event_id():
    batches = [flows(1500, src=spoofed(1500, seed=s), start=s * 30.0, span=1.0)
               for s in range(30)]                                      # 870 s, every 30 s
    alerts = detect(batches)
    assert len(alerts) >= 3
    assert len({a["EVENT_ID"] for a in alerts}) == 1
    assert [a["EVENT_SEQ"] for a in alerts] == list(range(1, len(alerts) + 1))
    assert alerts[-1]["FLOWS"] == 45_000


def test_biflow_and_minimal_templates():
    n = 2000
    bi = flows(n, src=spoofed(n), template=BIFLOW, PACKETS_REV=np.ones(n, np.uint32),
               BYTES_REV=np.full(n, 44, np.uint64),
               TCP_FLAGS_REV=np.full(n, SYN | ACK, np.uint8))
    assert [a["ATTACK_TYPE"] for a in detect([bi])] == ["SYN flood"]
    minimal = flows(n, src=spoofed(n), template=UNIFLOW.replace(",uint8 TCP_FLAGS", ""))
    assert [a["ATTACK_TYPE"] for a in detect([minimal])] == ["TCP flood"]


def test_ipv6_victim_and_prefix_grouping():
    sources = [f"2001:db8:{i >> 16:x}:{i & 0xFFFF:x}::1" for i in range(2000)]
    alerts = detect([flows(2000, src=sources, dst="2001:db8:ffff::10")])
    assert [str(a["DST_IP"]) for a in alerts] == ["2001:db8:ffff::10"]
    # two victims in one /24 add up when grouped by /24
    halves = [flows(600, src=spoofed(600, seed=8), dst="192.0.2.1"),
              flows(600, src=spoofed(600, seed=9), dst="192.0.2.2")]
    assert detect(halves) == []
    grouped = detect(halves, dst_prefix=24)
    assert [str(a["DST_IP"]) for a in grouped] == ["192.0.2.0"]


def test_nemea_rule_needs_history_and_reports_a_volumetric_rise():
    """Ten quiet minutes, then three minutes at 100x the volume from many /24s: NEMEA's
    rule reports it (complete connections, so the short-window rule stays silent)."""
    batches = []
    for minute in range(10):
        batches.append(flows(20, src=[0x0D000000 + (i % 4) * 256 for i in range(20)],
                             start=minute * 60.0, span=60.0, packets=20, octets=20_000,
                             flags=SYN | ACK | PSH | FIN))
    for minute in range(10, 13):
        batches.append(flows(1000, src=[0x0E000000 + i * 256 for i in range(1000)],
                             start=minute * 60.0, span=60.0, packets=20, octets=20_000,
                             flags=SYN | ACK | PSH | FIN))
    batches.append(flows(4, src=0x0D000000, start=17 * 60.0, span=60.0, packets=20,
                         octets=20_000, flags=SYN | ACK | PSH | FIN))
    alerts = detect(batches)
    assert [a["ATTACK_TYPE"] for a in alerts] == ["volumetric"]
    alert = alerts[0]
    assert alert["AVG_BYTES_ORIGINAL"] and alert["AVG_BYTES_CURRENT"] > \
        20 * alert["AVG_BYTES_ORIGINAL"]
    assert alert["AVG_IP_CNT_CURRENT"] > 4 * alert["AVG_IP_CNT_ORIGINAL"]
    assert detect(batches, no_reference=True) == []


def test_nothing_from_the_nemea_rule_without_history():
    alerts = detect([flows(2000, src=[0x0E000000 + i * 256 for i in range(2000)], span=120.0,
                           packets=20, octets=20_000, flags=SYN | ACK | PSH | FIN)])
    assert alerts == []


@pytest.mark.parametrize("bad", [{"dst_prefix": 33}, {"bin": 0}, {"continue_ratio": 0},
                                 {"sketch_cells": 1000}, {"min_pps": -1}])
def test_bad_parameters_fail_at_start(bad):
    with pytest.raises(ValueError):
        DdosParams(**bad).validate()
