"""The record walker of flow_meter's first capture file, started before flow_meter's own
imports (numpy, the module runtime: about 0.1 s), so that it walks the file meanwhile on the
other core; the pcap reader then takes it over (take()) instead of walking the first chunk
itself. Standard library only.

Only for a classic pcap larger than the part the reader would walk itself, named by the
first -r/--read option. Anything unexpected (no such option, not a regular file, not a pcap,
an error) starts nothing, and the reader works as usual, reporting what is wrong. A walker
nobody takes over ends when flow_meter does (its pipe's reader is gone)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from subprocess import Popen

from .pcap_walk import FIRST_CHUNK_BYTES, PCAP_HEADER, PCAP_MAGICS
from .walker_spawn import spawn_walker

CHUNK = 16384            # the reader's chunk of records (capture.read_packets' default)


@dataclass
class Prestarted:
    path: str
    fd: int               # the file, open: the walker reads it, and so will the reader
    size: int             # the bytes the walker walks
    chunk: int
    process: Popen


_prestarted: list[Prestarted] = []


def prestart_walker(argv: list[str]) -> None:
    """Start the walker of the first file flow_meter's arguments `argv` read, if it is a
    classic pcap larger than FIRST_CHUNK_BYTES."""
    path = first_read_path(argv)
    if path is None:
        return
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):      # (a FIFO would block the open)
            return
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        header, size = os.pread(fd, PCAP_HEADER, 0), os.fstat(fd).st_size
        if header[:4] not in PCAP_MAGICS or size <= FIRST_CHUNK_BYTES:
            os.close(fd)
            return
        order, _, record = PCAP_MAGICS[header[:4]]
        process = spawn_walker("modules.flow_meter.pcap_walk", fd, size, PCAP_HEADER, order,
                               record, CHUNK)
    except OSError:
        os.close(fd)
        return
    _prestarted.append(Prestarted(path, fd, size, CHUNK, process))


def take(path: str, chunk: int) -> Prestarted | None:
    """The walker started for `path` with records in chunks of `chunk`, now the caller's
    (with its file descriptor); None: there is none."""
    for index, started in enumerate(_prestarted):
        if started.path == path and started.chunk == chunk:
            return _prestarted.pop(index)
    return None


def first_read_path(argv: list[str]) -> str | None:
    """The value of the first -r / --read option in `argv` (click's spellings: `-r X`, `-rX`,
    `--read X`, `--read=X`); None: there is none before `--`."""
    for index, argument in enumerate(argv):
        if argument == "--":
            return None
        if argument in ("-r", "--read"):
            return argv[index + 1] if index + 1 < len(argv) else None
        if argument.startswith("--read="):
            return argument[len("--read="):]
        if argument.startswith("-r") and not argument.startswith("--"):
            return argument[2:]
    return None
