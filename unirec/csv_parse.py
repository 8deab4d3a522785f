"""CSV text to records as NEMEA's logreplay reads it.

The header line is a template in any order (a leading `time` item marks logger's receive-time
column); every later line is a record with columns in header order. A bad line is reported with
its line number, column and field, and skipped: the good lines around it still come through.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np

from .batch import RecordBatch, column_from_values
from .errors import CsvError, TemplateError
from .field_types import FIELD_TYPES
from .template import Field, Template
from .text_values import parse_column, parse_value

_TIME_TYPE = FIELD_TYPES["time"]


@dataclass
class ParsedLines:
    batch: RecordBatch
    times: list[int] | None                 # receive-time column values (ns), when present
    lines: list[int]                        # line number of each record
    errors: list[CsvError] = field(default_factory=list)


class CsvParser:
    """Parser for the lines that follow one header."""

    def __init__(self, header: str, source: str = "<csv>"):
        self.source = source
        items = [item.strip() for item in header.rstrip("\r\n").split(",")]
        self.has_time_column = bool(items) and items[0] == "time"
        if self.has_time_column:
            items = items[1:]
        self.columns: list[Field] = []
        for position, item in enumerate(items, start=1 + self.has_time_column):
            try:
                parsed = Template.parse(item)
            except TemplateError as exc:
                raise CsvError(f"{source}:1: bad header, column {position}: {exc}", 1) from None
            if len(parsed.fields) != 1:
                raise CsvError(f"{source}:1: bad header, column {position}: expected "
                               f"'type NAME', got {item!r}", 1)
            self.columns.append(parsed.fields[0])
        names = [f.name for f in self.columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise CsvError(f"{source}:1: bad header: field {duplicates[0]} appears twice", 1)
        self.template = Template(self.columns)
        self._targets = [self.template.index[f.name] for f in self.columns]
        self._width = len(self.columns) + self.has_time_column
        # logger prints an empty `bytes` value as nothing: with that as the only column, an empty
        # line is a record; otherwise empty lines are skipped
        self._empty_line_is_record = self._width == 1 and self.columns[0].type.kind == "bytes"

    def _split(self, line: str) -> list[str]:
        if '"' not in line:
            return line.split(",")
        return next(csv.reader([line], strict=True))

    def parse(self, lines: Iterable[str], first_line: int = 2) -> ParsedLines:
        """Parse data lines; `first_line` is the number of the first one (the header is 1)."""
        lines = list(lines)
        columns = self._plain_columns(lines)
        if columns is not None:
            return self._convert(columns, range(first_line, first_line + len(lines)), [])
        errors: list[CsvError] = []
        rows: list[list[str]] = []
        numbers: list[int] = []
        for number, line in enumerate(lines, start=first_line):
            line = line.rstrip("\r\n")
            if not line and not self._empty_line_is_record:
                continue
            try:
                cells = self._split(line)
            except csv.Error as exc:
                errors.append(CsvError(f"{self.source}:{number}: bad quoting: {exc}", number))
                continue
            if len(cells) != self._width:
                errors.append(CsvError(f"{self.source}:{number}: {len(cells)} columns, header "
                                       f"has {self._width}", number))
                continue
            rows.append(cells)
            numbers.append(number)
        columns = list(zip(*rows, strict=True)) if rows else [()] * self._width
        return self._convert(columns, numbers, errors)

    def _plain_columns(self, lines: list[str]) -> list[list[str]] | None:
        """The column texts of the lines when all are records of the header's width with no
        quotes; None when any needs the line-by-line loop (quotes, a skipped or bad line)."""
        if self._width == 1 and not self._empty_line_is_record:
            return None  # an empty line would split into one column but is skipped
        if not lines:
            return [[] for _ in range(self._width)]
        lines = [line.rstrip("\r\n") for line in lines]
        joined = ",".join(lines)
        if '"' in joined or set(map(str.count, lines, repeat(","))) != {self._width - 1}:
            return None
        # one split of all lines and a slice per column, not a list per line: fewer objects
        cells = joined.split(",")
        return [cells[position::self._width] for position in range(self._width)]

    def _convert(self, texts: list[Sequence[str]], numbers: Sequence[int],
                 errors: list[CsvError]) -> ParsedLines:
        """Records from the texts of each column, `numbers` giving each row's line number."""
        rows = range(len(numbers))
        bad: dict[int, CsvError] = {}
        times = None
        if self.has_time_column:
            times = self._convert_column(_TIME_TYPE, "time", 1, texts[0], numbers, bad)
            if isinstance(times, np.ndarray):
                times = times.tolist()
        values_by_column = [
            self._convert_column(fld.type, str(fld), position, texts[position - 1], numbers, bad)
            for position, fld in enumerate(self.columns, start=1 + self.has_time_column)]
        keep = [i for i in rows if i not in bad] if bad else None
        errors.extend(bad.values())
        errors.sort(key=lambda e: e.line or 0)
        canonical: list = [None] * len(self.columns)
        for target, values in zip(self._targets, values_by_column, strict=True):
            canonical[target] = _column(self.template.types[target], values, keep)
        if keep is None:
            return ParsedLines(RecordBatch(self.template, canonical, len(rows)), times,
                               list(numbers), errors)
        if times is not None:
            times = [times[i] for i in keep]
        return ParsedLines(RecordBatch(self.template, canonical, len(keep)), times,
                           [numbers[i] for i in keep], errors)

    def _convert_column(self, ftype, label: str, position: int, texts: Sequence[str],
                        numbers: Sequence[int], bad: dict[int, CsvError]) -> list | np.ndarray:
        try:
            return parse_column(ftype, texts)
        except (ValueError, OverflowError):
            pass
        values = []
        for row, text in enumerate(texts):
            try:
                values.append(parse_value(ftype, text))
            except (ValueError, OverflowError) as exc:
                values.append(ftype.default_raw)
                if row not in bad:
                    bad[row] = CsvError(f"{self.source}:{numbers[row]}: column {position} "
                                        f"({label}): {exc}", numbers[row])
        return values


def _column(ftype, values: list | np.ndarray, keep: list[int] | None):
    """The batch column of one field's parsed values, only the rows in `keep` (None: all)."""
    if isinstance(values, np.ndarray):  # parse_column made it with the column's dtype
        return values if keep is None else values[keep]
    if keep is not None:
        values = [values[i] for i in keep]
    return column_from_values(ftype, values)


def read_csv(text: str, source: str = "<csv>") -> ParsedLines:
    """Parse a whole CSV document (header and rows)."""
    lines = text.split("\n")  # not splitlines(): that also splits at \f, \x1c, U+2028, ...
    if lines[-1] == "":
        lines.pop()
    if not lines:
        raise CsvError(f"{source}:1: empty file, expected a header line", 1)
    return CsvParser(lines[0], source).parse(lines[1:], first_line=2)
