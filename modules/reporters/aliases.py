"""The NEMEA reporter names as commands: `vportscan2idea` = `report2idea --detector vportscan`.

    COMMANDS["vportscan2idea"] = ("modules.reporters.aliases:vportscan2idea", "...")
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from libtrap_py.cli import module_command
from libtrap_py.module import param

from .mappings import MAPPINGS
from .report2idea import Report2Idea, ReporterParams

# command name -> detector
ALIASES = {"vportscan2idea": "vportscan", "haddrscan2idea": "haddrscan",
           "bruteforce2idea": "bruteforce", "amplification2idea": "amplification",
           "ddos_detector2idea": "ddos", "hoststats2idea": "hoststats",
           "blacklist2idea": "blacklist"}


def reporter_command(command: str, detector: str) -> click.Command:
    """report2idea with --detector preset (still overridable)."""
    mapping = MAPPINGS[detector]
    preset = detector

    @dataclass
    class Params(ReporterParams):
        detector: str = param(preset, None, "Whose alerts arrive (preset).", metavar="NAME")

    cls = type(command, (Report2Idea,), {
        "name": command, "Params": Params,
        "description": f"Convert {mapping.sw} alerts to IDEA0 (report2idea --detector "
                       f"{detector})."})
    return module_command(cls)


vportscan2idea = reporter_command("vportscan2idea", "vportscan")
haddrscan2idea = reporter_command("haddrscan2idea", "haddrscan")
bruteforce2idea = reporter_command("bruteforce2idea", "bruteforce")
amplification2idea = reporter_command("amplification2idea", "amplification")
ddos_detector2idea = reporter_command("ddos_detector2idea", "ddos")
hoststats2idea = reporter_command("hoststats2idea", "hoststats")
blacklist2idea = reporter_command("blacklist2idea", "blacklist")
