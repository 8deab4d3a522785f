"""hoststats configuration: NEMEA's hoststats.conf keys, their defaults, and the file parser.

The file is NEMEA's plain format: `key = value` lines, `#`/`;` comments, `[section]` headers
ignored. Every key is validated at start-up; an unknown key or a bad value is an error naming the
file, line and key. Defaults are NEMEA's, except that the rules are on (upstream ships them off
and turns them on in its sample configuration) and `port-flowdir` is on (our flow meter sends
no DIRECTION_FLAGS).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class HostStatsConfig:
    rules_generic: bool = True
    rules_ssh: bool = True
    rules_dns: bool = True
    table_size: int = 1 << 21
    port_flowdir: bool = True
    timeout_active: int = 300
    timeout_inactive: int = 30
    det_start_time: int = 10
    detection_log: str = ""
    # generic rules
    syn_scan_threshold: float = 200
    syn_scan_syn_to_ack_ratio: float = 20
    syn_scan_request_to_response_ratio: float = 5
    syn_scan_ips: float = 200
    dos_victim_connections_synflood: int = 270_000
    dos_victim_connections_others: int = 1_000_000
    dos_victim_packet_ratio: float = 2
    dos_attacker_connections_synflood: int = 270_000
    dos_attacker_connections_others: int = 1_000_000
    dos_attacker_packet_ratio: float = 2
    dos_req_rsp_est_ratio: float = 0.8
    dos_rsp_req_est_ratio: float = 0.2
    # SSH rules
    bruteforce_ips: float = 5
    bruteforce_ips_ratio: float = 20
    bruteforce_req_threshold: float = 60
    bruteforce_req_min_packet_ratio: float = 5
    bruteforce_req_max_packet_ratio: float = 20
    bruteforce_data_threshold: float = 30
    bruteforce_data_min_packet_ratio: float = 10
    bruteforce_data_max_packet_ratio: float = 25
    bruteforce_server_ratio: float = 3
    # DNS rule
    dns_amplif_threshold: float = 10_000
    dns_bytes_overlimit: float = 1000       # bytes per packet of a "large" DNS response

    def replace(self, **changes) -> HostStatsConfig:
        return dataclasses.replace(self, **changes)


KEYS = {f.name.replace("_", "-"): f for f in fields(HostStatsConfig)}
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
# accepted for compatibility, without effect here
IGNORED = {"input-template", "log-upto-level", "dos-min-rsp-ratio", "dos-detection-type",
           "scan-threshold", "scan-flag-ratio", "scan-packet-ratio", "scan-ip-ratio",
           "bruteforce-out-threshold"}


def _value(field: dataclasses.Field, text: str, where: str):
    kind = {"bool": bool, "int": int, "float": float, "str": str}[str(field.type)]
    if kind is bool:
        lowered = text.lower()
        if lowered in TRUE | FALSE:
            return lowered in TRUE
        raise ValueError(f"{where}: expected true or false, not {text!r}")
    if kind is str:
        return text
    try:
        number = kind(text)
    except ValueError:
        raise ValueError(f"{where}: expected a number, not {text!r}") from None
    if number < 0:
        raise ValueError(f"{where}: must be >= 0")
    return number


def parse_config(text: str, name: str = "config") -> HostStatsConfig:
    changes = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line or (line.startswith("[") and line.endswith("]")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            parts = line.split(None, 1)
            key, value = parts[0], parts[1] if len(parts) > 1 else ""
        key, value = key.strip().lower(), value.strip().strip('"')
        where = f"{name}:{number}: key {key!r}"
        if key in IGNORED:
            continue
        field = KEYS.get(key)
        if field is None:
            raise ValueError(f"{name}:{number}: unknown key {key!r}")
        changes[field.name] = _value(field, value, where)
    config = HostStatsConfig().replace(**changes)
    if config.table_size < 1 or config.timeout_active < 1 or config.timeout_inactive < 1:
        raise ValueError(f"{name}: table-size, timeout-active, timeout-inactive must be >= 1")
    return config


def load_config(path: str) -> HostStatsConfig:
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        raise ValueError(f"-c {path}: {exc.strerror}") from None
    return parse_config(text, path)
