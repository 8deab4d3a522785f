"""vportscan_aggregator, haddrscan_aggregator and their Episodes, in-process."""

from __future__ import annotations

import json
import time

from modules.detectors import haddrscan_detector, vportscan_detector
from modules.detectors.episodes import Episodes
from modules.detectors.haddrscan_aggregator import AggregatorParams as HaddrParams
from modules.detectors.haddrscan_aggregator import HaddrscanAggregator
from modules.detectors.inprocess import feed, run, start
from modules.detectors.vportscan_aggregator import AggregatorParams as VportParams
from modules.detectors.vportscan_aggregator import VportscanAggregator
from unirec import Record, RecordBatch

NS = 1_000_000_000
MINUTE = 60


def vport_alert(t, dst="10.0.0.2", src="10.0.0.1", ports=50, proto=6, event_type=1, flags=2):
    return Record(vportscan_detector.OUTPUT_TEMPLATE, EVENT_TYPE=event_type, TIME_FIRST=t * NS,
                  TIME_LAST=(t + 1) * NS, SRC_IP=src, DST_IP=dst, PROTOCOL=proto,
                  PORT_CNT=ports, TCP_FLAGS=flags)


def haddr_alert(t, samples, count=50, port=23, src="192.168.2.16", proto=6):
    values = {f"DST_IP{i}": ip for i, ip in enumerate(samples)}
    return Record(haddrscan_detector.OUTPUT_TEMPLATE, EVENT_TYPE=1, TIME_FIRST=t * NS,
                  TIME_LAST=(t + 1) * NS, SRC_IP=src, DST_PORT=port, PROTOCOL=proto,
                  ADDR_CNT=count, ADDR_THRSD=50, **values)


def aggregate(module, alerts):
    return run(module, [RecordBatch.from_records(alerts)])[0]


def test_vportscan_alerts_of_one_scan_become_one_event():
    alerts = [vport_alert(t) for t in range(0, 20)] + [vport_alert(20, ports=7, flags=6)]
    (event,) = aggregate(VportscanAggregator(VportParams()), alerts).records()
    assert (str(event.SRC_IP), str(event.DST_IP)) == ("10.0.0.1", "10.0.0.2")
    assert (event.PORT_CNT, event.DST_CNT, event.ALERT_CNT) == (1007, 1, 21)
    assert (event.PROTOCOL, event.EVENT_TYPE, event.TCP_FLAGS) == (6, 1, 6)
    assert (int(event.TIME_FIRST), int(event.TIME_LAST)) == (0, 21 * NS)
    assert event.DST_IPS == "10.0.0.2=1007"


def test_vportscan_window_is_flow_time():
    alerts = [vport_alert(0), vport_alert(4 * MINUTE), vport_alert(5 * MINUTE + 10)]
    events = aggregate(VportscanAggregator(VportParams()), alerts).records()
    assert [e.PORT_CNT for e in events] == [100, 50]
    events = aggregate(VportscanAggregator(VportParams(time=10)), alerts).records()
    assert [e.PORT_CNT for e in events] == [150]


def test_vportscan_block_scan_and_noblockscans():
    alerts = [vport_alert(0, dst="10.0.0.9"), vport_alert(1, dst="10.0.0.3"),
              vport_alert(2, dst="10.0.0.9")]
    (event,) = aggregate(VportscanAggregator(VportParams()), alerts).records()
    assert (event.DST_CNT, event.PORT_CNT, str(event.DST_IP)) == (2, 150, "10.0.0.9")
    assert event.DST_IPS == "10.0.0.3=50,10.0.0.9=100"
    events = aggregate(VportscanAggregator(VportParams(noblockscans=True)), alerts).records()
    assert sorted((str(e.DST_IP), e.PORT_CNT) for e in events) == [("10.0.0.3", 50),
                                                                   ("10.0.0.9", 100)]


def test_vportscan_protocols_and_event_types_are_separate():
    alerts = [vport_alert(0), vport_alert(1, proto=17), vport_alert(2, proto=0, event_type=2)]
    events = aggregate(VportscanAggregator(VportParams()), alerts).records()
    assert sorted((e.PROTOCOL, e.EVENT_TYPE) for e in events) == [(0, 2), (6, 1), (17, 1)]


