"""bruteforce_detector on handmade flows, in-process."""

from __future__ import annotations

import os
import signal

import pytest

from modules.detectors.bruteforce_detector import (
    CONTINUING,
    EPISODE,
    FINAL,
    NEW,
    OUTPUT_TEMPLATE,
    BruteforceDetector,
    BruteforceParams,
)
from modules.detectors.flow_columns import ACK, FIN, PSH, RST, SYN
from modules.detectors.inprocess import (
    BIFLOW_TEMPLATE,
    UNIFLOW_TEMPLATE,
    feed,
    flow_batch,
    run,
    start,
)
from unirec import Template

ATTACKER, VICTIM = "240.0.1.2", "240.125.0.2"
LOGIN = SYN | ACK | PSH | FIN
NEMEA = {"reports": "nemea"}


def attempt(t, port=22, packets=16, octets=1973, flags=LOGIN, src=ATTACKER, dst=VICTIM,
            sport=None, outgoing=False):
    """One login attempt (an SSH one by default); outgoing: the server's side as the flow."""
    sport = sport if sport is not None else 30000 + int(t) % 30000
    flow = dict(SRC_IP=src, DST_IP=dst, SRC_PORT=sport, DST_PORT=port, PROTOCOL=6,
                PACKETS=packets, PACKETS_REV=25, BYTES=octets, BYTES_REV=3171, TCP_FLAGS=flags,
                TCP_FLAGS_REV=flags, TIME_FIRST=t, TIME_LAST=t + 10)
    if outgoing:
        flow.update(SRC_IP=dst, DST_IP=src, SRC_PORT=port, DST_PORT=sport)
    return flow


def reports(flows, template=BIFLOW_TEMPLATE, **params):
    detector = BruteforceDetector(BruteforceParams(**params))
    return run(detector, [flow_batch(flows, template)])[0].records()


def summary(found):
    return [(a.EVENT_TYPE, str(a.SRC_IP), str(a.DST_IP), a.DST_PORT, a.EVENT_SCALE, a.SERVICE)
            for a in found]


def test_output_template_has_nemeas_fields():
    assert {"DETECTION_TIME", "WARDEN_TYPE", "SRC_IP", "PROTOCOL", "DST_PORT", "EVENT_SCALE",
            "NOTE"} <= set(Template.of(OUTPUT_TEMPLATE).index)


def test_thirty_matched_ssh_flows_start_an_attack():
    found = reports([attempt(t) for t in range(0, 300, 10)])
    assert summary(found) == [(EPISODE, ATTACKER, VICTIM, 22, 30, "ssh")]
    alert = found[0]
    assert (alert.WARDEN_TYPE, alert.PROTOCOL) == (2, 6)
    assert alert["NOTE"] == f"I:{VICTIM},O:"
    assert (float(alert.TIME_FIRST), float(alert.TIME_LAST)) == (0.0, 300.0)
    assert float(alert.DETECTION_TIME) == 300.0
    assert reports([attempt(t) for t in range(0, 290, 10)]) == []


def test_victims_are_listed_sorted():
    found = reports([attempt(t, dst=f"10.0.0.{3 - t % 3}") for t in range(30)])
    assert found[0].NOTE == "I:10.0.0.1,10.0.0.2,10.0.0.3,O:"


def test_flows_outside_the_signature_do_not_match():
    for flow in (dict(packets=40), dict(octets=900), dict(flags=ACK | PSH), dict(port=2222)):
        assert reports([attempt(t, **flow) for t in range(40)], no_any_port=True) == [], flow


def test_scan_like_flows_are_ignored_entirely():
    scans = [attempt(t + 0.5, packets=1, octets=60, flags=SYN) for t in range(40)]
    scans += [attempt(t + 0.7, packets=2, octets=100, flags=SYN | RST) for t in range(40)]
    found = reports(scans + [attempt(t) for t in range(30)])
    assert [a.EVENT_SCALE for a in found] == [30]


