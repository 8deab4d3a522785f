"""Status snapshots (the daemon's `status` reply) used by the rendering tests."""

from __future__ import annotations


def module(idx: int, name: str, enabled: bool = True, status: str = "running", pid: int = 0,
           **extra) -> dict:
    return {"idx": idx, "name": name, "enabled": enabled, "status": status, "pid": pid,
            "restarts": 0, "last_exit": "", "failure": "", **extra}


def profile(name: str, enabled: bool, *modules: dict) -> dict:
    return {"name": name, "enabled": enabled, "modules": list(modules)}


# reference/supervisor.md section 5
REFERENCE = {"profiles": [
    profile("sources", True, module(0, "ipfixprobe", pid=4121)),
    profile("detectors", True, module(1, "vportscan_detector", pid=4122),
            module(2, "vportscan_aggregator", status="stopped")),
    profile("reporters", False, module(3, "vportscan2idea", status="stopped")),
]}

# NEMEA's own documentation (a real installation): two-digit indexes, five-digit PIDs
_DETECTORS = [("dns_amplification", 31245), ("bruteforce_detector", 31248),
              ("ddos_detector", 31249), ("haddrscan_detector", 31250),
              ("haddrscan_aggregator", 8631), ("hoststatsnemea", 31252),
              ("ipblacklistfilter", 31253), ("ipv6stats", 31254),
              ("vportscan_detector", 31257), ("vportscan_aggregator", 31258)]
UPSTREAM = {"profiles": [
    profile("Data sources", True, module(0, "ipfixcol", pid=6095)),
    profile("Detectors", True, *(module(i, name, pid=pid)
                                 for i, (name, pid) in enumerate(_DETECTORS, 1))),
    profile("Reporters", True, module(11, "hoststats2idea", pid=8549),
            module(12, "amplification2idea", pid=8550)),
]}

# our extra states: finished, failed (with the reason under the table), a long profile name
STATES = {"profiles": [
    profile("a very long profile name here", True,
            module(0, "replay", status="finished", pid=120, last_exit="exit code 0"),
            module(1, "crasher", enabled=False, status="failed", pid=131,
                   last_exit="exit code 3",
                   failure="exit code 3 after 3 restart(s) within a minute"),
            module(2, "logger", pid=122)),
    profile("off", False, module(3, "idle", status="stopped")),
]}

EMPTY = {"profiles": [profile("nothing", True)]}

DETAILED = {**REFERENCE, "stats": {
    "ipfixprobe": {"service": True, "inputs": [], "outputs": [
        {"ID": "flow_data_source", "type": "u", "cli-num": 1, "sent-msg": 10, "drop-msg": 0,
         "buffers": 1, "autoflush": 0}]},
    "vportscan_detector": {"service": True, "inputs": [
        {"ID": "flow_data_source", "type": "u", "is-conn": 1, "messages": 10, "buffers": 1}],
        "outputs": [{"ID": "vportscan_out", "type": "u", "cli-num": 1, "sent-msg": 0,
                     "drop-msg": 0, "buffers": 0, "autoflush": 0}]},
}}

STATS = {
    "replay": {"PID": 4121, "CPU-s": 1, "CPU-u": 7, "CPU": 8.25, "MEM-rss": 43_253_760,
               "MEM-vms": 85_000_000, "service": True, "inputs": [], "outputs": [
                   {"ID": "flows", "type": "u", "cli-num": 2, "sent-msg": 125000,
                    "drop-msg": 0, "buffers": 40, "autoflush": 3}]},
    "detector": {"PID": 4122, "CPU-s": 0, "CPU-u": 1, "CPU": 0.5, "MEM-rss": 40_000_000,
                 "MEM-vms": 85_000_000, "service": True,
                 "inputs": [{"ID": "flows", "type": "u", "is-conn": 1, "messages": 125000,
                             "buffers": 40}],
                 "outputs": [{"ID": "7600", "type": "t", "cli-num": 0, "sent-msg": 12,
                              "drop-msg": 12, "buffers": 3, "autoflush": 2}]},
    "script": {"PID": 4200, "CPU-s": 0, "CPU-u": 0, "CPU": 0.0, "MEM-rss": 1_600_000,
               "MEM-vms": 5_000_000, "service": False, "inputs": [], "outputs": []},
}
