"""`supcli stats` as a table: per running module its PID, CPU % (user + kernel over the last
cycle), resident memory, and one line per interface with the counters of its service endpoint
(records received or sent, dropped, connected clients; for an input 1 when it is
connected to its writer)."""

from __future__ import annotations

HEADER = ("name", "PID", "CPU %", "RSS", "interface", "records", "dropped", "clients")
RIGHT = {"PID", "CPU %", "RSS", "records", "dropped", "clients"}


def megabytes(value: int) -> str:
    return f"{value / 1048576:.1f} MiB"


def align(rows: list[tuple[str, ...]], header: tuple[str, ...], right: set[str]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [cell.rjust(w) if name in right else cell.ljust(w)
                 for cell, w, name in zip(row, widths, header, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def render_stats(stats: dict[str, dict]) -> str:
    if not stats:
        return "No module is running.\n"
    rows: list[tuple[str, ...]] = []
    for name, module in stats.items():
        cpu = module.get("CPU", module.get("CPU-u", 0) + module.get("CPU-s", 0))
        head = (name, str(module.get("PID", "")), f"{cpu:.1f}", megabytes(module["MEM-rss"]))
        blank = ("",) * len(head)
        ifc_rows = [(f"in  {i['type']}:{i['ID']}", str(i["messages"]), "-",
                     str(int(bool(i["is-conn"]))))
                    for i in module.get("inputs", [])]
        ifc_rows += [(f"out {o['type']}:{o['ID']}", str(o["sent-msg"]), str(o["drop-msg"]),
                      str(o["cli-num"])) for o in module.get("outputs", [])]
        if not module.get("service", True):
            ifc_rows = [("(no service endpoint)", "", "", "")]
        elif not ifc_rows:
            ifc_rows = [("-", "", "", "")]
        rows += [(head if i == 0 else blank) + ifc for i, ifc in enumerate(ifc_rows)]
    return align(rows, HEADER, RIGHT)
