"""RecordBatch: many records of one template, stored column by column.

Fixed-size fields are numpy arrays (ipaddr as 16-byte, macaddr as 6-byte void items, time as
int64 nanoseconds, char as uint8); variable-size fields are Python lists of raw values. Column-wise
storage is what lets codecs, filters and counters work on whole batches at C speed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import FieldValueError, TemplateError
from .field_types import FieldType
from .record import Record
from .template import Template


def default_column(ftype: FieldType, length: int):
    if ftype.is_fixed:
        return np.zeros(length, dtype=ftype.dtype)
    if ftype.is_array:
        return [[] for _ in range(length)]
    return [ftype.default_raw] * length


def column_from_values(ftype: FieldType, values: Sequence) -> Any:
    """A column from raw values (already valid for the type)."""
    if not ftype.is_fixed:
        return list(values)
    if ftype.kind in ("ipaddr", "macaddr"):
        return np.frombuffer(b"".join(values), dtype=ftype.dtype)
    return np.array(values, dtype=ftype.dtype)


class RecordBatch:
    """Records of one template as columns in canonical field order."""

    __slots__ = ("columns", "length", "template")

    def __init__(self, template: Template, columns: list, length: int):
        self.template = template
        self.columns = columns
        self.length = length

    @classmethod
    def empty(cls, template: Template | str) -> RecordBatch:
        template = Template.of(template)
        return cls(template, [default_column(t, 0) for t in template.types], 0)

    @classmethod
    def from_rows(cls, template: Template | str, rows: Sequence[Sequence]) -> RecordBatch:
        """Rows of raw values in canonical order (as `rows()` returns them)."""
        template = Template.of(template)
        if not rows:
            return cls.empty(template)
        width = len(template.fields)
        for position, row in enumerate(rows):
            if len(row) != width:
                raise FieldValueError(f"row {position} has {len(row)} values, template "
                                      f"{template.spec!r} has {width} fields")
        columns = [column_from_values(t, col)
                   for t, col in zip(template.types, zip(*rows, strict=True), strict=True)]
        return cls(template, columns, len(rows))

    @classmethod
    def from_records(cls, records: Sequence[Record],
                     template: Template | str | None = None) -> RecordBatch:
        if template is None:
            if not records:
                raise TemplateError("cannot infer a template from no records")
            template = records[0].template
        template = Template.of(template)
        for position, record in enumerate(records):
            if record.template is not template and record.template != template:
                raise TemplateError(f"record {position} has template {record.template.spec!r}, "
                                    f"batch has {template.spec!r}")
        return cls.from_rows(template, [record._raw for record in records])

    @classmethod
    def from_columns(cls, template: Template | str, length: int,
                     columns: Mapping[str, Any]) -> RecordBatch:
        """Columns by field name (arrays or lists of raw values); missing fields get defaults."""
        template = Template.of(template)
        built = []
        for field in template.fields:
            values = columns.get(field.name)
            if values is None:
                built.append(default_column(field.type, length))
                continue
            if field.type.is_fixed:
                values = _fixed_column(field.name, field.type, values)
            elif not isinstance(values, list):
                values = list(values)
            if len(values) != length:
                raise FieldValueError(f"column {field.name} has {len(values)} values, "
                                      f"batch has {length}")
            built.append(values)
        unknown = set(columns) - set(template.index)
        if unknown:
            raise TemplateError(f"no field {sorted(unknown)[0]} in template {template.spec!r}")
        return cls(template, built, length)

    def __len__(self) -> int:
        return self.length

    def column(self, name: str):
        try:
            return self.columns[self.template.index[name]]
        except KeyError:
            raise TemplateError(f"no field {name} in template {self.template.spec!r}") from None

    def rows(self) -> list[tuple]:
        """Raw values per record, canonical order."""
        if not self.template.fields:
            return [() for _ in range(self.length)]
        lists = [col.tolist() if isinstance(col, np.ndarray) else col for col in self.columns]
        return list(zip(*lists, strict=True))

    def records(self) -> list[Record]:
        template = self.template
        return [Record.from_raw(template, list(row)) for row in self.rows()]

    def __iter__(self):
        return iter(self.records())

    def __getitem__(self, position: int) -> Record:
        if not -self.length <= position < self.length:
            raise IndexError(f"record {position} out of range (batch has {self.length})")
        raw = [col[position] for col in self.columns]
        for i, ftype in enumerate(self.template.types):
            if ftype.is_fixed:
                raw[i] = raw[i].item() if ftype.kind not in ("ipaddr", "macaddr") \
                    else raw[i].tobytes()
        return Record.from_raw(self.template, raw)

    def take(self, selector) -> RecordBatch:
        """A batch of the selected records: a boolean mask or an array of positions."""
        selector = np.asarray(selector)
        if selector.dtype == bool:
            if selector.shape != (self.length,):
                raise IndexError(f"mask of {selector.size} values for a batch of {self.length}")
            positions = np.flatnonzero(selector)
        elif selector.size and selector.dtype.kind not in "iu":
            raise IndexError(f"select records by a boolean mask or integer positions, "
                             f"not {selector.dtype}")
        else:
            positions = selector.astype(np.intp, copy=False).reshape(-1)
            if positions.size and not (-self.length <= positions.min()
                                       and positions.max() < self.length):
                raise IndexError(f"record positions {positions.min()}..{positions.max()} out of "
                                 f"range (batch has {self.length})")
        columns = []
        for col in self.columns:
            if isinstance(col, np.ndarray):
                columns.append(col[positions])
            else:
                columns.append([col[p] for p in positions.tolist()])
        return RecordBatch(self.template, columns, len(positions))

    def project(self, template: Template | str) -> RecordBatch:
        """The same records in another template: shared fields copied, others defaulted."""
        template = Template.of(template)
        if template is self.template or template == self.template:
            return self
        columns = []
        for field in template.fields:
            position = self.template.index.get(field.name)
            if position is None:
                columns.append(default_column(field.type, self.length))
                continue
            if self.template.types[position] is not field.type:
                raise TemplateError(f"field {field.name} is {self.template.types[position].name}"
                                    f" here, {field.type.name} in {template.spec!r}")
            columns.append(self.columns[position])
        return RecordBatch(template, columns, self.length)

    @staticmethod
    def concat(batches: Iterable[RecordBatch]) -> RecordBatch:
        batches = [b for b in batches]
        if not batches:
            raise TemplateError("cannot concatenate no batches")
        template = batches[0].template
        if any(b.template is not template and b.template != template for b in batches):
            raise TemplateError("cannot concatenate batches of different templates")
        columns = []
        for i, ftype in enumerate(template.types):
            parts = [b.columns[i] for b in batches]
            if ftype.is_fixed:
                columns.append(np.concatenate(parts))
            else:
                columns.append([value for part in parts for value in part])
        return RecordBatch(template, columns, sum(b.length for b in batches))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, RecordBatch) and self.template == other.template
                and self.rows() == other.rows())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<RecordBatch {self.length} records of {self.template.spec!r}>"


def _fixed_column(name: str, ftype: FieldType, values) -> np.ndarray:
    """A fixed-size column from an array or a list of raw values, checked for the type."""
    if not isinstance(values, np.ndarray) and ftype.kind in ("ipaddr", "macaddr"):
        values = [_to_raw(name, ftype, value) for value in values]
        return column_from_values(ftype, values)
    given, values = values, np.asarray(values)
    if not isinstance(given, np.ndarray) and ftype.bounds is not None \
            and values.dtype.kind not in "iub":  # e.g. numpy made floats of mixed big ints
        values = np.asarray(given, dtype=object)  # checked value by value below
    if values.dtype == ftype.dtype:
        if ftype.kind == "time" and len(values) and values.min() < 0:
            raise FieldValueError(f"column {name}: time before 1970 ({values.min()} ns)")
        return values
    if values.dtype.kind == "O":
        return column_from_values(ftype, [_to_raw(name, ftype, v) for v in values.tolist()])
    return _cast_column(name, ftype, values)


def _to_raw(name: str, ftype: FieldType, value: Any) -> Any:
    try:
        return ftype.to_raw(value)
    except FieldValueError as exc:
        raise FieldValueError(f"column {name}: {exc}") from None


def _cast_column(name: str, ftype: FieldType, values: np.ndarray) -> np.ndarray:
    if ftype.bounds is not None:  # int, char, time: exact integers only, range-checked
        if values.dtype.kind not in "iub":
            raise FieldValueError(f"column {name}: cannot hold {values.dtype} values as "
                                  f"{ftype.name}")
        low, high = ftype.bounds
        if len(values) and (values.min() < low or values.max() > high):
            raise FieldValueError(f"column {name}: values out of range {low}..{high}")
    try:
        return values.astype(ftype.dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise FieldValueError(f"column {name}: cannot hold {values.dtype} as {ftype.name}: "
                              f"{exc}") from None
