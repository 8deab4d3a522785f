"""Record: one UniRec record, its fields readable and writable by name as Python values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import FieldValueError, TemplateError
from .template import Template

MAX_RECORD_SIZE = 65535


class Record:
    """A record of a template. Values are validated on the way in and kept in raw form."""

    __slots__ = ("_raw", "template")

    def __init__(self, template: Template | str, values: Mapping[str, Any] | None = None,
                 /, **fields: Any):
        template = Template.of(template)
        object.__setattr__(self, "template", template)
        raw = [ftype.default_raw for ftype in template.types]
        object.__setattr__(self, "_raw", raw)
        for name, value in {**(values or {}), **fields}.items():
            position = self._position(name)
            raw[position] = template.types[position].to_raw(value)
        check_size(template, raw)

    @classmethod
    def from_raw(cls, template: Template, raw: list) -> Record:
        """Wrap raw values (canonical order) without validating them."""
        record = object.__new__(cls)
        object.__setattr__(record, "template", template)
        object.__setattr__(record, "_raw", raw)
        return record

    def _position(self, name: str) -> int:
        try:
            return self.template.index[name]
        except KeyError:
            raise TemplateError(f"no field {name} in template {self.template.spec!r}") from None

    def __getitem__(self, name: str) -> Any:
        position = self._position(name)
        return self.template.types[position].from_raw(self._raw[position])

    def __getattr__(self, name: str) -> Any:
        # only reached when normal lookup fails; `template`/`_raw` unset means a half-built object
        # (copy, pickle), which must not recurse into self.template
        if name.startswith("_") or name == "template":
            raise AttributeError(name)
        position = self.template.index.get(name)
        if position is None:
            raise AttributeError(f"record has no field {name}")
        return self.template.types[position].from_raw(self._raw[position])

    def __reduce__(self):
        return Record.from_raw, (self.template, list(self._raw))

    def __contains__(self, name: object) -> bool:
        return name in self.template.index

    def __setitem__(self, name: str, value: Any) -> None:
        position = self._position(name)
        ftype = self.template.types[position]
        raw = ftype.to_raw(value)
        old, self._raw[position] = self._raw[position], raw
        if not ftype.is_fixed:
            try:
                check_size(self.template, self._raw)
            except FieldValueError:
                self._raw[position] = old  # a rejected value leaves the record as it was
                raise

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self.template.index else default

    def raw(self, name: str) -> Any:
        """The raw (wire) form of a field: ints, 16-byte addresses, nanoseconds..."""
        return self._raw[self._position(name)]

    @property
    def raw_values(self) -> tuple:
        return tuple(self._raw)

    def to_dict(self) -> dict[str, Any]:
        return {name: self[name] for name in self.template.names}

    def copy(self) -> Record:
        return Record.from_raw(self.template, [list(v) if isinstance(v, list) else v
                                               for v in self._raw])

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Record) and self.template == other.template
                and self._raw == other._raw)

    __hash__ = None  # type: ignore[assignment]  # records are mutable

    def __repr__(self) -> str:
        from .text_values import format_value

        body = " ".join(f"{f.name}={format_value(f.type, v)}"
                        for f, v in zip(self.template.fields, self._raw, strict=True))
        return f"<Record {body}>"


def unirec_size(template: Template, raw: list) -> int:
    """Size in NEMEA's layout: fixed sizes + 4 per variable field + variable data."""
    size = 0
    for ftype, value in zip(template.types, raw, strict=True):
        if ftype.is_fixed:
            size += ftype.order_size
        elif ftype.element is not None:
            size += 4 + ftype.element.order_size * len(value)
        elif isinstance(value, str):
            size += 4 + len(value.encode("utf-8"))
        else:
            size += 4 + len(value)
    return size


def check_size(template: Template, raw: list) -> None:
    if not template.variable_fields and template.fixed_size <= MAX_RECORD_SIZE:
        return
    size = unirec_size(template, raw)
    if size > MAX_RECORD_SIZE:
        raise FieldValueError(f"record is {size} bytes, UniRec allows at most {MAX_RECORD_SIZE}")
