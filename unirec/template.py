"""UniRec templates: parsing, canonical order, comparison, negotiation check and union."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .errors import TemplateError
from .field_types import FIELD_TYPES, FieldType
from .standard_fields import STANDARD_FIELDS

_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_known_fields: dict[str, str] = dict(STANDARD_FIELDS)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: FieldType

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not valid_name(self.name):
            raise TemplateError(f"bad field name {self.name!r} (letters, digits, _; "
                                "starts with a letter; not ending in _T)")

    def __str__(self) -> str:
        return f"{self.type.name} {self.name}"


def valid_name(name: str) -> bool:
    """`[A-Za-z][A-Za-z0-9_]*`, not ending in `_T`."""
    return bool(_NAME_RE.match(name)) and not name.endswith("_T")


def _canonical_key(field: Field) -> tuple[int, bytes]:
    return (-field.type.order_size, field.name.encode())


class Template:
    """An ordered set of typed fields, always kept in NEMEA's canonical order."""

    __slots__ = ("__weakref__", "fields", "fixed_fields", "fixed_size", "index", "names", "spec",
                 "types", "variable_fields")

    def __init__(self, fields: Iterable[Field]):
        unique: dict[str, Field] = {}
        for field in fields:
            seen = unique.get(field.name)
            if seen is not None and seen.type is not field.type:
                raise TemplateError(
                    f"field {field.name} defined twice with different types: "
                    f"{seen.type.name} and {field.type.name}")
            unique[field.name] = field
        self.fields: tuple[Field, ...] = tuple(sorted(unique.values(), key=_canonical_key))
        self.names: tuple[str, ...] = tuple(f.name for f in self.fields)
        self.types: tuple[FieldType, ...] = tuple(f.type for f in self.fields)
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.names)}
        self.spec: str = ",".join(str(f) for f in self.fields)
        self.fixed_fields = tuple(f for f in self.fields if f.type.is_fixed)
        self.variable_fields = tuple(f for f in self.fields if not f.type.is_fixed)
        self.fixed_size: int = sum(f.type.fixed_size for f in self.fixed_fields)

    @classmethod
    def parse(cls, spec: str) -> Template:
        """Parse `type NAME,...` (whitespace tolerated) or a name-only list of known fields."""
        if not isinstance(spec, str):
            raise TemplateError(f"bad template {spec!r}: expected a string")
        return _parse_cached(spec)

    @classmethod
    def of(cls, spec: str | Template) -> Template:
        return spec if isinstance(spec, Template) else cls.parse(spec)

    def __reduce__(self):
        return Template.parse, (self.spec,)

    def __len__(self) -> int:
        return len(self.fields)

    def __iter__(self):
        return iter(self.fields)

    def __contains__(self, name: object) -> bool:
        return name in self.index

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, Template) and self.spec == other.spec)

    def __hash__(self) -> int:
        return hash(self.spec)

    def __repr__(self) -> str:
        return f"Template({self.spec!r})"

    def __str__(self) -> str:
        return self.spec

    def field(self, name: str) -> Field:
        try:
            return self.fields[self.index[name]]
        except KeyError:
            raise TemplateError(f"no field {name} in template {self.spec!r}") from None

    def mismatches(self, required: Template) -> list[str]:
        """What this (sender) template lacks of `required`: one text per bad field."""
        problems = []
        for field in required.fields:
            position = self.index.get(field.name)
            if position is None:
                problems.append(f"missing {field}")
            elif self.types[position] is not field.type:
                problems.append(f"{field.name} is {self.types[position].name}, "
                                f"required {field.type.name}")
        return problems

    def provides(self, required: Template) -> bool:
        """True when every field of `required` is here with the same type (negotiation check)."""
        return not self.mismatches(required)

    def union(self, *others: Template) -> Template:
        """All fields of all templates; a name with two types is an error naming both."""
        merged: dict[str, Field] = {field.name: field for field in self.fields}
        for other in others:
            for field in other.fields:
                seen = merged.setdefault(field.name, field)
                if seen.type is not field.type:
                    raise TemplateError(
                        f"cannot merge templates: field {field.name} is "
                        f"{seen.type.name} in one and {field.type.name} in another")
        return Template(merged.values())

    def select(self, names: Iterable[str] | str) -> Template:
        """A template of the named fields of this one (names, or a `NAME,NAME` list)."""
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",") if name.strip()]
        return Template(self.field(name) for name in names)


def _parse_item(item: str, position: int, spec: str) -> Field:
    words = item.split()
    if len(words) == 2:
        type_name, name = words
    elif len(words) == 1:
        name = words[0]
        type_name = _known_fields.get(name)
        if type_name is None:
            raise TemplateError(f"bad template {spec!r}: item {position} {item.strip()!r}: "
                                f"unknown field {name} (give it a type: 'uint32 {name}')")
    else:
        raise TemplateError(f"bad template {spec!r}: item {position} {item.strip()!r}: "
                            "expected 'type NAME'")
    ftype = FIELD_TYPES.get(type_name)
    if ftype is None:
        raise TemplateError(f"bad template {spec!r}: item {position} {item.strip()!r}: "
                            f"unknown type {type_name!r}")
    if not valid_name(name):
        raise TemplateError(f"bad template {spec!r}: item {position} {item.strip()!r}: "
                            f"bad field name {name!r} (letters, digits, _; not ending in _T)")
    return Field(name, ftype)


@lru_cache(maxsize=1024)
def _parse_cached(spec: str) -> Template:
    if not spec.strip():
        return Template(())
    fields = [_parse_item(item, i, spec) for i, item in enumerate(spec.split(","), start=1)]
    for field in fields:
        _known_fields.setdefault(field.name, field.type.name)
    return Template(fields)
