"""The record builder: decoded UniRec columns to a RecordBatch of the collector's template.

Output template: by default the biflow basic template of flow_meter (ipfixprobe's), whatever the
exporter sends: *_REV fields are zero for uniflow exporters, so the stream's template never
changes when a biflow exporter appears or goes, and downstream modules see the same records
as from flow_meter. With --uniflow the uniflow basic template (TOS and TTL, no *_REV).
"""

from __future__ import annotations

import numpy as np

from modules.flow_meter.flow_records import BIFLOW_TEMPLATE, UNIFLOW_TEMPLATE
from unirec import RecordBatch, Template

__all__ = ["BIFLOW_TEMPLATE", "UNIFLOW_TEMPLATE", "build_batch", "join_batches"]


def build_batch(template: Template, length: int, columns: dict[str, np.ndarray],
                link: int, direction: int) -> RecordBatch:
    """A batch of `length` records; fields without a column get zero (LINK_BIT_FIELD and
    DIR_BIT_FIELD the given constants)."""
    chosen = {name: column for name, column in columns.items() if name in template.index}
    if "LINK_BIT_FIELD" in template.index:
        chosen["LINK_BIT_FIELD"] = np.full(length, link, dtype=np.uint64)
    if "DIR_BIT_FIELD" in template.index:
        chosen["DIR_BIT_FIELD"] = np.full(length, direction, dtype=np.uint8)
    return RecordBatch.from_columns(template, length, chosen)


def join_batches(batches: list[RecordBatch]) -> RecordBatch | None:
    if not batches:
        return None
    return batches[0] if len(batches) == 1 else RecordBatch.concat(batches)
