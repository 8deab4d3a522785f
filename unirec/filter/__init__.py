"""NEMEA's unirecfilter language: parse a filter once, bind it to a template, evaluate whole
batches column-wise to a boolean mask."""

from .binder import BoundFilter, bind
from .errors import FilterError
from .parser import parse_filter

__all__ = ["BoundFilter", "FilterError", "bind", "compile_filter", "parse_filter"]


def compile_filter(text: str, template) -> BoundFilter:
    """Parse `text` and bind it to `template` in one step."""
    return bind(parse_filter(text), template, text)
