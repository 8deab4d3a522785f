"""key_runs: hashed grouping of flow keys equals grouping by the keys themselves."""

from __future__ import annotations

import numpy as np
import pytest

from modules.flow_meter import flow_groups
from modules.flow_meter.flow_groups import key_runs


def runs(keys: np.ndarray) -> dict[bytes, list[int]]:
    """Each key's packet positions, as key_runs orders them; every key is one run."""
    order, new_key = key_runs(keys)
    assert sorted(order.tolist()) == list(range(len(keys)))
    result: dict[bytes, list[int]] = {}
    starts = np.flatnonzero(new_key).tolist()
    for start, end in zip(starts, [*starts[1:], len(order)], strict=True):
        positions = order[start:end].tolist()
        run_keys = set(keys[positions].tolist())
        assert len(run_keys) == 1
        key = run_keys.pop()
        assert key not in result, "a key in two runs"
        result[key] = positions
    return result


def by_dict(keys: np.ndarray) -> dict[bytes, list[int]]:
    result: dict[bytes, list[int]] = {}
    for position, key in enumerate(keys.tolist()):
        result.setdefault(key, []).append(position)
    return result


def random_keys(seed: int, count: int, distinct: int, width: int = 39) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 256, size=(distinct, width), dtype=np.uint8)
    pool[:, :8] = 0                          # IPv4-like keys share their leading bytes
    rows = pool[rng.integers(0, distinct, size=count)]
    return np.ascontiguousarray(rows).view(f"V{width}").ravel()


def test_each_key_is_one_run_in_capture_order():
    for seed, count, distinct, width in [(1, 1, 1, 39), (2, 1000, 3, 39), (3, 5000, 4000, 39),
                                         (4, 16384, 900, 39), (6, 16384, 900, 40)]:
        keys = random_keys(seed, count, distinct, width)
        assert runs(keys) == by_dict(keys)


def test_keys_differing_in_one_byte_are_separate_runs():
    base = np.zeros((40, 39), dtype=np.uint8)
    for row in range(1, 40):
        base[row, row - 1] = 1               # each key differs from the first in one byte
    keys = np.ascontiguousarray(np.repeat(base, 2, axis=0)).view("V39").ravel()
    assert len(runs(keys)) == 40 and runs(keys) == by_dict(keys)


def low_bits_only(words: np.ndarray) -> np.ndarray:
    """Hashes that differ in their lowest 16 bits only, which the grouping does not sort by."""
    return (words[:, -1] ^ words[:, -2]) & np.uint64(0xFFFF)


@pytest.mark.parametrize("hashes", [lambda words: np.zeros(len(words), dtype=np.uint64),
                                    low_bits_only])
def test_a_hash_collision_falls_back_to_grouping_by_the_keys(monkeypatch, hashes):
    keys = random_keys(5, 3000, 200, width=40)
    monkeypatch.setattr(flow_groups, "key_hashes", hashes)
    fallbacks = []
    by_keys = flow_groups._key_runs_by_dict
    monkeypatch.setattr(flow_groups, "_key_runs_by_dict",
                        lambda keys: fallbacks.append(len(keys)) or by_keys(keys))
    assert runs(keys) == by_dict(keys)
    assert fallbacks == [3000]


def test_an_empty_chunk_orders_nothing():
    order, _ = key_runs(random_keys(7, 0, 1, width=40))
    assert len(order) == 0
