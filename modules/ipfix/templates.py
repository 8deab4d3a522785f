"""Templates and the template store: per exporter transport session and observation domain.

RFC 7011 section 8: a Template ID is meaningful only within one Transport Session (one UDP
exporter address and port, one TCP connection) and one Observation Domain. A template sent
again with the same id refreshes it (a different definition replaces it); a withdrawal
(field count 0) removes it, or all of them (template id 2 / 3 = the set id). On UDP, templates
not refreshed within the template lifetime expire (section 8.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .elements import VARIABLE, Element, lookup, valid_length


@dataclass(frozen=True)
class TemplateField:
    pen: int
    id: int
    length: int

    @property
    def element(self) -> Element | None:
        return lookup(self.pen, self.id)

    @property
    def known(self) -> bool:
        element = lookup(self.pen, self.id)
        return element is not None and valid_length(element, self.length)


@dataclass(eq=False)
class Template:
    """One (options) template. `record_length` is None when a field has variable length."""

    template_id: int
    fields: tuple[TemplateField, ...]
    scope_count: int = 0          # > 0: an options template
    received: float = 0.0         # monotonic time of the last definition or refresh
    plan: object = field(default=None, repr=False)   # the decoder's compiled plan (cache)

    def __post_init__(self) -> None:
        lengths = [f.length for f in self.fields]
        self.record_length = None if VARIABLE in lengths else sum(lengths)
        self.min_length = sum(1 if n == VARIABLE else n for n in lengths)

    @property
    def is_options(self) -> bool:
        return self.scope_count > 0

    def same_definition(self, other: Template) -> bool:
        return self.fields == other.fields and self.scope_count == other.scope_count


class TemplateStore:
    """The templates of one observation domain of one transport session."""

    def __init__(self) -> None:
        self.templates: dict[int, Template] = {}

    def get(self, template_id: int) -> Template | None:
        return self.templates.get(template_id)

    def add(self, template: Template) -> str:
        """Define or refresh; returns "new", "refresh" (same definition) or "changed"."""
        old = self.templates.get(template.template_id)
        if old is not None and old.same_definition(template):
            old.received = template.received
            return "refresh"
        self.templates[template.template_id] = template
        return "new" if old is None else "changed"

    def withdraw(self, template_id: int, options: bool) -> int:
        """Remove one template, or all data (options) templates when template_id is 2 (3)."""
        if template_id in (2, 3):
            doomed = [tid for tid, t in self.templates.items() if t.is_options == options]
        else:
            doomed = [template_id] if template_id in self.templates else []
        for tid in doomed:
            del self.templates[tid]
        return len(doomed)

    def expire(self, older_than: float) -> int:
        doomed = [tid for tid, t in self.templates.items() if t.received < older_than]
        for tid in doomed:
            del self.templates[tid]
        return len(doomed)

    def __len__(self) -> int:
        return len(self.templates)
