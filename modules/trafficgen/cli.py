"""`nemea trafficgen`: write a synthetic scenario capture and its ground truth."""

from __future__ import annotations

import contextlib
import json
import os
import sys

import click

from .attacks import ATTACKS
from .scenarios import DEFAULT_START, SCENARIOS, check_options, generate
from .truth import parse_time
from .writer import write_pcap


class OneLineErrors(click.Command):
    """Bad options end in one line on stderr ("error: trafficgen: ...") and exit code 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            fail(exc.format_message(), 2)


def fail(message: str, code: int = 1):
    click.echo(f"error: trafficgen: {message}", err=True)
    sys.exit(code)


def _discard(streams: list) -> None:
    """Close and remove the files opened so far (no half-written output stays behind)."""
    for stream in streams:
        stream.close()
        with contextlib.suppress(OSError):
            os.unlink(stream.name)


def _list_scenarios(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    for name, scenario in SCENARIOS.items():
        click.echo(f"{name:18} {scenario.description}")
    click.echo("\nattack sizes (before --scale): " + ", ".join(
        f"{name} {kind.size} {kind.unit}" for name, kind in ATTACKS.items()))
    ctx.exit(0)


@click.command(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"],
                                                    "max_content_width": 100})
@click.option("-o", "--output", required=True, metavar="PCAP", help="The pcap file to write.")
@click.option("--scenario", default="mixed", show_default=True, metavar="NAME",
              help=f"One of: {', '.join(SCENARIOS)} (--list describes them).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed gives the same bytes.")
@click.option("--duration", type=float, default=None, metavar="SECONDS",
              help="Capture length (default: the scenario's, 60 s; demo 20 s).")
@click.option("--start", default=DEFAULT_START, show_default=True, metavar="TIME",
              help="Time of the capture start (ISO 8601, UTC unless an offset is given).")
@click.option("--hosts", type=int, default=None, metavar="N",
              help="Background hosts (default: the scenario's, 20; demo 6).")
@click.option("--scale", type=float, default=1.0, show_default=True,
              help="Factor for the attack sizes (ports, addresses, sessions, queries, SYNs).")
@click.option("--truth", "truth_path", default=None, metavar="PATH",
              help="Ground truth JSON (default: PCAP.truth.json).")
@click.option("--list", "list_", is_flag=True, expose_value=False, is_eager=True,
              callback=_list_scenarios, help="List the scenarios and exit.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
def main(output: str, scenario: str, seed: int, duration: float | None, start: str,
         hosts: int | None, scale: float, truth_path: str | None, quiet: bool) -> None:
    """Write a realistic synthetic capture: benign background traffic (web/HTTPS, DNS, SSH,
    NTP; IPv4 and some IPv6) plus the attacks of the scenario, and a JSON ground truth of
    the attacks (who, whom, ports, first/last packet time, packet count)."""
    try:
        check_options(scenario, duration, hosts, scale)
        parse_time(start)
    except ValueError as exc:
        message = str(exc)
        if message.startswith("Invalid isoformat") or "unconverted" in message:
            message = f"--start {start!r}: expected an ISO time like {DEFAULT_START}"
        fail(message, 2)
    truth_path = truth_path or f"{output}.truth.json"
    streams = []
    try:
        for path in (output, truth_path):
            if os.path.isdir(path):
                fail(f"cannot write {path!r}: is a directory")
            streams.append(open(path, "wb"))  # noqa: SIM115 - closed below
    except OSError as exc:
        _discard(streams)
        fail(f"cannot write {exc.filename!r}: {exc.strerror}")
    pcap, truth_file = streams
    try:
        capture = generate(scenario, seed, start, duration, hosts, scale)
        size = write_pcap(pcap, capture.packets)
        truth = {"pcap": os.path.basename(output), **capture.truth}
        truth_file.write((json.dumps(truth, indent=2) + "\n").encode())
    except BaseException:
        _discard(streams)
        raise
    finally:
        for stream in streams:
            stream.close()
    if not quiet:
        click.echo(f"{output}: {len(capture.packets)} packets, {size} bytes, "
                   f"{capture.truth['start']} .. {capture.truth['end']} "
                   f"(scenario {scenario}, seed {seed}); truth: {truth_path}")
        for attack in capture.truth["attacks"]:
            click.echo(f"  {attack['id']:18} {attack['packets']:7} packets  "
                       f"{attack['first']} .. {attack['last']}")
        click.echo(f"  {'background':18} {capture.truth['background']['packets']:7} packets")
