"""The reporter's YAML rule configuration (detectors.md §11), validated when it loads.

    namespace: cz.cesnet.nemea            # Node.Name = <namespace>.<reporter>
    addressgroups:
      - {id: whitelist, list: [192.0.2.0/24, 198.51.100.7, 203.0.113.1-203.0.113.9]}
      - {id: servers, file: servers.txt}  # one item a line; relative to this file
    custom_actions:
      - {id: save, file: {path: /var/log/nemea/alerts.idea}}
      - {id: tag, mark: {path: _CESNET.Whitelisted, value: true}}
      - {id: log, syslog: {facility: LOG_LOCAL0}}
      - {id: out, trap: {}}
    rules:
      - {id: 1, condition: Source.IP4 in whitelist, actions: [drop]}
      - {id: 2, condition: null, actions: [save, out], elseactions: []}
    reporter: {loglevel: 3}

Every problem is a ConfigError naming the file, the item and the key.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .actions import (
    ACTION_TYPES,
    DROP_ID,
    UNSUPPORTED_TYPES,
    Action,
    DropAction,
    close_all,
)
from .errors import ConfigError, FilterSyntaxError
from .filter_lexer import WORD_OPERATORS
from .filter_parser import compile_condition
from .filter_values import IpRange
from .idea_values import NSID_RE
from .rule_engine import Rule

log = logging.getLogger("report2idea")
DEFAULT_NAMESPACE = "com.example"
TOP_KEYS = ("namespace", "custom_actions", "addressgroups", "smtp_connections", "rules",
            "reporter")
RULE_KEYS = ("id", "condition", "actions", "elseactions")


@dataclass
class ReporterConfig:
    path: str
    namespace: str | None
    groups: dict[str, list[IpRange]] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    loglevel: int | None = None
    mtime: float = 0.0

    def describe(self) -> str:
        lines = [f"configuration {self.path}",
                 f"namespace: {self.namespace or DEFAULT_NAMESPACE + ' (default)'}"]
        for group_id, ranges in self.groups.items():
            lines.append(f"address group {group_id}: {', '.join(map(str, ranges))}")
        lines += [f"action {action.describe()}" for action in self.actions.values()]
        lines += [rule.describe() for rule in self.rules]
        return "\n".join(lines)

    def close(self) -> None:
        close_all(list(self.actions.values()))


def _fail(path: str, where: str, what: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {what}" if where else f"{path}: {what}")


def _list_of(data: dict, key: str, path: str) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(path, key, f"expected a list, got {type(value).__name__}")
    return value


def _check_keys(item: Any, known: tuple[str, ...], path: str, where: str) -> dict:
    if not isinstance(item, dict):
        raise _fail(path, where, f"expected a mapping, got {type(item).__name__}")
    unknown = [key for key in item if key not in known]
    if unknown:
        raise _fail(path, where, f"unknown key {unknown[0]!r} (known: {', '.join(known)})")
    return item


def _parse_ranges(items: list, path: str, where: str) -> list[IpRange]:
    ranges = []
    for position, text in enumerate(items):
        parsed = IpRange.parse(str(text)) if isinstance(text, str) else None
        if parsed is None:
            raise _fail(path, where, f"item {position + 1}: {text!r} is not an IP address, "
                                     "prefix or range")
        ranges.append(parsed)
    return ranges


def _load_groups(data: dict, path: str) -> dict[str, list[IpRange]]:
    groups: dict[str, list[IpRange]] = {}
    for position, item in enumerate(_list_of(data, "addressgroups", path)):
        where = f"addressgroups[{position}]"
        _check_keys(item, ("id", "list", "file"), path, where)
        group_id = item.get("id")
        if not isinstance(group_id, str) or not group_id or group_id.lower() in WORD_OPERATORS:
            raise _fail(path, where, f"id {group_id!r} must be a name (not an operator)")
        where = f"addressgroups[{position}] (id {group_id!r})"
        if group_id in groups:
            raise _fail(path, where, "the id is used twice")
        if ("list" in item) == ("file" in item):
            raise _fail(path, where, "give exactly one of 'list' and 'file'")
        if "list" in item:
            if not isinstance(item["list"], list):
                raise _fail(path, where, "'list' must be a list of addresses")
            groups[group_id] = _parse_ranges(item["list"], path, where)
            continue
        file_path = Path(str(item["file"]))
        if not file_path.is_absolute():
            file_path = Path(path).parent / file_path
        try:
            lines = file_path.read_text().splitlines()
        except OSError as exc:
            raise _fail(path, where, f"cannot read {str(file_path)!r}: "
                                     f"{exc.strerror or exc}") from None
        entries = [line.split("#", 1)[0].strip() for line in lines]
        groups[group_id] = _parse_ranges([e for e in entries if e], path,
                                         f"{where} file {str(file_path)!r}")
    return groups


def make_action(item: Any, path: str, where: str) -> Action:
    """An action from `{id: NAME, <type>: {params}}` (also `{id, type: T, params...}`)."""
    if not isinstance(item, dict):
        raise _fail(path, where, f"expected a mapping, got {type(item).__name__}")
    action_id = item.get("id")
    if not isinstance(action_id, str | int) or action_id == "":
        raise _fail(path, where, "missing 'id'")
    action_id = str(action_id)
    where = f"{where} (id {action_id!r})"
    if action_id == DROP_ID:
        raise _fail(path, where, "'drop' is built in and must not be declared")
    if "type" in item:
        kind = item["type"]
        params = {k: v for k, v in item.items() if k not in ("id", "type")}
        if kind in params and isinstance(params[kind], dict) and len(params) == 1:
            params = params[kind]
    else:
        kinds = [key for key in item if key != "id"]
        if len(kinds) != 1:
            raise _fail(path, where, "expected one action type key "
                                     f"({', '.join(ACTION_TYPES)}), found {kinds or 'none'}")
        kind = kinds[0]
        params = item[kind]
        if params is not None and not isinstance(params, dict):
            raise _fail(path, where, f"parameters of {kind!r} must be a mapping")
    if kind in UNSUPPORTED_TYPES:
        raise _fail(path, where, f"action type {kind!r} is not available in pynemea "
                                 f"(available: {', '.join(ACTION_TYPES)}, drop)")
    if kind not in ACTION_TYPES:
        raise _fail(path, where, f"unknown action type {kind!r} "
                                 f"(known: {', '.join(ACTION_TYPES)}, drop)")
    return ACTION_TYPES[kind](action_id, params, f"{path}: {where}")


def _load_rules(data: dict, path: str, actions: dict[str, Action],
                groups: dict[str, list[IpRange]]) -> list[Rule]:
    items = _list_of(data, "rules", path)
    if not items:
        raise _fail(path, "rules", "at least one rule is required")
    drop = DropAction(DROP_ID, None, "drop")
    rules: list[Rule] = []
    seen: set = set()
    for position, item in enumerate(items):
        where = f"rules[{position}]"
        _check_keys(item, RULE_KEYS, path, where)
        if "id" not in item:
            raise _fail(path, where, "missing 'id'")
        rule_id = item["id"]
        where = f"rules[{position}] (id {rule_id!r})"
        if rule_id in seen:
            raise _fail(path, where, "the id is used twice")
        seen.add(rule_id)
        try:
            condition = compile_condition(item.get("condition"), groups)
        except FilterSyntaxError as exc:
            raise _fail(path, where, str(exc)) from None
        chosen = {}
        for key in ("actions", "elseactions"):
            names = item.get(key) or []
            if not isinstance(names, list):
                raise _fail(path, f"{where} {key}", "expected a list of action ids")
            resolved = []
            for name in names:
                name = str(name)
                if name == DROP_ID:
                    resolved.append(drop)
                elif name in actions:
                    resolved.append(actions[name])
                else:
                    raise _fail(path, f"{where} {key}",
                                f"unknown action {name!r} (declared: "
                                f"{', '.join(actions) or 'none'}; built in: drop)")
            chosen[key] = tuple(resolved)
        rules.append(Rule(rule_id, condition, chosen["actions"], chosen["elseactions"]))
    return rules


def load_config(path: str, trap_available: bool = True) -> ReporterConfig:
    """Read and check a rule file; `trap_available` says whether an output interface exists
    for `trap` actions."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        mtime = os.stat(path).st_mtime
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
    data = data if data is not None else {}
    _check_keys(data, TOP_KEYS, path, "")
    namespace = data.get("namespace")
    if namespace is None:
        log.error("%s: no 'namespace', using %r", path, DEFAULT_NAMESPACE)
    elif not isinstance(namespace, str) or not NSID_RE.match(namespace):
        raise _fail(path, "namespace", f"{namespace!r} is not a dotted lower-case identifier "
                                       "(e.g. cz.cesnet.nemea)")
    reporter = data.get("reporter") or {}
    _check_keys(reporter, ("loglevel",), path, "reporter")
    loglevel = reporter.get("loglevel")
    if loglevel is not None and not isinstance(loglevel, int):
        raise _fail(path, "reporter.loglevel", f"{loglevel!r} is not an integer")
    groups = _load_groups(data, path)
    actions: dict[str, Action] = {}
    try:
        for position, item in enumerate(_list_of(data, "custom_actions", path)):
            action = make_action(item, path, f"custom_actions[{position}]")
            if action.id in actions:
                raise _fail(path, f"custom_actions[{position}] (id {action.id!r})",
                            "the id is used twice")
            if action.kind == "trap" and not trap_available:
                raise _fail(path, f"custom_actions[{position}] (id {action.id!r})",
                            "a trap action needs an output interface in -i")
            actions[action.id] = action
        rules = _load_rules(data, path, actions, groups)
    except BaseException:
        close_all(list(actions.values()))
        raise
    return ReporterConfig(path, namespace, groups, actions, rules, loglevel, mtime)
