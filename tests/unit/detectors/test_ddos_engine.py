"""The volume detectors' building blocks: keys, key sets, sketch, rows, episode engine."""

from __future__ import annotations

import numpy as np

from modules.detectors.ddos_episodes import EpisodeEngine, Thresholds
from modules.detectors.ddos_keys import KeyIndex, KeySet, address_keys, mask_addresses
from modules.detectors.ddos_rows import REQUEST, VOLUME, FlowRows
from modules.detectors.ddos_sketch import BinSketch, linear_count
from unirec.ipaddr import raw_from_text

NS = 1_000_000_000


def column(*texts: str) -> np.ndarray:
    return np.frombuffer(b"".join(raw_from_text(t) for t in texts), dtype="V16")


def test_address_keys_and_prefixes():
    col = column("10.0.0.1", "10.0.0.2", "10.0.1.1", "2001:db8::1", "2001:db8::2")
    exact = address_keys(col)
    assert len(set(exact.tolist())) == 5
    by24 = address_keys(col, 24, 64)
    assert by24[0] == by24[1] != by24[2] and by24[3] == by24[4]
    masked = mask_addresses(col, 16, 32)
    assert masked[2].tobytes() == raw_from_text("10.0.0.0")
    assert masked[4].tobytes() == raw_from_text("2001:db8::")


def test_key_index_assigns_reuses_and_compacts():
    index = KeyIndex()
    slots, fresh, first_rows = index.lookup_fresh(np.array([5, 7, 5, 9], dtype=np.uint64))
    assert slots[0] == slots[2] and len(set(slots.tolist())) == 3 and len(fresh) == 3
    assert slots[first_rows].tolist() == fresh.tolist() and sorted(first_rows) == [0, 1, 3]
    again, fresh, _ = index.lookup_fresh(np.array([9, 7], dtype=np.uint64))
    assert again.tolist() == [slots[3], slots[1]] and len(fresh) == 0
    index.remove([slots[1]])
    assert index.find(np.array([7, 5], dtype=np.uint64)).tolist() == [-1, slots[0]]
    reused, fresh, _ = index.lookup_fresh(np.array([11], dtype=np.uint64))
    assert reused[0] == slots[1] and fresh.tolist() == [slots[1]]
    keep = np.ones(len(index), dtype=bool)
    keep[slots[0]] = False
    kept = index.compact(keep)
    assert index.live == 2 and sorted(index.key_of(i) for i in range(2)) == [9, 11]
    assert len(kept) == 2


def test_key_set_first_occurrences_and_generations():
    keys = KeySet(capacity=16)
    first = keys.new_first(np.array([3, 4, 3, 5], dtype=np.uint64))
    assert first.tolist() == [True, True, False, True]
    assert keys.new_first(np.array([4, 6], dtype=np.uint64)).tolist() == [False, True]
    many = np.arange(100, 5000, dtype=np.uint64)          # forces the table to grow
    assert keys.new_first(many).all() and keys.contains(many).all()
    keys.rotate()
    assert keys.contains(np.array([3], dtype=np.uint64)).all()     # the previous generation
    keys.rotate()
    assert not keys.contains(np.array([3], dtype=np.uint64)).any()


def test_linear_counting_estimates():
    sketch = BinSketch(cells=16, words=2, bins=4)
    for position, distinct in enumerate((1, 10, 50, 200)):
        sources = np.arange(distinct, dtype=np.uint64) + 1000 * distinct
        n = len(sources)
        sketch.add(np.full(n, position), np.zeros(n, dtype=np.intp), sources, np.ones(n),
                   np.ones(n))
    for position, distinct in enumerate((1, 10, 50, 200)):
        estimate = linear_count(sketch.bitmaps[position, 0][None, :])[0]
        assert abs(estimate - distinct) <= max(2, 0.25 * distinct)


def rows(n, victim, sources, t0, span, kind=VOLUME, reply=False, packets=1.0):
    vkey = address_keys(column(victim))[0]
    src = column(*sources) if isinstance(sources, list) else column(sources)
    src = np.resize(src, n)
    tf = t0 + (np.arange(n) * span / max(n, 1)).astype(np.int64)
    return FlowRows(vkey=np.full(n, vkey), victim=np.resize(column(victim), n),
                    skey=address_keys(src), source=src, tf=tf, tl=tf, packets=np.full(n, packets),
                    bytes=np.full(n, 100.0), flows=np.ones(n), cls=np.zeros(n),
                    sport=np.zeros(n), dport=np.zeros(n), proto=np.full(n, 17),
                    kind=np.full(n, kind), reply=np.full(n, reply))


def engine(**kw):
    options = dict(bin_ns=NS, delay_ns=10 * NS, idle_ns=10 * NS, report_ns=0,
                   hot=Thresholds(packets=100, sources=10), warm_ratio=0.1, classes=2)
    options.update(kw)
    return EpisodeEngine(**options)


def sources(n, base=1):
    return [f"198.51.{(base + i) // 250}.{(base + i) % 250 + 1}" for i in range(n)]


def test_engine_one_report_per_episode_and_spread_of_long_flows():
    e = engine()
    reports = e.add(rows(200, "192.0.2.1", sources(50), 100 * NS, NS))
    reports += e.add(rows(5, "192.0.2.1", sources(5), 300 * NS, NS))   # closes the first
    reports += e.finish()
    assert len(reports) == 1
    report = reports[0]
    assert (report.flows, report.sources, report.final) == (200, 50, True)
    flow = FlowRows.concat([rows(1, "192.0.2.1", "198.51.100.1", 0, 0)])
    flow.tl = flow.tf + 4 * NS - 1
    flow.packets = np.array([8.0])
    spread, bins = flow.spread(NS, 600)
    assert bins.tolist() == [0, 1, 2, 3] and spread.packets.tolist() == [2.0] * 4
    assert spread.flows.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_engine_solicited_replies_do_not_count():
    e = engine()
    asked = rows(200, "192.0.2.1", sources(50), 100 * NS, NS, kind=REQUEST)
    answers = rows(200, "192.0.2.1", sources(50), 100 * NS, NS, reply=True)
    assert e.add(FlowRows.concat([asked, answers])) + e.finish() == []
    e = engine()
    assert len(e.add(rows(200, "192.0.2.1", sources(50), 100 * NS, NS, reply=True))
               + e.finish()) == 1


def test_engine_sketch_collisions_are_checked_exactly():
    """With two sketch cells every victim collides; only the one over the thresholds is
    reported."""
    e = engine(cells=16)
    busy = [rows(60, f"192.0.2.{i}", sources(6, base=i * 10), 100 * NS, NS) for i in range(1, 9)]
    reports = e.add(FlowRows.concat(busy)) + e.finish()
    assert reports == []
    reports = e.add(rows(200, "203.0.113.7", sources(50), 200 * NS, NS)) + e.finish()
    assert [r.victim for r in reports] == [raw_from_text("203.0.113.7")]