def test_vportscan_events_are_chunked_by_1000_destinations():
    alerts = [vport_alert(0, dst=f"10.{i // 250}.{i % 250}.1", ports=1) for i in range(2500)]
    events = aggregate(VportscanAggregator(VportParams()), alerts).records()
    assert [e.DST_CNT for e in events] == [1000, 1000, 500]
    assert sum(e.PORT_CNT for e in events) == 2500


def test_vportscan_json_output_is_nemeas():
    port = aggregate(VportscanAggregator(VportParams(json=True)),
                     [vport_alert(0), vport_alert(1, dst="10.0.0.3")])
    assert port.format.spec == "aggregated_portscan"
    (document,) = [json.loads(m) for m in port.messages]
    assert document["src_ip"] == "10.0.0.1"
    assert document["dst_ips"] == {"10.0.0.2": 50, "10.0.0.3": 50}
    assert (document["ts_first"], document["ts_last"], document["protocol"]) == (0.0, 2.0, 6)


def test_vportscan_alerts_without_tcp_flags_are_accepted():
    template = "uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,ipaddr DST_IP," \
               "uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,uint32 PORT_CNT"
    alert = Record(template, EVENT_TYPE=1, TIME_FIRST=0, TIME_LAST=NS, SRC_IP="1.1.1.1",
                   DST_IP="2.2.2.2", PROTOCOL=6, PORT_CNT=50)
    (event,) = aggregate(VportscanAggregator(VportParams()), [alert]).records()
    assert (event.PORT_CNT, event.TCP_FLAGS) == (50, 0)


def test_haddrscan_sums_counts_and_fills_16_samples():
    blocks = [[f"10.0.{n}.{i}" for i in range(1, 5)] for n in range(5)]
    alerts = [haddr_alert(n, block) for n, block in enumerate(blocks[:4])]
    alerts.append(haddr_alert(4, blocks[4][:2], count=2))
    (event,) = aggregate(HaddrscanAggregator(HaddrParams()), alerts).records()
    assert (event.ADDR_CNT, event.ALERT_CNT, event.DST_PORT, event.PROTOCOL) == (202, 5, 23, 6)
    samples = [str(event[f"DST_IP{i}"]) for i in range(16)]
    assert samples == blocks[0] + blocks[1] + blocks[2] + blocks[4][:2] + ["::", "::"]
    assert (int(event.TIME_FIRST), int(event.TIME_LAST)) == (0, 5 * NS)


def test_haddrscan_keys_and_windows():
    alerts = [haddr_alert(0, ["1.1.1.1"]), haddr_alert(1, ["1.1.1.2"], port=22),
              haddr_alert(2, ["1.1.1.3"], proto=1, port=0),
              haddr_alert(6 * MINUTE, ["1.1.1.4"])]
    events = aggregate(HaddrscanAggregator(HaddrParams()), alerts).records()
    assert sorted((e.DST_PORT, e.PROTOCOL, e.ADDR_CNT) for e in events) == [
        (0, 1, 50), (22, 6, 50), (23, 6, 50), (23, 6, 50)]


def test_episodes_close_by_flow_time_wall_time_and_drain():
    episodes = Episodes(window_ns=10)
    assert episodes.event("a", 0, list) == []
    episodes.event("a", 5, list).append(1)
    episodes.event("b", 8, list)
    assert episodes.advance(9) == []
    assert episodes.advance(10) == [[1]]
    assert len(episodes) == 1
    assert episodes.expire_wall(wall=0.0) == []
    assert episodes.expire_wall(wall=1e12) == [[]]
    episodes.event("c", 20, list)
    assert episodes.drain() == [[]] and len(episodes) == 0


def test_aggregator_flushes_on_tick_after_a_window_of_wall_time(monkeypatch):
    aggregator = VportscanAggregator(VportParams(time=1))
    port = start(aggregator)[0]
    feed(aggregator, RecordBatch.from_records([vport_alert(0)]))
    aggregator.on_tick(0)
    assert port.records() == []
    clock = time.monotonic() + 61
    monkeypatch.setattr("modules.detectors.episodes.time.monotonic", lambda: clock)
    aggregator.on_tick(0)
    assert [e.PORT_CNT for e in port.records()] == [50]
