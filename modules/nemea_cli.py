"""The `nemea` command: one subcommand per module, loaded only when it is run."""

from __future__ import annotations

import importlib

import click

# subcommand -> ("python.module" or "python.module:click_command" (default: main), description)
COMMANDS: dict[str, tuple[str, str]] = {
    "logger": ("modules.logger", "Print records as CSV text."),
    "logreplay": ("modules.logreplay", "Replay a CSV file as records."),
    "traffic_repeater": ("modules.traffic_repeater", "Forward records unchanged."),
    "unirecfilter": ("modules.unirecfilter", "Select records by a filter, project templates."),
    "flowcounter": ("modules.flowcounter", "Count flows, packets and bytes."),
    "merger": ("modules.merger", "Merge several inputs into one output."),
    "proto_traffic": ("modules.proto_traffic", "Flows, packets, bytes per IP protocol."),
    "link_traffic": ("modules.link_traffic", "Flows, packets, bytes per link and direction."),
    "ipv6stats": ("modules.ipv6stats", "Share of IPv4, native IPv6 and tunnelled IPv6."),
    "sensor_generator": ("modules.examples.sensor_generator",
                         "Example producer: made-up sensor records."),
    "flow_meter": ("modules.flow_meter.meter", "Packets (pcap or live) to flow records."),
    "supervisor": ("supervisor.cli:supervisor_main",
                   "Run profiles of modules from a TOML config, keep them running."),
    "supcli": ("supervisor.cli:supcli_main",
               "Control a running supervisor: status, stats, start, stop, reload..."),
    "trafficgen": ("modules.trafficgen.cli",
                   "Write a synthetic scenario pcap (background + attacks) and its ground truth."),
    "vportscan_detector": ("modules.detectors.vportscan_detector",
                           "Vertical scans: one source probing many ports or protocols."),
    "vportscan_aggregator": ("modules.detectors.vportscan_aggregator",
                             "Merge vportscan_detector alerts into one event per scan."),
    "haddrscan_detector": ("modules.detectors.haddrscan_detector",
                           "Horizontal scans: one source, one port, many hosts; ICMP sweeps."),
    "haddrscan_aggregator": ("modules.detectors.haddrscan_aggregator",
                             "Merge haddrscan_detector alerts into one event per scan."),
    "bruteforce_detector": ("modules.detectors.bruteforce_detector",
                            "Password guessing on SSH, RDP, Telnet, FTP, --service ports and "
                            "any TCP port."),
    "brute_force_detector": ("modules.detectors.bruteforce_detector",
                             "Alias of bruteforce_detector (NEMEA's name)."),
    "ddos_detector": ("modules.detectors.ddos_detector",
                      "Floods to one destination: SYN floods, reflection, amplification."),
    "dns_amplification": ("modules.detectors.amplification_detection",
                          "DNS (or other UDP service) amplification attacks."),
    "hoststats": ("modules.detectors.hoststats",
                  "Per-host traffic profiles checked by NEMEA's hoststats rules."),
    "ipblacklistfilter": ("modules.detectors.blacklist_filter",
                          "Flows from or to blacklisted addresses and prefixes."),
    "report2idea": ("modules.reporters.report2idea",
                    "Detector alerts to IDEA0 messages, delivered by YAML rules."),
    "idea-validate": ("modules.reporters.validate_cli",
                      "Check IDEA0 messages, one JSON object per line."),
    "vportscan2idea": ("modules.reporters.aliases:vportscan2idea",
                       "IDEA reporter for vportscan_detector."),
    "haddrscan2idea": ("modules.reporters.aliases:haddrscan2idea",
                       "IDEA reporter for haddrscan_detector."),
    "bruteforce2idea": ("modules.reporters.aliases:bruteforce2idea",
                        "IDEA reporter for bruteforce_detector."),
    "amplification2idea": ("modules.reporters.aliases:amplification2idea",
                           "IDEA reporter for dns_amplification."),
    "ddos_detector2idea": ("modules.reporters.aliases:ddos_detector2idea",
                           "IDEA reporter for ddos_detector."),
    "hoststats2idea": ("modules.reporters.aliases:hoststats2idea", "IDEA reporter for hoststats."),
    "blacklist2idea": ("modules.reporters.aliases:blacklist2idea",
                       "IDEA reporter for ipblacklistfilter."),
    "ipfixcol": ("modules.ipfix.collector", "IPFIX / NetFlow v9 / v5 collector to flow records."),
    "ipfixexport": ("modules.ipfix.export_module", "Send flow records as IPFIX (UDP, TCP, file)."),
    "ipfixsend": ("modules.ipfix.send", "Replay an IPFIX file or a trapcap to a collector."),
    "info": ("modules.module_info", "Print a running module's counters and description."),
}


# subcommand -> "python.module:function(argv)" to run before the subcommand's module is even
# imported (stdlib-only modules: flow_meter starts its first file's record walker)
EARLY: dict[str, str] = {"flow_meter": "modules.flow_meter.prestart:prestart_walker"}


class LazyGroup(click.Group):
    def resolve_command(self, ctx: click.Context, args: list[str]):
        early = EARLY.get(args[0]) if args else None
        if early is not None:
            module_name, _, function = early.partition(":")
            getattr(importlib.import_module(module_name), function)(args[1:])
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = COMMANDS.get(name) or COMMANDS.get(name.replace("-", "_"))
        if entry is None:
            return None
        module_name, _, attribute = entry[0].partition(":")
        return getattr(importlib.import_module(module_name), attribute or "main")

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """pynemea: NEMEA-style network flow monitoring modules.

    Every module is `nemea NAME -i IFC_SPEC [options]`; `nemea NAME --help` explains it.
    """


if __name__ == "__main__":
    main()
