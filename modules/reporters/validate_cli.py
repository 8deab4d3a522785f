"""`nemea idea-validate FILE...`: check files of IDEA messages, one JSON object per line.

Prints `FILE:LINE: problem` for every problem, then one summary line; exit status 0 when every
message is valid, 1 otherwise (an unreadable file counts as a problem). `-` reads stdin.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import click

from .idea_validator import ONE_DAY, age_problems, parse_line, validate


@dataclass
class Tally:
    files: int = 0
    messages: int = 0
    invalid: int = 0
    problems: int = 0
    unreadable: int = 0

    def summary(self) -> str:
        noun = "message" if self.messages == 1 else "messages"
        files = "file" if self.files == 1 else "files"
        text = (f"idea-validate: {self.messages} {noun} in {self.files} {files}: "
                f"{self.messages - self.invalid} valid, {self.invalid} invalid "
                f"({self.problems} problem{'' if self.problems == 1 else 's'})")
        if self.unreadable:
            text += f", {self.unreadable} unreadable"
        return text

    @property
    def ok(self) -> bool:
        return not (self.problems or self.unreadable)


def check_lines(lines: Iterable[str], strict: bool = False,
                max_age: float | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line number, problems) for every non-empty line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        message, problems = parse_line(line)
        if message is not None:
            problems = problems + validate(message, strict=strict)
            if max_age is not None and isinstance(message, dict):
                problems += age_problems(message, max_age)
        yield number, problems


def _open_lines(path: str) -> Iterable[str]:
    if path == "-":
        return sys.stdin
    return open(path, encoding="utf-8", errors="replace")


@click.command("idea-validate", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--strict", is_flag=True,
              help="Also count warnings: categories outside the taxonomy, unknown keys, nulls, "
                   "ports out of range...")
@click.option("--check-age", is_flag=True,
              help="Also apply the reporters' age check: Event/Cease/DetectTime within "
                   "[CreateTime - max age, CreateTime].")
@click.option("--max-age", type=float, default=ONE_DAY, show_default=True,
              help="Seconds for --check-age.")
def main(files: tuple[str, ...], strict: bool, check_age: bool, max_age: float) -> None:
    """Validate IDEA0 messages (one JSON object per line) as idea.md §7 lists the checks.
    Exit status 0 when every message is valid, 1 otherwise."""
    tally = Tally()
    for path in files:
        tally.files += 1
        try:
            stream = _open_lines(path)
            try:
                for number, problems in check_lines(stream, strict,
                                                    max_age if check_age else None):
                    tally.messages += 1
                    if problems:
                        tally.invalid += 1
                        tally.problems += len(problems)
                    for problem in problems:
                        click.echo(f"{path}:{number}: {problem}")
            finally:
                if stream is not sys.stdin:
                    stream.close()  # type: ignore[union-attr]
        except OSError as exc:
            tally.unreadable += 1
            click.echo(f"{path}: cannot read: {exc.strerror or exc}")
    click.echo(tally.summary())
    sys.exit(0 if tally.ok else 1)


if __name__ == "__main__":
    main()
