"""The ground truth: what each attack is, with its packet count and first/last packet time
taken from the packets actually written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .packets import Packet

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(time_us: int) -> str:
    moment = EPOCH + timedelta(microseconds=time_us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> int:
    """ISO 8601 (a trailing Z or an offset; no zone = UTC) to microseconds since the epoch."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def packet_stats(packets: list[Packet]) -> dict[str, dict]:
    """Per tag: packets, bytes (frame lengths), first and last packet time."""
    stats: dict[str, dict] = {}
    for time_us, frame, tag in packets:
        entry = stats.get(tag)
        if entry is None:
            entry = stats[tag] = {"packets": 0, "bytes": 0, "first": time_us, "last": time_us}
        entry["packets"] += 1
        entry["bytes"] += len(frame)
        entry["first"] = min(entry["first"], time_us)
        entry["last"] = max(entry["last"], time_us)
    return stats


def with_counts(description: dict, stats: dict | None) -> dict:
    stats = stats or {"packets": 0, "bytes": 0, "first": None, "last": None}
    return {**description, "packets": stats["packets"], "bytes": stats["bytes"],
            "first": iso(stats["first"]) if stats["first"] is not None else None,
            "last": iso(stats["last"]) if stats["last"] is not None else None}
