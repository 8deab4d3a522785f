"""A record walker running as a process of its own (pcap_walk, pcapng_walk): it finds where a
capture file's packets are while flow_meter parses and accounts the chunks already found, so
the two sequential steps run on two cores. It reads the file through flow_meter's own open
descriptor (the same file even if the path is renamed or replaced) and writes int64 frames on
a pipe and, after the end marker (-1), text for the log."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from .chunks import CaptureError, FileFilter, PacketChunk

log = logging.getLogger("flow_meter.capture")

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])   # the folder holding `modules`
_BOOT = ("import importlib, sys; sys.path.insert(0, sys.argv.pop(1)); "
         "sys.exit(importlib.import_module(sys.argv.pop(1)).main(sys.argv[1:]))")
_PIPE_SIZE = 1 << 20     # the walker may run this far ahead (Linux F_SETPIPE_SZ)
_F_SETPIPE_SZ = 1031


class FileShrank(CaptureError):
    """The capture file became shorter while it was read (what came before was read)."""


class WalkerProcess:
    """One walker process and what it writes."""

    @classmethod
    def run(cls, path: str, fd: int, module: str, *arguments: object) -> WalkerProcess:
        """The `main(argv)` of `module` (a walker using the standard library only) on the file
        open as `fd` and `arguments`, in an isolated interpreter without site packages (fast
        to start)."""
        return cls(path, [sys.executable, "-I", "-S", "-c", _BOOT, _PACKAGE_ROOT, module,
                          str(fd), *map(str, arguments)], (fd,))

    def __init__(self, path: str, command: list[str], fds: tuple[int, ...] = ()):
        self.path = path
        # its own process group: a Ctrl-C or a supervisor's stop reaches flow_meter only,
        # which ends the walker itself (close(); a walker whose reader is gone gets EPIPE)
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        pass_fds=fds, process_group=0)
        with contextlib.suppress(OSError):   # not Linux, or above the system's limit
            fcntl.fcntl(self.process.stdout.fileno(), _F_SETPIPE_SZ, _PIPE_SIZE)

    def ints(self, count: int) -> np.ndarray:
        """The next `count` int64 values; a walker that stopped short is a CaptureError."""
        values = np.empty(count, dtype=np.int64)
        got = self.process.stdout.readinto(memoryview(values).cast("B"))
        if got != values.nbytes:
            self.process.wait()
            if self.process.returncode == -signal.SIGBUS:   # its mapping lost pages
                raise FileShrank("the file shrank while it was read")
            error = self.process.stderr.read().decode(errors="replace").strip()
            last = error.splitlines()[-1] if error else f"exit status {self.process.returncode}"
            raise CaptureError(f"{self.path}: the record walker stopped: {last}")
        return values

    def text(self) -> str:
        """What follows the end marker."""
        return self.process.stdout.read().decode(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()


def read_walked(path: str, bpf: str, frames: Iterable[tuple],
                chunk_of: Callable[..., PacketChunk | None], walker: WalkerProcess | None,
                notes: list[str]) -> Iterator[PacketChunk]:
    """The chunks of walked `frames` (`chunk_of(*frame)`: None when the file no longer holds
    the frame's bytes), BPF-filtered. Ends the walker, then logs `notes` and what the walker
    said (one line each)."""
    bpf_filter = FileFilter(bpf, path)
    try:
        for frame in frames:
            out = chunk_of(*frame)
            if out is None:
                notes.append("reading stopped early: the file shrank")
                break
            out = bpf_filter(out)
            if out.packets:
                yield out
        else:
            if walker is not None:
                notes.extend(filter(None, walker.text().splitlines()))
    except FileShrank as exc:
        notes.append(f"reading stopped early: {exc}")
    finally:
        if walker is not None:
            walker.close()
    for note in notes:
        log.warning("%s: %s", path, note)
