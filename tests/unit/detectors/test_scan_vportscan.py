"""vportscan_detector on handmade flows, in-process."""

from __future__ import annotations

import pytest

from modules.detectors.flow_columns import ACK, FIN, PSH, RST, SYN, URG
from modules.detectors.inprocess import (
    BIFLOW_TEMPLATE,
    UNIFLOW_TEMPLATE,
    feed,
    flow_batch,
    run,
    start,
)
from modules.detectors.vportscan_detector import (
    OUTPUT_TEMPLATE,
    PORT_SCAN,
    PROTOCOL_SCAN,
    VportscanDetector,
    VportscanParams,
)
from unirec import Template

ATTACKER, VICTIM = "10.0.0.1", "10.0.0.2"
ECN_BITS = 0xC0


def probe(port, t=0.0, flags=SYN, rev=RST | ACK, packets=1, src=ATTACKER, dst=VICTIM,
          proto=6, rev_packets=1, sport=40000):
    return dict(SRC_IP=src, DST_IP=dst, SRC_PORT=sport, DST_PORT=port, PROTOCOL=proto,
                PACKETS=packets, PACKETS_REV=rev_packets, BYTES=40 * packets,
                TCP_FLAGS=flags, TCP_FLAGS_REV=rev, TIME_FIRST=t, TIME_LAST=t + 0.001)


def alerts(flows, template=BIFLOW_TEMPLATE, **params):
    batch = flow_batch(flows, template)
    return run(VportscanDetector(VportscanParams(**params)), [batch])[0].records()


def test_syn_scan_alerts_every_50_new_ports_and_sends_the_rest_at_the_end():
    found = alerts([probe(port, t=port / 100) for port in range(1, 121)])
    assert [a.PORT_CNT for a in found] == [50, 50, 20]
    first = found[0]
    assert (str(first.SRC_IP), str(first.DST_IP)) == (ATTACKER, VICTIM)
    assert (first.EVENT_TYPE, first.PROTOCOL, first.TCP_FLAGS) == (PORT_SCAN, 6, SYN)
    assert first.DST_PORT == 50 and first.SRC_PORT == 40000
    assert float(first.TIME_FIRST) == pytest.approx(0.01)
    assert float(first.TIME_LAST) == pytest.approx(0.501)


def test_output_template_is_nemeas_plus_tcp_flags():
    fields = set(Template.of(OUTPUT_TEMPLATE).index)
    assert {"EVENT_TYPE", "TIME_FIRST", "TIME_LAST", "SRC_IP", "DST_IP", "SRC_PORT", "DST_PORT",
            "PROTOCOL", "PORT_CNT"} < fields


def test_below_threshold_no_alert():
    assert alerts([probe(port) for port in range(1, 50)]) == []


def test_retransmitted_probes_count_once_and_do_not_cancel():
    flows = [probe(port, t=port) for port in range(1, 61)] + [probe(port, t=100 + port)
                                                                for port in range(1, 61)]
    assert sum(a.PORT_CNT for a in alerts(flows)) == 60
    # NEMEA removes a repeated port: retransmissions interleaved never reach the threshold
    interleaved = [probe(port, t=port + k) for port in range(1, 61) for k in (0, 0.5)]
    assert alerts(interleaved, classic=True) == []
    assert sum(a.PORT_CNT for a in alerts(interleaved)) == 60


def test_classic_counts_only_small_ipv4_pure_syn():
    syn_ack_probe = [probe(port, flags=SYN | ECN_BITS) for port in range(1, 51)]
    assert alerts(syn_ack_probe, classic=True) == []
    assert len(alerts(syn_ack_probe)) == 1
    v6 = [probe(port, src="2001:db8::1", dst="2001:db8::2") for port in range(1, 60)]
    assert alerts(v6, classic=True) == []
    assert str(alerts(v6)[0].SRC_IP) == "2001:db8::1"
    big = [probe(port, packets=5) for port in range(1, 60)]
    assert alerts(big, classic=True) == []
    assert len(alerts([probe(port) for port in range(1, 51)], classic=True)) == 1



@pytest.mark.parametrize(("flags", "rev"), [(FIN, RST | ACK), (0, RST | ACK),
                                            (FIN | PSH | URG, RST | ACK), (ACK, RST),
                                            (FIN | ACK, 0), (SYN | RST, SYN | ACK)])
def test_stealth_and_half_open_probes_count(flags, rev):
    found = alerts([probe(port, flags=flags, rev=rev) for port in range(1, 51)])
    assert [a.TCP_FLAGS for a in found] == [flags]


