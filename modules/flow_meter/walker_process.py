"""A record walker running as a process of its own (pcap_walk, pcapng_walk): it finds where a
capture file's packets are while flow_meter parses and accounts the chunks already found, so
the two sequential steps run on two cores. It reads the file through flow_meter's own open
descriptor (the same file even if the path is renamed or replaced) and writes int64 frames on
a pipe and, after the end marker (-1), text for the log."""

from __future__ import annotations

import logging
import signal
import subprocess
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .chunks import CaptureError, FileFilter, PacketChunk
from .walker_spawn import spawn_walker

log = logging.getLogger("flow_meter.capture")


class FileShrank(CaptureError):
    """The capture file became shorter while it was read (what came before was read)."""


class WalkerProcess:
    """One walker process and what it writes."""

    @classmethod
    def run(cls, path: str, fd: int, module: str, *arguments: object) -> WalkerProcess:
        """The walker `module` on the file open as `fd` (see walker_spawn.spawn_walker)."""
        return cls(path, spawn_walker(module, fd, *arguments))

    def __init__(self, path: str, process: subprocess.Popen):
        self.path, self.process = path, process

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
