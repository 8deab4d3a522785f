"""The demo's summary: which IDEA alerts detected each ground-truth attack."""

from __future__ import annotations

from supervisor.demo import Alert, detected_by

SCAN = Alert("vportscan.idea", ("Recon.Scanning",), ("203.0.113.10",), ("10.0.0.48",))
FLOOD = Alert("ddos.idea", ("Availability.DoS",), (), ("10.0.0.80",))


def attack(kind, attackers, victims):
    return {"type": kind, "attackers": attackers, "victims": victims}


def test_an_attack_is_detected_by_its_category_and_addresses():
    assert detected_by(attack("vscan", ["203.0.113.10"], ["10.0.0.48"]), [SCAN, FLOOD]) == [SCAN]
    # spoofed sources: the victim alone names the attack
    assert detected_by(attack("syn_flood", ["10.128.0.0/9"], ["10.0.0.80"]), [SCAN, FLOOD]) \
        == [FLOOD]


def test_other_attackers_and_other_categories_do_not_count():
    assert detected_by(attack("hscan", ["203.0.113.81"], ["10.1.117.235"]), [SCAN]) == []
    assert detected_by(attack("dns_amplification", ["192.0.2.4"], ["10.0.0.80"]), [FLOOD]) == []
