"""link_traffic: flows, packets and bytes per link and direction, for Munin (and as records)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.module import param
from unirec import RecordBatch

from .traffic_counters import BYTES, FLOWS, PACKETS, IntervalCounterModule, check_interval

_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_COLOR_RE = re.compile(r"[0-9A-Fa-f]{6}\Z")
MATCH_FIELD = "LINK_BIT_FIELD"
DIRECTIONS = ("in", "out")                  # DIR_BIT_FIELD 0 and 1; other values are ignored


@dataclass(frozen=True)
class Link:
    value: int          # the exact LINK_BIT_FIELD value of the link
    name: str
    color: str


def load_links(path: str) -> list[Link]:
    """Lines `LINK_VALUE,NAME,UR_FIELD,COLOR`; `#` starts a comment line."""
    try:
        with open(path, encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"-c {path}: cannot read: {getattr(exc, 'strerror', None) or exc}") \
            from None
    links: list[Link] = []
    seen: dict[object, int] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        link = _parse_line(line, f"{path}:{number}")
        for key, shown in (((0, link.value), f"value {link.value}"),
                           ((1, link.name.upper()), f"name {link.name}")):
            if key in seen:
                raise ValueError(f"{path}:{number}: link {shown} already defined on line "
                                 f"{seen[key]}")
            seen[key] = number
        links.append(link)
    if not links:
        raise ValueError(f"{path}: no links configured (lines LINK_VALUE,NAME,UR_FIELD,COLOR)")
    return links


def _parse_line(line: str, where: str) -> Link:
    parts = [part.strip() for part in line.split(",")]
    if len(parts) != 4:
        raise ValueError(f"{where}: expected LINK_VALUE,NAME,UR_FIELD,COLOR, got {len(parts)} "
                         f"field(s): {line!r}")
    value_text, name, field, color = parts
    try:
        value = int(value_text, 10 if value_text.isdigit() else 0)   # decimal or 0x...
    except ValueError:
        value = -1
    if not 0 <= value < 1 << 64:
        raise ValueError(f"{where}: LINK_VALUE {value_text!r} is not an integer 0..2^64-1")
    if not _NAME_RE.match(name):
        raise ValueError(f"{where}: NAME {name!r} must be a letter followed by letters, digits "
                         "or _")
    if field != MATCH_FIELD:
        raise ValueError(f"{where}: UR_FIELD {field!r} is not supported (links are matched on "
                         f"{MATCH_FIELD})")
    if not _COLOR_RE.match(color):
        raise ValueError(f"{where}: COLOR {color!r} must be 6 hex digits (RRGGBB)")
    return Link(value, name, color)


@dataclass
class LinkParams:
    config: str = param("", "-c", "Link configuration: lines LINK_VALUE,NAME,UR_FIELD,COLOR "
                                  "(UR_FIELD = LINK_BIT_FIELD, COLOR = RRGGBB), # comments.")
    only_in: bool = param(False, "-d", "Report only the 'in' counters.")
    interval: float = param(60.0, "-t", "Every SECONDS print the interval's counters (and send a "
                                        "record if an output is given).")

    def validate(self) -> None:
        if not self.config:
            raise ValueError("-c FILE: a link configuration file is required")
        check_interval(self.interval)
        self.links = load_links(self.config)


class LinkTraffic(IntervalCounterModule):
    name = "link_traffic"
    description = (
        "Count flows, packets and bytes per link (exact LINK_BIT_FIELD value of a configured "
        "link; other values are counted apart and never shown) and direction (DIR_BIT_FIELD "
        "0 = in, 1 = out, others ignored). The unix socket munin_link_traffic in the socket dir "
        "(TRAP_SOCKET_DIR, default /tmp) answers every connection with two CSV lines: the header "
        "'NAME-in-bytes,NAME-in-flows,NAME-in-packets,NAME-out-bytes,...' per link (-d: only "
        "'in') and the cumulative values."
        "\n\nEvery -t SECONDS a line 'TIME NAME-in=FLOWS/PACKETS/BYTES NAME-out=... ...' (counts "
        "of that interval, TIME = its end, UTC); at the end the last interval and "
        "'total NAME-in=...'. With an output, a record per interval: 'time TIME_FIRST,"
        "time TIME_LAST,uint64 NAME_IN_FLOWS,uint64 NAME_IN_PACKETS,uint64 NAME_IN_BYTES,...' "
        "(NAME upper-cased).")
    Params = LinkParams
    required = "uint64 BYTES,uint32 PACKETS,uint64 LINK_BIT_FIELD,uint8 DIR_BIT_FIELD"
    query_socket = "munin_link_traffic"

    # slots: link i "in" = i, "out" = n+1+i; n and 2n+1 = unknown link; 2n+2 = other direction
    def setup(self) -> None:
        self.links = self.params.links
        self.directions = DIRECTIONS[:1] if self.params.only_in else DIRECTIONS
        values = np.array([link.value for link in self.links], dtype=np.uint64)
        order = np.argsort(values)
        self.keys, self.link_of_key = values[order], order.astype(np.intp)
        super().setup()

    def _slot(self, link: int, direction: int) -> int:
        return link + direction * (len(self.links) + 1)

    def reported_buckets(self) -> list[tuple[str, int]]:
        return [(f"{link.name}-{name}", self._slot(i, d)) for i, link in enumerate(self.links)
                for d, name in enumerate(self.directions)]

    def slot_count(self) -> int:
        return 2 * len(self.links) + 3

    def classify(self, batch: RecordBatch) -> np.ndarray:
        values = batch.column("LINK_BIT_FIELD")
        direction = batch.column("DIR_BIT_FIELD").astype(np.intp)
        unknown = len(self.links)
        position = np.minimum(np.searchsorted(self.keys, values), unknown - 1)
        link = np.where(self.keys[position] == values, self.link_of_key[position], unknown)
        return np.where(direction <= 1, self._slot(link, direction), self.slot_count() - 1)

    def query_reply(self, totals: np.ndarray) -> str:
        header, values = [], []
        for i, link in enumerate(self.links):
            for d, name in enumerate(self.directions):
                slot = self._slot(i, d)
                for what, row in (("bytes", BYTES), ("flows", FLOWS), ("packets", PACKETS)):
                    header.append(f"{link.name}-{name}-{what}")
                    values.append(str(int(totals[row, slot])))
        return ",".join(header) + "\n" + ",".join(values) + "\n"


main = module_command(LinkTraffic)

if __name__ == "__main__":
    main()
