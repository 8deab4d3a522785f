"""traffic_repeater: forward every batch from input to output unchanged, without decoding."""

from __future__ import annotations

from dataclasses import dataclass

from libtrap_py.cli import module_command
from libtrap_py.message import Message
from libtrap_py.module import Module, param


@dataclass
class RepeaterParams:
    no_eof: bool = param(False, "-n", "Do not send end-of-stream when the input ends.")


class TrafficRepeater(Module):
    name = "traffic_repeater"
    description = ("Forward records unchanged from the input to the output (any interface "
                   "types, any template), e.g. to serve a file on a socket.")
    Params = RepeaterParams

    def setup(self) -> None:
        self.send_eof_at_end = not self.params.no_eof

    def on_message(self, message: Message, index: int) -> None:
        self.forward(message)


main = module_command(TrafficRepeater)

if __name__ == "__main__":
    main()
