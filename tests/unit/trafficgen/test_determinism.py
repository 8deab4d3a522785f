"""Same seed -> the same bytes and truth; another seed -> another capture."""

from __future__ import annotations

from modules.trafficgen.scenarios import generate

from .conftest import SMALL, pcap_bytes


def test_same_seed_gives_identical_bytes_and_truth(small_mixed):
    capture, data = small_mixed
    again = generate("mixed", seed=1, **SMALL)
    assert pcap_bytes(again) == data
    assert again.truth == capture.truth


def test_other_seed_gives_a_different_capture(small_mixed):
    _capture, data = small_mixed
    other = generate("mixed", seed=2, **SMALL)
    assert pcap_bytes(other) != data


def test_start_time_only_shifts_the_timestamps():
    one = generate("vscan", seed=5, duration=10, hosts=2, scale=0.05)
    later = generate("vscan", seed=5, duration=10, hosts=2, scale=0.05,
                     start="2024-01-15T11:00:00Z")
    assert [p.time_us + 3_600_000_000 for p in one.packets] == [p.time_us for p in later.packets]
    assert later.truth["start"] == "2024-01-15T11:00:00.000000Z"


def test_attacks_do_not_change_the_background():
    """Every part has its own random stream: adding attacks leaves the background alone."""
    plain = generate("background", seed=3, duration=10, hosts=3)
    attacked = generate("syn_flood", seed=3, duration=10, hosts=3, scale=0.05)
    assert [p for p in attacked.packets if not p.tag] == plain.packets
