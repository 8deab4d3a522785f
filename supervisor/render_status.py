"""The status tables as NEMEA's supervisor prints them (brief and detailed).

Brief (`status`):

    --- [CONFIGURATION STATUS] ---
          | name                 | enabled | status  | PID   |
    Profile: Data sources        |  true   |
       0  | ipfixcol             |  true   | running | 6095  |

The index column is as wide as the largest index; the first column as wide as the longest of
`Profile: <name>` and `   <idx> | <name>`, plus one (at least 11 + index digits); the status
column fits its longest word (at least 7); the PID column its longest PID (at least 3).
Colours: running/true green, stopped/failed/false red. Failed modules get a line each under the
table with their last exit status."""

from __future__ import annotations

import click

COLOURS = {"true": "green", "running": "green", "false": "red", "stopped": "red",
           "failed": "red"}


def _paint(word: str, width: int, color: bool) -> str:
    padding = " " * max(0, width - len(word))
    if color and word in COLOURS:
        return click.style(word, fg=COLOURS[word]) + padding
    return word + padding


def _flag(value: bool) -> str:
    return "true" if value else "false"


def render_status(snapshot: dict, color: bool = False) -> str:
    profiles = snapshot["profiles"]
    modules = [m for p in profiles for m in p["modules"]]
    if not modules:
        return "[WARNING] No module is loaded.\n"
    idx_width = len(str(max(m["idx"] for m in modules)))
    prefix = 3 + idx_width + 3                      # "   <idx> | "
    first = max([len(f"Profile: {p['name']}") for p in profiles]
                + [prefix + len(m["name"]) for m in modules]) + 1
    first = max(first, 11 + idx_width)
    name_width = first - prefix - 1
    status_width = max([7] + [len(m["status"]) for m in modules])
    pid_width = max([3] + [len(str(m["pid"])) for m in modules])
    lines = ["--- [CONFIGURATION STATUS] ---",
             " " * (3 + idx_width + 1) + "| " + "name".ljust(name_width) + " |"
             + " enabled |" + " " + "status".ljust(status_width) + " |"
             + " " + "PID".ljust(pid_width) + " |"]
    for number, profile in enumerate(profiles):
        if number:
            lines.append("")
        lines.append(f"Profile: {profile['name']}".ljust(first) + "|"
                     + f"  {_paint(_flag(profile['enabled']), 5, color)}  |")
        for m in profile["modules"]:
            lines.append("   " + str(m["idx"]).ljust(idx_width) + " | "
                         + m["name"].ljust(name_width) + " |"
                         + f"  {_paint(_flag(m['enabled']), 5, color)}  |"
                         + f" {_paint(m['status'], status_width, color)} |"
                         + f" {str(m['pid']).ljust(pid_width)} |")
    failed = [m for m in modules if m["status"] == "failed"]
    if failed:
        lines.append("")
        lines += [f"[FAILED] {m['name']}: {m.get('failure') or m.get('last_exit', '')}"
                  for m in failed]
    return "\n".join(lines) + "\n"


def render_detailed(snapshot: dict, color: bool = False) -> str:
    """`status --detailed`: per running module its service endpoint and interfaces."""
    stats = snapshot.get("stats", {})
    lines = ["--- [PRINTING CONFIGURATION] ---"]
    for number, profile in enumerate(snapshot["profiles"]):
        if number:
            lines.append("")
        state = "enabled" if profile["enabled"] else "disabled"
        lines.append(f"Profile: {profile['name']} ({state})")
        for m in profile["modules"]:
            enabled = "enabled" if m["enabled"] else "disabled"
            head = f"   {m['idx']} | {m['name']} | {enabled} | " \
                   f"{_paint(m['status'], 0, color)}"
            if m["status"] != "running":
                lines.append(head)
                continue
            lines.append(f"{head} | PID: {m['pid']}")
            module = stats.get(m["name"])
            if not module or not module.get("service"):
                lines.append("      IFC service: not connected")
                continue
            lines.append("      IFC service: connected")
            number_ifc = 0
            for ifc in module.get("inputs", []):
                state = "connected" if ifc["is-conn"] else "not connected"
                lines.append(f"      IFC {number_ifc}:  IN; {ifc['type']}; {ifc['ID']}; {state}")
                number_ifc += 1
            for ifc in module.get("outputs", []):
                lines.append(f"      IFC {number_ifc}:  OUT; {ifc['type']}; {ifc['ID']}; "
                             f"num of clients: {ifc['cli-num']}")
                number_ifc += 1
    return "\n".join(lines) + "\n"


def all_running(snapshot: dict) -> bool:
    """True when every module that should run does: enabled in an enabled profile and
    running, and none failed in an enabled profile (exit code 0 of `supcli status`)."""
    for profile in snapshot["profiles"]:
        if not profile["enabled"]:
            continue
        for m in profile["modules"]:
            if m["status"] == "failed" or (m["enabled"] and m["status"] != "running"):
                return False
    return True
