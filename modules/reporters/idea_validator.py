"""IDEA0 validation as idea.md §7 lists it.

`validate(message)` returns the problems that make a message invalid (checklist items 1-7);
`warnings(message)` the things a consumer tolerates but a careful producer avoids (categories
outside the taxonomy, unknown keys, null values, out-of-range ports...), reported as problems only
with `strict=True`; `age_problems(message)` is checklist item 8, a reporter-side check, separate
from format validity. `parse_line(text)` decodes one JSON line and also reports exact duplicate
keys, which a decoded dict can no longer show.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from typing import Any

from .idea_values import (
    EVENT_TAG_RE,
    ID_RE,
    MAC_RE,
    NSID_RE,
    RFC3339_RE,
    TAG_RE,
    parse_duration,
    parse_time,
)

TAXONOMY: dict[str, tuple[str, ...]] = {
    "Abusive": ("Spam", "Harassment", "Child", "Sexual", "Violence"),
    "Malware": ("Virus", "Worm", "Trojan", "Spyware", "Dialer", "Rootkit"),
    "Recon": ("Scanning", "Sniffing", "SocialEngineering", "Searching"),
    "Attempt": ("Exploit", "Login", "NewSignature"),
    "Intrusion": ("AdminCompromise", "UserCompromise", "AppCompromise", "Botnet"),
    "Availability": ("DoS", "DDoS", "Sabotage", "Outage"),
    "Information": ("UnauthorizedAccess", "UnauthorizedModification"),
    "Fraud": ("UnauthorizedUsage", "Copyright", "Masquerade", "Phishing", "Scam"),
    "Vulnerable": ("Open", "Config"),
    "Anomaly": ("Traffic", "Connection", "Protocol", "System", "Application", "Behaviour"),
    "Other": (),
    "Test": (),
}
KNOWN_CATEGORIES = frozenset(TAXONOMY) | {f"{c}.{s}" for c, subs in TAXONOMY.items()
                                          for s in subs}
COUNT_KEYS = ("ConnCount", "FlowCount", "PacketCount", "ByteCount")
ENDPOINT_COUNT_KEYS = ("InFlowCount", "OutFlowCount", "InPacketCount", "OutPacketCount",
                       "InByteCount", "OutByteCount", "Count")
OBJECT_LISTS = ("Source", "Target", "Node", "Attach")
AGE_KEYS = ("EventTime", "CeaseTime", "DetectTime")
ONE_DAY = 86400

TOP_KEYS = frozenset({
    "Format", "ID", "AltNames", "CorrelID", "AggrID", "PredID", "RelID", "CreateTime",
    "DetectTime", "EventTime", "CeaseTime", "WinStartTime", "WinEndTime", "ConnCount",
    "FlowCount", "PacketCount", "ByteCount", "Category", "Ref", "Confidence", "Description",
    "Note", "Source", "Target", "Attach", "Node", "BreachTime"})
ENDPOINT_KEYS = frozenset({
    "Type", "Hostname", "IP4", "IP6", "MAC", "Port", "Proto", "URL", "Email", "AttachHand",
    "Note", "Spoofed", "Imprecise", "Anonymised", "ASN", "Router", "Netname", "Ref",
    *ENDPOINT_COUNT_KEYS, "SIPFrom", "SIPTo", "UserAgent"})
NODE_KEYS = frozenset({"Name", "Type", "SW", "AggrWin", "Note"})
ATTACH_KEYS = frozenset({"Handle", "FileName", "Type", "Hash", "Size", "Ref", "Note",
                         "ContentType", "ContentCharset", "ContentEncoding", "Content",
                         "ContentID", "ExternalURI"})


# --- checklist 1-7 ------------------------------------------------------------------------------

def validate(message: Any, strict: bool = False) -> list[str]:
    """Problems that make `message` invalid IDEA0 (empty = valid). With `strict`, the
    warnings count as problems too."""
    if not isinstance(message, dict):
        return [f"top level is {_kind(message)}, expected an object"]
    problems: list[str] = []
    _check_header(message, problems)
    _check_times(message, problems)
    _check_category(message, problems)
    _check_counts(message, problems)
    _check_object_lists(message, problems)
    _check_node_names(message, problems)
    _check_unique_keys(message, "", problems)
    if strict:
        problems += warnings(message)
    return problems


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _check_header(message: dict, problems: list[str]) -> None:
    if "Format" not in message:
        problems.append("Format: missing (mandatory)")
    elif message["Format"] != "IDEA0":
        problems.append(f"Format: {message['Format']!r}, expected 'IDEA0'")
    if "ID" not in message:
        problems.append("ID: missing (mandatory)")
    elif not (isinstance(message["ID"], str) and ID_RE.match(message["ID"])):
        problems.append(f"ID: {message['ID']!r} does not match [A-Za-z0-9._-]+")


def is_timestamp(value: Any) -> bool:
    return parse_time(value) is not None


def _check_times(message: dict, problems: list[str]) -> None:
    if "DetectTime" not in message:
        problems.append("DetectTime: missing (mandatory)")
    for key, value in message.items():
        if key.endswith("Time") and not is_timestamp(value):
            problems.append(f"{key}: {value!r} is not a valid timestamp "
                            "(YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM))")


def _check_category(message: dict, problems: list[str]) -> None:
    if "Category" not in message:
        problems.append("Category: missing (mandatory)")
        return
    categories = message["Category"]
    if not isinstance(categories, list):
        problems.append(f"Category: {_kind(categories)}, expected a list of event tags")
        return
    if not categories:
        problems.append("Category: empty list, expected at least one event tag")
    for position, tag in enumerate(categories):
        if not (isinstance(tag, str) and EVENT_TAG_RE.match(tag)):
            problems.append(f"Category[{position}]: {tag!r} is not an event tag (Class or "
                            "Class.Subclass)")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_counts(message: dict, problems: list[str]) -> None:
    for key in COUNT_KEYS:
        if key in message and not _is_count(message[key]):
            problems.append(f"{key}: {message[key]!r} is not a non-negative integer")
    for list_key in ("Source", "Target"):
        items = message.get(list_key)
        if not isinstance(items, list):
            continue
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            for key in ENDPOINT_COUNT_KEYS:
                if key in item and not _is_count(item[key]):
                    problems.append(f"{list_key}[{position}].{key}: {item[key]!r} is not a "
                                    "non-negative integer")


def _check_object_lists(message: dict, problems: list[str]) -> None:
    for list_key in OBJECT_LISTS:
        if list_key not in message:
            continue
        items = message[list_key]
        if not isinstance(items, list):
            problems.append(f"{list_key}: {_kind(items)}, expected a list of objects")
            continue
        for position, item in enumerate(items):
            where = f"{list_key}[{position}]"
            if not isinstance(item, dict):
                problems.append(f"{where}: {_kind(item)}, expected an object")
            elif list_key in ("Source", "Target"):
                for key, version in (("IP4", 4), ("IP6", 6)):
                    if key in item:
                        _check_addresses(item[key], version, f"{where}.{key}", problems)


def ip_item_version(text: Any) -> int | None:
    """4 or 6 when `text` is one address, a CIDR network or an `a-b` range of one version."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    try:
        if "/" in text:
            return ipaddress.ip_network(text, strict=False).version
        if "-" in text:
            first, last = (ipaddress.ip_address(part.strip()) for part in text.split("-", 1))
            if first.version != last.version or first > last:
                return None
            return first.version
        return ipaddress.ip_address(text).version
    except ValueError:
        return None


