"""Starting a record walker process (pcap_walk, pcapng_walk): standard library only, so that
flow_meter can start one before its own imports (prestart.py) as well as from the reader."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys

_PACKAGE_ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))  # modules/..
_BOOT = ("import importlib, sys; sys.path.insert(0, sys.argv.pop(1)); "
         "sys.exit(importlib.import_module(sys.argv.pop(1)).main(sys.argv[1:]))")
_PIPE_SIZE = 1 << 20     # the walker may run this far ahead (Linux F_SETPIPE_SZ)
_F_SETPIPE_SZ = 1031


def spawn_walker(module: str, fd: int, *arguments: object) -> subprocess.Popen:
    """The `main(argv)` of `module` (a walker using the standard library only) on the file
    open as `fd` and `arguments`, in an isolated interpreter without site packages (fast to
    start), writing its frames on a pipe (stdout)."""
    # its own process group: a Ctrl-C or a supervisor's stop reaches flow_meter only, which
    # ends the walker itself (a walker whose reader is gone gets EPIPE)
    process = subprocess.Popen([sys.executable, "-I", "-S", "-c", _BOOT, _PACKAGE_ROOT, module,
                                str(fd), *map(str, arguments)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(fd,),
                               process_group=0)
    with contextlib.suppress(OSError):   # not Linux, or above the system's limit
        fcntl.fcntl(process.stdout.fileno(), _F_SETPIPE_SZ, _PIPE_SIZE)
    return process
