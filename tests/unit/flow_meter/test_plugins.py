"""Flow plugins on handmade packets: malformed payloads give what can be read, never an error."""

from __future__ import annotations

import logging

import dpkt
import numpy as np

from modules.flow_meter.capture import read_packets
from modules.flow_meter.flow_cache import FlowCache
from modules.flow_meter.flow_records import flow_batch
from modules.flow_meter.flow_table import PACKETS
from modules.flow_meter.packet_parser import PacketParser
from modules.flow_meter.plugin_base import FlowPlugin
from modules.flow_meter.plugins import make_plugins, plugin_batch

from .capfiles import write_pcap
from .packets import ethernet, ipv4, udp


def dns_response(rdata: bytes) -> bytes:
    question = dpkt.dns.DNS.Q(name="a.example", type=dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN)
    answer = dpkt.dns.DNS.RR(name="a.example", type=dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN,
                             ttl=60, rdata=rdata)
    message = dpkt.dns.DNS(id=7, qr=dpkt.dns.DNS_R, qd=[question], an=[answer])
    return ethernet(ipv4(udp(sport=53, dport=5353, data=bytes(message))))


def plugin_rows(path, names: str) -> tuple[list, list[list]]:
    """The basic rows of a capture's flows, and each plugin's records."""
    cache, parser, plugins = FlowCache(), PacketParser(), make_plugins(names)
    for chunk in read_packets([str(path)]):
        cache.add(parser.parse(chunk), plugins, chunk.packets)
    cache.flush()
    exported = cache.take()
    batch = flow_batch(exported, True, 1, 0)
    return batch.rows(), [list(plugin_batch(plugin, batch, exported).records())
                          for plugin in plugins]


def test_a_dns_address_of_the_wrong_length_is_kept_as_raw_bytes(tmp_path):
    path = write_pcap(tmp_path / "dns.pcap", [(10**9, dns_response(b"\x01\x02\x03\x04\x05")),
                                              (2 * 10**9, dns_response(b"\x0a\x00\x00\x01"))])
    basic, (dns,) = plugin_rows(path, "dns")
    assert len(basic) == 2
    assert sorted(record["DNS_RDATA"] for record in dns) == [b"\x01\x02\x03\x04\x05",
                                                             b"10.0.0.1"]


class BrokenPlugin(FlowPlugin):
    """Fails on every packet it looks at, as a payload parser may on hostile input."""

    name = "broken"
    fields = "uint8 BROKEN"

    def wants(self, columns) -> np.ndarray:
        return np.ones(columns.count, dtype=bool)

    def update(self, flow, reverse, columns, position, packets) -> bool:
        raise ValueError("cannot read this payload")


def test_a_plugin_failing_on_a_payload_is_counted_and_the_packet_still_counts(tmp_path,
                                                                             caplog):
    path = write_pcap(tmp_path / "dns.pcap", [(10**9, dns_response(b"\x0a\x00\x00\x01")),
                                              (2 * 10**9, dns_response(b"\x0a\x00\x00\x02"))])
    cache, parser = FlowCache(), PacketParser()
    with caplog.at_level(logging.WARNING):
        for chunk in read_packets([str(path)]):
            cache.add(parser.parse(chunk), [BrokenPlugin()], chunk.packets)
    cache.flush()
    assert cache.take().values[PACKETS].tolist() == [2]
    assert cache.plugin_errors == {"broken": 2}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "plugin broken" in warnings[0] and "ValueError" in warnings[0]
