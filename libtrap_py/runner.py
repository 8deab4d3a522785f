"""The runtime that runs a Module as a process: interfaces, receive loop, ticks, EOF, signals."""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import replace

from .errors import Terminated, TrapTimeout
from .formats import ANY_UNIREC, DataFormat
from .ifc_spec import IfcSpec
from .input_base import InputInterface
from .interfaces import end_socket_context, open_input, open_output, uses_sockets, wait_readable
from .module import Module
from .output_base import OutputInterface
from .service import ServiceEndpoint
from .stop_flag import STOP

log = logging.getLogger(__name__)
POLL_MS = 100
DRAIN_SECONDS_ON_SIGNAL = 5.0
DRAIN_SECONDS_AT_END = 600.0


class InterfacePort:
    """Connects a module's emit calls to a real output; a send timeout is logged, not fatal
    (the output has already counted the dropped records)."""

    def __init__(self, output: OutputInterface):
        self.output = output

    @property
    def format(self) -> DataFormat | None:
        return self.output.format

    def set_format(self, fmt: DataFormat) -> None:
        self.output.set_format(fmt)

    def _guard(self, send, *args) -> None:
        try:
            send(*args)
        except TrapTimeout as exc:
            log.debug("%s", exc)

    def send_batch(self, batch) -> None:
        self._guard(self.output.send_batch, batch)

    def send_record(self, record) -> None:
        self._guard(self.output.send_record, record)

    def send_payload(self, payload: bytes, count: int) -> None:
        self._guard(self.output.send_payload, payload, count)

    def send_messages(self, messages: list) -> None:
        self._guard(self.output.send_messages, messages)

    def flush(self) -> None:
        self._guard(self.output.flush, False)


def required_format(module: Module) -> DataFormat:
    required = module.required
    if isinstance(required, DataFormat):
        return required
    return DataFormat.unirec(required) if required else ANY_UNIREC


class Runner:
    def __init__(self, module: Module, input_specs: list[IfcSpec], output_specs: list[IfcSpec]):
        self.module = module
        self.outputs: list[OutputInterface] = []
        self.inputs: list[InputInterface] = []
        self._uses_sockets = uses_sockets([*input_specs, *output_specs])
        try:
            if module.output_timeout is not None:
                output_specs = [replace(spec, timeout=module.output_timeout)
                                for spec in output_specs]
            self.outputs = [open_output(spec) for spec in output_specs]
            required = required_format(module)
            self.inputs = [open_input(spec, required) for spec in input_specs]
        except BaseException:
            self._close_all(0.1)
            raise
        module.ports = [InterfacePort(output) for output in self.outputs]
        module.input_count = len(self.inputs)
        self.service = ServiceEndpoint(os.getpid(), {"stats": self.stats, "info": self.info})

    def stats(self) -> dict:
        return {"in_cnt": len(self.inputs), "out_cnt": len(self.outputs),
                "in": [i.stats() for i in list(self.inputs)],
                "out": [o.stats() for o in list(self.outputs)], "module": self.module.stats()}

    def info(self) -> dict:
        module = self.module
        return {"name": module.name, "description": module.description, "pid": os.getpid(),
                "num_ifc_in": len(self.inputs), "num_ifc_out": len(self.outputs),
                "params": {k: repr(v) for k, v in vars(module.params).items()},
                "interfaces": [i.spec.text for i in self.inputs]
                + [o.spec.text for o in self.outputs]}

    def run(self) -> int:
        module = self.module
        previous = {sig: signal.signal(sig, lambda *_: STOP.set())
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            module.setup()
        except BaseException:
            self._restore_signals(previous)
            self._close_all(0.1)
            raise
        graceful = True
        try:
            self._loop()
        except Terminated:
            graceful = False
        finally:
            self._restore_signals(previous)
            stopped_by_signal = STOP.is_set()
            STOP.clear()
            self._finish(graceful and not stopped_by_signal)
        return 0

    @staticmethod
    def _restore_signals(previous: dict) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def _loop(self) -> None:
        module = self.module
        next_tick = time.monotonic() + module.tick_interval
        while not STOP.is_set() and not module.stop_requested:
            active = [(i, ifc) for i, ifc in enumerate(self.inputs) if not ifc.ended]
            if not self.inputs and not module.produce():
                return
            if not active and self.inputs:
                return
            got_any = False
            for index, ifc in active:
                wait = POLL_MS if len(active) == 1 else 0
                message = ifc.receive(wait)
                if message is None:
                    continue
                got_any = True
                self._dispatch(message, index)
                if module.stop_requested:
                    return
            now = time.monotonic()
            for output in self.outputs:
                try:
                    output.tick(now)
                except TrapTimeout as exc:
                    log.debug("%s", exc)
            if now >= next_tick:
                module.on_tick(time.time())
                next_tick = now + module.tick_interval
            if not got_any and len(active) > 1:
                self._poll([ifc for _, ifc in active])

    def _poll(self, inputs: list[InputInterface]) -> None:
        handles = [ifc.poll_handle() for ifc in inputs]
        if any(h is None for h in handles):   # an input waiting to reconnect
            time.sleep(0.01)
            return
        wait_readable(handles, POLL_MS)

    def _dispatch(self, message, index: int) -> None:
        module = self.module
        if message.is_eof:
            module.on_eof(index)
            if module.ignore_eof and self.inputs[index].poll_handle() is not None:
                self.inputs[index].ended = False
            return
        if message.format_changed or self.inputs[index].counters.buffers == 1:
            module.on_format(message.format, index)
        module.on_message(message, index)

    def _finish(self, graceful: bool) -> None:
        module = self.module
        grace = DRAIN_SECONDS_AT_END if graceful else DRAIN_SECONDS_ON_SIGNAL
        try:
            module.finish()
            if module.send_eof_at_end:   # also where nothing was sent: the readers end too
                for output in self.outputs:
                    output.send_eof(wait_for_reader=graceful)
        except (Terminated, TrapTimeout) as exc:
            log.warning("while finishing: %s", exc)
        finally:
            self._close_all(grace)

    def _close_all(self, grace: float) -> None:
        for ifc in self.inputs:
            ifc.close()
        for output in self.outputs:
            try:
                output.close(grace)
            except Terminated:
                output.close(0.1)
        if getattr(self, "service", None) is not None:
            self.service.close()
        if self._uses_sockets:
            end_socket_context()
