"""What every input interface shares: the required format, negotiation and counters."""

from __future__ import annotations

from dataclasses import dataclass

from .formats import ANY_UNIREC, DataFormat, negotiate
from .ifc_spec import IfcSpec
from .message import Message


@dataclass
class InputCounters:
    messages: int = 0
    buffers: int = 0


class InputInterface:
    """Base of the u/t/f inputs. `receive(timeout_ms)` returns a Message, or None when nothing
    arrived in time (timeout_ms < 0 waits as long as it takes)."""

    def __init__(self, spec: IfcSpec, required: DataFormat = ANY_UNIREC):
        self.spec = spec
        self.required = required
        self.counters = InputCounters()
        self.format: DataFormat | None = None
        self.ended = False
        self._changed = False

    def _accept_format(self, fmt: DataFormat, where: str) -> None:
        """Negotiate a newly announced format (raises FormatMismatch)."""
        subset = negotiate(fmt, self.required, where)
        self._changed = subset or (self.format is not None and fmt != self.format)
        self.format = fmt

    def _data(self, payload: bytes | None = None, batch=None) -> Message:
        message = Message(self.format, payload=payload, batch=batch,
                          format_changed=self._changed)
        self._changed = False
        self.counters.messages += message.count
        self.counters.buffers += 1
        return message

    def _eof(self) -> Message:
        self.ended = True
        return Message.eof(self.format)

    def receive(self, timeout_ms: int = -1) -> Message | None:
        raise NotImplementedError

    def poll_handle(self):
        """A zmq socket to poll for readiness, or None when the input is always ready."""
        return None

    @property
    def connected(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def stats(self) -> dict:
        return {"ifc_type": ord(self.spec.kind.value), "ifc_id": self.spec.ifc_id,
                "ifc_state": int(self.connected), "messages": self.counters.messages,
                "buffers": self.counters.buffers}
