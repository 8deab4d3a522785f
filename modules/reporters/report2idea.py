"""report2idea: turn a detector's alerts into IDEA0 messages and deliver them by rules.

    nemea report2idea --detector vportscan -i u:alerts -D --file alerts.idea
    nemea report2idea --detector bruteforce -i u:alerts,u:idea -c reporter.yaml

One input: the detector's UniRec alerts (fields checked against the mapping's needs), or with
`--json-input` the aggregator's JSON events. Optional output: the messages as JSON, label IDEA
(a `trap` action or -T sends there; EOF is forwarded). Without `-c`, every message goes to
`--file`/`--stdout`/`-T`, or, when none is given, to the output interface if there is one,
else stdout. With `-c`, the YAML rules decide and those options add a final always-rule.
Age check (unless -D): a message whose Event/Cease/DetectTime lies more than --max-age seconds
before its CreateTime (or after it) is dropped as too old.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, TextIO

from libtrap_py.cli import module_command
from libtrap_py.errors import FormatMismatch
from libtrap_py.formats import ANY_UNIREC, DataFormat, FormatType
from libtrap_py.message import Message
from libtrap_py.module import Module, param

from .actions import Action, FileAction, StdoutAction, TrapAction, close_all
from .blacklist import Blacklists, load_blacklists
from .errors import ReporterError
from .filter_parser import compile_condition
from .idea_builder import Context
from .idea_validator import ONE_DAY, age_problems
from .idea_values import NSID_RE, node, parse_duration
from .mappings import MAPPINGS, Mapping, check_fields
from .rule_engine import Rule, RuleEngine
from .rules_config import DEFAULT_NAMESPACE, ReporterConfig, load_config

log = logging.getLogger("report2idea")
NO_CONFIG_NAMESPACE = "org.example.nemea"
DETECTORS = "|".join(MAPPINGS)


@dataclass
class ReporterParams:
    detector: str = param("", None, f"Whose alerts arrive: {DETECTORS}.", metavar="NAME")
    config: str = param("", "-c", "YAML rule configuration (namespace, address groups, "
                                  "actions, rules).")
    name: str = param("", "-n", "Node[0].Name verbatim (default: <namespace>.<reporter>; "
                                "namespace from the config, else org.example.nemea).")
    file: str = param("", None, "Append every message to this file (one JSON per line).")
    stdout: bool = param(False, None, "Print every message on stdout (one JSON per line).")
    trap: bool = param(False, "-T", "Send every message on the output interface (JSON, IDEA).")
    dontvalidate: bool = param(False, "-D", "Skip the age check (replayed old alerts).")
    max_age: float = param(float(ONE_DAY), None, "Age check: seconds an event time may lie "
                                                 "before CreateTime.")
    aggrwin: str = param("00:05:00", None, "Node[0].AggrWin for vportscan and haddrscan.")
    autoreload: float = param(0.0, "-a", "Reload the config when its mtime changes, checked "
                                         "every SEC seconds (0 = off). SIGUSR1 reloads, SIGUSR2 "
                                         "prints it.")
    dry: bool = param(False, "-d", "Check and print the configuration, then exit.")
    json_input: bool = param(False, None, "Input is the aggregator's JSON events "
                                          "(vportscan: aggregated_portscan, blacklist: "
                                          "aggregated_blacklist).")
    blacklist_config: str = param("", None, "bl_downloader's config.xml: names, categories and "
                                            "URLs of the lists (blacklist).")

    def validate(self) -> None:
        mapping = MAPPINGS.get(self.detector)
        if mapping is None:
            raise ReporterError(f"--detector {self.detector!r}: expected one of {DETECTORS}")
        if self.json_input and not mapping.json_label:
            raise ReporterError(f"--json-input: {self.detector} has no JSON event form "
                                "(vportscan and blacklist have)")
        if parse_duration(self.aggrwin) is None:
            raise ReporterError(f"--aggrwin {self.aggrwin!r}: expected [nD]HH:MM:SS")
        if self.max_age < 0 or self.autoreload < 0:
            raise ReporterError("--max-age and --autoreload must be >= 0")
        if self.name and not NSID_RE.match(self.name):
            raise ReporterError(f"-n {self.name!r}: a node name is a dotted lower-case "
                                "identifier, e.g. org.example.nemea.vportscan")
        if self.blacklist_config and self.detector != "blacklist":
            raise ReporterError("--blacklist-config applies to --detector blacklist only")
        if self.autoreload and not self.config:
            raise ReporterError("-a needs a configuration (-c)")
        if self.dry:
            if not self.config:
                raise ReporterError("-d needs a configuration (-c)")
            config = load_config(self.config, trap_available=True)
            config.close()
            print(config.describe())
            raise SystemExit(0)


class _Outlet:
    """Delivery points that are not files: stdout and the module's output interface."""

    def __init__(self, module: Report2Idea):
        self.module = module

    @property
    def stdout(self) -> TextIO:
        return sys.stdout

    def trap(self, text: str) -> None:
        self.module.emit_messages([text])


