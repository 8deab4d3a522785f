"""CSV text of records as NEMEA's logger prints it: canonical columns, one line per record."""

from __future__ import annotations

from .batch import RecordBatch
from .errors import TemplateError
from .template import Template
from .text_values import column_conversion, format_time


def _literal(text: str) -> str:
    """Text as part of a printf-style format."""
    return text.replace("%", "%%")


class CsvFormatter:
    """Renders batches of one template; `header()` is the `-t` line."""

    def __init__(self, template: Template | str, delimiter: str = ","):
        self.template = Template.of(template)
        self.delimiter = delimiter
        # a batch renders as one printf-style line format applied to each record's values
        conversions = [column_conversion(ftype) for ftype in self.template.types]
        self._conversions = [conversion for conversion, _ in conversions]
        self._arguments = [arguments for _, arguments in conversions]
        self._line = self._line_format(self._conversions)

    def _line_format(self, items: list[str]) -> str:
        return _literal(self.delimiter).join(items) + "\n"

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
        line = self._line
        if prefix is not None:
            line = self._line_format([_literal(prefix), *self._conversions])
        arguments = [argument
                     for column_arguments, column in zip(self._arguments, batch.columns,
                                                         strict=True)
                     for argument in column_arguments(column)]
        if not arguments:
            return (line % ()) * batch.length
        return "".join(map(line.__mod__, zip(*arguments, strict=True)))
