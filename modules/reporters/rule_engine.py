"""Run the rules on one IDEA message (detectors.md §11).

Rules run in file order; each gets a fresh deep copy of the message, so marks never leak into
later rules; condition true -> `actions`, else `elseactions`, in order; `drop` ends the whole
message (its remaining actions and every later rule).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .actions import Action, DropAction, Outlet
from .filter_parser import Condition

log = logging.getLogger("report2idea")


@dataclass(frozen=True)
class Rule:
    id: Any
    condition: Condition
    actions: tuple[Action, ...]
    elseactions: tuple[Action, ...] = ()

    def describe(self) -> str:
        def ids(actions: tuple[Action, ...]) -> str:
            return ", ".join(a.id for a in actions) or "-"
        return (f"rule {self.id}: if {self.condition.text} then {ids(self.actions)}"
                f" else {ids(self.elseactions)}")


class RuleEngine:
    def __init__(self, rules: Sequence[Rule], outlet: Outlet):
        self.rules = list(rules)
        self.outlet = outlet
        self.processed = 0
        self.dropped = 0
        self.action_errors = 0

    def process(self, message: dict) -> bool:
        """Apply the rules; False when a `drop` ended the message."""
        self.processed += 1
        for rule in self.rules:
            work = copy.deepcopy(message)
            try:
                matched = rule.condition.matches(work)
            except Exception as exc:   # a condition must not stop the reporter
                log.warning("rule %s: condition failed on message %s: %s", rule.id,
                            message.get("ID"), exc)
                matched = False
            for action in rule.actions if matched else rule.elseactions:
                if isinstance(action, DropAction):
                    action.run(work, self.outlet)
                    self.dropped += 1
                    return False
                try:
                    action.run(work, self.outlet)
                except OSError as exc:
                    self.action_errors += 1
                    log.error("rule %s: action %s failed: %s", rule.id, action.id, exc)
        return True
