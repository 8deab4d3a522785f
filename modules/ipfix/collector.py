"""ipfixcol: an IPFIX / NetFlow v9 / NetFlow v5 collector that sends UniRec flow records.

    nemea ipfixcol -l udp:4739 -l tcp:4739 -i u:flows

Receives IPFIX (RFC 7011), NetFlow v9 and v5 over UDP and TCP (any of them on any listener),
keeps templates per exporter session and observation domain (refresh, withdrawal, options
templates, UDP template lifetime), decodes biflow records (RFC 5103 reverse elements) and skips
elements it does not know (counted). Records go out in flow_meter's biflow basic template
(*_REV zero for uniflow exporters: one template whatever the exporters send), or the uniflow
basic template with --uniflow. The IPFIX -> UniRec mapping (modules/ipfix/mapping.py):

\b
  SRC_IP/DST_IP      source/destinationIPv4Address, ...IPv6Address
  SRC_PORT/DST_PORT  source/destinationTransportPort (udp/tcp...Port, icmpTypeCode for DST)
  PROTOCOL           protocolIdentifier
  PACKETS/BYTES      packetDeltaCount/octetDeltaCount (or ...TotalCount)
  TCP_FLAGS          tcpControlBits
  TIME_FIRST/LAST    flowStart/End Nano/Micro/Milli/Seconds, ...SysUpTime (v5/v9 header or
                     systemInitTimeMilliseconds), ...DeltaMicroseconds (before exportTime)
  SRC_MAC/DST_MAC    source/destinationMacAddress
  TOS/TTL            ipClassOfService/ipTTL (--uniflow)
  *_REV              the reverse (enterprise 29305) elements of PACKETS, BYTES, TCP_FLAGS
  LINK/DIR_BIT_FIELD the -L / -D values

Data sets whose template has not arrived are held (--hold seconds, --hold-sets sets), then
dropped and counted. Malformed messages are counted and logged with the exporter's address.
Counters (messages, records, dropped_sets, malformed, unknown_elements, ...) are on the service
endpoint (`nemea info PID`) and printed at exit with -v.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param

from .core import CollectorCore
from .records import BIFLOW_TEMPLATE, UNIFLOW_TEMPLATE
from .transports import Listeners, parse_listen

log = logging.getLogger("ipfixcol")
POLL_SECONDS = 0.1
MAX_BATCH_RECORDS = 20000


@dataclass
class CollectorParams:
    listen: tuple = param(("udp:4739",), "-l", "Listen on udp:[HOST:]PORT or tcp:[HOST:]PORT "
                          "(repeat for several).", multiple=True)
    uniflow: bool = param(False, "-U", "Send the uniflow basic template (TOS, TTL; no *_REV "
                                       "fields) instead of the biflow one.")
    link: int = param(1, "-L", "LINK_BIT_FIELD value of the records.")
    direction: int = param(0, "-D", "DIR_BIT_FIELD value of the records.")
    hold: float = param(10.0, help="Seconds a data set waits for its template (0: drop at "
                                   "once).")
    hold_sets: int = param(10000, help="At most this many data sets wait for templates.")
    template_timeout: float = param(1800.0, help="UDP templates not refreshed for this many "
                                                 "seconds expire (0: never).")
    count: int = param(0, "-c", "Stop after this many records (0: run until stopped).")

    def validate(self) -> None:
        self.endpoints = [parse_listen(text) for text in (self.listen or ("udp:4739",))]
        if self.hold < 0 or self.hold_sets < 0 or self.template_timeout < 0:
            raise ValueError("--hold, --hold-sets and --template-timeout must be >= 0")
        if self.count < 0:
            raise ValueError(f"-c {self.count}: must be >= 0")


class IpfixCollector(Module):
    name = "ipfixcol"
    description = __doc__
    inputs, outputs = 0, 1
    Params = CollectorParams

    def setup(self) -> None:
        p = self.params
        template = UNIFLOW_TEMPLATE if p.uniflow else BIFLOW_TEMPLATE
        self.core = CollectorCore(template, p.link, p.direction, p.hold, p.hold_sets,
                                  p.template_timeout)
        self.listeners = Listeners(p.endpoints, self.core)
        self.set_output_template(template)
        self.sent = 0
        self.next_housekeeping = time.monotonic() + 1.0

    def produce(self) -> bool:
        self.listeners.poll(POLL_SECONDS)
        # drain what is already waiting before decoding: bigger batches decode faster
        while self.core.counters["records"] - self.sent < MAX_BATCH_RECORDS and \
                self.listeners.poll(0):
            pass
        self._emit()
        now = time.monotonic()
        if now >= self.next_housekeeping:
            self.core.expire(now)
            self.next_housekeeping = now + 1.0
        return not (self.params.count and self.sent >= self.params.count)

    def _emit(self) -> None:
        batch = self.core.flush()
        if batch is None:
            return
        count = self.params.count
        if count and self.sent + batch.length > count:
            batch = batch.take(np.arange(count - self.sent))
        self.sent += batch.length
        self.emit(batch)

    def finish(self) -> None:
        self._emit()
        self.listeners.close()
        log.info("ipfixcol: %s", " ".join(f"{k}={v}" for k, v in self.stats().items()))

    def stats(self) -> dict:
        return {**self.core.stats(), "records_sent": self.sent}


main = module_command(IpfixCollector)

if __name__ == "__main__":
    main()
