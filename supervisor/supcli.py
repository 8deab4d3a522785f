"""`nemea supcli`: talk to a running supervisor over its control socket. Errors are one line,
`error: ...`; tracebacks only with -v.

Exit codes: 0 ok; 1 the supervisor refused the command (unknown name, invalid configuration on
reload, ...); 2 usage; 3 `status`: a module that should run does not; 4 the supervisor cannot be
reached (the reason in one line)."""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import click

from .client import DEFAULT_TIMEOUT, SupervisorClient
from .errors import ControlError, Unreachable
from .render_info import render_module_info, render_supervisor_info
from .render_stats import render_stats
from .render_status import all_running, render_detailed, render_status

CONTEXT = {"help_option_names": ["-h", "--help"]}
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_RUNNING, EXIT_UNREACHABLE = 0, 1, 2, 3, 4


def print_error(message: str) -> None:
    for line in str(message).splitlines() or [""]:
        click.echo(f"error: {line}", err=True)


class Cli:
    def __init__(self, socket_path: Path, timeout: float, as_json: bool, color: bool | None,
                 verbose: int):
        self.socket_path = socket_path
        self.timeout = timeout
        self.as_json = as_json
        self.color = color
        self.verbose = verbose

    def call(self, ctx: click.Context, command: str, **args: Any) -> Any:
        try:
            with SupervisorClient(self.socket_path, self.timeout) as client:
                return client.call(command, **args)
        except Unreachable as exc:
            self.fail(ctx, "unreachable", f"cannot reach the supervisor: {exc}",
                      EXIT_UNREACHABLE)
        except ControlError as exc:
            self.fail(ctx, exc.code, str(exc), EXIT_FAILED)

    def fail(self, ctx: click.Context, code: str, message: str, exit_code: int) -> None:
        if self.as_json:
            click.echo(json.dumps({"error": {"code": code, "message": message}}))
        else:
            print_error(message)
        ctx.exit(exit_code)

    def json_out(self, value: Any) -> None:
        click.echo(json.dumps(value, indent=2))

    def use_color(self) -> bool:
        return sys.stdout.isatty() if self.color is None else self.color


def json_option(function):
    return click.option("--json", "as_json", is_flag=True,
                        help="Print the reply as JSON.")(function)


def _cli(ctx: click.Context, as_json: bool) -> Cli:
    cli: Cli = ctx.find_object(Cli)
    if as_json:
        cli.as_json = True
    return cli


def _socket_from_config(config_path: Path) -> Path:
    from . import paths
    from .loader import read_toml
    try:
        data = read_toml(config_path)
    except ValueError as exc:
        raise click.UsageError(f"{config_path}: {exc}") from None
    value = data.get("supervisor", {}).get("socket", "") if isinstance(
        data.get("supervisor"), dict) else ""
    if not isinstance(value, str) or not value:
        return paths.default_socket()
    return paths.resolve(value, config_path.absolute().parent)