def test_beyond_50_flows_the_matched_share_decides():
    # every other flow is a long interactive session: 25 matched in the first 50 flows
    mixed = [attempt(t, packets=200, octets=50000) if t % 2 else attempt(t) for t in range(80)]
    assert reports(mixed) == []
    assert [a.EVENT_SCALE for a in reports(mixed, ratio=0.5, **NEMEA)][:1] == [26]  # 26 of 51
    clean = [attempt(t, packets=200, octets=50000) for t in range(51)]
    clean += [attempt(100 + t) for t in range(460)]
    found = reports(clean, **NEMEA)                          # 90 % of the list: 459 of 510
    assert (found[0].EVENT_TYPE, found[0].EVENT_SCALE) == (NEW, 459)


def test_outgoing_direction_names_the_client_as_attacker():
    flows = [attempt(t, outgoing=True, packets=25, octets=3171) for t in range(30)]
    found = reports(flows, UNIFLOW_TEMPLATE)
    assert summary(found) == [(EPISODE, ATTACKER, VICTIM, 22, 30, "ssh")]
    assert found[0]["NOTE"] == f"I:O:{VICTIM},"


def test_one_report_per_episode_with_its_totals():
    flows = [attempt(t, dst="10.0.0.2" if t % 100 == 50 else "10.0.0.1")   # 20 minutes
             for t in range(0, 1200, 10)]
    found = reports(flows)
    assert summary(found) == [(EPISODE, ATTACKER, "10.0.0.1", 22, 120, "ssh")]
    alert = found[0]
    assert alert.NOTE == "I:10.0.0.1,10.0.0.2,O:"
    assert (float(alert.TIME_FIRST), float(alert.TIME_LAST)) == (0.0, 1200.0)
    assert float(alert.DETECTION_TIME) == 1200.0           # at the end of the stream


def test_nemea_reports_new_continuing_and_final_in_flow_time():
    flows = [attempt(t) for t in range(0, 1200, 10)]        # 120 attempts over 20 minutes
    found = reports(flows, **NEMEA)
    assert [a.EVENT_TYPE for a in found] == [NEW, CONTINUING, CONTINUING, FINAL]
    assert [float(a.DETECTION_TIME) for a in found][:3] == [300.0, 610.0, 910.0]
    assert sum(a.EVENT_SCALE for a in found) == 120
    assert {(str(a.SRC_IP), str(a.DST_IP)) for a in found} == {(ATTACKER, VICTIM)}
    assert [(float(a.TIME_FIRST), float(a.TIME_LAST)) for a in found][1] == (300.0, 600.0)


@pytest.mark.parametrize("mode", ["episode", "nemea"])
def test_batching_does_not_change_the_reports(mode):
    flows = [attempt(t) for t in range(0, 1200, 10)]
    detector = BruteforceDetector(BruteforceParams(reports=mode))
    port = start(detector)[0]
    for flow in flows:
        feed(detector, flow_batch([flow]))
    detector.finish()
    assert summary(port.records()) == summary(reports(flows, reports=mode))


def test_attack_ends_when_matching_stops():
    flows = [attempt(t) for t in range(0, 300, 10)]
    flows += [attempt(400 + t, packets=200, octets=90000) for t in range(0, 600, 5)]
    flows += [attempt(2000 + t) for t in range(0, 300, 10)]
    found = reports(flows)                                   # the big flows keep the share low
    assert summary(found) == [(EPISODE, ATTACKER, VICTIM, 22, 30, "ssh")]
    assert float(found[0].DETECTION_TIME) < 1000             # reported when the share dropped
    assert [a.EVENT_TYPE for a in reports(flows, **NEMEA)] == [NEW]
    flows += [attempt(4000 + t) for t in range(0, 300, 10)]  # ... until they time out
    assert [a.EVENT_SCALE for a in reports(flows)] == [30, 30]
    assert [a.EVENT_TYPE for a in reports(flows, **NEMEA)] == [NEW, NEW]


