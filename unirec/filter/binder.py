"""Bind a parsed filter to a template: every term becomes a column-wise numpy function.

Semantics follow NEMEA's unirecfilter (see the reference): a term on a field the template lacks,
or with a literal of the wrong kind, is false (with a warning); ipaddr terms take prefixes
(`==` means "in prefix"); `host`/`port` test source and destination; `!=` on them means
"neither". Mixed IPv4/IPv6 comparisons are false except `!=`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..batch import RecordBatch
from ..field_types import FieldType
from ..template import Template
from ..urtime import UrTime
from .errors import FilterError
from .syntax import Binary, Constant, Literal, Not, Term

Mask = Callable[[RecordBatch], np.ndarray]
_PROTOCOLS = {"ICMP": 1, "IGMP": 2, "TCP": 6, "UDP": 17, "GRE": 47, "ESP": 50, "AH": 51,
              "ICMPV6": 58, "IPV6-ICMP": 58, "SCTP": 132}
_PAIRS = {"host": ("SRC_IP", "DST_IP"), "port": ("SRC_PORT", "DST_PORT")}
_FLOAT_EPSILON = 1e-8


@dataclass
class BoundFilter:
    """A filter ready for one template. `mask(batch)` -> boolean array."""

    template: Template
    function: Mask
    warnings: list[str] = field(default_factory=list)

    def mask(self, batch: RecordBatch) -> np.ndarray:
        return self.function(batch)

    def select(self, batch: RecordBatch) -> RecordBatch:
        return batch.take(self.mask(batch))


def _from_order(op: str, lt: np.ndarray, eq: np.ndarray) -> np.ndarray:
    if op == "==":
        return eq
    if op == "!=":
        return ~eq
    if op == "<":
        return lt
    if op == "<=":
        return lt | eq
    if op == ">":
        return ~(lt | eq)
    return ~lt


def _constant(value: bool) -> Mask:
    return lambda batch: np.full(batch.length, value, dtype=bool)


class _Binder:
    def __init__(self, template: Template, text: str):
        self.template = template
        self.text = text
        self.warnings: list[str] = []

    def error(self, message: str, position: int) -> FilterError:
        return FilterError(f"bad filter: {message}", self.text, position)

    def false_term(self, message: str) -> Mask:
        self.warnings.append(message + "; the term is false")
        return _constant(False)

    def node(self, node) -> Mask:
        if isinstance(node, Constant):
            return _constant(node.value)
        if isinstance(node, Not):
            inner = self.node(node.operand)
            return lambda batch: ~inner(batch)
        if isinstance(node, Binary):
            left, right = self.node(node.left), self.node(node.right)
            if node.op == "AND":
                return lambda batch: left(batch) & right(batch)
            return lambda batch: left(batch) | right(batch)
        return self.term(node)

    def term(self, term: Term) -> Mask:
        pair = _PAIRS.get(term.field)
        if pair is not None:
            parts = [self.field_term(name, term) for name in pair]
            if term.op == "!=":
                return lambda batch: parts[0](batch) & parts[1](batch)
            return lambda batch: parts[0](batch) | parts[1](batch)
        return self.field_term(term.field, term)

    def field_term(self, name: str, term: Term) -> Mask:
        position = self.template.index.get(name)
        if position is None:
            return self.false_term(f"field {name} is not in the input template")
        ftype = self.template.types[position]
        builder = _BUILDERS.get(ftype.kind)
        if builder is None or ftype.is_array:
            return self.false_term(f"field {name} ({ftype.name}) cannot be filtered")
        return builder(self, position, ftype, term)


# --- literal conversion --------------------------------------------------------------------

def _int_value(binder: _Binder, ftype: FieldType, literal: Literal, name: str) -> int | None:
    if literal.kind == "INT":
        return int(literal.text)
    if name == "PROTOCOL" and literal.kind in ("IDENT", "STRING"):
        return _protocol_number(binder, literal)
    return None


def _protocol_number(binder: _Binder, literal: Literal) -> int:
    number = _PROTOCOLS.get(literal.text.upper())
    if number is None:
        try:
            number = socket.getprotobyname(literal.text)
        except OSError:
            raise binder.error(f"unknown protocol name {literal.text!r}",
                               literal.position) from None
    return number


def _ip_value(binder: _Binder, literal: Literal):
    if literal.kind not in ("IP", "STRING"):
        return None
    try:
        return ipaddress.ip_network(literal.text, strict=False)
    except ValueError:
        raise binder.error(f"bad address or prefix {literal.text!r}", literal.position) from None


def _time_value(binder: _Binder, literal: Literal) -> int | None:
    if literal.kind not in ("DATETIME", "STRING"):
        return None
    try:
        return int(UrTime.parse(literal.text))
    except ValueError:
        raise binder.error(f"bad date and time {literal.text!r} "
                           "(YYYY-MM-DDTHH:MM:SS[.mmm])", literal.position) from None


# --- term builders per field kind ----------------------------------------------------------

def _numeric_term(binder: _Binder, position: int, ftype: FieldType, term: Term) -> Mask:
    name = binder.template.names[position]
    is_float = ftype.kind == "float"
    values = []
    for literal in term.values:
        if is_float and literal.kind in ("INT", "FLOAT"):
            values.append(float(literal.text))
        elif not is_float and ftype.kind in ("int", "char"):
            value = _int_value(binder, ftype, literal, name)
            if value is None:
                return binder.false_term(f"{name} ({ftype.name}) compared with "
                                         f"{literal.text!r}")
            values.append(value)
        elif ftype.kind == "time":
            value = _time_value(binder, literal)
            if value is None:
                return binder.false_term(f"{name} (time) compared with {literal.text!r}")
            values.append(value)
        else:
            return binder.false_term(f"{name} ({ftype.name}) compared with {literal.text!r}")
    if term.op == "=~":
        return binder.false_term(f"regular expression on {name} ({ftype.name})")

    def compare(column: np.ndarray, value, op: str) -> np.ndarray:
        if is_float:
            eq = np.abs(column - value) < _FLOAT_EPSILON
            return _from_order(op, (column < value) & ~eq, eq)
        info = np.iinfo(column.dtype)
        if value > info.max or value < info.min:
            above = value > info.max
            return _from_order(op, np.full(len(column), above), np.zeros(len(column), bool))
        return _from_order(op, column < value, column == value)

    if term.op == "in":
        def member(batch):
            column = batch.columns[position]
            result = np.zeros(batch.length, dtype=bool)
            for value in values:
                result |= compare(column, value, "==")
            return result
        return member
    value, op = values[0], term.op
    return lambda batch: compare(batch.columns[position], value, op)


def _ip_halves(column: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    words = np.frombuffer(np.ascontiguousarray(column).tobytes(), dtype=">u8").reshape(-1, 2)
    high, low = words[:, 0], words[:, 1]
    is_v4 = (high == 0) & ((low & 0xFFFFFFFF) == 0xFFFFFFFF)
    return high, low, is_v4


def _ip_compare(column: np.ndarray, network, op: str) -> np.ndarray:
    high, low, is_v4 = _ip_halves(column)
    if network.version == 4:
        mask = (0xFFFFFFFF << (32 - network.prefixlen)) & 0xFFFFFFFF
        address = (low >> np.uint64(32)) & np.uint64(mask)
        target = np.uint64(int(network.network_address) & mask)
        lt, eq = address < target, address == target
        same = is_v4
    else:
        bits = (1 << 128) - (1 << (128 - network.prefixlen))
        mask_high, mask_low = np.uint64(bits >> 64), np.uint64(bits & (2**64 - 1))
        value = int(network.network_address)
        target_high, target_low = np.uint64(value >> 64), np.uint64(value & (2**64 - 1))
        masked_high, masked_low = high & mask_high, low & mask_low
        eq = (masked_high == target_high) & (masked_low == target_low)
        lt = (masked_high < target_high) | ((masked_high == target_high)
                                            & (masked_low < target_low))
        same = ~is_v4
    return np.where(same, _from_order(op, lt, eq), op == "!=")


def _ip_term(binder: _Binder, position: int, ftype: FieldType, term: Term) -> Mask:
    name = binder.template.names[position]
    networks = []
    for literal in term.values:
        network = _ip_value(binder, literal)
        if network is None:
            return binder.false_term(f"{name} (ipaddr) compared with {literal.text!r}")
        networks.append(network)
    if term.op == "=~":
        return binder.false_term(f"regular expression on {name} (ipaddr)")
    if term.op == "in":
        def member(batch):
            result = np.zeros(batch.length, dtype=bool)
            for network in networks:
                result |= _ip_compare(batch.columns[position], network, "==")
            return result
        return member
    network, op = networks[0], term.op
    return lambda batch: _ip_compare(batch.columns[position], network, op)


def _text_term(binder: _Binder, position: int, ftype: FieldType, term: Term) -> Mask:
    name = binder.template.names[position]
    literal = term.values[0]
    if literal.kind != "STRING" or term.op not in ("==", "!=", "=~"):
        return binder.false_term(f"{name} ({ftype.name}) compared with {literal.text!r} "
                                 f"using {term.op}")
    value = literal.text.encode() if ftype.kind == "bytes" else literal.text
    if term.op == "=~":
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise binder.error(f"bad regular expression {literal.text!r}: {exc}",
                               literal.position) from None
        return lambda batch: np.fromiter(
            (pattern.search(v) is not None for v in batch.columns[position]), bool,
            batch.length)
    equal = term.op == "=="
    return lambda batch: np.fromiter(
        ((v == value) == equal for v in batch.columns[position]), bool, batch.length)


def _char_term(binder: _Binder, position: int, ftype: FieldType, term: Term) -> Mask:
    literal = term.values[0]
    if literal.kind == "STRING" and len(literal.text) == 1 and term.op in ("==", "!="):
        code = ord(literal.text)
        return lambda batch: _from_order(term.op, batch.columns[position] < code,
                                         batch.columns[position] == code)
    return _numeric_term(binder, position, ftype, term)


_BUILDERS = {
    "int": _numeric_term, "float": _numeric_term, "time": _numeric_term,
    "char": _char_term, "ipaddr": _ip_term, "string": _text_term, "bytes": _text_term,
}


def bind(tree, template: Template | str, text: str = "") -> BoundFilter:
    """Bind a parsed filter to a template (raises FilterError for bad literals)."""
    template = Template.of(template)
    binder = _Binder(template, text)
    return BoundFilter(template, binder.node(tree), binder.warnings)
