"""The control protocol between `nemea supcli` and the supervisor: one JSON object per line
over a unix stream socket, requests answered in order, each reply carrying the request's id.

    request:  {"id": 7, "command": "stop", "args": {"name": "logger"}}
    reply:    {"id": 7, "ok": true, "result": {...}}
    error:    {"id": 7, "ok": false, "error": {"code": "unknown-name", "message": "..."}}
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ControlError

VERSION = 1
MAX_LINE = 4 * 1024 * 1024


class ErrorCode(enum.StrEnum):
    BAD_REQUEST = "bad-request"            # not JSON, not an object, fields of wrong type
    UNKNOWN_COMMAND = "unknown-command"
    BAD_ARGUMENT = "bad-argument"          # missing or invalid argument of a known command
    UNKNOWN_NAME = "unknown-name"          # no such module or profile
    INVALID_CONFIG = "invalid-config"      # reload: the new configuration does not validate
    BUSY = "busy"                          # too many clients
    INTERNAL = "internal-error"


@dataclass(frozen=True)
class Request:
    id: int
    command: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    id: int
    ok: bool
    result: Any = None
    code: str = ""
    message: str = ""

    def unwrap(self) -> Any:
        if not self.ok:
            raise ControlError(self.code, self.message)
        return self.result


def _line(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def encode_request(request: Request) -> bytes:
    return _line({"id": request.id, "command": request.command, "args": request.args,
                  "version": VERSION})


def decode_request(line: bytes) -> Request:
    """Raises ControlError(BAD_REQUEST) naming what is wrong; the id, when it could be read,
    is in `error_id` of the exception."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ControlError(ErrorCode.BAD_REQUEST, f"not a JSON line: {exc}") from None
    if not isinstance(obj, dict):
        raise ControlError(ErrorCode.BAD_REQUEST, "a request is a JSON object")
    request_id, command, args = obj.get("id", 0), obj.get("command"), obj.get("args", {})
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise ControlError(ErrorCode.BAD_REQUEST, '"id" must be an integer')
    if not isinstance(command, str) or not command:
        raise ControlError(ErrorCode.BAD_REQUEST, '"command" must be a non-empty string')
    if not isinstance(args, dict):
        raise ControlError(ErrorCode.BAD_REQUEST, '"args" must be an object')
    return Request(request_id, command, args)


def request_id_of(line: bytes) -> int:
    """The id of a request that could not be decoded, if any (0 otherwise)."""
    try:
        value = json.loads(line).get("id", 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0
    except (ValueError, AttributeError, UnicodeDecodeError):
        return 0


def encode_result(request_id: int, result: Any) -> bytes:
    return _line({"id": request_id, "ok": True, "result": result})


def encode_error(request_id: int, code: str, message: str) -> bytes:
    return _line({"id": request_id, "ok": False,
                  "error": {"code": str(code), "message": message}})


def decode_reply(line: bytes) -> Reply:
    try:
        obj = json.loads(line)
        if obj["ok"]:
            return Reply(obj["id"], True, obj.get("result"))
        return Reply(obj["id"], False, None, obj["error"]["code"], obj["error"]["message"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ControlError(ErrorCode.BAD_REQUEST, f"malformed reply from the supervisor: "
                                                  f"{exc}") from None
