"""dns_amplification in-process: the victim-side rule, NEMEA's pair rule, ports, histograms."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest

from modules.detectors.amplification_detection import AmplificationDetector, AmplificationParams
from modules.detectors.amplification_ports import AMPLIFIERS, parse_ports
from modules.detectors.amplification_reference import (
    PairConfig,
    histogram,
    is_amplification,
    mean_bin,
    top_bins,
)
from modules.detectors.inprocess import run
from unirec import RecordBatch

from .flow_arrays import flow_columns

UNIFLOW = ("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
           "uint32 PACKETS,uint64 BYTES,time TIME_FIRST,time TIME_LAST")
BIFLOW = UNIFLOW + ",uint32 PACKETS_REV,uint64 BYTES_REV"
VICTIM = "192.0.2.53"


def flows(n, *, src, dst, sport, dport, packets=1, octets=1400, start=0.0, span=1.0, proto=17,
          template=UNIFLOW, **extra):
    columns = flow_columns(n, src=src, dst=dst, sport=sport, dport=dport, proto=proto,
                           packets=packets, octets=octets, start=start, span=span)
    return RecordBatch.from_columns(template, n, {**columns, **extra})


def reflectors(n, base=0x1F000000):
    return [base + 256 * i + 7 for i in range(n)]


def detect(batches, **params):
    p = AmplificationParams(**params)
    p.validate()
    return [{f.name: r[f.name] for f in r.template.fields}
            for r in run(AmplificationDetector(p), batches)[0].records()]


def test_unsolicited_dns_responses_from_many_reflectors():
    refl = reflectors(40) * 10
    batch = flows(400, src=refl, dst=VICTIM, sport=53, dport=22, span=5.0)
    alerts = detect([batch])
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["ATTACK_TYPE"] == "DNS amplification" and str(alert["DST_IP"]) == VICTIM
    assert (alert["SRC_CNT"], alert["RSP_FLOWS"], alert["RSP_PACKETS"], alert["RSP_BYTES"]) == \
        (40, 400, 400, 560_000)
    assert alert["SRC_PORT"] == 53 and alert["REQ_FLOWS"] == 0
    assert ipaddress.ip_address(str(alert["SRC_IP"])) in \
        {ipaddress.ip_address(r) for r in reflectors(40)}
    assert "40 reflectors" in alert["NOTE"]


def test_a_resolver_asking_many_servers_is_not_a_victim():
    servers = reflectors(40) * 10
    queries = flows(400, src=VICTIM, dst=servers, sport=np.arange(400) + 30000, dport=53,
                    octets=70, span=5.0)
    answers = flows(400, src=servers, dst=VICTIM, sport=53, dport=np.arange(400) + 30000,
                    span=5.0)
    assert detect([queries, answers]) == []
    both = RecordBatch.concat([answers, queries])          # answers listed first
    assert detect([both]) == []


def test_biflows_carry_solicited_responses_in_their_reverse_counters():
    servers = reflectors(40) * 10
    n = 400
    batch = flows(n, src=VICTIM, dst=servers, sport=33000, dport=53, octets=70, span=5.0,
                  template=BIFLOW, PACKETS_REV=np.ones(n, np.uint32),
                  BYTES_REV=np.full(n, 1400, np.uint64))
    assert detect([batch]) == []


def test_fragments_of_the_reflectors_are_counted():
    refl = reflectors(40) * 10
    responses = flows(400, src=refl, dst=VICTIM, sport=53, dport=22, span=5.0)
    fragments = flows(40, src=reflectors(40), dst=VICTIM, sport=0, dport=0, packets=2,
                      octets=3000, span=5.0)
    strangers = flows(5, src=reflectors(5, base=0x2F000000), dst=VICTIM, sport=0, dport=0,
                      octets=1500, span=5.0)
    alert, = detect([responses, fragments, strangers])
    assert alert["RSP_FLOWS"] == 440 and alert["RSP_PACKETS"] == 480
    assert alert["RSP_BYTES"] == 560_000 + 120_000
    assert "40 fragment flows" in alert["NOTE"]


def test_other_services_need_their_port():
    batch = flows(4000, src=reflectors(2000) * 2, dst=VICTIM, sport=161, dport=40000,
                  octets=240, span=0.05)
    assert detect([batch]) == []
    alerts = detect([batch], port="known")
    assert [a["ATTACK_TYPE"] for a in alerts] == ["SNMP amplification"]
    assert detect([batch], port="161,53")[0]["SRC_PORT"] == 161


def test_mixed_services_one_episode_named_after_the_main_one():
    bacnet = flows(3000, src=reflectors(3000), dst=VICTIM, sport=47808, dport=30120,
                   octets=300, span=0.02)
    dahua = flows(1000, src=reflectors(1000, base=0x2A000000), dst=VICTIM, sport=37810,
                  dport=30120, octets=300, span=0.02)
    alerts = detect([bacnet, dahua], port="known")
    assert len(alerts) == 1
    assert alerts[0]["ATTACK_TYPE"] == "BACnet amplification" and alerts[0]["SRC_CNT"] == 4000
    assert "BACnet 75%" in alerts[0]["NOTE"] and "DHDiscover 25%" in alerts[0]["NOTE"]


def test_small_responses_or_few_reflectors_are_not_amplification():
    small = flows(400, src=reflectors(40) * 10, dst=VICTIM, sport=53, dport=22, octets=90)
    few = flows(400, src=reflectors(10) * 40, dst=VICTIM, sport=53, dport=22)
    assert detect([small]) == [] and detect([few]) == []


def pair_traffic(rounds: int, spacing: float, rsp_bytes=3000, rsp_packets=3, q_bytes=60):
    """One reflector answering one victim's (spoofed) queries, `rounds` times."""
    refl = "203.0.113.53"
    batches = []
    for i in range(rounds):
        start = i * spacing
        batches.append(flows(1, src=VICTIM, dst=refl, sport=40000 + i % 1000, dport=53,
                             octets=q_bytes, start=start))
        batches.append(flows(1, src=refl, dst=VICTIM, sport=53, dport=40000 + i % 1000,
                             octets=rsp_bytes, packets=rsp_packets, start=start + 0.01))
    return [RecordBatch.concat(batches[i:i + 100]) for i in range(0, len(batches), 100)]


