"""Golden files for the user-visible tables: status (brief and detailed), stats.
Regenerate with UPDATE_GOLDEN=1 after an intended change, and review the diff."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from supervisor.render_stats import render_stats
from supervisor.render_status import all_running, render_detailed, render_status

from . import snapshots

GOLDEN = Path(__file__).with_name("golden")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"missing golden file {path} (run with UPDATE_GOLDEN=1)"
    assert text == path.read_text()


@pytest.mark.parametrize("name, snapshot", [
    ("status_reference.txt", snapshots.REFERENCE),
    ("status_upstream.txt", snapshots.UPSTREAM),
    ("status_states.txt", snapshots.STATES),
    ("status_empty.txt", snapshots.EMPTY),
])
def test_status_table(name, snapshot):
    check_golden(name, render_status(snapshot))


def test_status_table_is_nemeas_layout():
    """The lines NEMEA's documentation shows for a real installation, character for
    character."""
    lines = render_status(snapshots.UPSTREAM).splitlines()
    assert lines[:5] == [
        "--- [CONFIGURATION STATUS] ---",
        "      | name                 | enabled | status  | PID   |",
        "Profile: Data sources        |  true   |",
        "   0  | ipfixcol             |  true   | running | 6095  |",
        "",
    ]
    assert "   10 | vportscan_aggregator |  true   | running | 31258 |" in lines
    assert "Profile: Reporters           |  true   |" in lines


def test_status_colours_only_the_words():
    coloured = render_status(snapshots.REFERENCE, color=True)
    assert "\x1b[32mrunning\x1b[0m" in coloured and "\x1b[31mfalse\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == render_status(snapshots.REFERENCE)


def test_detailed_status():
    check_golden("status_detailed.txt", render_detailed(snapshots.DETAILED))


def test_stats_table():
    check_golden("stats.txt", render_stats(snapshots.STATS))
    assert render_stats({}) == "No module is running.\n"


def test_all_running_rules():
    assert not all_running(snapshots.REFERENCE)          # vportscan_aggregator is stopped
    assert all_running(snapshots.UPSTREAM)
    assert not all_running(snapshots.STATES)             # failed and finished ones
    only_disabled = {"profiles": [snapshots.profile("p", True, snapshots.module(
        0, "m", enabled=False, status="stopped"))]}
    assert all_running(only_disabled)


def test_status_table_matches_the_reference_document():
    reference = Path(__file__).resolve().parents[4] / "shared" / "reference" / "supervisor.md"
    if not reference.exists():
        pytest.skip(f"{reference} not found")
    text = reference.read_text()
    block = text.split("--- [CONFIGURATION STATUS] ---", 1)[1].split("```", 1)[0]
    expected = "--- [CONFIGURATION STATUS] ---" + block
    assert render_status(snapshots.REFERENCE) == expected
