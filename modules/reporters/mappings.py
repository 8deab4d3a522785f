"""Alert -> IDEA, one small function per detector, and the table that declares each reporter
(detectors.md §10). An alert is a dict: the UniRec record's fields by name (addresses as
`ipaddress` objects, times as UrTime) or the aggregator's JSON event.

`required` lists the fields a conversion reads, typed as the detector's alert template
declares them (detectors.md §1-§7); integer widths need not match exactly (see check_fields).
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass

from unirec import Template

from . import blacklist
from .idea_builder import Context, build_idea, endpoint
from .idea_values import idea_time, ip_address, proto_name

log = logging.getLogger("report2idea")
Convert = Callable[[dict, Context], dict | None]


# --- vportscan_detector (and vportscan_aggregator's JSON) -------------------------------------

# TCP flag sets of the classic scan methods (nmap's names)
_TCP_METHODS = {0x02: "TCP SYN", 0x01: "TCP FIN", 0x00: "TCP NULL", 0x29: "TCP XMAS",
                0x10: "TCP ACK"}


def scan_method(alert: dict) -> tuple[str, str]:
    """How a scan probed (for the description) and its IDEA Proto, from the optional
    PROTOCOL, TCP_FLAGS and EVENT_TYPE fields our detectors add (NEMEA's: TCP SYN)."""
    if alert.get("EVENT_TYPE") == 2:
        return "IP protocol probes", "ip"
    protocol = int(alert.get("PROTOCOL", 6) or 6)
    name = proto_name(protocol) or "tcp"
    if protocol != 6:
        return {17: "UDP", 1: "ICMP echo", 58: "ICMPv6 echo"}.get(protocol, name.upper()), name
    flags = alert.get("TCP_FLAGS")
    return _TCP_METHODS.get(int(flags) & 0x3F if flags is not None else 0x02, "TCP"), "tcp"


def vportscan(alert: dict, ctx: Context) -> dict:
    """A detector alert (one victim), or an aggregated record whose `DST_IPS` text lists the
    victims as `ip=ports,ip=ports...` (then PORT_CNT is their sum)."""
    listed = alert.get("DST_IPS") or ""
    targets = [item.rsplit("=", 1)[0] for item in listed.split(",") if item.strip()] \
        or [alert["DST_IP"]]
    many = len(targets) > 1
    method, proto = scan_method(alert)
    return build_idea(
        ctx, category=["Recon.Scanning"],
        description=f"{'Block portscan' if many else 'Vertical scan'} using {method}",
        event=alert["TIME_FIRST"], cease=alert["TIME_LAST"], detect=alert["TIME_LAST"],
        counts={"FlowCount": alert["PORT_CNT"]},
        source=[endpoint(alert["SRC_IP"], proto=[proto])],
        target=[endpoint(*targets, proto=[proto])])


def vportscan_json(event: dict, ctx: Context) -> dict:
    """`{"src_ip", "dst_ips": {ip: port count}, "ts_first", "ts_last", "protocol"}`."""
    destinations: dict = event["dst_ips"]
    proto = proto_name(event.get("protocol", 6)) or "tcp"
    many = len(destinations) > 1
    return build_idea(
        ctx, category=["Recon.Scanning"],
        description=f"{'Block portscan' if many else 'Vertical scan'} using TCP SYN",
        event=float(event["ts_first"]), cease=float(event["ts_last"]),
        detect=float(event["ts_last"]),
        counts={"FlowCount": sum(int(count) for count in destinations.values())},
        source=[endpoint(event["src_ip"], proto=[proto])],
        target=[endpoint(*sorted(destinations, key=_address_order), proto=[proto])])


def _address_order(text: str) -> tuple[int, int]:
    address = ip_address(text)
    return (0, 0) if address is None else (address.version, int(address))


# --- haddrscan_detector (and haddrscan_aggregator: DST_IP0..15) -------------------------------

SAMPLE_FIELDS = tuple(f"DST_IP{i}" for i in range(16))


def haddrscan(alert: dict, ctx: Context) -> dict:
    method, proto = scan_method(alert)
    target = endpoint(*(alert[name] for name in SAMPLE_FIELDS if name in alert),
                      port=alert["DST_PORT"], proto=[proto])
    listed = len(target.get("IP4", [])) + len(target.get("IP6", []))
    if listed and alert["ADDR_CNT"] > listed:
        target["Imprecise"] = True          # the addresses are a sample
    return build_idea(
        ctx, category=["Recon.Scanning"], description=f"Horizontal scan using {method}",
        event=alert["TIME_FIRST"], cease=alert["TIME_LAST"], detect=alert["TIME_LAST"],
        counts={"FlowCount": alert["ADDR_CNT"]},
        source=[endpoint(alert["SRC_IP"], proto=[proto])], target=[target])


# --- brute_force_detector ---------------------------------------------------------------------

SERVICES = {22: "SSH", 23: "TELNET", 2179: "VMRDP", 3389: "RDP", 5900: "VNC"}


def service_name(port: int, proto: str) -> str:
    """Upper-case service name: the table above, else the system's service database."""
    if port in SERVICES:
        return SERVICES[port]
    try:
        return socket.getservbyport(port, proto).upper()
    except (OSError, OverflowError):
        return ""


def bruteforce_victims(alert: dict) -> list:
    """Our detector names its victims: DST_IP (the most attacked one) and all of them in NOTE
    (`I:a,b,O:c,`); NEMEA's alerts have no DST_IP and its reporter lists no target address."""
    if not alert.get("DST_IP"):
        return []
    incoming, _, outgoing = str(alert.get("NOTE", "")).removeprefix("I:").partition("O:")
    return [alert["DST_IP"], *f"{incoming},{outgoing}".split(",")]   # endpoint() skips ""


def bruteforce(alert: dict, ctx: Context) -> dict | None:
    """FlowCount = EVENT_SCALE (the report's attempts); EventTime/CeaseTime from our detector's
    TIME_FIRST/TIME_LAST (its first and last attempt), absent from NEMEA's alerts."""
    if alert["WARDEN_TYPE"] != 2:
        return None
    proto = proto_name(alert["PROTOCOL"]) or "tcp"
    service = service_name(int(alert["DST_PORT"]), proto)
    protos = [proto, service.lower()] if service else [proto]
    victims = bruteforce_victims(alert)
    return build_idea(
        ctx, category=["Attempt.Login"],
        description="Multiple unsuccessful login attempts" + (f" on {service}" if service else ""),
        detect=alert["DETECTION_TIME"], event=alert.get("TIME_FIRST"),
        cease=alert.get("TIME_LAST"), counts={"FlowCount": alert["EVENT_SCALE"]},
        source=[endpoint(alert["SRC_IP"], proto=protos)],
        target=[endpoint(*victims, port=alert["DST_PORT"], proto=protos)])


# --- amplification_detection -------------------------------------------------------------------

AMPLIFIED = {53: ("DNS", "domain"), 123: ("NTP", "ntp")}


def amplification(alert: dict, ctx: Context) -> dict:
    name, service = AMPLIFIED.get(int(alert["SRC_PORT"]), (None, None))
    protos = ["udp", service] if service else ["udp"]
    description = (f"{name} amplification" if name
                   else f"Amplification attack (port {alert['SRC_PORT']})")
    reflector = endpoint(
        alert["SRC_IP"], proto=protos, Type=["Backscatter"],
        InFlowCount=alert["REQ_FLOWS"], InPacketCount=alert["REQ_PACKETS"],
        InByteCount=alert["REQ_BYTES"], OutFlowCount=alert["RSP_FLOWS"],
        OutPacketCount=alert["RSP_PACKETS"], OutByteCount=alert["RSP_BYTES"])
    victim = endpoint(alert["DST_IP"], proto=protos, InFlowCount=alert["RSP_FLOWS"],
                      InPacketCount=alert["RSP_PACKETS"], InByteCount=alert["RSP_BYTES"])
    return build_idea(
        ctx, category=["Availability.DDoS"], description=description,
        event=alert["TIME_FIRST"], cease=alert["TIME_LAST"], detect=alert["TIME_LAST"],
        counts={"FlowCount": alert["RSP_FLOWS"], "PacketCount": alert["RSP_PACKETS"],
                "ByteCount": alert["RSP_BYTES"]},
        source=[reflector], target=[victim])


# --- ddos_detector ------------------------------------------------------------------------------

def ddos(alert: dict, ctx: Context) -> dict:
    return build_idea(
        ctx, category=["Availability.DoS"],
        description=(f"{alert['ATTACK_TYPE']}: volume of traffic and number of its sources "
                     "increased.") if alert.get("ATTACK_TYPE")
        else "Volume of traffic and number of its sources increased.",
        alt_names=[str(alert["EVENT_ID"])],
        event=alert["TIME_FIRST"], cease=alert["TIME_LAST"], detect=alert["TIME_LAST"],
        counts={"ByteCount": alert["BYTES"]}, target=[endpoint(alert["DST_IP"])])


# --- hoststats ----------------------------------------------------------------------------------

_VICTIM_NOTE = re.compile(r"in: (\d+) flows, (\d+) packets; out: (\d+) flows, (\d+) packets; "
                          r"approx\. (\d+) source addresses")
_ATTACKER_NOTE = re.compile(r"out: (\d+) flows, (\d+) packets; in: (\d+) flows, (\d+) packets; "
                            r"approx\. (\d+) destination addresses")


def _hoststats_scan(alert: dict, proto: list[str]) -> dict:
    return {"category": ["Recon.Scanning"], "description": "Horizontal port scan",
            "source": [endpoint(alert["SRC_IP"], proto=proto)],
            "counts": {"FlowCount": alert["EVENT_SCALE"], "ConnCount": alert["EVENT_SCALE"]}}


def _hoststats_dos(alert: dict, proto: list[str]) -> dict:
    source, target = (endpoint(alert[name], proto=proto)
                      if ip_address(alert[name]) is not None else {}
                      for name in ("SRC_IP", "DST_IP"))
    what = "TCP SYN packets" if alert["PROTOCOL"] == 6 else "packets"
    why = "probably SYN flood attack" if alert["PROTOCOL"] == 6 else "probably flooding DoS attack"
    note = alert.get("NOTE") or ""
    victim = _VICTIM_NOTE.match(note)
    attacker = _ATTACKER_NOTE.match(note)
    if ip_address(alert["DST_IP"]) is not None:
        description = f"Abnormally high number of {what} received by {alert['DST_IP']} ({why})"
        if victim:
            in_flows, in_packets, out_flows, out_packets, peers = map(int, victim.groups())
            target.update(InFlowCount=in_flows, InPacketCount=in_packets,
                          OutFlowCount=out_flows, OutPacketCount=out_packets)
            source.update(Count=peers, Note="Count of sources is approximate")
    else:
        description = f"Abnormally high number of {what} emitted by {alert['SRC_IP']} ({why})"
        if attacker:
            out_flows, out_packets, in_flows, in_packets, peers = map(int, attacker.groups())
            source.update(OutFlowCount=out_flows, OutPacketCount=out_packets,
                          InFlowCount=in_flows, InPacketCount=in_packets)
            target.update(Count=peers, Note="Count of destinations is approximate")
    return {"category": ["Availability.DoS"], "description": description, "source": [source],
            "target": [target], "counts": {"FlowCount": alert["EVENT_SCALE"]}}


def _hoststats_dns(alert: dict, proto: list[str]) -> dict:
    dns = ["udp", "domain"]
    server = endpoint(alert["SRC_IP"], port=53, proto=dns, Type=["Backscatter"])
    victim = endpoint(alert["DST_IP"], proto=dns)
    if ip_address(alert["DST_IP"]) is not None:
        description = (f"Abnormally high number of large DNS replies received by "
                       f"{alert['DST_IP']} (probably a victim of DNS amplification DoS attack)")
        server = {}
    else:
        description = (f"Abnormally high number of large DNS replies sent by {alert['SRC_IP']} "
                       "(probably misused for DNS amplification DoS attack)")
        victim = {}
    return {"category": ["Availability.DoS"], "description": description, "source": [server],
            "target": [victim], "counts": {"FlowCount": alert["EVENT_SCALE"]}}


def _hoststats_ssh(alert: dict, proto: list[str]) -> dict:
    return {"category": ["Attempt.Login"], "description": "SSH dictionary/bruteforce attack",
            "source": [endpoint(alert["SRC_IP"])],
            "target": [endpoint(alert["DST_IP"], port=22, proto=["tcp", "ssh"])],
            "counts": {"FlowCount": 2 * alert["EVENT_SCALE"], "ConnCount": alert["EVENT_SCALE"]}}


HOSTSTATS_EVENTS: dict[int, Callable[[dict, list[str]], dict]] = {
    2: _hoststats_scan, 10: _hoststats_dos, 15: _hoststats_dns, 30: _hoststats_ssh}


def hoststats(alert: dict, ctx: Context) -> dict | None:
    handler = HOSTSTATS_EVENTS.get(int(alert["EVENT_TYPE"]))
    if handler is None:
        log.debug("hoststats: event type %s has no IDEA mapping, skipped", alert["EVENT_TYPE"])
        return None
    name = proto_name(alert["PROTOCOL"])
    now = idea_time()
    return build_idea(ctx, create=now, detect=now, event=alert["TIME_FIRST"],
                      cease=alert["TIME_LAST"], **handler(alert, [name] if name else []))


# --- the table ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mapping:
    detector: str                  # --detector value
    reporter: str                  # last part of Node.Name
    sw: str                        # Node.SW = ["Nemea", sw]
    node_type: tuple[str, ...]
    required: str                  # UniRec fields read, typed as the alert template says
    convert: Convert
    aggr_win: bool = False         # Node.AggrWin from --aggrwin
    json_label: str = ""           # the aggregator's JSON events, with --json-input
    convert_json: Convert | None = None


FLOW_STAT = ("Flow", "Statistical")
MAPPINGS: dict[str, Mapping] = {m.detector: m for m in (
    Mapping("vportscan", "vportscan", "vportscan_detector", FLOW_STAT,
            "time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,ipaddr DST_IP,uint32 PORT_CNT",
            vportscan, aggr_win=True, json_label="aggregated_portscan",
            convert_json=vportscan_json),
    Mapping("haddrscan", "haddrscan", "haddrscan_detector", FLOW_STAT,
            "time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,uint16 DST_PORT,uint32 ADDR_CNT,"
            "ipaddr DST_IP0,ipaddr DST_IP1,ipaddr DST_IP2,ipaddr DST_IP3",
            haddrscan, aggr_win=True),
    Mapping("bruteforce", "bruteforce", "brute_force_detector", FLOW_STAT,
            "time DETECTION_TIME,uint8 WARDEN_TYPE,ipaddr SRC_IP,uint8 PROTOCOL,"
            "uint16 DST_PORT,uint32 EVENT_SCALE", bruteforce),
    Mapping("amplification", "amplification", "amplification_detection", FLOW_STAT,
            "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint32 REQ_FLOWS,uint32 REQ_PACKETS,"
            "uint64 REQ_BYTES,uint32 RSP_FLOWS,uint32 RSP_PACKETS,uint64 RSP_BYTES,"
            "time TIME_FIRST,time TIME_LAST", amplification),
    Mapping("ddos", "ddos", "ddos_detector", FLOW_STAT,
            "ipaddr DST_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint64 EVENT_ID", ddos),
    Mapping("hoststats", "hoststats", "hoststats", FLOW_STAT,
            "uint8 EVENT_TYPE,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,ipaddr DST_IP,"
            "uint8 PROTOCOL,uint32 EVENT_SCALE,string NOTE", hoststats),
    Mapping("blacklist", "blacklist", "ipblacklistfilter", ("Flow", "Blacklist"),
            blacklist.REQUIRED, blacklist.convert, json_label="aggregated_blacklist",
            convert_json=blacklist.convert_json),
)}


def check_fields(sent: Template, required: str) -> list[str]:
    """What the sender's template lacks of `required`: a missing field, or one of another kind.
    Integer fields of any width and signedness are accepted for one another (the alert
    templates leave some widths open); every other type must match exactly."""
    problems = []
    for field in Template.parse(required).fields:
        if field.name not in sent:
            problems.append(f"missing {field}")
            continue
        have = sent.field(field.name).type
        if have is field.type or (have.kind == field.type.kind == "int" and not have.is_array):
            continue
        problems.append(f"{field.name} is {have.name}, required {field.type.name}")
    return problems
