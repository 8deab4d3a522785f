"""The client side of the control protocol: connect to the supervisor's socket, send a
request, wait (bounded) for the reply with the same id."""

from __future__ import annotations

import itertools
import socket
from pathlib import Path
from typing import Any

from .errors import Unreachable
from .protocol import MAX_LINE, Request, decode_reply, encode_request

DEFAULT_TIMEOUT = 30.0


class SupervisorClient:
    def __init__(self, path: Path | str, timeout: float = DEFAULT_TIMEOUT):
        self.path = Path(path)
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._sock: socket.socket | None = None
        self._buffer = b""

    def __enter__(self) -> SupervisorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        if self._sock is not None:
            return
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except FileNotFoundError:
            sock.close()
            raise Unreachable(f"no supervisor socket {self.path} (is the supervisor "
                              "running? see -s)") from None
        except ConnectionRefusedError:
            sock.close()
            raise Unreachable(f"nobody listens on {self.path} (the supervisor is not "
                              "running; stale socket)") from None
        except PermissionError:
            sock.close()
            raise Unreachable(f"permission denied on {self.path}") from None
        except OSError as exc:
            sock.close()
            raise Unreachable(f"cannot connect to {self.path}: {exc.strerror or exc}") from None
        self._sock = sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def call(self, command: str, **args: Any) -> Any:
        """The command's result; raises ControlError (the daemon refused) or Unreachable."""
        self.connect()
        assert self._sock is not None
        request = Request(next(self._ids), command, args)
        try:
            self._sock.sendall(encode_request(request))
            while True:
                reply = decode_reply(self._read_line())
                if reply.id in (request.id, 0):
                    return reply.unwrap()
        except TimeoutError:
            self.close()
            raise Unreachable(f"the supervisor at {self.path} did not answer within "
                              f"{self.timeout:g} s") from None
        except OSError as exc:
            self.close()
            raise Unreachable(f"connection to {self.path} failed: {exc.strerror or exc}") \
                from None

    def _read_line(self) -> bytes:
        assert self._sock is not None
        while b"\n" not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise Unreachable(f"the supervisor at {self.path} closed the connection")
            self._buffer += chunk
            if len(self._buffer) > MAX_LINE:
                raise Unreachable("reply too long")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line