def _check_addresses(items: Any, version: int, where: str, problems: list[str]) -> None:
    if not isinstance(items, list):
        problems.append(f"{where}: {_kind(items)}, expected a list of IPv{version} items")
        return
    for position, text in enumerate(items):
        if ip_item_version(text) != version:
            problems.append(f"{where}[{position}]: {text!r} is not an IPv{version} address, "
                            "CIDR network or range")


def _check_node_names(message: dict, problems: list[str]) -> None:
    nodes = message.get("Node")
    if not isinstance(nodes, list):
        return
    for position, item in enumerate(nodes):
        if isinstance(item, dict) and "Name" in item:
            name = item["Name"]
            if not (isinstance(name, str) and NSID_RE.match(name)):
                problems.append(f"Node[{position}].Name: {name!r} is not a dotted lower-case "
                                "identifier (e.g. org.example.nemea.vportscan)")


def _check_unique_keys(value: Any, where: str, problems: list[str]) -> None:
    if isinstance(value, dict):
        seen: dict[str, str] = {}
        for key in value:
            folded = str(key).lower()
            if folded in seen:
                problems.append(f"{where or 'top level'}: keys {seen[folded]!r} and {key!r} "
                                "differ only in case")
            else:
                seen[folded] = key
        for key, item in value.items():
            _check_unique_keys(item, f"{where}.{key}" if where else str(key), problems)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _check_unique_keys(item, f"{where}[{position}]", problems)


