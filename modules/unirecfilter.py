"""unirecfilter: select records by a filter and project them onto output templates."""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass

from libtrap_py.cli import module_command
from libtrap_py.formats import DataFormat
from libtrap_py.message import Message
from libtrap_py.module import Module, param
from unirec import RecordBatch, Template
from unirec.batch import column_from_values
from unirec.filter import BoundFilter, compile_filter, parse_filter

from .unirecfilter_rules import OutputRule, parse_output_template, parse_rules_file

log = logging.getLogger("unirecfilter")
MAX_OUTPUTS = 32


@dataclass
class FilterParams:
    filter: str = param("", "-F", "Filter for the single output (empty = pass everything).")
    file: str = param("", "-f", "File of 'TEMPLATE:FILTER;' entries, one per output; "
                                "SIGUSR1 reloads it.")
    output_template: str = param("", "-O", "Output template, NAME=value items set defaults "
                                           "(default: the input template).")
    count: int = param(0, "-c", "Stop after this many received records (0 = no limit).")
    no_eof: bool = param(False, "-n", "Do not send end-of-stream at the end.")

    def validate(self) -> None:
        if self.filter and self.file:
            raise ValueError("-F and -f cannot be used together")
        if self.count < 0:
            raise ValueError(f"-c {self.count}: must be > 0")
        if self.filter:
            parse_filter(self.filter)


class UnirecFilter(Module):
    name = "unirecfilter"
    description = ("Send the records that match a filter to the output, projected onto an "
                   "output template; with -f, a template and filter per output.")
    inputs, outputs = 1, None
    Params = FilterParams

    def setup(self) -> None:
        self.send_eof_at_end = not self.params.no_eof
        self.rules = self._load_rules()
        self.reload_requested = False
        self.received = 0
        self.input_template: Template | None = None
        self.bound: list[BoundFilter | None] = []
        signal.signal(signal.SIGUSR1, lambda *_: setattr(self, "reload_requested", True))

    def _load_rules(self) -> list[OutputRule]:
        p = self.params
        outputs = len(self.ports)
        if p.file:
            if p.output_template:
                log.warning("-O is ignored together with -f")
            rules = parse_rules_file(p.file)
            if len(rules) != outputs:
                raise ValueError(f"-f {p.file}: {len(rules)} entries for {outputs} outputs")
            return rules
        if outputs != 1:
            raise ValueError(f"{outputs} outputs need -f with one entry per output")
        rule = OutputRule(filter_text=p.filter or None)
        if p.output_template:
            rule.template, rule.defaults = parse_output_template(p.output_template)
        return [rule]

    def on_format(self, fmt: DataFormat, index: int) -> None:
        self.input_template = fmt.template
        self.bound = []
        for position, rule in enumerate(self.rules):
            bound = compile_filter(rule.filter_text, fmt.template) if rule.filter_text else None
            for warning in bound.warnings if bound else ():
                log.warning("output %d: %s", position, warning)
            self.bound.append(bound)
            self.set_output_template(rule.template or fmt.template, position)

    def on_message(self, message: Message, index: int) -> None:
        if self.reload_requested:
            self.reload_requested = False
            self.rules = self._load_rules()
            self.on_format(message.format, index)  # type: ignore[arg-type]
            log.info("reloaded %s", self.params.file)
        batch = None
        for position, (rule, bound) in enumerate(zip(self.rules, self.bound, strict=True)):
            if bound is None and rule.template is None:
                self.forward(message, position)
                continue
            batch = batch if batch is not None else message.batch()
            selected = bound.select(batch) if bound is not None else batch
            if selected.length:
                self.emit(self._project(selected, rule), position)
        self.received += message.count
        if self.params.count and self.received >= self.params.count:
            self.request_stop()

    def _project(self, batch: RecordBatch, rule: OutputRule) -> RecordBatch:
        if rule.template is None:
            return batch
        projected = batch.project(rule.template)
        for name, value in rule.defaults.items():
            if name not in batch.template.index:
                position = rule.template.index[name]
                projected.columns[position] = column_from_values(
                    rule.template.types[position], [value] * batch.length)
        return projected


main = module_command(UnirecFilter)

if __name__ == "__main__":
    main()
