"""Turn a Module class into a click command: `-i`, `-v`, its typed parameters, `--help`."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import select
import signal
import sys
import traceback

import click

from unirec import UnirecError

from .errors import TrapError
from .ifc_spec import parse_ifc_specs
from .module import Module
from .runner import Runner
from .stop_flag import STOP

IFC_HELP = """\b
Interfaces (-i): inputs first, then outputs, separated by commas.
  u:NAME            unix socket (TRAP_SOCKET_DIR, default /tmp)
  t:[HOST:]PORT     TCP (an output listens on PORT, an input connects)
  f:PATH            file; output :w (default) :a :size=MiB :time=MIN;
                    input: a path, glob or space-separated list
  b:                blackhole output (discards)
Parameters after ':' on any interface: timeout=WAIT|NO_WAIT|HALF_WAIT|<us>,
buffer=on|off, autoflush=off|<us>; outputs u/t: max_clients=, buffer_count=,
buffer_size=. Example: -i u:flows,u:alerts:timeout=NO_WAIT:buffer=off"""

_CLICK_TYPES = {int: click.INT, float: click.FLOAT, str: click.STRING}


def _counts_text(module: type[Module]) -> str:
    def one(count, what):
        if count is None:
            count = (1, 32)
        text = f"{count[0]}-{count[1]}" if isinstance(count, tuple) else str(count)
        return f"{text} {what}"
    return f"Interfaces: {one(module.inputs, 'input(s)')}, {one(module.outputs, 'output(s)')}."


def _option(field: dataclasses.Field) -> click.Option:
    meta = field.metadata
    long_name = "--" + field.name.replace("_", "-")
    names = [field.name, long_name] + ([meta["short"]] if meta.get("short") else [])
    default = field.default if field.default is not dataclasses.MISSING \
        else field.default_factory()  # type: ignore[misc]
    if meta.get("flag") or isinstance(default, bool):
        return click.Option(names, is_flag=True, default=default,
                            help=meta.get("help", ""))
    if meta.get("multiple"):
        return click.Option(names, multiple=True, default=default,
                            help=meta.get("help", ""), show_default=bool(default))
    kind = meta.get("type") or _CLICK_TYPES.get(type(default), click.STRING)
    return click.Option(names, type=kind, default=default, metavar=meta.get("metavar"),
                        required=meta.get("required", False), help=meta.get("help", ""),
                        show_default=default is not None and default != "")


def _setup_logging(verbose: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")


def _stdout_reader_gone() -> bool:
    """True when stdout is a pipe whose reader has closed it (Linux reports POLLERR on the
    write end then); False for a live pipe, a file or a terminal."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):   # no stdout, or no poll on this system
        return False


def _end_process(code: int) -> None:
    """Exit without the interpreter's teardown, which frees every imported module one by one
    (30-40 ms: a fifth of a short run). Nothing is left to lose by then: Runner.run has closed
    every interface (files flushed and closed; the ZeroMQ context destroyed with linger, so the
    sockets delivered what was in flight), modules close their own files in finish(), and the
    threads left are the daemon service thread. Only logging and the standard streams remain.
    Under a profiler or a tracer (cProfile, coverage) the normal exit runs, so that they can
    write what they collected."""
    logging.shutdown()
    with contextlib.suppress(BrokenPipeError):   # the reader of stdout went away (as above)
        sys.stdout.flush()
    sys.stderr.flush()
    if sys.getprofile() is None and sys.gettrace() is None:
        os._exit(code)
    sys.exit(code)


def module_command(module_cls: type[Module]) -> click.Command:
    """A click command that parses options, opens the interfaces and runs the module."""

    def callback(interfaces: str | None, verbose: int, **values) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):   # a stop during start-up is a clean stop
            signal.signal(sig, lambda *_: STOP.set())
        _setup_logging(verbose)
        try:
            params = module_cls.Params(**values)
            check = getattr(params, "validate", None)
            if check is not None:
                check()
            inputs, outputs = parse_ifc_specs(interfaces, module_cls.inputs, module_cls.outputs)
            for spec in inputs + outputs:
                for warning in spec.warnings:
                    logging.getLogger(module_cls.name).warning("%s", warning)
            runner = Runner(module_cls(params), inputs, outputs)
            code = runner.run()
        except (TrapError, UnirecError, ValueError, OSError) as exc:
            if isinstance(exc, BrokenPipeError) and _stdout_reader_gone():
                # the reader of our stdout went away (`| head`): not an error
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                sys.exit(0)
            if verbose:
                traceback.print_exc()
            click.echo(f"error: {module_cls.name}: {exc}", err=True)
            sys.exit(1)
        except Exception as exc:
            if verbose:
                traceback.print_exc()
            click.echo(f"error: {module_cls.name}: internal error {type(exc).__name__}: {exc}"
                       " (run with -v for the traceback)", err=True)
            sys.exit(2)
        _end_process(code)

    params = [
        click.Option(["interfaces", "-i", "--interfaces"], metavar="IFC_SPEC",
                     help="Interface specifier, see above."),
        click.Option(["verbose", "-v", "--verbose"], count=True,
                     help="More logging: -v info, -vv debug."),
    ]
    params += [_option(f) for f in dataclasses.fields(module_cls.Params)]
    return click.Command(
        module_cls.name, callback=callback, params=params,
        help=f"{module_cls.description}\n\n{_counts_text(module_cls)}\n\n{IFC_HELP}",
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
