"""IDEA0 value forms (idea.md §4): timestamps, durations, addresses, protocol names, the Node.

Reporters write times as whole seconds in UTC with `Z` (`2024-03-01T10:15:02Z`); parsing accepts
what the reference library accepts (fractions, offsets, a space for `T`, epoch numbers).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import time
import uuid
from typing import Any

from unirec import UrTime

ID_RE = re.compile(r"[A-Za-z0-9._-]+\Z")
TAG_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
EVENT_TAG_RE = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)?\Z")
NSID_RE = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*\Z")
MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}\Z")
URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+\Z")
NETNAME_RE = re.compile(r"[A-Za-z0-9_-]+:\S+\Z")
HASH_RE = re.compile(r"[A-Za-z0-9_-]+:[0-9A-Fa-f]+\Z")
TIMESTAMP_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")
RFC3339_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\Z")
DURATION_RE = re.compile(r"(?:(\d+)[Dd])?(\d{1,2}):(\d{2}):(\d{2})(\.\d+)?\Z")

PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 58: "ipv6-icmp",
               132: "sctp"}
IDEA_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
NS_PER_SEC = 1_000_000_000


def new_id() -> str:
    return str(uuid.uuid4())


def epoch_seconds(value: Any) -> float:
    """Seconds since the epoch of a UniRec time (ns), an epoch number, a datetime or a text."""
    if isinstance(value, UrTime):
        return int(value) / NS_PER_SEC
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    if isinstance(value, str):
        parsed = parse_time(value)
        if parsed is None:
            raise ValueError(f"not a time: {value!r}")
        return parsed.timestamp()
    raise ValueError(f"not a time: {value!r}")


def idea_time(value: Any = None) -> str:
    """The IDEA form (whole seconds, UTC, `Z`) of a time; now when `value` is None."""
    seconds = time.time() if value is None else epoch_seconds(value)
    return time.strftime(IDEA_TIME_FORMAT, time.gmtime(int(seconds // 1)))


def parse_time(value: Any) -> dt.datetime | None:
    """An aware datetime from an IDEA Timestamp (text or epoch number); None when invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    match = TIMESTAMP_RE.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz = dt.UTC if zone in ("Z", "z") else dt.timezone(
            (1 if zone[0] == "+" else -1) * dt.timedelta(hours=int(zone[1:3]),
                                                         minutes=int(zone[4:6])))
        micro = int((fraction or ".0")[1:7].ljust(6, "0"))
        return dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                           micro, tzinfo=tz)
    except ValueError:
        return None


def parse_duration(value: Any) -> dt.timedelta | None:
    """A timedelta from an IDEA Duration (`[nD]HH:MM:SS[.fraction]` or seconds); None if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return dt.timedelta(seconds=value)
    if not isinstance(value, str):
        return None
    match = DURATION_RE.match(value)
    if match is None:
        return None
    days, hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        return None
    return dt.timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes),
                        seconds=int(seconds) + float(fraction or 0))


def format_duration(seconds: float) -> str:
    """`HH:MM:SS`, with an `nD` prefix from one day on (IDEA Duration)."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days}D{text}" if days else text


def ip_address(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address object from a UniRec ipaddr value or a text; None for null (:: or 0.0.0.0)."""
    if isinstance(value, str):
        try:
            value = ipaddress.ip_address(value.strip())
        except ValueError:
            return None
    if not isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return None
    return None if int(value) == 0 else value


def add_address(target: dict, value: Any) -> bool:
    """Append an address to `target["IP4"]` or `target["IP6"]` by version (no duplicates).
    False (and nothing added) for a null or invalid address."""
    address = ip_address(value)
    if address is None:
        return False
    key = "IP4" if address.version == 4 else "IP6"
    items = target.setdefault(key, [])
    text = str(address)
    if text not in items:
        items.append(text)
    return True


def proto_name(number: int) -> str | None:
    return PROTO_NAMES.get(int(number))


def node(name: str, sw: str, types: list[str], aggr_win: str | None = None) -> dict:
    """The detector's Node entry: Name, SW ["Nemea", detector], Type, optional AggrWin."""
    entry: dict[str, Any] = {"Name": name, "SW": ["Nemea", sw], "Type": list(types)}
    if aggr_win:
        entry["AggrWin"] = aggr_win
    return entry
