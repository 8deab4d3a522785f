"""group_ids: hashed grouping of flow keys equals grouping by the keys themselves."""

from __future__ import annotations

import numpy as np

from modules.flow_meter import flow_groups
from modules.flow_meter.flow_groups import group_ids


def by_dict(keys: np.ndarray) -> tuple[list[int], list[bytes]]:
    seen: dict[bytes, int] = {}
    ids = [seen.setdefault(key, len(seen)) for key in keys.tolist()]
    return ids, list(seen)


def random_keys(seed: int, count: int, distinct: int, width: int = 39) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 256, size=(distinct, width), dtype=np.uint8)
    pool[:, :8] = 0                          # IPv4-like keys share their leading bytes
    rows = pool[rng.integers(0, distinct, size=count)]
    return np.ascontiguousarray(rows).view(f"V{width}").ravel()


def test_groups_are_numbered_in_order_of_first_appearance():
    for seed, count, distinct in [(1, 1, 1), (2, 1000, 3), (3, 5000, 4000), (4, 16384, 900)]:
        keys = random_keys(seed, count, distinct)
        ids, unique = group_ids(keys)
        assert (ids.tolist(), unique) == by_dict(keys)


def test_keys_differing_in_one_byte_are_separate_groups():
    base = np.zeros((40, 39), dtype=np.uint8)
    for row in range(1, 40):
        base[row, row - 1] = 1               # each key differs from the first in one byte
    keys = np.ascontiguousarray(np.repeat(base, 2, axis=0)).view("V39").ravel()
    ids, unique = group_ids(keys)
    assert len(unique) == 40 and (ids.tolist(), unique) == by_dict(keys)


def test_a_hash_collision_falls_back_to_grouping_by_the_keys(monkeypatch):
    keys = random_keys(5, 3000, 200)
    monkeypatch.setattr(flow_groups, "key_hashes",
                        lambda words: np.zeros(len(words), dtype=np.uint64))
    ids, unique = group_ids(keys)
    assert (ids.tolist(), unique) == by_dict(keys)
