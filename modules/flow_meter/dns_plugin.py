"""dns plugin: the first question and answer of a DNS message (dpkt), as ipfixprobe exports
them: every DNS message ends its flow, so queries and responses are records of their own."""

from __future__ import annotations

import socket

import dpkt
import numpy as np

from .plugin_base import FlowPlugin

_RDATA_TEXT = {dpkt.dns.DNS_A: lambda rr: socket.inet_ntop(socket.AF_INET, rr.ip),
               dpkt.dns.DNS_AAAA: lambda rr: socket.inet_ntop(socket.AF_INET6, rr.ip6),
               dpkt.dns.DNS_PTR: lambda rr: rr.ptrname, dpkt.dns.DNS_CNAME: lambda rr: rr.cname,
               dpkt.dns.DNS_NS: lambda rr: rr.nsname,
               dpkt.dns.DNS_MX: lambda rr: rr.mxname}


def _rdata(answer) -> bytes:
    """The answer's data as ipfixprobe shows it: text for addresses and names, else the raw
    bytes (also for an address of the wrong length, as in a malformed answer)."""
    text = _RDATA_TEXT.get(answer.type)
    if text is not None:
        try:
            return text(answer).encode()
        except (ValueError, AttributeError):
            pass
    return bytes(answer.rdata)


class DnsPlugin(FlowPlugin):
    name = "dns"
    fields = ("uint16 DNS_ID,uint16 DNS_ANSWERS,uint8 DNS_RCODE,string DNS_NAME,"
              "uint16 DNS_QTYPE,uint16 DNS_CLASS,uint32 DNS_RR_TTL,uint16 DNS_RLENGTH,"
              "bytes DNS_RDATA,uint16 DNS_PSIZE,uint8 DNS_DO")
    description = "DNS id, question, first answer, EDNS size and DO bit"

    def wants(self, columns) -> np.ndarray:
        port53 = (columns.src_port == 53) | (columns.dst_port == 53)
        return port53 & (columns.protocol == 17) & (columns.payload_offset >= 0)

    def update(self, flow, reverse, columns, position, packets) -> bool:
        try:
            message = dpkt.dns.DNS(self.payload(columns, position, packets))
        except (dpkt.UnpackError, ValueError, IndexError, TypeError):
            return False
        values = {"DNS_ID": message.id, "DNS_ANSWERS": len(message.an),
                  "DNS_RCODE": message.rcode, "DNS_NAME": "", "DNS_QTYPE": 0, "DNS_CLASS": 0,
                  "DNS_RR_TTL": 0, "DNS_RLENGTH": 0, "DNS_RDATA": b"", "DNS_PSIZE": 0,
                  "DNS_DO": 0}
        if message.qd:
            question = message.qd[0]
            values.update(DNS_NAME=question.name, DNS_QTYPE=question.type,
                          DNS_CLASS=question.cls)
        if message.an:
            answer = message.an[0]
            rdata = _rdata(answer)
            values.update(DNS_RR_TTL=answer.ttl, DNS_RDATA=rdata, DNS_RLENGTH=len(rdata))
        for record in message.ar:
            if record.type == 41:   # OPT: EDNS0 payload size in the class, DO in the TTL
                values.update(DNS_PSIZE=record.cls, DNS_DO=(record.ttl >> 15) & 1)
        self.store(flow, values)
        return True
