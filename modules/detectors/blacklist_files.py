"""The blacklist suite's files: detector files of bl_downloader, and the two XML configurations.

Detector file (`ip4.blist`, `ip6.blist`), one entity per line, sorted by the downloader:

    192.0.2.0/24,8                     address or prefix, then the bitmap of the lists holding it
    198.51.100.7,9;1:80,8080,443;4:80  lists 1 and 4 (bits 2**(id-1)), list 1 only on ports
                                       80, 8080, 443 and list 4 only on port 80 of that address
    2001:0db8:0000:0000:0000:0000:0000:0000/32,256

Blank lines and `#` comments are skipped; a bad line is skipped with a warning naming the file
and line (as NEMEA does), so one bad entry from a feed does not stop detection.

ipdetect_config.xml: `<element name="ipv4_blacklist_file">`, `ipv6_blacklist_file`,
`watch_blacklists` (true/false). bl_downloader_config.xml: `<array type="IP">` of `<struct>` with
`<element name="id|name|category|source">`, giving each list id its name.
"""

from __future__ import annotations

import ipaddress
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

log = logging.getLogger("ipblacklistfilter")


@dataclass(frozen=True)
class Entry:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    bitmap: int
    ports: dict[int, frozenset[int]] = field(default_factory=dict)   # list id -> ports

    def restricted_bits(self) -> int:
        return sum(1 << (list_id - 1) for list_id in self.ports if 1 <= list_id <= 64)


def parse_line(line: str) -> Entry:
    """One detector-file line; ValueError says what is wrong."""
    head, _, rest = line.partition(";")
    entity, comma, bitmap_text = head.partition(",")
    if not comma:
        raise ValueError("no ',' between the address and the blacklist bitmap")
    try:
        network = ipaddress.ip_network(entity.strip(), strict=False)
    except ValueError:
        raise ValueError(f"bad address or prefix {entity.strip()!r}") from None
    try:
        bitmap = int(bitmap_text.strip())
    except ValueError:
        raise ValueError(f"bad blacklist bitmap {bitmap_text.strip()!r}") from None
    if not 0 < bitmap < 1 << 64:
        raise ValueError(f"blacklist bitmap {bitmap} outside 1..2**64-1")
    ports: dict[int, frozenset[int]] = {}
    for part in rest.split(";") if rest else []:
        list_text, colon, port_text = part.partition(":")
        try:
            list_id = int(list_text)
            numbers = frozenset(int(p) for p in port_text.split(",") if p.strip())
        except ValueError:
            raise ValueError(f"bad list:ports part {part!r}") from None
        if not colon or not numbers or not 1 <= list_id <= 64 \
                or any(not 0 <= p <= 65535 for p in numbers):
            raise ValueError(f"bad list:ports part {part!r}")
        ports[list_id] = ports.get(list_id, frozenset()) | numbers
    return Entry(network, bitmap, ports)


def read_detector_file(path: str) -> list[Entry]:
    """All valid entries of a detector file (OSError when it cannot be read)."""
    entries = []
    with open(path, encoding="utf-8", errors="replace") as stream:
        for number, raw in enumerate(stream, start=1):
            line = "".join(raw.split()).lower()
            if not line or line.startswith("#"):
                continue
            try:
                entries.append(parse_line(line))
            except ValueError as exc:
                log.warning("%s:%d: %s, line skipped", path, number, exc)
    return entries


def _elements(node: ET.Element) -> dict[str, str]:
    return {el.get("name", ""): (el.text or "").strip() for el in node.iter("element")}


def read_filter_config(path: str) -> dict[str, str]:
    """ipdetect_config.xml: ipv4_blacklist_file, ipv6_blacklist_file, watch_blacklists."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ValueError(f"-c {path}: {exc}") from None
    values = _elements(root)
    unknown = set(values) - {"ipv4_blacklist_file", "ipv6_blacklist_file", "watch_blacklists"}
    if unknown:
        raise ValueError(f"-c {path}: unknown element {sorted(unknown)[0]!r}")
    watch = values.get("watch_blacklists", "true").lower()
    if watch not in ("true", "false"):
        raise ValueError(f"-c {path}: watch_blacklists must be true or false, not {watch!r}")
    return values


@dataclass(frozen=True)
class ListInfo:
    id: int
    name: str
    category: str = ""
    source: str = ""


def read_list_names(path: str) -> dict[int, ListInfo]:
    """bl_downloader_config.xml: the IP lists by id."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ValueError(f"--lists {path}: {exc}") from None
    lists: dict[int, ListInfo] = {}
    for array in root.iter("array"):
        if array.get("type", "").upper() != "IP":
            continue
        for position, struct in enumerate(array.findall("struct"), start=1):
            values = _elements(struct)
            try:
                list_id = int(values.get("id", ""))
            except ValueError:
                raise ValueError(f"--lists {path}: IP list {position}: 'id' must be a number") \
                    from None
            if not 1 <= list_id <= 64:
                raise ValueError(f"--lists {path}: IP list {position}: id {list_id} not 1..64")
            lists[list_id] = ListInfo(list_id, values.get("name") or f"blacklist {list_id}",
                                      values.get("category") or values.get("type", ""),
                                      values.get("source", ""))
    return lists


def list_names(bitmap: int, lists: dict[int, ListInfo]) -> str:
    names = []
    for bit in range(64):
        if bitmap >> bit & 1:
            info = lists.get(bit + 1)
            names.append(info.name if info else f"blacklist {bit + 1}")
    return ", ".join(names)
