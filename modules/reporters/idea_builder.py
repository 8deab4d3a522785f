"""Assemble an IDEA0 message in the usual key order from the parts a mapping decides."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .idea_values import add_address, idea_time, new_id


@dataclass(frozen=True)
class Context:
    """What every conversion of one reporter run shares: its Node entry (Name, SW, Type,
    AggrWin) and detector-specific tables (blacklist lists)."""

    node: dict
    extra: Any = None


def endpoint(*addresses: Any, port: Any = None, proto: list[str] | None = None,
             **keys: Any) -> dict:
    """A Source/Target object: IP4/IP6 from the (non-null) addresses, then Port, Proto and the
    other keys; keys whose value is None are left out."""
    item: dict[str, Any] = {}
    for address in addresses:
        add_address(item, address)
    if port is not None:
        item["Port"] = port if isinstance(port, list) else [int(port)]
    if proto:
        item["Proto"] = [p for p in proto if p]
    item.update({key: value for key, value in keys.items() if value is not None})
    return item


def build_idea(ctx: Context, *, category: list[str], description: str, detect: Any,
               event: Any = None, cease: Any = None, create: str | None = None,
               source: list[dict] | None = None, target: list[dict] | None = None,
               counts: dict[str, int] | None = None, alt_names: list[str] | None = None,
               note: str | None = None, ref: list[str] | None = None,
               node: dict | None = None) -> dict:
    """The message; times are UniRec times, epoch numbers or IDEA texts (a `str` is kept as
    is). Empty Source/Target objects and None counts are left out (IDEA: a missing key means
    unknown)."""
    def when(value: Any) -> str:
        return value if isinstance(value, str) else idea_time(value)

    idea: dict[str, Any] = {"Format": "IDEA0", "ID": new_id()}
    if alt_names:
        idea["AltNames"] = alt_names
    idea["CreateTime"] = create or idea_time()
    idea["DetectTime"] = when(detect)
    if event is not None:
        idea["EventTime"] = when(event)
    if cease is not None:
        idea["CeaseTime"] = when(cease)
    idea["Category"] = list(category)
    idea["Description"] = description
    if note:
        idea["Note"] = note
    for key, value in (counts or {}).items():
        if value is not None:
            idea[key] = int(value)
    sources = [item for item in source or [] if item]
    targets = [item for item in target or [] if item]
    if sources:
        idea["Source"] = sources
    if targets:
        idea["Target"] = targets
    if ref:
        idea["Ref"] = ref
    idea["Node"] = [node if node is not None else copy.deepcopy(ctx.node)]
    return idea
