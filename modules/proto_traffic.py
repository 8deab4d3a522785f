"""proto_traffic: flows, packets and bytes per IP protocol, for Munin (and as records)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.module import param
from unirec import RecordBatch

from .traffic_counters import BYTES, FLOWS, PACKETS, IntervalCounterModule, check_interval

# bucket name -> IP protocol number, in the order of the Munin reply; "others" comes last
PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "icmp6": 58, "esp": 50, "gre": 47, "sctp": 132}
NAMES = [*PROTOCOLS, "others"]
SLOT_OF_PROTOCOL = np.full(256, len(PROTOCOLS), dtype=np.intp)
SLOT_OF_PROTOCOL[list(PROTOCOLS.values())] = np.arange(len(PROTOCOLS))


@dataclass
class ProtoParams:
    interval: float = param(60.0, "-t", "Every SECONDS print the interval's counters (and send a "
                                        "record if an output is given).")

    def validate(self) -> None:
        check_interval(self.interval)


class ProtoTraffic(IntervalCounterModule):
    name = "proto_traffic"
    description = (
        "Count flows, packets and bytes per IP protocol (icmp, tcp, udp, icmp6, esp, gre, sctp, "
        "others). The unix socket munin_proto_traffic in the socket dir (TRAP_SOCKET_DIR, "
        "default /tmp) answers every connection with two CSV lines: the header "
        "'icmp-flows,...,others-flows,icmp-bytes,...,others-packets' and the cumulative values."
        "\n\nEvery -t SECONDS a line 'TIME icmp=FLOWS/PACKETS/BYTES tcp=... others=...' (counts "
        "of that interval, TIME = its end, UTC); at the end the last interval and "
        "'total icmp=... others=...'. With an output, a record per interval: "
        "'time TIME_FIRST,time TIME_LAST,uint64 ICMP_FLOWS,uint64 ICMP_PACKETS,"
        "uint64 ICMP_BYTES,...,uint64 OTHERS_BYTES'.")
    Params = ProtoParams
    required = "uint8 PROTOCOL,uint64 BYTES,uint32 PACKETS"
    query_socket = "munin_proto_traffic"

    def reported_buckets(self) -> list[tuple[str, int]]:
        return [(name, slot) for slot, name in enumerate(NAMES)]

    def classify(self, batch: RecordBatch) -> np.ndarray:
        return SLOT_OF_PROTOCOL[batch.column("PROTOCOL")]

    def query_reply(self, totals: np.ndarray) -> str:
        header = [f"{name}-{what}" for what in ("flows", "bytes", "packets") for name in NAMES]
        values = [str(v) for row in (FLOWS, BYTES, PACKETS) for v in totals[row].tolist()]
        return ",".join(header) + "\n" + ",".join(values) + "\n"


main = module_command(ProtoTraffic)

if __name__ == "__main__":
    main()
