"""hoststats in-process: profiles, expiry on flow time, NEMEA's rules, configuration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modules.detectors.hoststats import HostStats, HostStatsParams
from modules.detectors.hoststats_config import HostStatsConfig, parse_config
from modules.detectors.hoststats_profile import HostTable, flow_direction
from modules.detectors.inprocess import feed, run, start
from unirec import RecordBatch

from .flow_arrays import flow_columns

TEMPLATE = ("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
            "uint32 PACKETS,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint8 TCP_FLAGS")
SYN, ACK, RST, PSH, FIN = 0x02, 0x10, 0x04, 0x08, 0x01
FULL = SYN | ACK | PSH | FIN


def flows(n, *, src, dst, sport=40000, dport=80, proto=6, packets=1, octets=60, flags=SYN,
          start=0.0, span=1.0):
    columns = flow_columns(n, src=src, dst=dst, sport=sport, dport=dport, proto=proto,
                           packets=packets, octets=octets, start=start, span=span, duration=0.1)
    return RecordBatch.from_columns(TEMPLATE, n, {
        **columns, "TCP_FLAGS": np.broadcast_to(np.asarray(flags, np.uint8), (n,)).copy()})


def hosts(n, base=0x0A140000):
    return [base + i for i in range(n)]


CONFIG_DIRS: list[Path] = []          # where detector() writes its configuration files


@pytest.fixture(autouse=True)
def config_dir(tmp_path):
    CONFIG_DIRS[:] = [tmp_path]


def detector(**config) -> HostStats:
    """The module with NEMEA configuration keys `config` (det_start_time 0 unless given),
    from a configuration file, as `-c` gives them."""
    path = CONFIG_DIRS[0] / f"hoststats-{len(list(CONFIG_DIRS[0].glob('*.conf')))}.conf"
    path.write_text("".join(f"{key.replace('_', '-')} = {value}\n"
                            for key, value in {"det_start_time": 0, **config}.items()))
    return HostStats(HostStatsParams(config=str(path)))


def events(batches, **config):
    return [{f.name: r[f.name] for f in r.template.fields}
            for r in run(detector(**config), batches)[0].records()]


def test_horizontal_syn_scan():
    scan = flows(300, src="10.9.9.9", dst=hosts(300), sport=np.arange(300) + 30000)
    refused = flows(50, src=hosts(50), dst="10.9.9.9", sport=80, dport=np.arange(50) + 30000,
                    flags=RST | ACK)
    found = events([scan, refused])
    assert len(found) == 1
    event = found[0]
    assert (event["EVENT_TYPE"], str(event["SRC_IP"]), event["EVENT_SCALE"]) == \
        (2, "10.9.9.9", 300)
    assert str(event["DST_IP"]) == "::" and event["PROTOCOL"] == 6    # unset, as NEMEA
    assert event["NOTE"] == "horizontal SYN scan"
    assert events([scan.take(np.arange(150))]) == []          # 150 SYNs: under the threshold


def test_dos_victim_of_a_spoofed_syn_flood():
    rng = np.random.default_rng(3)
    sources = [int(x) for x in rng.choice(np.arange(0x0B000000, 0x0C000000), 2000, False)]
    flood = flows(2000, src=sources, dst="10.0.0.80", sport=rng.integers(1024, 65535, 2000))
    found = events([flood], dos_victim_connections_synflood=1000)
    assert [(e["EVENT_TYPE"], str(e["DST_IP"]), e["EVENT_SCALE"]) for e in found] == \
        [(10, "10.0.0.80", 2000)]
    assert found[0]["NOTE"] == ("in: 2000 flows, 2000 packets; out: 0 flows, 0 packets; "
                                "approx. 2000 source addresses; SYN flood (probably spoofed)")
    assert events([flood]) == []                             # NEMEA's 270 000 flows


def test_dos_attacker_per_destination():
    flood = flows(3000, src="10.5.5.5", dst="10.0.0.80", sport=np.arange(3000) % 60000 + 1024)
    found = events([flood], dos_attacker_connections_synflood=1000)
    assert [(e["EVENT_TYPE"], str(e["SRC_IP"])) for e in found] == [(10, "10.5.5.5")]
    assert found[0]["NOTE"].startswith("out: 3000 flows, 3000 packets; in: 0 flows")
    assert found[0]["NOTE"].endswith("approx. 1 destination addresses; SYN flood")


def test_ssh_brute_force_victim_and_attacker():
    attempts = 100
    ports = np.arange(attempts) + 40000
    requests = flows(attempts, src="10.7.7.7", dst="10.0.0.22", sport=ports, dport=22,
                     packets=12, octets=1500, flags=FULL, span=60.0)
    responses = flows(attempts, src="10.0.0.22", dst="10.7.7.7", sport=22, dport=ports,
                      packets=15, octets=3000, flags=FULL, span=60.0)
    found = sorted((e["EVENT_TYPE"], e["NOTE"], str(e["SRC_IP"]), str(e["DST_IP"]),
                    e["DST_PORT"], e["EVENT_SCALE"]) for e in events([requests, responses]))
    assert found == [(30, "attacker", "10.7.7.7", "::", 22, 100),
                     (30, "victim", "::", "10.0.0.22", 22, 100)]
    assert events([requests, responses], rules_ssh=False) == []


def test_dns_amplification_victim():
    answers = flows(200, src=hosts(200, 0x2E000000), dst="10.0.0.53", sport=53, dport=40000,
                    proto=17, octets=1400, flags=0)
    found = events([answers], dns_amplif_threshold=100)
    assert [(e["EVENT_TYPE"], str(e["DST_IP"]), e["DST_PORT"], e["EVENT_SCALE"], e["NOTE"])
            for e in found] == [(15, "10.0.0.53", 53, 200, "DNS amplification - victim")]
    small = flows(200, src=hosts(200, 0x2E000000), dst="10.0.0.53", sport=53, dport=40000,
                  proto=17, octets=200, flags=0)
    assert events([small], dns_amplif_threshold=100) == []


def test_normal_traffic_raises_nothing():
    clients = hosts(50)
    web = flows(500, src=clients * 10, dst="10.0.0.80", sport=np.arange(500) + 20000,
                packets=20, octets=9000, flags=FULL, span=120.0)
    back = flows(500, src="10.0.0.80", dst=clients * 10, sport=80, dport=np.arange(500) + 20000,
                 packets=30, octets=40000, flags=FULL, span=120.0)
    assert events([web, back]) == []


def test_profiles_expire_on_flow_time_while_data_flows():
    module = detector()
    ports = start(module)
    feed(module, flows(300, src="10.9.9.9", dst=hosts(300), sport=np.arange(300) + 30000))
    assert ports[0].records() == []
    feed(module, flows(1, src="10.1.1.1", dst="10.1.1.2", start=100.0))  # 100 s later
    assert [r.EVENT_TYPE for r in ports[0].records()] == [2]              # inactive > 30 s
    assert len(module.table) == 2


def test_detection_starts_after_det_start_time():
    scan = flows(300, src="10.9.9.9", dst=hosts(300), sport=np.arange(300) + 30000, span=5.0)
    assert events([scan], det_start_time=10) == []
    assert len(events([scan], det_start_time=0)) == 1


def test_table_size_evicts_the_oldest_and_checks_them():
    scan = flows(300, src="10.9.9.9", dst=hosts(300), sport=np.arange(300) + 30000)
    later = flows(100, src=hosts(100, 0x0A300000), dst=hosts(100, 0x0A400000), start=2.0)
    module = detector(table_size=100)
    ports = start(module)
    feed(module, scan)
    feed(module, later)
    assert [r.EVENT_TYPE for r in ports[0].records()] == [2]
    assert len(module.table) <= 100


def test_direction_by_ports_and_flags():
    sport, dport = np.array([40000, 53, 20000, 80]), np.array([53, 40000, 20001, 80])
    request, response = flow_direction(sport, dport, None, True)
    assert request.tolist() == [True, False, False, False]
    assert response.tolist() == [False, True, False, False]
    request, response = flow_direction(sport, dport, np.array([1, 2, 0, 3], np.uint8), False)
    assert request.tolist() == [True, False, False, True]


def test_distinct_peers_are_exact_per_profile():
    table = HostTable()
    batch = flows(6, src="10.0.0.1", dst=["10.0.0.2", "10.0.0.3", "10.0.0.2"] * 2)
    for _ in range(2):
        table.update(batch.column("SRC_IP"), batch.column("DST_IP"), batch.column("SRC_PORT"),
                     batch.column("DST_PORT"), batch.column("PROTOCOL"),
                     batch.column("PACKETS"), batch.column("BYTES"), batch.column("TCP_FLAGS"),
                     batch.column("TIME_FIRST"), batch.column("TIME_LAST"))
    slot = table.index.find(np.array([table.index.key_of(0)], dtype=np.uint64))
    assert table.column("out_all_uniqueips", slot).tolist() == [2]
    assert table.column("out_all_flows", slot).tolist() == [12]


def test_config_file(tmp_path):
    config = parse_config("# hoststats\n[general]\ntimeout-active = 600\nrules-ssh = false\n"
                          "syn-scan-threshold = 50.5\ninput-template = ignored\n", "hs.conf")
    assert config.timeout_active == 600 and config.rules_ssh is False
    assert config.syn_scan_threshold == 50.5
    with pytest.raises(ValueError, match=r"hs\.conf:1: unknown key 'treshold'"):
        parse_config("treshold = 3", "hs.conf")
    with pytest.raises(ValueError, match="expected true or false"):
        parse_config("rules-dns = maybe", "hs.conf")
    with pytest.raises(ValueError, match="expected a number"):
        parse_config("timeout-inactive = soon", "hs.conf")
    path = tmp_path / "hoststats.conf"
    path.write_text("det-start-time = 0\n")
    params = HostStatsParams(config=str(path))
    params.validate()
    assert params.loaded.det_start_time == 0
    with pytest.raises(ValueError, match="-c"):
        HostStatsParams(config=str(tmp_path / "missing.conf")).validate()


def test_sample_config_holds_the_defaults():
    sample = Path(__file__).resolve().parents[3] / "configs" / "detectors" / "hoststats.conf"
    assert parse_config(sample.read_text(), str(sample)) == HostStatsConfig()
