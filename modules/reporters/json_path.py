"""JSON paths into IDEA messages: `Source.IP4`, `Node[0].SW`, `Target[#].Port`, `_CESNET.X`.

A segment is a key with an optional index: `[n]` (0-based), `[-n]` from the end, `[#]` the
last item. Reading collects every value the path reaches and flattens lists (`Source.IP4` is all
IPv4 items of all sources); setting creates missing objects on the way (`mark` action).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .errors import ReporterError

_SEGMENT_RE = re.compile(r"([_A-Za-z][-_A-Za-z0-9]*)(?:\[(-?\d+|#)\])?\Z")
LAST = "#"


@dataclass(frozen=True)
class Segment:
    key: str
    index: int | str | None = None     # None (all items), an int, or "#" (last)


@lru_cache(maxsize=1024)
def parse_path(text: str) -> tuple[Segment, ...]:
    segments = []
    for part in text.strip().split("."):
        match = _SEGMENT_RE.match(part)
        if match is None:
            raise ReporterError(f"bad JSON path {text!r}: bad segment {part!r}")
        key, index = match.groups()
        segments.append(Segment(key, index if index in (None, LAST) else int(index)))
    return tuple(segments)


def _pick(items: list, index: int | str) -> list:
    if index == LAST:
        return items[-1:]
    try:
        return [items[index]]  # type: ignore[index]
    except IndexError:
        return []


def get_values(message: Any, path: str | tuple[Segment, ...]) -> list:
    """Every value `path` reaches in `message`, lists flattened; [] when it reaches nothing."""
    segments = parse_path(path) if isinstance(path, str) else path
    current = [message]
    for segment in segments:
        reached = []
        for value in current:
            if not isinstance(value, dict) or segment.key not in value:
                continue
            item = value[segment.key]
            if isinstance(item, list):
                reached += item if segment.index is None else _pick(item, segment.index)
            elif segment.index in (None, 0, -1, LAST):
                reached.append(item)
        current = reached
    return current


def set_value(message: dict, path: str, value: Any) -> None:
    """Set `path` to `value`, creating objects on the way; a list met without an index is
    entered at its first item (created when the list is empty)."""
    segments = parse_path(path)
    node: Any = message
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if not isinstance(node, dict):
            raise ReporterError(f"cannot set {path!r}: {segment.key!r} is inside a "
                                f"{type(node).__name__}, not an object")
        if last and segment.index is None:
            node[segment.key] = value
            return
        child = node.get(segment.key)
        if segment.index is None:
            if isinstance(child, list):
                if not child:
                    child.append({})
                node = child[0]
            else:
                if not isinstance(child, dict):
                    child = node[segment.key] = {}
                node = child
            continue
        if not isinstance(child, list):
            child = node[segment.key] = [] if child is None else [child]
        slot = max(len(child) - 1, 0) if segment.index == LAST else int(segment.index)
        if slot < 0:
            slot += len(child)
        if slot == len(child):
            child.append(value if last else {})
        elif not 0 <= slot < len(child):
            raise ReporterError(f"cannot set {path!r}: index {segment.index} is out of range "
                                f"(list of {len(child)})")
        if last:
            child[slot] = value
            return
        if not isinstance(child[slot], dict):
            child[slot] = {}
        node = child[slot]
