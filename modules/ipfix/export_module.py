"""ipfixexport: send received flow records to an IPFIX collector.

    nemea ipfixexport -i u:flows -x 127.0.0.1:4739[:udp|tcp]

Fields of the input template that have an IPFIX element (modules/ipfix/mapping.py: addresses,
ports, protocol, counters, TCP flags, times in milliseconds, MACs, TOS/TTL, and the *_REV fields
as RFC 5103 reverse elements) are exported; others are left out. UDP: messages of at most
--mtu bytes, templates again every --refresh seconds or --refresh-messages messages. TCP:
templates once per connection; a lost connection is retried, unsendable records are counted
as dropped. `-x file:PATH` appends the messages to a file (what `ipfixsend -r` replays).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param
from unirec import RecordBatch

from .exporter import FlowExporter
from .transports import parse_destination

log = logging.getLogger("ipfixexport")


@dataclass
class ExportParams:
    destination: str = param("", "-x", "Collector HOST:PORT[:udp|tcp] (default udp), or "
                                       "file:PATH.", required=True)
    odid: int = param(0, "-o", "Observation domain id of the messages.")
    mtu: int = param(1400, "-m", "UDP: largest message in bytes.")
    refresh: float = param(30.0, "-t", "UDP: send the templates again every this many "
                                       "seconds.")
    refresh_messages: int = param(100, help="UDP: ... and every this many messages.")

    def validate(self) -> None:
        parse_destination(self.destination)
        if not 256 <= self.mtu <= 65535:
            raise ValueError(f"-m {self.mtu}: must be 256..65535")
        if not 0 <= self.odid < 1 << 32:
            raise ValueError(f"-o {self.odid}: must be a 32-bit unsigned number")


class IpfixExport(Module):
    name = "ipfixexport"
    description = __doc__
    inputs, outputs = 1, 0
    Params = ExportParams

    def setup(self) -> None:
        p = self.params
        self.exporter = FlowExporter(p.destination, p.odid, p.mtu, p.refresh,
                                     p.refresh_messages)

    def on_batch(self, batch: RecordBatch, index: int) -> None:
        self.exporter.export(batch)

    def finish(self) -> None:
        self.exporter.close()
        log.info("ipfixexport: %s", " ".join(f"{k}={v}" for k, v in self.stats().items()))

    def stats(self) -> dict:
        return self.exporter.stats()


main = module_command(IpfixExport)

if __name__ == "__main__":
    main()
