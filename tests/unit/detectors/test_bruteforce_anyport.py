"""bruteforce_detector's any-port rule on handmade biflows shaped like the reference captures:
nmap ssh-brute on port 902 (65 connections in 13 s, ~2,370 bytes each way) must be reported, a
C&C beacon to 443 (one connection every 2.2 s, 1,577 bytes up, 4,515 down) must not."""

from __future__ import annotations

import logging

import pytest

from modules.detectors.bruteforce_detector import EPISODE, BruteforceDetector, BruteforceParams
from modules.detectors.flow_columns import ACK, FIN, PSH, SYN
from modules.detectors.inprocess import UNIFLOW_TEMPLATE, feed, flow_batch, run, start

ATTACKER, VICTIM = "147.32.80.40", "147.32.80.37"
DIALOGUE = SYN | ACK | PSH | FIN


def connection(t, port=902, packets=12, octets=2376, packets_rev=10, octets_rev=2367,
               flags=DIALOGUE, src=ATTACKER, duration=3.6):
    return dict(SRC_IP=src, DST_IP=VICTIM, SRC_PORT=38000 + round(t * 10) % 20000,
                DST_PORT=port, PROTOCOL=6, PACKETS=packets, PACKETS_REV=packets_rev,
                BYTES=octets, BYTES_REV=octets_rev, TCP_FLAGS=flags, TCP_FLAGS_REV=flags,
                TIME_FIRST=t, TIME_LAST=t + duration)


def bruteforce(count=65, gap=0.2, **shape):
    """nmap ssh-brute's pace: a connection every 0.2 s."""
    return [connection(index * gap, **shape) for index in range(count)]


def beacon(count=297, gap=2.2, **shape):
    """The C&C capture's pace and shape unless `shape` says otherwise."""
    shape = {"port": 443, "packets": 14, "octets": 1577, "packets_rev": 12,
             "octets_rev": 4515, "duration": 0.2, **shape}
    return [connection(index * gap, **shape) for index in range(count)]


def reports(flows, template=None, **params):
    detector = BruteforceDetector(BruteforceParams(**params))
    batch = flow_batch(flows) if template is None else flow_batch(flows, template)
    return [(a.EVENT_TYPE, str(a.SRC_IP), str(a.DST_IP), a.DST_PORT, a.EVENT_SCALE, a.SERVICE)
            for a in run(detector, [batch])[0].records()]


def test_a_burst_of_balanced_logins_on_an_unknown_port_is_one_episode():
    detector = BruteforceDetector(BruteforceParams())
    alerts = run(detector, [flow_batch(bruteforce())])[0].records()
    assert [(a.EVENT_TYPE, str(a.SRC_IP), str(a.DST_IP), a.DST_PORT, a.EVENT_SCALE, a.SERVICE)
            for a in alerts] == [(EPISODE, ATTACKER, VICTIM, 902, 65, "any-port")]
    assert (float(alerts[0].TIME_FIRST), float(alerts[0].TIME_LAST)) == (0.0, 16.4)


def test_the_beacon_is_silent():
    assert reports(beacon()) == []


def test_each_sign_alone_is_not_enough():
    unbalanced_burst = beacon(count=65, gap=0.2)             # the beacon at the tool's pace
    assert reports(unbalanced_burst) == []
    assert reports(unbalanced_burst, any_balance=3.0) != []  # 4515 / 1577 = 2.9
    balanced_beacon = bruteforce(count=297, gap=2.2)         # logins at the beacon's pace
    assert reports(balanced_beacon) == []
    assert reports(balanced_beacon, any_window=300) != []    # ~136 in 300 s


def test_uploads_transfers_and_silent_servers_are_not_attempts():
    for shape in (dict(octets_rev=900), dict(octets=900),     # one side sent > 2x the other
                  dict(packets=60), dict(octets=12_000, octets_rev=12_000),
                  dict(packets_rev=3), dict(flags=SYN | ACK | FIN)):
        assert reports(bruteforce(**shape)) == [], shape


def test_other_connections_of_the_client_to_the_port_lower_the_share():
    downloads = bruteforce(octets_rev=40_000, packets_rev=40)
    mixed = [flow for pair in zip(bruteforce(), downloads, strict=True) for flow in pair]
    assert reports(mixed) == []
    assert reports(mixed, ratio=0.5) != []


def test_batching_does_not_change_the_reports():
    downloads = bruteforce(octets_rev=40_000, packets_rev=40)
    mixed = [flow for pair in zip(bruteforce(), downloads, strict=True) for flow in pair]
    for flows, scales in ((bruteforce(), [65]), (mixed, [])):
        detector = BruteforceDetector(BruteforceParams())
        port = start(detector)[0]
        for flow in flows:
            feed(detector, flow_batch([flow]))
        detector.finish()
        assert [a.EVENT_SCALE for a in port.records()] == scales
        assert [alert[4] for alert in reports(flows)] == scales


def test_clients_are_counted_apart():
    flows = [dict(flow, SRC_IP=f"10.1.0.{index % 3}")
             for index, flow in enumerate(bruteforce(count=120))]
    assert reports(flows) == []                              # 40 attempts each


def test_ports_of_the_port_rules_are_left_to_them():
    ssh = bruteforce(port=22, packets=16, octets=1973, packets_rev=25, octets_rev=3171)
    assert [alert[-1] for alert in reports(ssh)] == ["ssh"]
    assert [alert[-1] for alert in reports(ssh, telnet=True)] == ["any-port"]


def test_off_on_request_and_on_uniflows(caplog):
    assert reports(bruteforce(), no_any_port=True) == []
    with caplog.at_level(logging.WARNING):
        assert reports(bruteforce(), UNIFLOW_TEMPLATE) == []
    assert "uniflow input (no PACKETS_REV, BYTES_REV, TCP_FLAGS_REV): the any-port rule is off" \
        in caplog.text


@pytest.mark.parametrize(("params", "message"), [
    ({"any_balance": 0.5}, "--any-balance 0.5: must be at least 1"),
    ({"any_attempts": 0}, "--any-attempts must be at least 1"),
    ({"any_window": 0}, "--any-window must be at least 1")])
def test_bad_options_fail_at_start(params, message):
    with pytest.raises(ValueError, match=message):
        BruteforceParams(**params).validate()
