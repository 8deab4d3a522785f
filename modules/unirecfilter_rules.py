"""unirecfilter's output rules: `-O` templates with defaults and the `-f` rules file."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from unirec import Template, TemplateError
from unirec.filter import parse_filter
from unirec.text_values import parse_value


@dataclass
class OutputRule:
    """What one output gets: records passing `filter_text`, in `template` (None = the input's),
    with `defaults` for fields the input lacks."""

    template: Template | None = None
    filter_text: str | None = None
    defaults: dict[str, object] = field(default_factory=dict)


def parse_output_template(text: str, where: str = "-O") -> tuple[Template, dict[str, object]]:
    """`ipaddr SRC_IP,string MESSAGE="n/a",uint32 TAG=1` -> template and raw default values."""
    items = next(csv.reader([text], skipinitialspace=True, escapechar="\\"))
    specs, defaults = [], {}
    for item in items:
        spec, sep, value = item.partition("=")
        specs.append(spec.strip())
        if sep:
            defaults[spec.split()[-1]] = value.strip()
    try:
        template = Template.parse(",".join(specs))
    except TemplateError as exc:
        raise ValueError(f"{where}: {exc}") from None
    raw = {}
    for name, value in defaults.items():
        ftype = template.field(name).type
        try:
            raw[name] = parse_value(ftype, value.strip('"'))
        except ValueError as exc:
            raise ValueError(f"{where}: default of {name} ({ftype.name}): {exc}") from None
    return template, raw


def parse_rules_file(path: str) -> list[OutputRule]:
    """Entries `TEMPLATE:FILTER;` in output order, `#` comments, final `;` mandatory."""
    try:
        with open(path, encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except OSError as exc:
        raise ValueError(f"-f {path}: {exc.strerror}") from None
    text = "\n".join(line.split("#", 1)[0] for line in lines)
    entries = text.split(";")
    if entries[-1].strip():
        raise ValueError(f"-f {path}: the last entry must end with ';'")
    rules = []
    for number, entry in enumerate(entries[:-1], start=1):
        template_text, sep, filter_text = entry.strip().partition(":")
        if not sep:
            raise ValueError(f"-f {path}: entry {number} {entry.strip()!r}: expected "
                             "TEMPLATE:FILTER;")
        rule = OutputRule(filter_text=filter_text.strip() or None)
        if template_text.strip():
            rule.template, rule.defaults = parse_output_template(
                template_text.strip(), f"-f {path}: entry {number}")
        if rule.filter_text:
            parse_filter(rule.filter_text)   # syntax errors now, not on the first record
        rules.append(rule)
    return rules