@pytest.mark.parametrize(("flags", "rev"), [(ACK, ACK), (ACK | PSH, ACK | PSH),
                                            (SYN | ACK | PSH | FIN, SYN | ACK | PSH | FIN),
                                            (FIN | ACK, ACK)])
def test_conversations_and_answered_tails_do_not_count(flags, rev):
    assert alerts([probe(port, flags=flags, rev=rev) for port in range(1, 80)]) == []


def test_big_flows_do_not_count():
    assert alerts([probe(port, packets=9) for port in range(1, 80)]) == []
    assert len(alerts([probe(port, packets=9) for port in range(1, 51)], max_packets=9)) == 1


def test_uniflow_input_without_reverse_fields():
    flows = [probe(port, flags=FIN) for port in range(1, 51)]
    found = alerts(flows, template=UNIFLOW_TEMPLATE)
    assert len(found) == 1 and found[0].PORT_CNT == 50
    # the victim's answers (RST+ACK from each port to the scanner's one port) are no scan
    answers = [probe(40000, flags=RST | ACK, src=VICTIM, dst=ATTACKER, sport=port)
               for port in range(1, 80)]
    assert alerts(answers, template=UNIFLOW_TEMPLATE) == []


def test_udp_scan_counts_unanswered_probes_only():
    flows = [probe(port, proto=17, flags=0, rev=0, rev_packets=0) for port in range(1, 51)]
    found = alerts(flows)
    assert len(found) == 1 and found[0].PROTOCOL == 17 and found[0].TCP_FLAGS == 0
    answered = [probe(port, proto=17, flags=0, rev=0, rev_packets=1) for port in range(1, 80)]
    assert alerts(answered) == []


def test_udp_service_replies_and_traceroute_are_no_scan():
    replies = [probe(port, proto=17, flags=0, rev=0, rev_packets=0, sport=53)
               for port in range(20000, 20100)]
    assert alerts(replies, template=UNIFLOW_TEMPLATE) == []
    traceroute = [probe(port, proto=17, flags=0, rev=0, rev_packets=0)
                  for port in range(33434, 33534)]
    assert alerts(traceroute) == []


def test_protocol_scan():
    flows = [probe(0, proto=p, flags=0, rev=0, rev_packets=0) for p in range(20, 32)]
    found = alerts(flows)
    assert [(a.EVENT_TYPE, a.PROTOCOL, a.PORT_CNT) for a in found] == [(PROTOCOL_SCAN, 0, 10),
                                                                      (PROTOCOL_SCAN, 0, 2)]
    assert alerts(flows, protocol_threshold=0) == []
    common = [probe(0, proto=p, flags=0, rev=0, rev_packets=0) for p in (1, 6, 17, 58)]
    assert alerts(common + flows[:9]) == []          # TCP, UDP and ICMP are no protocol probes


def test_pairs_are_separate():
    flows = [probe(port, dst=f"10.0.1.{port % 2}") for port in range(1, 81)]
    assert alerts(flows) == []


def test_idle_pair_is_forgotten_in_flow_time():
    detector = VportscanDetector(VportscanParams())
    ports = start(detector)
    feed(detector, flow_batch([probe(port, t=port) for port in range(1, 31)]))
    feed(detector, flow_batch([probe(1, t=1000, src="10.9.9.9")]))   # flow time moves on
    feed(detector, flow_batch([probe(port, t=1000 + port) for port in range(31, 61)]))
    detector.finish()
    assert ports[0].records() == []


def test_slow_scan_within_idle_time_alerts():
    assert len(alerts([probe(port, t=port * 200) for port in range(1, 51)])) == 1


def test_idle_pair_that_alerted_sends_the_rest_when_pruned():
    detector = VportscanDetector(VportscanParams())
    ports = start(detector)
    feed(detector, flow_batch([probe(port, t=port / 10) for port in range(1, 56)]))
    assert [a.PORT_CNT for a in ports[0].records()] == [50]
    feed(detector, flow_batch([probe(1, t=400, src="10.9.9.9")]))
    assert [a.PORT_CNT for a in ports[0].records()] == [50, 5]
    detector.finish()
    assert len(ports[0].records()) == 2


def test_params_are_validated():
    with pytest.raises(ValueError, match="threshold"):
        VportscanParams(threshold=1).validate()
    with pytest.raises(ValueError, match="protocol-threshold"):
        VportscanParams(protocol_threshold=-1).validate()
