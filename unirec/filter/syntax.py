"""Syntax tree of a filter; template-independent (binding happens per template)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Literal:
    kind: str            # INT FLOAT DATETIME IP STRING IDENT (protocol names)
    text: str
    position: int


@dataclass(frozen=True)
class Term:
    field: str           # a field name, or "host" / "port"
    op: str              # == != < > <= >= in =~
    values: tuple[Literal, ...]
    position: int


@dataclass(frozen=True)
class Constant:
    value: bool


@dataclass(frozen=True)
class Not:
    operand: object


@dataclass(frozen=True)
class Binary:
    op: str              # AND / OR
    left: object
    right: object
