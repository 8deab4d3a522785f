"""flow_meter: packets from pcap/pcapng files or a live interface to flow records."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from libtrap_py.cli import module_command
from libtrap_py.module import Module, param

from .capture import live_packets, read_packets
from .flow_cache import FlowCache
from .flow_records import BIFLOW_TEMPLATE, UNIFLOW_TEMPLATE, flow_batch
from .malloc_tuning import keep_freed_memory
from .packet_parser import PacketParser
from .plugins import PLUGINS, make_plugins, plugin_batch

log = logging.getLogger("flow_meter")


@dataclass
class FlowMeterParams:
    read: tuple = param((), "-r", "pcap or pcapng file to read (repeat for several, read in "
                                  "order as one stream).", multiple=True)
    interface: str = param("", "-I", "Capture live from this network interface.")
    plugins: str = param("", "-p", "Plugins, comma separated, each with its own output "
                                   f"interface after the basic one: {', '.join(PLUGINS)}.")
    count: int = param(0, "-c", "Stop after this many packets (0 = all).")
    timeouts: str = param("300:30", "-t", "ACTIVE:INACTIVE flow timeouts in seconds.")
    cache_size: int = param(17, "-s", "Flow cache size as a power of two (4..30).")
    link: int = param(1, "-L", "LINK_BIT_FIELD value of the records.")
    direction: int = param(0, "-D", "DIR_BIT_FIELD value of the records.")
    bpf: str = param("", "-F", "BPF filter applied to the packets.")
    no_eof: bool = param(False, "-n", "Do not send end-of-stream at the end.")
    split: bool = param(False, help="Uniflows: no reverse direction, the uniflow template.")
    export: str = param("", "-x", "Also export the flows as IPFIX to HOST:PORT[:udp|tcp] or "
                                  "file:PATH.")
    snaplen: int = param(65535, help="Live capture: bytes captured per packet.")
    no_promisc: bool = param(False, help="Live capture: do not put the interface in "
                                         "promiscuous mode.")

    def validate(self) -> None:
        if bool(self.read) == bool(self.interface):
            raise ValueError("give either -r FILE (one or more) or -I INTERFACE")
        active, _, inactive = self.timeouts.partition(":")
        try:
            self.active, self.inactive = int(float(active)), int(float(inactive or 30))
        except ValueError:
            raise ValueError(f"-t {self.timeouts}: expected ACTIVE:INACTIVE seconds") from None
        if self.active <= 0 or self.inactive <= 0:
            raise ValueError(f"-t {self.timeouts}: timeouts must be > 0")
        if not 4 <= self.cache_size <= 30:
            raise ValueError(f"-s {self.cache_size}: must be 4..30")
        if self.count < 0:
            raise ValueError(f"-c {self.count}: must be >= 0")
        make_plugins(self.plugins)
        if self.export:
            from modules.ipfix.transports import parse_destination  # only with -x
            parse_destination(self.export)


class FlowMeter(Module):
    name = "flow_meter"
    description = ("Turn packets (pcap/pcapng files or a live interface) into biflow records "
                   "(ipfixprobe semantics); plugins add DNS, HTTP, TLS, ICMP and VLAN fields "
                   "on their own outputs.")
    inputs, outputs = 0, (1, 1 + len(PLUGINS))
    Params = FlowMeterParams

    def setup(self) -> None:
        p = self.params
        keep_freed_memory()                     # chunk after chunk reuses the same pages
        self.plugins = make_plugins(p.plugins)
        if len(self.ports) != 1 + len(self.plugins):
            raise ValueError(f"-p {p.plugins or '(none)'} needs {1 + len(self.plugins)} output "
                             f"interfaces (basic, then one per plugin), got {len(self.ports)}")
        self.send_eof_at_end = not p.no_eof
        self.cache = FlowCache(p.active, p.inactive, 1 << p.cache_size, biflow=not p.split)
        self.parser = PacketParser()
        template = UNIFLOW_TEMPLATE if p.split else BIFLOW_TEMPLATE
        self.set_output_template(template)
        for position, plugin in enumerate(self.plugins, start=1):
            self.set_output_template(template.union(plugin.template), position)
        if p.read:
            self.chunks = read_packets(list(p.read), bpf=p.bpf)
        else:
            self.chunks = live_packets(p.interface, p.snaplen, not p.no_promisc, p.bpf)
        self.packets = 0
        self.exporter = None
        if p.export:
            from modules.ipfix.exporter import FlowExporter  # only with -x
            self.exporter = FlowExporter(p.export)

    def produce(self) -> bool:
        chunk = next(self.chunks, None)
        if chunk is None:
            return False
        if self.params.count:
            left = self.params.count - self.packets
            if len(chunk.packets) > left:
                chunk = replace(chunk, times_ns=chunk.times_ns[:left],
                                packets=chunk.packets[:left],
                                wire_lengths=chunk.wire_lengths[:left])
        self.packets += len(chunk.packets)
        columns = self.parser.parse(chunk)
        self.cache.add(columns, self.plugins, chunk.packets)
        if not columns.count and self.params.interface:
            self.cache.expire_idle(int(time.time()))
        self._emit_exported()
        return not (self.params.count and self.packets >= self.params.count)

    def _emit_exported(self) -> None:
        exported = self.cache.take()
        if not len(exported):
            return
        basic = flow_batch(exported, not self.params.split, self.params.link,
                           self.params.direction)
        self.emit(basic)
        if self.exporter is not None:
            self.exporter.export(basic)
        for position, plugin in enumerate(self.plugins, start=1):
            batch = plugin_batch(plugin, basic, exported)
            if batch is not None:
                self.emit(batch, position)

    def finish(self) -> None:
        self.chunks.close()                     # stops a pcap walker process of -c or a stop
        self.cache.flush()
        self._emit_exported()
        if self.exporter is not None:
            self.exporter.close()
        log.info("packets: %s; flows created %d, exported %s%s", dict(self.parser.counters),
                 self.cache.created, dict(self.cache.reasons),
                 f"; plugin errors {dict(self.cache.plugin_errors)}"
                 if self.cache.plugin_errors else "")

    def stats(self) -> dict:
        stats = {"packets": dict(self.parser.counters), "flows_created": self.cache.created,
                 "flows_exported": dict(self.cache.reasons), "flows_in_cache":
                 len(self.cache), "plugin_errors": dict(self.cache.plugin_errors)}
        if self.exporter is not None:
            stats["ipfix_export"] = self.exporter.stats()
        return stats


main = module_command(FlowMeter)
