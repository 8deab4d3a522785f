"""The command line: `nemea supervisor` (run profiles of modules, here) and `nemea supcli`
(control a running supervisor, in supcli.py). Both are click commands: `supervisor_main` and
`supcli_main`. Errors are one line, `error: ...`; tracebacks only with -v."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

import click

from .errors import ConfigError, SupervisorError
from .supcli import CONTEXT, EXIT_FAILED, EXIT_OK, print_error, supcli_main

__all__ = ["main", "supcli_main", "supervisor_main"]


# ================================ nemea supervisor ============================================

@click.command("supervisor", context_settings=CONTEXT)
@click.option("-c", "--config", "config_path", required=True,
              type=click.Path(path_type=Path), help="The configuration (TOML), e.g. "
              "configs/sample.toml.")
@click.option("-d", "--daemon", is_flag=True, help="Run in the background (pid file, control "
              "socket); exits once the daemon is ready.")
@click.option("-L", "--logs-path", type=click.Path(path_type=Path), default=None,
              help="Log directory (overrides [supervisor] log-dir).")
@click.option("-s", "--socket", "socket_path", type=click.Path(path_type=Path), default=None,
              help="Control socket (overrides [supervisor] socket).")
@click.option("-p", "--pid-file", type=click.Path(path_type=Path), default=None,
              help="Pid file (overrides [supervisor] pid-file).")
@click.option("--cycle", type=click.FloatRange(0.01, 60.0), default=None,
              help="Seconds between service cycles (overrides [supervisor] cycle).")
@click.option("--check", is_flag=True, help="Only validate the configuration and exit.")
@click.option("-v", "--verbose", count=True, help="Debug logging; tracebacks on errors.")
def supervisor_main(config_path: Path, daemon: bool, logs_path: Path | None,
                    socket_path: Path | None, pid_file: Path | None, cycle: float | None,
                    check: bool, verbose: int) -> None:
    """Start the modules of a configuration and keep them running.

    Each module runs in its own process group with its output in LOGDIR/modules_logs; a module
    that crashes is restarted at most module-restarts times a minute, then disabled. SIGTERM or
    SIGINT stops every module and the supervisor, SIGHUP reloads the configuration. Control it
    with `nemea supcli`.
    """
    overrides: dict[str, Any] = {}
    for key, value in (("log-dir", logs_path), ("socket", socket_path),
                       ("pid-file", pid_file)):
        if value is not None:
            overrides[key] = str(value.absolute())
    if cycle is not None:
        overrides["cycle"] = cycle
    try:
        code = _run_supervisor(config_path, overrides, daemon, check, verbose)
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        print_error(f"supervisor: {type(exc).__name__}: {exc}")
        code = EXIT_FAILED
    sys.exit(code)


def _run_supervisor(config_path: Path, overrides: dict, daemon: bool, check: bool,
                    verbose: int) -> int:
    from .daemon import Daemon  # the validator alone (--check) stays light
    from .validate import load_config
    try:
        config = load_config(config_path, overrides)
    except ConfigError as exc:
        for warning in exc.warnings:
            click.echo(f"warning: {warning}", err=True)
        print_error(str(exc))
        return EXIT_FAILED
    for warning in config.warnings:
        click.echo(f"warning: {warning}", err=True)
    if check:
        click.echo(f"{config_path}: configuration OK: {len(config.profiles)} profile(s), "
                   f"{len(config.modules)} module(s)")
        return EXIT_OK
    notifier = None
    if daemon:
        from .daemonize import daemonize
        notifier = daemonize()
    supervisor = Daemon(config, overrides, foreground=not daemon, verbose=verbose)
    try:
        supervisor.open()
    except SupervisorError as exc:
        if notifier is not None:
            notifier.failed(f"error: {exc}")
        else:
            print_error(str(exc))
        return EXIT_FAILED
    try:
        return supervisor.run(ready=notifier.ready if notifier else None)
    except Exception as exc:
        if notifier is not None:
            notifier.failed(f"error: {type(exc).__name__}: {exc}")
        raise


# ================================ python -m supervisor.cli ====================================

@click.group(context_settings=CONTEXT)
def main() -> None:
    """The supervisor's commands (normally run as `nemea supervisor` and `nemea supcli`)."""


main.add_command(supervisor_main, "supervisor")
main.add_command(supcli_main, "supcli")

if __name__ == "__main__":
    main()
