"""Reading the TOML files: the main file, then every file it includes (recursively, in order).

Only the main file may hold `[supervisor]`; any file may hold `[[profile]]` tables and an
`include` list. Paths in `include` are relative to the including file; a directory means all
`*.toml` in it (sorted), a glob its matches (sorted). Problems are collected, not raised one by
one, so the user sees all of them at once."""

from __future__ import annotations

import difflib
import glob
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import schema
from .location import Where, shown
from .paths import resolve


@dataclass
class RawProfile:
    data: dict
    source: Path
    position: int              # 1-based position in its file, for a profile without a name


@dataclass
class RawConfig:
    path: Path
    supervisor: dict = field(default_factory=dict)
    profiles: list[RawProfile] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def unknown_key(where: Where, key: str, known: dict) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f' (did you mean "{close[0]}"?)' if close else \
        f" (known keys: {', '.join(known)})"
    if key in schema.TOP and known is not schema.TOP:
        hint = " (a top-level key: put it before the first [table] of the file)"
    return where.say(f'unknown key "{key}"{hint}')


def read_toml(path: Path) -> dict:
    """The parsed file; raises ValueError with a one-line reason."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ValueError("file not found") from None
    except IsADirectoryError:
        raise ValueError("is a directory, not a file") from None
    except OSError as exc:
        raise ValueError(exc.strerror or str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"TOML syntax: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text: {exc}") from None


def load(path: Path) -> RawConfig:
    path = Path(path).absolute()
    raw = RawConfig(path=path)
    _load_file(path, raw, stack=[], main=True)
    return raw


def _load_file(path: Path, raw: RawConfig, stack: list[Path], main: bool) -> None:
    where = Where(shown(path))
    real = path.resolve()
    if real in stack:
        chain = " -> ".join(shown(p) for p in [*stack, real])
        raw.errors.append(where.say(f"include cycle: {chain}"))
        return
    if real in (p.resolve() for p in raw.files):
        raw.warnings.append(where.say("included more than once; read only the first time"))
        return
    try:
        data = read_toml(path)
    except ValueError as exc:
        raw.errors.append(where.say(str(exc)))
        return
    raw.files.append(path)
    for key in data:
        if key not in schema.TOP:
            raw.errors.append(unknown_key(where, key, schema.TOP))
    if "supervisor" in data:
        if main:
            try:
                raw.supervisor = schema.table(data["supervisor"])
            except ValueError as exc:
                raw.errors.append(where.key("supervisor", str(exc)))
        else:
            raw.errors.append(where.key("supervisor", "allowed only in the main file "
                                        f"{shown(raw.path)}"))
    try:
        profiles = schema.tables(data.get("profile", []))
    except ValueError as exc:
        raw.errors.append(where.key("profile", str(exc)))
        profiles = []
    raw.profiles.extend(RawProfile(p, path, i) for i, p in enumerate(profiles, 1))
    try:
        includes = schema.string_list(data.get("include", []))
    except ValueError as exc:
        raw.errors.append(where.key("include", str(exc)))
        includes = ()
    for pattern in includes:
        for included in _expand(pattern, path.parent, where, raw):
            _load_file(included, raw, [*stack, real], main=False)


def _expand(pattern: str, base: Path, where: Where, raw: RawConfig) -> list[Path]:
    target = resolve(pattern, base)
    if glob.has_magic(str(target)):
        found = sorted(Path(p) for p in glob.glob(str(target)))
        if not found:
            raw.warnings.append(where.key("include", f'"{pattern}" matches no file'))
        return [p for p in found if p.is_file()]
    if target.is_dir():
        found = sorted(target.glob("*.toml"))
        if not found:
            raw.warnings.append(where.key("include", f'directory "{pattern}" has no *.toml'))
        return found
    if not target.exists():
        raw.errors.append(where.key("include", f'"{pattern}": no such file or directory'))
        return []
    return [target]