# --- warnings (strict mode) -------------------------------------------------------------------

def warnings(message: Any) -> list[str]:
    """Tolerated but doubtful: unknown categories and keys, nulls and empty lists, non-RFC 3339
    time forms, out-of-range ports and confidence, bad tags, MACs and durations."""
    if not isinstance(message, dict):
        return []
    found: list[str] = []
    for position, tag in enumerate(message.get("Category") or []):
        if isinstance(tag, str) and EVENT_TAG_RE.match(tag) and tag not in KNOWN_CATEGORIES:
            found.append(f"Category[{position}]: {tag!r} is not in the IDEA taxonomy")
    for key, value in message.items():
        if key not in TOP_KEYS and not key.startswith("_"):
            found.append(f"{key}: unknown key")
        if key.endswith("Time") and is_timestamp(value) and not (
                isinstance(value, str) and RFC3339_RE.match(value)):
            found.append(f"{key}: {value!r} is not in RFC 3339 form")
    if "Confidence" in message:
        value = message["Confidence"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            found.append(f"Confidence: {value!r} is not a number in 0..1")
    _empty_values(message, "", found)
    for list_key, known in (("Source", ENDPOINT_KEYS), ("Target", ENDPOINT_KEYS),
                            ("Node", NODE_KEYS), ("Attach", ATTACH_KEYS)):
        items = message.get(list_key)
        if not isinstance(items, list):
            continue
        for position, item in enumerate(items):
            if isinstance(item, dict):
                _item_warnings(item, f"{list_key}[{position}]", known, found)
    return found


def _empty_values(value: Any, where: str, found: list[str]) -> None:
    if value is None:
        found.append(f"{where}: null (leave the key out instead)")
    elif isinstance(value, list) and not value and where:
        found.append(f"{where}: empty list (leave the key out instead)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _empty_values(item, f"{where}.{key}" if where else str(key), found)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _empty_values(item, f"{where}[{position}]", found)


def _item_warnings(item: dict, where: str, known: frozenset, found: list[str]) -> None:
    for key in item:
        if key not in known and not key.startswith("_"):
            found.append(f"{where}.{key}: unknown key")
    for position, port in enumerate(_as_list(item.get("Port"))):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            found.append(f"{where}.Port[{position}]: {port!r} is not a port number 0-65535")
    for position, proto in enumerate(_as_list(item.get("Proto"))):
        if not (isinstance(proto, str) and proto == proto.lower() and proto):
            found.append(f"{where}.Proto[{position}]: {proto!r} is not a lower-case name")
    for position, tag in enumerate(_as_list(item.get("Type"))):
        if not (isinstance(tag, str) and TAG_RE.match(tag)):
            found.append(f"{where}.Type[{position}]: {tag!r} is not a tag")
    for position, mac in enumerate(_as_list(item.get("MAC"))):
        if not (isinstance(mac, str) and MAC_RE.match(mac)):
            found.append(f"{where}.MAC[{position}]: {mac!r} is not a MAC address")
    if "AggrWin" in item and parse_duration(item["AggrWin"]) is None:
        found.append(f"{where}.AggrWin: {item['AggrWin']!r} is not a duration [nD]HH:MM:SS")


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


# --- checklist 8: age (reporter side) ---------------------------------------------------------

def age_problems(message: dict, max_age: float = ONE_DAY) -> list[str]:
    """EventTime, CeaseTime and DetectTime must lie in [CreateTime - max_age, CreateTime]
    (inclusive); nothing to check without a valid CreateTime."""
    created = parse_time(message.get("CreateTime"))
    if created is None:
        return []
    earliest = created - dt.timedelta(seconds=max_age)
    problems = []
    for key in AGE_KEYS:
        if key not in message:
            continue
        stamp = parse_time(message[key])
        if stamp is None:
            continue
        if stamp < earliest:
            problems.append(f"{key}: {message[key]} is more than {max_age:g} s before "
                            f"CreateTime {message['CreateTime']}")
        elif stamp > created:
            problems.append(f"{key}: {message[key]} is after CreateTime "
                            f"{message['CreateTime']}")
    return problems


# --- one JSON line ----------------------------------------------------------------------------

def parse_line(text: str) -> tuple[Any, list[str]]:
    """Decode one JSON document; the problems are a syntax error or exact duplicate keys."""
    duplicates: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                duplicates.append(f"key {key!r} appears twice in one object")
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=pairs_hook), duplicates
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON: {exc.msg} at column {exc.colno}"]
