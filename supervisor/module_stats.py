"""Per-module statistics in upstream's JSON form (`supervisor_cli -x`):

    {"NAME": {"CPU-s": 1, "CPU-u": 7, "MEM-rss": 10240000, "MEM-vms": 85000000,
              "inputs":  [{"ID": "flows", "type": "u", "is-conn": 1, "messages": 125000,
                           "buffers": 40}],
              "outputs": [{"ID": "alerts", "type": "u", "cli-num": 1, "sent-msg": 12,
                           "drop-msg": 0, "buffers": 3, "autoflush": 2}]}}

CPU and memory come from /proc (sampled by the supervisor every cycle), the interface counters
from the module's service endpoint; a module without an endpoint has `"service": false` and no
interface lists."""

from __future__ import annotations

from libtrap_py.service import query

from .runtime import ModuleRuntime

SERVICE_TIMEOUT_MS = 300


def service_counters(pid: int, timeout_ms: int = SERVICE_TIMEOUT_MS) -> dict | None:
    """The module's `stats` answer in upstream's form, or None when it does not answer."""
    try:
        raw = query(pid, "stats", timeout_ms)
    except OSError:
        return None
    if not isinstance(raw, dict) or "error" in raw:
        return None
    return {"inputs": [_input(ifc) for ifc in raw.get("in", [])],
            "outputs": [_output(ifc) for ifc in raw.get("out", [])]}


def _letter(ifc: dict) -> str:
    kind = ifc.get("ifc_type", "?")
    return chr(kind) if isinstance(kind, int) else str(kind)


def _input(ifc: dict) -> dict:
    return {"ID": str(ifc.get("ifc_id", "")), "type": _letter(ifc),
            "is-conn": int(ifc.get("ifc_state", 0)), "messages": ifc.get("messages", 0),
            "buffers": ifc.get("buffers", 0)}


def _output(ifc: dict) -> dict:
    return {"ID": str(ifc.get("ifc_id", "")), "type": _letter(ifc),
            "cli-num": ifc.get("num_clients", 0), "sent-msg": ifc.get("sent-messages", 0),
            "drop-msg": ifc.get("dropped-messages", 0), "buffers": ifc.get("buffers", 0),
            "autoflush": ifc.get("autoflushes", 0)}


def module_stats(runtime: ModuleRuntime, timeout_ms: int = SERVICE_TIMEOUT_MS) -> dict:
    cpu = runtime.cpu
    entry = {"PID": runtime.last_pid, "CPU-s": round(cpu.kernel_percent),
             "CPU-u": round(cpu.user_percent), "CPU": round(cpu.kernel_percent
                                                            + cpu.user_percent, 1),
             "MEM-rss": cpu.rss_bytes, "MEM-vms": cpu.vms_bytes}
    counters = service_counters(runtime.last_pid, timeout_ms) if runtime.running else None
    entry["service"] = counters is not None
    entry.update(counters or {"inputs": [], "outputs": []})
    return entry


def collect(runtimes: list[ModuleRuntime], timeout_ms: int = SERVICE_TIMEOUT_MS) -> dict:
    """Statistics of every running module, in configuration order."""
    return {rt.name: module_stats(rt, timeout_ms) for rt in runtimes if rt.running}
