"""CSV text of records as NEMEA's logger prints it: canonical columns, one line per record."""

from __future__ import annotations

from .batch import RecordBatch
from .template import Template
from .text_values import format_column


class CsvFormatter:
    """Renders batches of one template; `header()` is the `-t` line."""

    def __init__(self, template: Template | str, delimiter: str = ","):
        self.template = Template.of(template)
        self.delimiter = delimiter

    def header(self) -> str:
        return self.delimiter.join(str(field) for field in self.template.fields)

    def format_batch(self, batch: RecordBatch, prefix: str | None = None) -> str:
        """All records of the batch as text, each line ending in a newline. `prefix` becomes a
        first column on every line (logger's receive time)."""
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
