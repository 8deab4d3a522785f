"""merger: merge N inputs into one output; the output template is the union of the inputs'."""

from __future__ import annotations

from dataclasses import dataclass

from libtrap_py.cli import module_command
from libtrap_py.formats import DataFormat
from libtrap_py.message import Message
from libtrap_py.module import Module, param
from unirec import Template


@dataclass
class MergerParams:
    unirec: str = param("", "-u", "Fixed output template: only these fields are copied; do "
                                  "not wait for the input templates.")
    no_eof: bool = param(False, "-n", "Do not send end-of-stream at the end.")
    ignore_eof: bool = param(False, "-I", "Ignore end-of-stream on the inputs (keep running).")

    def validate(self) -> None:
        if self.unirec:
            Template.parse(self.unirec)


class Merger(Module):
    name = "merger"
    description = ("Merge records from several inputs into one output. The output template "
                   "is the union of the input templates (fields an input lacks are zero/empty),"
                   " or the fixed template of -u.")
    inputs, outputs = (1, 32), 1
    Params = MergerParams

    def setup(self) -> None:
        self.send_eof_at_end = not self.params.no_eof
        self.ignore_eof = self.params.ignore_eof
        self.templates: dict[int, Template] = {}
        self.waiting: list[Message] = []
        self.union: Template | None = None
        if self.params.unirec:
            self.union = Template.parse(self.params.unirec)
            self.set_output_template(self.union)

    def on_format(self, fmt: DataFormat, index: int) -> None:
        self.templates[index] = fmt.template
        if self.params.unirec or len(self.templates) < self.input_count:
            return
        union = Template.union(*self.templates.values()) if self.union is None \
            else self.union.union(fmt.template)
        if union != self.union:
            self.union = union
            self.set_output_template(union)

    def on_message(self, message: Message, index: int) -> None:
        if self.union is None:
            self.waiting.append(message)
            return
        for waiting in self.waiting:
            self._send(waiting)
        self.waiting = []
        self._send(message)

    def _send(self, message: Message) -> None:
        if message.template == self.union:
            self.forward(message)
        else:
            self.emit(message.batch().project(self.union))

    def finish(self) -> None:
        if self.waiting:   # some input ended before sending anything: merge what came
            self.union = Template.union(*self.templates.values())
            self.set_output_template(self.union)
            for waiting in self.waiting:
                self._send(waiting)
            self.waiting = []


main = module_command(Merger)

if __name__ == "__main__":
    main()
