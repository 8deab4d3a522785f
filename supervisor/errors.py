"""Errors of the supervisor: one base class, a few specific ones, messages that name the place."""

from __future__ import annotations


class SupervisorError(Exception):
    """Base error of the supervisor and its control client."""


class ConfigError(SupervisorError):
    """The configuration is invalid: one line per problem, each naming file, profile, module
    and key."""

    def __init__(self, errors: list[str], warnings: list[str] | None = None):
        self.errors = list(errors)
        self.warnings = list(warnings or [])
        super().__init__("\n".join(self.errors))


class ControlError(SupervisorError):
    """A control request failed; `code` is one of protocol.ErrorCode."""

    def __init__(self, code: str, message: str):
        self.code = str(code)
        super().__init__(message)


class Unreachable(SupervisorError):
    """The client cannot talk to the supervisor (no socket, nobody listening, no answer)."""
