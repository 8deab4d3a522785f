"""Hypothesis strategies for UniRec templates and values (shared by the property tests).

`value_strategy(type, mode)` draws Python values a field of that type accepts: mode "any" any
value, "csv" any value CSV text can carry at all (a `char` is not the delimiter, a quote or a line
break), "exact" only values that reference §6 says survive logger -> logreplay unchanged.
"""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

from unirec import FIELD_TYPES, Field, FieldType, Template
from unirec.field_types import MAX_TIME_NS

NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True).filter(
    lambda name: not name.endswith("_T"))

IPV4 = st.builds(ipaddress.IPv4Address, st.integers(0, 2**32 - 1))
IPV6 = st.builds(ipaddress.IPv6Address, st.integers(0, 2**128 - 1))
ADDRESSES = st.one_of(IPV4, IPV6)
MACS = st.binary(min_size=6, max_size=6)

# printable ASCII; a char may not be the delimiter nor a quote (that starts a quoted field)
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
CSV_CHARS = PRINTABLE.filter(lambda ch: ch not in ',"')


def _float_values(exact: bool, double: bool):
    if exact:  # k/64 has at most 6 decimals and fits a float32 exactly
        return st.integers(-64_000, 64_000).map(lambda k: k / 64)
    if double:
        return st.floats(allow_nan=False)
    return st.floats(allow_nan=False, width=32)


def _time_values(exact: bool):
    if exact:  # microsecond precision
        return st.integers(0, MAX_TIME_NS // 1000).map(lambda us: us * 1000)
    return st.integers(0, MAX_TIME_NS)


def scalar_strategy(ftype: FieldType, mode: str = "any"):
    kind, exact = ftype.kind, mode == "exact"
    if kind == "int":
        return st.integers(*ftype.bounds)
    if kind == "char":
        return st.integers(0, 255).map(chr) if mode == "any" else CSV_CHARS
    if kind == "float":
        return _float_values(exact, ftype.name == "double")
    if kind == "ipaddr":
        return ADDRESSES
    if kind == "macaddr":
        return MACS
    if kind == "time":
        return _time_values(exact)
    if kind == "string":
        return st.text(PRINTABLE, max_size=20) if exact else st.text(max_size=20)
    if kind == "bytes":
        return st.binary(max_size=20)
    raise AssertionError(kind)


def value_strategy(ftype: FieldType, mode: str = "any"):
    if ftype.element is not None:
        return st.lists(scalar_strategy(ftype.element, mode), max_size=5)
    return scalar_strategy(ftype, mode)


@st.composite
def templates(draw, min_size: int = 0, max_size: int = 8):
    names = draw(st.lists(NAMES, min_size=min_size, max_size=max_size,
                          unique_by=str.upper))  # upper-unique keeps the names readable apart
    types = [draw(st.sampled_from(sorted(FIELD_TYPES))) for _ in names]
    return Template(Field(name, FIELD_TYPES[t]) for name, t in zip(names, types, strict=True))


@st.composite
def value_rows(draw, template: Template, mode: str = "any", max_rows: int = 5):
    """Rows of Python values (dicts by field name) for a template."""
    count = draw(st.integers(0, max_rows))
    return [{f.name: draw(value_strategy(f.type, mode)) for f in template.fields}
            for _ in range(count)]
