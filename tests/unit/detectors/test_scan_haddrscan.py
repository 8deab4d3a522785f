"""haddrscan_detector on handmade flows, in-process."""

from __future__ import annotations

import pytest

from modules.detectors.flow_columns import ACK, PSH, RST, SYN
from modules.detectors.haddrscan_detector import (
    OUTPUT_TEMPLATE,
    HaddrscanDetector,
    HaddrscanParams,
)
from modules.detectors.inprocess import (
    BIFLOW_TEMPLATE,
    UNIFLOW_TEMPLATE,
    feed,
    flow_batch,
    run,
    start,
)
from unirec import Template

SCANNER = "192.168.2.16"
ICMP_TEMPLATE = BIFLOW_TEMPLATE + ",uint16 L4_ICMP_TYPE_CODE"


def probe(host, t=0.0, port=23, flags=SYN, packets=1, proto=6, rev_packets=0, src=SCANNER,
          sport=40000, **extra):
    return dict(SRC_IP=src, DST_IP=host, SRC_PORT=sport, DST_PORT=port, PROTOCOL=proto,
                PACKETS=packets, PACKETS_REV=rev_packets, BYTES=60 * packets, TCP_FLAGS=flags,
                TIME_FIRST=t, TIME_LAST=t + 0.5, **extra)


def hosts(count, net="20.0"):
    return [f"{net}.{i // 250}.{i % 250 + 1}" for i in range(count)]


def alerts(flows, template=BIFLOW_TEMPLATE, **params):
    batch = flow_batch(flows, template)
    return run(HaddrscanDetector(HaddrscanParams(**params)), [batch])[0].records()


def test_output_template_has_nemeas_fields_and_samples():
    assert {"EVENT_TYPE", "TIME_FIRST", "TIME_LAST", "SRC_IP", "DST_PORT", "PROTOCOL", "ADDR_CNT",
            "ADDR_THRSD", "DST_IP0", "DST_IP3"} <= set(Template.of(OUTPUT_TEMPLATE).index)


def test_horizontal_syn_scan_with_retransmissions():
    targets = hosts(54)
    found = alerts([probe(h, t=i, packets=5) for i, h in enumerate(targets)])
    assert [a.ADDR_CNT for a in found] == [50, 4]
    first = found[0]
    assert (str(first.SRC_IP), first.DST_PORT, first.PROTOCOL) == (SCANNER, 23, 6)
    assert first.ADDR_THRSD == 50
    assert [str(first[f"DST_IP{i}"]) for i in range(4)] == targets[:4]
    assert [str(found[1][f"DST_IP{i}"]) for i in range(4)] == targets[50:]


def test_classic_needs_exactly_one_syn_packet():
    assert alerts([probe(h, packets=5) for h in hosts(60)], classic=True) == []
    assert len(alerts([probe(h) for h in hosts(50)], classic=True)) == 1


def test_completed_connections_do_not_count():
    flows = [probe(h, flags=SYN | ACK | PSH, packets=8, rev_packets=6) for h in hosts(80)]
    assert alerts(flows) == []


def test_refused_connections_count():
    assert len(alerts([probe(h, flags=SYN, rev_packets=1) for h in hosts(50)])) == 1
    assert len(alerts([probe(h, flags=SYN | RST) for h in hosts(50)])) == 1


def test_an_address_counts_once():
    flows = [probe(h, t=i) for i, h in enumerate(hosts(50))] * 2
    assert [a.ADDR_CNT for a in alerts(flows)] == [50]


def test_ports_and_sources_are_separate():
    flows = [probe(h, port=22 + i % 2) for i, h in enumerate(hosts(80))]
    flows += [probe(h, src="192.168.2.17") for h in hosts(40, "30.0")]
    assert alerts(flows) == []