def test_attack_timeout_ends_a_trickle():
    flows = [attempt(t) for t in range(0, 300, 10)]
    flows += [attempt(300 + t) for t in range(0, 1500, 100)]  # then one attempt every 100 s
    found = reports(flows)                  # ended by --attack-timeout 600 s after its start
    assert [(a.EVENT_SCALE, float(a.DETECTION_TIME)) for a in found] == [(36, 910.0)]


def test_ftp_and_other_services():
    ftp = [attempt(t, port=21, packets=6, octets=280) for t in range(30)]
    assert summary(reports(ftp)) == [(EPISODE, ATTACKER, VICTIM, 21, 30, "ftp")]
    assert reports(ftp, ssh=True) == []
    ssh902 = [attempt(t, port=902) for t in range(30)]
    assert reports(ssh902) == []
    assert summary(reports(ssh902, service=("ssh:902",)))[0][3:] == (902, 30, "ssh")
    imap = [attempt(t, port=143, packets=8, octets=500) for t in range(30)]
    assert summary(reports(imap, service=("imap:143:5-10:400-600",)))[0][3:] == (143, 30, "imap")
    telnet_out = [attempt(t, port=23, outgoing=True, packets=20, octets=1000) for t in range(40)]
    assert reports(telnet_out, UNIFLOW_TEMPLATE) == []       # NEMEA: no outgoing Telnet rule


@pytest.mark.parametrize(("service", "message"), [
    ("ssh", "expected NAME:PORT"), ("ssh:x", "not a number"), ("ssh:0", "out of range"),
    ("imap:143", "unknown service"), ("imap:143:5:x-3", "MIN-MAX"),
    ("imap:143:9-5:1-2", "MIN <= MAX"), ("ssh:21", "two services")])
def test_bad_services_fail_at_start(service, message):
    with pytest.raises(ValueError, match=message):
        BruteforceParams(service=(service,)).validate()


def test_whitelist_ignores_flows_and_reloads_on_sigusr1(tmp_path):
    listing = tmp_path / "whitelist.wl"
    listing.write_text(f"# trusted scanner\nsrc {ATTACKER}/32   # comment\n")
    detector = BruteforceDetector(BruteforceParams(whitelist=str(listing), **NEMEA))
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGUSR1, signal.SIGUSR2)}
    try:
        port = start(detector)[0]
        feed(detector, flow_batch([attempt(t) for t in range(40)]))
        assert port.records() == []
        listing.write_text("dst 240.125.0.0/16/21,2222\n")       # other ports only
        os.kill(os.getpid(), signal.SIGUSR1)
        feed(detector, flow_batch([attempt(100 + t) for t in range(30)]))
        assert [a.EVENT_SCALE for a in port.records()] == [30]
        listing.write_text("not an address\n")                   # a bad file keeps the old one
        os.kill(os.getpid(), signal.SIGUSR2)
        feed(detector, flow_batch([attempt(200 + t, port=21, packets=6, octets=280)
                                   for t in range(40)]))
        assert len(port.records()) == 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def test_bad_whitelist_fails_at_start(tmp_path):
    listing = tmp_path / "bad.wl"
    listing.write_text("10.0.0.0/8\nsrc 10.0.0.300/32\n")
    with pytest.raises(ValueError, match=r"bad.wl:2: bad address"):
        start(BruteforceDetector(BruteforceParams(whitelist=str(listing))))


def test_params_are_validated():
    with pytest.raises(ValueError, match="-x"):
        BruteforceParams(ratio=1.5).validate()
    with pytest.raises(ValueError, match="threshold"):
        BruteforceParams(threshold=0).validate()
    with pytest.raises(ValueError, match="--reports 'warden': expected one of episode, nemea"):
        BruteforceParams(reports="warden").validate()
    assert [s.name for s in BruteforceParams().services()] == ["ssh", "rdp", "telnet", "ftp"]
    assert [s.name for s in BruteforceParams(rdp=True).services()] == ["rdp"]
