"""DistinctCounter: the per-key distinct values both scan detectors keep."""

from __future__ import annotations

import pytest

from modules.detectors.distinct_counter import DistinctCounter


def feed(counter, flows, threshold=3):
    """flows: (key, value, time) triples; the reports as (key, count, samples, row)."""
    keys, values, times = zip(*flows, strict=True)
    reports = counter.add(list(keys), list(values), list(times), list(times),
                          [1] * len(flows), list(range(len(flows))), threshold)
    return [(r.key, r.count, r.samples, r.row) for r in reports]


def test_reports_every_threshold_new_values_and_remembers_them():
    counter = DistinctCounter(idle_ns=100, samples=2)
    flows = [(b"k", v, t) for t, v in enumerate([1, 2, 2, 3, 1, 4, 5, 6, 7])]
    assert feed(counter, flows) == [(b"k", 3, [1, 2], 3), (b"k", 3, [4, 5], 7)]
    assert [(r.count, r.samples, r.row) for r in counter.drain()] == [(1, [7], None)]
    assert len(counter) == 0


def test_keys_with_one_value_stay_singles_and_idle_keys_go():
    counter = DistinctCounter(idle_ns=10)
    assert feed(counter, [(b"a", 1, 0), (b"a", 1, 5), (b"b", 1, 6)]) == []
    assert (len(counter.single), len(counter.entries)) == (2, 0)
    assert counter.prune(now=16) == []                  # a: last seen 5, idle; b: 6, not
    assert list(counter.single) == [b"b"]


def test_trailing_report_only_after_a_report():
    counter = DistinctCounter(idle_ns=10)
    feed(counter, [(b"a", v, 0) for v in (1, 2, 3, 4)] + [(b"b", v, 0) for v in (1, 2)])
    assert [(r.key, r.count, r.row) for r in counter.prune(now=20)] == [(b"a", 1, None)]
    assert len(counter) == 0


def test_nemea_variants():
    toggle = DistinctCounter(idle_ns=100, after_report="drop", toggle=True)
    assert feed(toggle, [(b"k", v, 0) for v in (1, 1, 2, 3, 2, 4)]) == []   # {3, 4} left
    assert feed(toggle, [(b"k", v, 0) for v in (5, 6, 7)])[0][1] == 3
    assert toggle.drain() == []                               # dropped after the report
    clear = DistinctCounter(idle_ns=100, after_report="clear")
    assert [r[1] for r in feed(clear, [(b"k", v, 0) for v in (1, 2, 3, 1, 2, 3)])] == [3, 3]
    with pytest.raises(ValueError):
        DistinctCounter(idle_ns=1, after_report="forget")
