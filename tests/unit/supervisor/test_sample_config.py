"""configs/sample.toml: valid, and it shows every key of the schema with its default."""

from __future__ import annotations

import re
import tomllib

from supervisor import schema
from supervisor.validate import load_config
from tests.conftest import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "configs" / "sample.toml"


def test_sample_is_valid_without_warnings():
    config = load_config(SAMPLE)
    assert config.warnings == ()
    assert [m.name for m in config.modules] == ["replay", "csv_log"]


def test_sample_shows_every_key():
    text = SAMPLE.read_text()
    shown = set(re.findall(r"^#?\s*([a-z-]+)\s*=", text, re.MULTILINE))
    shown |= set(re.findall(r"^\[\[?(?:profile\.)?(?:module\.)?([a-z]+)\]\]?", text,
                            re.MULTILINE))
    for level, keys in schema.LEVELS.items():
        missing = set(keys) - shown
        assert not missing, f"{level} keys missing from {SAMPLE.name}: {sorted(missing)}"


def test_sample_supervisor_values_are_the_defaults():
    table = tomllib.loads(SAMPLE.read_text())["supervisor"]
    for key in schema.SUPERVISOR.values():
        assert key.check(table[key.name]) == key.default, key.name
