"""ipv6stats: how much of the traffic is IPv4, native IPv6 and IPv6 tunnelled in IPv4."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.module import param
from unirec import RecordBatch
from unirec.ipaddr import ipv4_mask

from .traffic_counters import BYTES, FLOWS, PACKETS, IntervalCounterModule, check_interval

IPV4, IPV6, TUNNEL = 0, 1, 2
PROTO_6IN4, PROTO_UDP, TEREDO_PORT = 41, 17, 3544
SHARES = ((FLOWS, "FLOWS"), (PACKETS, "PACKETS"), (BYTES, "BYTES"))


def ipv6_share(counts: np.ndarray) -> np.ndarray:
    """Percent of flows, packets and bytes that are IPv6 (native or tunnelled); 0 if none."""
    total = counts.sum(axis=1).astype(np.float64)
    ipv6 = (counts[:, IPV6] + counts[:, TUNNEL]).astype(np.float64)
    return np.divide(ipv6 * 100.0, total, out=np.zeros(3), where=total > 0)


@dataclass
class Ipv6Params:
    interval: float = param(60.0, "-t", "Every SECONDS print the interval's counters (and send a "
                                        "record if an output is given).")

    def validate(self) -> None:
        check_interval(self.interval)


class Ipv6Stats(IntervalCounterModule):
    name = "ipv6stats"
    description = (
        "Count flows, packets and bytes of IPv4 (tunnels excluded), native IPv6, and IPv6 "
        "tunnelled in IPv4 (protocol 41 = 6in4, or UDP port 3544 = Teredo; the ports are used "
        "when the input has SRC_PORT/DST_PORT). A flow is IPv4 when either address is IPv4."
        "\n\nEvery -t SECONDS a line 'TIME ipv4=FLOWS/PACKETS/BYTES ipv6=... tunnel=... "
        "ipv6-share=F%/P%/B%' (counts of that interval, TIME = its end, UTC; the share is IPv6 "
        "incl. tunnels over all, in flows, packets and bytes); at the end the last interval and "
        "'total ipv4=...'. With an output, a record per interval: 'time TIME_FIRST,"
        "time TIME_LAST,uint64 IPV4_FLOWS,uint64 IPV4_PACKETS,uint64 IPV4_BYTES,...,"
        "uint64 TUNNEL_BYTES,double IPV6_SHARE_FLOWS,double IPV6_SHARE_PACKETS,"
        "double IPV6_SHARE_BYTES'.")
    Params = Ipv6Params
    required = "ipaddr SRC_IP,ipaddr DST_IP,uint8 PROTOCOL,uint64 BYTES,uint32 PACKETS"

    def reported_buckets(self) -> list[tuple[str, int]]:
        return [("ipv4", IPV4), ("ipv6", IPV6), ("tunnel", TUNNEL)]

    def classify(self, batch: RecordBatch) -> np.ndarray:
        ipv4 = ipv4_mask(batch.column("SRC_IP")) | ipv4_mask(batch.column("DST_IP"))
        protocol = batch.column("PROTOCOL")
        tunnel = protocol == PROTO_6IN4
        teredo = np.zeros(batch.length, dtype=bool)
        for port in ("SRC_PORT", "DST_PORT"):
            if port in batch.template:
                teredo |= batch.column(port) == TEREDO_PORT
        tunnel |= teredo & (protocol == PROTO_UDP)
        return np.where(ipv4, np.where(tunnel, TUNNEL, IPV4), IPV6)

    def output_spec(self) -> str:
        return super().output_spec() + "".join(f",double IPV6_SHARE_{what}"
                                                for _, what in SHARES)

    def report_text(self, counts: np.ndarray) -> str:
        share = ipv6_share(counts)
        return super().report_text(counts) + " ipv6-share=" + \
            "/".join(f"{share[row]:.2f}%" for row, _ in SHARES)

    def report_columns(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        share = ipv6_share(counts)
        return {**super().report_columns(counts),
                **{f"IPV6_SHARE_{what}": share[row:row + 1] for row, what in SHARES}}


main = module_command(Ipv6Stats)

if __name__ == "__main__":
    main()
