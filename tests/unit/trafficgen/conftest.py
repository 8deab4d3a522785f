"""Small generated captures shared by the trafficgen unit tests (built once per session)."""

from __future__ import annotations

import io

import dpkt
import pytest

from modules.trafficgen.scenarios import generate
from modules.trafficgen.writer import write_pcap

SMALL = {"duration": 20.0, "hosts": 5, "scale": 0.1}


def pcap_bytes(capture) -> bytes:
    stream = io.BytesIO()
    write_pcap(stream, capture.packets)
    return stream.getvalue()


def read_pcap(data: bytes) -> list[tuple[float, bytes]]:
    return list(dpkt.pcap.Reader(io.BytesIO(data)))


@pytest.fixture(scope="session")
def small_mixed():
    """(capture, pcap bytes) of a small mixed scenario, seed 1."""
    capture = generate("mixed", seed=1, **SMALL)
    return capture, pcap_bytes(capture)