class Report2Idea(Module):
    name = "report2idea"
    description = ("Convert detector alerts to IDEA0 messages (mapping by --detector) and "
                   "deliver them by YAML rules to files, stdout, syslog or the output.")
    inputs = 1
    outputs = (0, 1)
    Params = ReporterParams

    def __init__(self, params: Any = None):
        super().__init__(params)
        mapping = MAPPINGS.get(self.params.detector)
        if mapping is None:
            raise ReporterError(f"--detector {self.params.detector!r}: expected one of "
                                f"{DETECTORS}")
        self.mapping: Mapping = mapping
        self.json_mode = bool(self.params.json_input)
        self.required = DataFormat.json(mapping.json_label) if self.json_mode else ANY_UNIREC
        self.counters = dict.fromkeys(("alerts", "messages", "skipped", "too_old", "failed"), 0)

    # --- start-up -------------------------------------------------------------------------
    def setup(self) -> None:
        p = self.params
        self.outlet = _Outlet(self)
        self.has_output = bool(self.ports)
        if self.has_output:
            self.set_output_format(DataFormat.json("IDEA"))
        if p.trap and not self.has_output:
            raise ReporterError("-T needs an output interface in -i (e.g. -i u:alerts,u:idea)")
        self.blacklists = load_blacklists(p.blacklist_config) if p.blacklist_config \
            else Blacklists()
        self.config: ReporterConfig | None = None
        if p.config:
            self.config = load_config(p.config, trap_available=self.has_output)
        self.implicit = self._implicit_actions()
        self._apply(self.config)
        self.reload_requested = self.print_requested = False
        self.next_reload_check = time.monotonic() + p.autoreload
        self.previous_handlers: dict = {}
        if threading.current_thread() is threading.main_thread():
            for sig, flag in ((signal.SIGUSR1, "reload_requested"),
                              (signal.SIGUSR2, "print_requested")):
                self.previous_handlers[sig] = signal.signal(
                    sig, lambda *_, flag=flag: setattr(self, flag, True))

    def _implicit_actions(self) -> list[Action]:
        p = self.params
        actions: list[Action] = []
        if p.file:
            actions.append(FileAction("--file", {"path": p.file}, "--file"))
        if p.stdout:
            actions.append(StdoutAction("--stdout", None, "--stdout"))
        if p.trap:
            actions.append(TrapAction("-T", None, "-T"))
        if not actions and self.config is None:
            actions.append(TrapAction("output", None, "output") if self.has_output
                           else StdoutAction("stdout", None, "stdout"))
        if self.config is not None and self.has_output and not p.trap and not any(
                action.kind == "trap" for action in self.config.actions.values()):
            log.warning("the output interface gets no messages: no trap action in %s and "
                        "no -T", self.config.path)
        return actions

    def _apply(self, config: ReporterConfig | None) -> None:
        """Node name, conversion context and rules from `config` (None: no config)."""
        p = self.params
        if config is None:
            namespace = NO_CONFIG_NAMESPACE
        else:
            namespace = config.namespace or DEFAULT_NAMESPACE
            if config.loglevel is not None:
                log.setLevel(config.loglevel * 10 if config.loglevel < 10 else config.loglevel)
        node_name = p.name or f"{namespace}.{self.mapping.reporter}"
        self.context = Context(
            node(node_name, self.mapping.sw, list(self.mapping.node_type),
                 p.aggrwin if self.mapping.aggr_win else None), extra=self.blacklists)
        rules = list(config.rules) if config is not None else []
        if self.implicit:
            rules.append(Rule("options", compile_condition(None), tuple(self.implicit)))
        self.engine = RuleEngine(rules, self.outlet)

    # --- data -------------------------------------------------------------------------------
    def on_format(self, fmt: DataFormat, index: int) -> None:
        if fmt.type != FormatType.UNIREC or self.json_mode:
            return
        problems = check_fields(fmt.template, self.mapping.required)
        if problems:
            raise FormatMismatch(
                f"input: the alerts lack what --detector {self.mapping.detector} reads: "
                f"{'; '.join(problems)} (sender sends {fmt.spec!r})")

    def on_message(self, message: Message, index: int) -> None:
        if self.json_mode:
            convert = self.mapping.convert_json
            for text in message.messages():
                try:
                    alert = json.loads(text)
                except (ValueError, TypeError) as exc:
                    self.counters["failed"] += 1
                    log.warning("alert is not JSON (%s), skipped", exc)
                    continue
                self.report(alert, convert)  # type: ignore[arg-type]
        else:
            for record in message.batch().records():
                self.report(record.to_dict(), self.mapping.convert)

    def report(self, alert: dict, convert) -> dict | None:
        """Convert one alert, apply the age check and the rules; the message, or None."""
        c = self.counters
        c["alerts"] += 1
        try:
            idea = convert(alert, self.context)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            c["failed"] += 1
            log.warning("alert %d could not be converted (%s: %s), skipped", c["alerts"],
                        type(exc).__name__, exc)
            return None
        if idea is None:
            c["skipped"] += 1
            return None
        if not self.params.dontvalidate:
            problems = age_problems(idea, self.params.max_age)
            if problems:
                c["too_old"] += 1
                level = logging.WARNING if c["too_old"] == 1 else logging.DEBUG
                log.log(level, "message %s skipped by the age check: %s%s", idea["ID"],
                        "; ".join(problems),
                        " (-D disables the check; later ones are counted)"
                        if c["too_old"] == 1 else "")
                return None
        c["messages"] += 1
        self.engine.process(idea)
        return idea

    # --- control ----------------------------------------------------------------------------
    def on_tick(self, now: float) -> None:
        p = self.params
        if self.print_requested:
            self.print_requested = False
            print(self.config.describe() if self.config else "no configuration (-c)",
                  file=sys.stderr, flush=True)
        due = p.autoreload and time.monotonic() >= self.next_reload_check
        if self.reload_requested or due:
            self.reload_requested = False
            self.next_reload_check = time.monotonic() + p.autoreload
            self.reload_if_changed()

    def reload_if_changed(self) -> bool:
        """Load the configuration again when its mtime changed; a bad file keeps the old one."""
        if self.config is None:
            return False
        try:
            changed = os.stat(self.config.path).st_mtime != self.config.mtime
        except OSError as exc:
            log.error("config %s: %s; keeping the loaded one", self.config.path, exc)
            return False
        if not changed:
            return False
        try:
            fresh = load_config(self.config.path, trap_available=self.has_output)
        except ReporterError as exc:
            log.error("reload failed, keeping the loaded configuration: %s", exc)
            self.config.mtime = os.stat(self.config.path).st_mtime
            return False
        old, self.config = self.config, fresh
        self._apply(fresh)
        old.close()
        log.info("configuration %s reloaded", fresh.path)
        return True

    def finish(self) -> None:
        for sig, handler in self.previous_handlers.items():
            signal.signal(sig, handler)
        if self.config is not None:
            self.config.close()
        close_all(self.implicit)
        sys.stdout.flush()
        if self.counters["too_old"]:
            log.warning("%d message(s) skipped by the age check (older than %g s; -D disables "
                        "it)", self.counters["too_old"], self.params.max_age)

    def stats(self) -> dict:
        engine = getattr(self, "engine", None)
        return {**self.counters, "dropped": engine.dropped if engine else 0}


main = module_command(Report2Idea)

if __name__ == "__main__":
    main()
