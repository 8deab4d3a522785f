"""alert_batch(): the alerts a hook collected, as one RecordBatch to emit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from unirec import RecordBatch, Template


def alert_batch(template: Template | str, alerts: Sequence[Mapping[str, Any]]) -> RecordBatch:
    """Alerts given as {field: value} (raw values: ipaddr as 16 bytes, time as int ns, or any
    value the field accepts); fields an alert leaves out get their defaults."""
    template = Template.of(template)
    columns = {field.name: [alert.get(field.name, field.type.default_raw) for alert in alerts]
               for field in template.fields}
    return RecordBatch.from_columns(template, len(alerts), columns)


def send_alerts(module, alerts: Sequence[Mapping[str, Any]]) -> int:
    """Emit the alerts (dicts of the output template's fields) as one batch on output 0;
    returns how many were sent."""
    if alerts:
        module.emit(alert_batch(module.output_template(), alerts))
    return len(alerts)
