"""`supcli info [NAME]` as text: the supervisor's facts, or per module its command line,
interfaces, log files and restarts."""

from __future__ import annotations

SUPERVISOR_FIELDS = (
    ("pid", "PID"), ("version", "version"), ("started", "started"), ("config", "configuration"),
    ("log_dir", "logs"), ("socket", "control socket"), ("pid_file", "pid file"),
    ("trap_socket_dir", "TRAP_SOCKET_DIR"), ("profiles", "profiles"), ("modules", "modules"),
    ("running", "running"), ("cycle", "cycle (s)"))


def _lines(pairs: list[tuple[str, str]]) -> list[str]:
    width = max(len(label) for label, _ in pairs)
    return [f"{(label + ':').ljust(width + 1)} {value}" for label, value in pairs]


def render_supervisor_info(info: dict) -> str:
    pairs = [(label, str(info[key])) for key, label in SUPERVISOR_FIELDS if key in info]
    if len(info.get("files", [])) > 1:
        pairs.append(("included files", ", ".join(info["files"][1:])))
    return "\n".join(_lines(pairs)) + "\n"


def _input_counts(ifc: dict) -> str:
    state = "connected" if ifc["is-conn"] else "not connected"
    return f"{state}, {ifc['messages']} records"


def _output_counts(ifc: dict) -> str:
    return f"{ifc['cli-num']} client(s), {ifc['sent-msg']} records sent, " \
           f"{ifc['drop-msg']} dropped"


def _interfaces(specs: list[str], counters: list[dict], describe) -> str:
    """Each interface as configured, with its counters when the module reports them."""
    if not specs:
        return "-"
    if len(counters) != len(specs):
        return ", ".join(specs)
    return "; ".join(f"{spec} ({describe(ifc)})" for spec, ifc in zip(specs, counters,
                                                                        strict=True))


def render_module_info(modules: dict[str, dict]) -> str:
    blocks = []
    for name, m in modules.items():
        state = m["status"] + (f" (pid {m['pid']})" if m["status"] == "running" else "")
        limit = "unlimited" if m["restart_limit"] >= 30 else str(m["restart_limit"])
        pairs = [
            ("module", f"{name} (index {m['idx']}, profile \"{m['profile']}\")"),
            ("enabled", f"{str(m['enabled']).lower()} (profile "
                        f"{'enabled' if m['profile_enabled'] else 'disabled'})"),
            ("status", state),
            ("command", m["command"]),
            ("inputs", _interfaces(m["input_specs"], m.get("inputs", []), _input_counts)),
            ("outputs", _interfaces(m["output_specs"], m.get("outputs", []), _output_counts)),
            ("stdout log", m["logs"]["stdout"]),
            ("stderr log", m["logs"]["stderr"]),
            ("starts", str(m["starts"])),
            ("restarts", f"{m['restarts']} in total, {m['restarts_last_minute']} within the "
                         f"last minute (limit {limit})"),
        ]
        if m.get("started"):
            pairs.append(("last start", m["started"]))
        if m.get("last_exit"):
            pairs.append(("last exit", m["last_exit"]))
        if m.get("failure"):
            pairs.append(("failure", m["failure"]))
        if m["status"] == "running":
            pairs.append(("CPU / RSS", f"{m.get('CPU', 0):.1f} % / "
                                       f"{m.get('MEM-rss', 0) / 1048576:.1f} MiB"))
        pairs.append(("defined in", m["source"]))
        blocks.append("\n".join(_lines(pairs)))
    return "\n\n".join(blocks) + "\n"
