"""The blacklist reporter: ipblacklistfilter's flows (UniRec, `SRC_BLACKLIST`/`DST_BLACKLIST`
bitmaps) or blacklist_aggregator's JSON events (`aggregated_blacklist`), with the list names,
categories and URLs from bl_downloader's XML configuration (`--blacklist-config`).

A bitmap has bit `2**(id-1)` set for every list (of one type, IP or URL/DNS) that contains the
entity. Category = each list's `category`; the listed entity gets `Type` OriginBlacklist plus the
roles its category implies. Direction: the listed entity is the Source unless only the other
side sent traffic (a host contacting a listed address that never answered); the description
says which happened.
"""

from __future__ import annotations

import copy
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from .errors import ReporterError
from .idea_builder import Context, build_idea, endpoint
from .idea_values import EVENT_TAG_RE, format_duration, proto_name

log = logging.getLogger("report2idea")

REQUIRED = ("ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,"
            "uint32 PACKETS,uint64 BYTES,time TIME_FIRST,time TIME_LAST,"
            "uint64 SRC_BLACKLIST,uint64 DST_BLACKLIST")
# roles (Type) of the listed entity and of its counterpart, by list category
CATEGORY_ROLES: dict[str, tuple[list[str], list[str]]] = {
    "Intrusion.Botnet": (["CC", "Botnet"], ["Botnet"]),
    "Suspicious.Miner": (["PoolServer"], ["Miner"]),
    "Fraud.Phishing": (["Phishing"], []),
    "Abusive.Spam": (["Spam"], []),
}
# older configurations give a list `type` instead of `category`
TYPE_CATEGORIES = {"botnet": "Intrusion.Botnet", "spam": "Abusive.Spam",
                   "phishing": "Fraud.Phishing", "malware": "Malware",
                   "ransomware": "Malware", "mining": "Suspicious.Miner",
                   "miner": "Suspicious.Miner", "booters": "Availability.DDoS"}
PORT_PROTOCOLS = (6, 17)


@dataclass(frozen=True)
class ListInfo:
    id: int
    name: str
    category: str
    source: str = ""


class Blacklists:
    """The lists of bl_downloader's configuration, by type ("ip", "url") and id."""

    def __init__(self, lists: dict[str, dict[int, ListInfo]] | None = None):
        self.lists = lists or {"ip": {}, "url": {}}

    def matching(self, bitmap: int, kind: str = "ip") -> list[ListInfo]:
        known = self.lists.get(kind, {})
        found = []
        for bit in range(64):
            if bitmap >> bit & 1:
                list_id = bit + 1
                found.append(known.get(list_id) or ListInfo(list_id, f"blacklist {list_id}",
                                                            "Other"))
        return found


