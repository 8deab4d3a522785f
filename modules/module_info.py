"""`nemea info PID`: ask a running module for its counters and description (JSON)."""

from __future__ import annotations

import json
import sys

import click

from libtrap_py.service import query


@click.command("info", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("pid", type=int)
@click.option("--request", type=click.Choice(["stats", "info"]), default=None,
              help="Only this part (default: both).")
def main(pid: int, request: str | None) -> None:
    """Print the statistics (per-interface counters) and description of module PID."""
    try:
        parts = [request] if request else ["info", "stats"]
        answer = {part: query(pid, part) for part in parts}
    except OSError as exc:
        click.echo(f"error: info: {exc}", err=True)
        sys.exit(1)
    click.echo(json.dumps(answer if not request else answer[request], indent=2))


if __name__ == "__main__":
    main()
