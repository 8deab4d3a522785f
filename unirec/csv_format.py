"""CSV text of records as NEMEA's logger prints it: canonical columns, one line per record."""

from __future__ import annotations

from .batch import RecordBatch
from .errors import TemplateError
from .template import Template
from .text_values import format_column, format_time


class CsvFormatter:
    """Renders batches of one template; `header()` is the `-t` line."""

    def __init__(self, template: Template | str, delimiter: str = ","):
        self.template = Template.of(template)
        self.delimiter = delimiter

    def header(self, time_column: bool = False) -> str:
        """The `-t` line: canonical items joined by the delimiter; with logger's `-T` receive-time
        column it starts with a `time` item."""
        items = [str(field) for field in self.template.fields]
        if time_column:
            items.insert(0, "time")
        return self.delimiter.join(items)

    @staticmethod
    def receive_time(ns: int) -> str:
        """logger's `-T` column value: `YYYY-MM-DDTHH:MM:SS`, UTC, no fraction."""
        return format_time(ns)[:19]

    def format_batch(self, batch: RecordBatch, prefix: str | None = None) -> str:
        """All records of the batch as text, each line ending in a newline. `prefix` becomes a
        first column on every line (logger's receive time)."""
        if batch.template is not self.template and batch.template != self.template:
            raise TemplateError(f"batch template {batch.template.spec!r} is not the formatter's "
                                f"{self.template.spec!r}")
        if not batch.length:
            return ""
        columns = [format_column(ftype, column)
                   for ftype, column in zip(self.template.types, batch.columns, strict=True)]
        if prefix is not None:
            columns.insert(0, [prefix] * batch.length)
        if not columns:
            return "\n" * batch.length
        join = self.delimiter.join
        return "\n".join(map(join, zip(*columns, strict=True))) + "\n"
