"""Data formats of interfaces and the receiver-side negotiation rule (libtrap's §10)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from unirec import Template, TemplateError

from .errors import FormatMismatch


class FormatType(enum.IntEnum):
    UNKNOWN = 0
    RAW = 1
    UNIREC = 2
    JSON = 3


@dataclass(frozen=True)
class DataFormat:
    """A format type and its spec: the template string (UniRec) or a label (JSON)."""

    type: FormatType
    spec: str = ""

    @classmethod
    def unirec(cls, template: Template | str) -> DataFormat:
        return cls(FormatType.UNIREC, Template.of(template).spec)

    @classmethod
    def json(cls, label: str = "") -> DataFormat:
        return cls(FormatType.JSON, label)

    @property
    def template(self) -> Template:
        return Template.parse(self.spec)

    def __str__(self) -> str:
        return f"{self.type.name}({self.spec})" if self.spec else self.type.name


ANY_UNIREC = DataFormat(FormatType.UNIREC, "")


def negotiate(sender: DataFormat, required: DataFormat, where: str) -> bool:
    """Check `sender` against what the receiver requires. Returns True when the sender has more
    than required (the receiver must decode with the sender's template); raises FormatMismatch
    naming the fields otherwise."""
    if sender.type != required.type:
        raise FormatMismatch(f"{where}: sender sends {sender.type.name}, "
                             f"receiver requires {required.type.name}")
    if sender.type == FormatType.JSON:
        if required.spec and required.spec != sender.spec:
            raise FormatMismatch(f"{where}: sender sends JSON {sender.spec!r}, "
                                 f"receiver requires JSON {required.spec!r}")
        return False
    if sender.type != FormatType.UNIREC:
        return False
    if not sender.spec:
        raise FormatMismatch(f"{where}: sender announced an empty UniRec template")
    if not required.spec:
        return True
    try:
        sent, wanted = Template.parse(sender.spec), Template.parse(required.spec)
    except TemplateError as exc:
        raise FormatMismatch(f"{where}: {exc}") from None
    problems = sent.mismatches(wanted)
    if problems:
        raise FormatMismatch(f"{where}: sender's template lacks required fields: "
                             f"{'; '.join(problems)} (sender sends {sent.spec!r}, "
                             f"receiver requires {wanted.spec!r})")
    return sent != wanted