class _Group(click.Group):
    """Unexpected errors as one line (a traceback with -v)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            cli = ctx.find_object(Cli)
            if cli is not None and cli.verbose:
                traceback.print_exc()
            print_error(f"supcli: {type(exc).__name__}: {exc}")
            ctx.exit(EXIT_FAILED)


@click.group("supcli", cls=_Group, context_settings=CONTEXT)
@click.option("-s", "--socket", "socket_path", type=click.Path(path_type=Path), default=None,
              help="The supervisor's control socket (default: from -c, else "
              "$XDG_RUNTIME_DIR/nemea-supervisor/supervisor.sock or "
              "/tmp/nemea-supervisor-UID/supervisor.sock).")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Take the socket from this configuration's [supervisor] socket.")
@click.option("--json", "as_json", is_flag=True, help="Print replies as JSON.")
@click.option("-t", "--timeout", type=click.FloatRange(0.1, 3600), default=DEFAULT_TIMEOUT,
              show_default=True, help="Seconds to wait for a reply.")
@click.option("--color/--no-color", default=None, help="Colour the status (default: on a "
              "terminal).")
@click.option("-v", "--verbose", count=True, help="Tracebacks on errors.")
@click.pass_context
def supcli_main(ctx: click.Context, socket_path: Path | None, config_path: Path | None,
                as_json: bool, timeout: float, color: bool | None, verbose: int) -> None:
    """Talk to a running supervisor: status, stats, start/stop/restart/enable/disable NAME,
    reload, info, tail, shutdown.

    Exit codes: 0 ok, 1 command refused, 2 usage, 3 (status) a module that should run does
    not, 4 supervisor unreachable.
    """
    if socket_path is None:
        from .paths import default_socket
        socket_path = _socket_from_config(config_path) if config_path else default_socket()
    ctx.obj = Cli(socket_path, timeout, as_json, color, verbose)


@supcli_main.command("status")
@click.option("-d", "--detailed", is_flag=True, help="Also the service endpoint and the "
              "interfaces of every running module.")
@click.option("--color/--no-color", default=None, help="Colour the table (default: on a "
              "terminal).")
@json_option
@click.pass_context
def status_command(ctx: click.Context, detailed: bool, color: bool | None,
                   as_json: bool) -> None:
    """The configuration status table; exit code 3 when a module that should run does not."""
    cli = _cli(ctx, as_json)
    if color is not None:
        cli.color = color
    snapshot = cli.call(ctx, "status", detailed=detailed)
    if cli.as_json:
        cli.json_out(snapshot)
    else:
        render = render_detailed if detailed else render_status
        click.echo(render(snapshot, cli.use_color()), nl=False, color=cli.use_color())
    ctx.exit(EXIT_OK if all_running(snapshot) else EXIT_NOT_RUNNING)


@supcli_main.command("stats")
@json_option
@click.pass_context
def stats_command(ctx: click.Context, as_json: bool) -> None:
    """CPU, memory and interface counters of every running module."""
    cli = _cli(ctx, as_json)
    stats = cli.call(ctx, "stats")
    if cli.as_json:
        cli.json_out(stats)
    else:
        click.echo(render_stats(stats), nl=False)


def _module_command(name: str, doc: str):
    @click.argument("target", metavar="NAME")
    @json_option
    @click.pass_context
    def command(ctx: click.Context, target: str, as_json: bool) -> None:
        cli = _cli(ctx, as_json)
        result = cli.call(ctx, name, name=target)
        if cli.as_json:
            cli.json_out(result)
            return
        for module in result["modules"]:
            pid = f" (pid {module['pid']})" if module["status"] == "running" else ""
            state = "enabled" if module["enabled"] else "disabled"
            click.echo(f"{module['name']}: {state}, {module['status']}{pid}")
        for note in result["notes"]:
            click.echo(f"note: {note}")
    command.__doc__ = doc
    return supcli_main.command(name)(command)


_module_command("start", "Enable NAME (a module or a profile) and start what should run.")
_module_command("stop", "Disable NAME (a module or a profile) and stop it: SIGINT, then "
                "SIGKILL after the grace period.")
_module_command("restart", "Stop and start again NAME (a module, or the enabled modules of a "
                "profile).")
_module_command("enable", "Enable NAME (module or profile): it runs from now on.")
_module_command("disable", "Disable NAME (module or profile): it is stopped.")


@supcli_main.command("reload")
@json_option
@click.pass_context
def reload_command(ctx: click.Context, as_json: bool) -> None:
    """Re-read and validate the configuration, then start what was added, stop what was
    removed, restart what changed; the rest keeps running untouched."""
    cli = _cli(ctx, as_json)
    result = cli.call(ctx, "reload")
    if cli.as_json:
        cli.json_out(result)
        return
    for warning in result.get("warnings", []):
        click.echo(f"warning: {warning}", err=True)
    parts = [f"{what} {', '.join(result[key]) or '-'}" for key, what in
             (("added", "added"), ("removed", "removed"), ("changed", "restarted"),
              ("toggled", "enabled/disabled"), ("profiles_toggled", "profiles toggled"))]
    click.echo(f"reload: {'; '.join(parts)}; {result['unchanged']} unchanged")


@supcli_main.command("info")
@click.argument("target", metavar="[NAME]", required=False)
@json_option
@click.pass_context
def info_command(ctx: click.Context, target: str | None, as_json: bool) -> None:
    """The supervisor's facts, or NAME's (module or profile) command line, interfaces, log
    files and restarts."""
    cli = _cli(ctx, as_json)
    result = cli.call(ctx, "info", **({"name": target} if target else {}))
    if cli.as_json:
        cli.json_out(result)
    elif target:
        click.echo(render_module_info(result), nl=False)
    else:
        click.echo(render_supervisor_info(result), nl=False)


@supcli_main.command("tail")
@click.argument("target", metavar="NAME")
@click.option("-n", "--lines", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--stream", type=click.Choice(["both", "stdout", "stderr"]), default="both",
              show_default=True)
@json_option
@click.pass_context
def tail_command(ctx: click.Context, target: str, lines: int, stream: str,
                 as_json: bool) -> None:
    """The last lines of a module's stdout and stderr logs."""
    cli = _cli(ctx, as_json)
    result = cli.call(ctx, "tail", name=target, lines=lines)
    if stream != "both":
        result = {stream: result[stream]}
    if cli.as_json:
        cli.json_out(result)
        return
    for number, part in enumerate(result.values()):
        if len(result) > 1:
            click.echo(("\n" if number else "") + f"==> {part['path']} <==")
        for line in part["lines"]:
            click.echo(line)


@supcli_main.command("shutdown")
@json_option
@click.pass_context
def shutdown_command(ctx: click.Context, as_json: bool) -> None:
    """Stop every module and the supervisor."""
    cli = _cli(ctx, as_json)
    result = cli.call(ctx, "shutdown")
    deadline = time.monotonic() + cli.timeout
    while cli.socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    if cli.as_json:
        cli.json_out(result)
    else:
        stopped = ", ".join(result["stopped"]) or "none running"
        click.echo(f"supervisor stopped; modules stopped: {stopped}")