def load_blacklists(path: str) -> Blacklists:
    """Read bl_downloader's config.xml: `<array type="IP">` and `<array type="URL">` (or
    `URL/DNS`) of `<struct>`s with `<element name="id|name|category|type|source">`."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ReporterError(f"--blacklist-config {path}: {exc}") from None
    lists: dict[str, dict[int, ListInfo]] = {"ip": {}, "url": {}}
    for array in root.iter("array"):
        kind = "ip" if array.get("type", "").upper() == "IP" else "url"
        for position, struct in enumerate(array.findall("struct"), start=1):
            values = {el.get("name"): (el.text or "").strip() for el in struct.iter("element")}
            where = f"--blacklist-config {path}: array {array.get('type')!r} struct {position}"
            try:
                list_id = int(values.get("id", ""))
            except ValueError:
                raise ReporterError(f"{where}: 'id' must be a number") from None
            if not 1 <= list_id <= 64:
                raise ReporterError(f"{where}: id {list_id} is outside 1..64")
            category = values.get("category") or TYPE_CATEGORIES.get(
                values.get("type", "").lower(), "Other")
            if not EVENT_TAG_RE.match(category):
                raise ReporterError(f"{where}: category {category!r} is not an IDEA category")
            lists[kind][list_id] = ListInfo(list_id, values.get("name") or f"blacklist {list_id}",
                                            category, values.get("source", ""))
    return Blacklists(lists)


@dataclass
class Sighting:
    """What both input forms reduce to before the IDEA message is written."""

    entity: Any                    # the listed address
    others: list                   # the counterparts
    protocol: int
    lists: list[ListInfo]
    entity_sent: tuple[int, int, int]      # flows, packets, bytes sent by the listed entity
    others_sent: tuple[int, int, int]
    first: Any
    last: Any
    entity_ports: list[int]
    other_ports: list[int]
    word: str = "IP"               # what is listed: IP, URL, domain
    entity_extra: dict | None = None
    aggr_win: str | None = None
    label: str = ""                # the listed thing as text (default: the entity address)


def _tables(ctx: Context) -> Blacklists:
    return ctx.extra if isinstance(ctx.extra, Blacklists) else Blacklists()


def convert(alert: dict, ctx: Context) -> dict | None:
    """One flow from ipblacklistfilter: the listed side is SRC when SRC_BLACKLIST is set,
    else DST (with both set, SRC: the filter reports one side only)."""
    from_source = bool(alert["SRC_BLACKLIST"])
    bitmap = alert["SRC_BLACKLIST"] or alert["DST_BLACKLIST"]
    if not bitmap:
        return None
    sent = (1, int(alert["PACKETS"]), int(alert["BYTES"]))
    protocol = int(alert["PROTOCOL"])
    ports = protocol in PORT_PROTOCOLS
    src_ports = [int(alert["SRC_PORT"])] if ports else []
    dst_ports = [int(alert["DST_PORT"])] if ports else []
    entity, other = ("SRC_IP", "DST_IP") if from_source else ("DST_IP", "SRC_IP")
    return render(Sighting(
        alert[entity], [alert[other]], protocol, _tables(ctx).matching(int(bitmap)),
        sent if from_source else (0, 0, 0), (0, 0, 0) if from_source else sent,
        alert["TIME_FIRST"], alert["TIME_LAST"],
        src_ports if from_source else dst_ports, dst_ports if from_source else src_ports), ctx)


def convert_json(event: dict, ctx: Context) -> dict | None:
    """One event of blacklist_aggregator (`aggregated_blacklist`)."""
    kind = "ip" if event.get("type", "ip") == "ip" else "url"
    extra: dict[str, Any] = {}
    if kind == "ip":
        entity, word = event["source"], "IP"
    else:
        entity = event.get("source_ip")
        url = event.get("source_url") or event.get("source")
        word = "domain" if event.get("is_only_fqdn") else "URL"
        extra = {"Hostname": [url]} if event.get("is_only_fqdn") else {"URL": [url]}
    targets = event.get("targets") or []
    minutes = event.get("agg_win_minutes")
    return render(Sighting(
        entity, list(targets) if isinstance(targets, list) else [targets],
        int(event.get("protocol", 0)), _tables(ctx).matching(int(event["blacklist_id"]), kind),
        tuple(int(event.get(f"src_sent_{k}", 0)) for k in ("flows", "packets", "bytes")),
        tuple(int(event.get(f"tgt_sent_{k}", 0)) for k in ("flows", "packets", "bytes")),
        float(event["ts_first"]), float(event["ts_last"]),
        [int(p) for p in event.get("source_ports") or []], [], word, extra,
        format_duration(float(minutes) * 60) if minutes else None,
        str(entity) if kind == "ip" else str(url)), ctx)


def render(s: Sighting, ctx: Context) -> dict:
    categories = list(dict.fromkeys(info.category for info in s.lists)) or ["Other"]
    entity_roles, other_roles = ["OriginBlacklist"], []
    for category in categories:
        mine, theirs = CATEGORY_ROLES.get(category, ([], []))
        entity_roles += [r for r in mine if r not in entity_roles]
        other_roles += [r for r in theirs if r not in other_roles]
    proto = proto_name(s.protocol)
    protos = [proto] if proto else []
    flows = [a + b for a, b in zip(s.entity_sent, s.others_sent, strict=True)]
    directional = {}
    for prefix, sent in (("Out", s.entity_sent), ("In", s.others_sent)):
        if sent[0]:         # what the listed entity sent (Out) and received (In), when any
            directional.update({f"{prefix}FlowCount": sent[0], f"{prefix}PacketCount": sent[1],
                                f"{prefix}ByteCount": sent[2]})
    listed = endpoint(s.entity, port=s.entity_ports or None, proto=protos, Type=entity_roles,
                      **(s.entity_extra or {}), **directional)
    counterpart = endpoint(*s.others, port=s.other_ports or None, proto=protos,
                           Type=other_roles or None)
    if "IP4" not in counterpart and "IP6" not in counterpart:
        counterpart = {}
    names = ", ".join(info.name for info in s.lists)
    if s.entity_sent[0] and s.others_sent[0]:
        description = f"Blacklisted {s.word} communicated with host"
        source, target = listed, counterpart
    elif s.entity_sent[0] or not s.others_sent[0]:
        description = f"Blacklisted {s.word} tried to communicate with host (with no response)"
        source, target = listed, counterpart
    else:
        description = f"Host tried to communicate with blacklisted {s.word} (with no response)"
        source, target = counterpart, listed
    node = None
    if s.aggr_win:
        node = {**copy.deepcopy(ctx.node), "AggrWin": s.aggr_win}
    return build_idea(
        ctx, category=categories, description=description,
        note=f"{s.label or s.entity} was found on blacklist(s): {names}",
        event=s.first, cease=s.last, detect=s.last,
        counts={"FlowCount": flows[0], "PacketCount": flows[1], "ByteCount": flows[2]},
        source=[source], target=[target],
        ref=[info.source for info in s.lists if info.source] or None, node=node)
