"""BinSketch: per time bin, packets, bytes and distinct sources of every victim, approximately.

Victims are hashed into `cells` cells; each cell of a bin holds packets and bytes (sums) and a
bitmap of `64 * words` bits for distinct sources (linear counting, as NEMEA's ddos_detector counts
sources in a 512-bit bitmap). Colliding victims only ever add to a cell, so a cell under the
thresholds proves every victim in it is under them: the sketch is a cheap, memory-bounded filter
in front of the exact per-victim check (ddos_episodes). The open bins form a ring of `bins`
positions, so a batch is added with one scatter per array, whatever the bins it touches.
"""

from __future__ import annotations

import numpy as np

from .ddos_keys import mix, unique_sorted


def linear_count(bitmaps: np.ndarray) -> np.ndarray:
    """Distinct-count estimates of bitmaps (rows of uint64 words): -m ln(zero bits / m)."""
    bits = bitmaps.shape[-1] * 64
    ones = np.unpackbits(np.ascontiguousarray(bitmaps).view(np.uint8), axis=-1).sum(axis=-1)
    zeros = np.maximum(bits - ones, 0.5)   # a full bitmap reads as its saturation value
    return -bits * np.log(zeros / bits)


class BinSketch:
    def __init__(self, cells: int = 1 << 14, words: int = 2, bins: int = 64):
        if cells & (cells - 1) or words & (words - 1):
            raise ValueError(f"sketch cells {cells} and words {words}: powers of two")
        self.cells, self.words, self.size = cells, words, bins
        self.shift = np.uint64(64 - cells.bit_length() + 1)
        self.bit_shift = np.uint64(64 - (words * 64).bit_length() + 1)
        self.packets = np.zeros((bins, cells))
        self.bytes = np.zeros((bins, cells))
        self.bitmaps = np.zeros((bins, cells, words), np.uint64)
        self.held = np.full(bins, np.iinfo(np.int64).min, dtype=np.int64)   # bin of a position

    def cell_of(self, keys: np.ndarray) -> np.ndarray:
        return (mix(keys, 0x5EED) >> self.shift).astype(np.intp)

    def add(self, bins: np.ndarray, cells: np.ndarray, source_keys: np.ndarray,
            packets: np.ndarray, octets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Add rows (bins older than those the ring holds are the caller's to leave out);
        returns the distinct (ring position, cell) pairs touched."""
        positions = (bins % self.size).astype(np.intp)
        stale = self.held[positions] != bins
        if stale.any():                     # a position gets a new bin: clear it first
            for position, number in zip(*np.unique(
                    np.stack([positions[stale], bins[stale]]), axis=1), strict=True):
                if self.held[position] < number:
                    self.packets[position] = 0
                    self.bytes[position] = 0
                    self.bitmaps[position] = 0
                    self.held[position] = number
            current = self.held[positions] == bins
            positions, cells, source_keys = positions[current], cells[current], \
                source_keys[current]
            packets, octets = packets[current], octets[current]
        bit = mix(source_keys, 0xB175) >> self.bit_shift
        np.add.at(self.packets, (positions, cells), packets)
        np.add.at(self.bytes, (positions, cells), octets)
        np.bitwise_or.at(self.bitmaps, (positions, cells, (bit >> np.uint64(6)).astype(np.intp)),
                         np.left_shift(np.uint64(1), bit & np.uint64(63)))
        flat = unique_sorted(positions * self.cells + cells)
        return flat // self.cells, flat % self.cells

    def over(self, positions: np.ndarray, cells: np.ndarray, min_packets: float,
             min_bytes: float) -> tuple[np.ndarray, ...]:
        """The (positions, cells) reaching the packet and byte minimums, with their packets,
        bytes and estimated sources."""
        pk, by = self.packets[positions, cells], self.bytes[positions, cells]
        keep = (pk >= min_packets) & (by >= min_bytes)
        positions, cells = positions[keep], cells[keep]
        return positions, cells, pk[keep], by[keep], linear_count(self.bitmaps[positions, cells])