def test_nemea_pair_rule_after_its_window():
    alerts = detect(pair_traffic(400, 2.5), no_victim_side=True)      # 1000 s > -w 900
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["SRC_CNT"] == 1 and str(alert["SRC_IP"]) == "203.0.113.53"
    assert alert["REQ_FLOWS"] > 300 and alert["RSP_FLOWS"] == alert["REQ_FLOWS"]
    assert alert["RSP_BYTES"] == 3000 * alert["RSP_FLOWS"]
    assert "query/response histograms" in alert["NOTE"]
    assert detect(pair_traffic(300, 2.5), no_victim_side=True) == []   # 750 s < window
    assert detect(pair_traffic(400, 2.5, rsp_bytes=300), no_victim_side=True) == []


def test_nemea_pair_rule_inside_a_victim_side_episode_adds_no_alert():
    pairs = pair_traffic(400, 2.5)
    flood = flows(8000, src=reflectors(40) * 200, dst=VICTIM, sport=53, dport=22, start=800.0,
                  span=200.0)
    alerts = detect([*pairs[:6], flood, *pairs[6:]])
    assert [(a["SRC_CNT"], a["RSP_FLOWS"]) for a in alerts] == [(40, 8000)]
    assert len(detect([*pairs[:6], *pairs[6:]])) == 1          # alone, the pair is reported


def test_histogram_helpers_follow_nemea():
    hist = histogram(np.array([1, 2, 3, 3, 4999, 5000, 7000]), 2)
    assert hist == {2: 1, 4: 3, 5000: 1}                 # upper bounds; >= 5000 left out
    assert top_bins({2: 5, 4: 5, 6: 1}, 2) == {4: 5, 2: 5}
    assert mean_bin({10: 1, 20: 3}) == 17                # integer division
    cfg = PairConfig(min_flows=10)
    q, r = np.full(20, 60), np.full(20, 3000)
    assert is_amplification(q, np.ones(20), r, np.full(20, 3), 20, 60, cfg)
    # upstream's "big flow" branch never reports
    assert not is_amplification(q, np.ones(20), r, np.full(20, 3), 30, 150, cfg)
    assert not is_amplification(q[:0], np.ones(0), r, np.full(20, 3), 0, 60, cfg)


def test_ports_option():
    assert parse_ports("53") == (53,)
    assert parse_ports("123, 53") == (53, 123)
    assert set(parse_ports("known")) == set(AMPLIFIERS)
    assert 9999 in parse_ports("known,9999")
    for bad in ("", "dns", "0", "70000"):
        with pytest.raises(ValueError):
            parse_ports(bad)
    with pytest.raises(ValueError):
        AmplificationParams(period=900).validate()