def test_icmp_sweep_has_its_own_threshold():
    targets = hosts(18, "192.168")
    found = alerts([probe(h, port=0, proto=1, flags=0, rev_packets=i % 2)
                    for i, h in enumerate(targets)])
    assert [(a.PROTOCOL, a.ADDR_CNT, a.ADDR_THRSD) for a in found] == [(1, 16, 16), (1, 2, 16)]
    assert alerts([probe(h, port=0, proto=1, flags=0) for h in targets], icmp_threshold=0) == []


def test_icmp_replies_are_no_sweep_when_the_type_is_known():
    echo_replies = [probe(h, port=0, proto=1, flags=0, L4_ICMP_TYPE_CODE=0) for h in hosts(30)]
    assert alerts(echo_replies, ICMP_TEMPLATE) == []
    requests = [probe(h, port=0, proto=1, flags=0, L4_ICMP_TYPE_CODE=8 << 8) for h in hosts(30)]
    assert len(alerts(requests, ICMP_TEMPLATE)) == 2
    v6 = [probe(f"2001:db8::{i + 1:x}", port=0, proto=58, flags=0, src="2001:db8::ff",
                L4_ICMP_TYPE_CODE=128 << 8) for i in range(16)]
    assert len(alerts(v6, ICMP_TEMPLATE)) == 1


def test_multicast_destinations_are_no_targets():
    groups = [f"ff02::1:ff00:{i:x}" for i in range(40)]
    nd = [probe(g, port=0, proto=58, flags=0, src="fe80::1") for g in groups]
    assert alerts(nd) == []
    v4 = [probe(f"239.1.{i}.1", port=5000, proto=17, flags=0) for i in range(60)]
    assert alerts(v4) == []


def test_udp_scan_counts_unanswered_probes():
    assert len(alerts([probe(h, port=161, proto=17, flags=0) for h in hosts(50)])) == 1
    answered = [probe(h, port=161, proto=17, flags=0, rev_packets=1) for h in hosts(80)]
    assert alerts(answered) == []
    replies = [probe(h, port=40000, proto=17, flags=0, sport=53) for h in hosts(80)]
    assert alerts(replies, UNIFLOW_TEMPLATE) == []


def test_uniflow_input():
    assert len(alerts([probe(h, packets=3) for h in hosts(50)], UNIFLOW_TEMPLATE)) == 1


def test_idle_key_is_forgotten_and_an_alerted_one_sends_the_rest():
    detector = HaddrscanDetector(HaddrscanParams())
    ports = start(detector)
    feed(detector, flow_batch([probe(h, t=i) for i, h in enumerate(hosts(30, "40.0"))]))
    feed(detector, flow_batch([probe(h, t=i, port=80) for i, h in enumerate(hosts(53))]))
    assert [a.ADDR_CNT for a in ports[0].records()] == [50]
    feed(detector, flow_batch([probe("1.1.1.1", t=1000, src="9.9.9.9")]))
    assert [(a.DST_PORT, a.ADDR_CNT) for a in ports[0].records()] == [(80, 50), (80, 3)]
    feed(detector, flow_batch([probe(h, t=1001 + i) for i, h in enumerate(hosts(30, "50.0"))]))
    detector.finish()
    assert len(ports[0].records()) == 2


def test_params_are_validated():
    with pytest.raises(ValueError, match="max-packets"):
        HaddrscanParams(max_packets=0).validate()
    with pytest.raises(ValueError, match="icmp-threshold"):
        HaddrscanParams(icmp_threshold=-1).validate()


def test_icmp_type_in_dst_port_as_ipfixprobe_sets_it():
    replies = [probe(h, port=3 << 8 | 3, proto=1, flags=0) for h in hosts(30)]  # unreachable
    assert alerts(replies) == []
    requests = [probe(h, port=8 << 8, proto=1, flags=0) for h in hosts(16)]     # echo request
    assert [(a.DST_PORT, a.ADDR_CNT) for a in alerts(requests)] == [(8 << 8, 16)]
