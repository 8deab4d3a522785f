"""glibc's allocator, tuned for flow_meter's stream of chunks.

Every chunk allocates and frees the same few megabytes: the chunk's buffer, the parser's
columns, the flow cache's temporaries. By default glibc maps blocks of 128 KiB and more on
their own and unmaps them when they are freed (raising that limit only as larger blocks come
and go), and gives the top of its heap back to the system whenever more than twice that
limit is free there. Each chunk then faults its pages in again: on the bench capture, a third
of flow_meter's page faults, about 7 % of its time.

keep_freed_memory() has glibc serve blocks up to 64 MiB from its heap, keep up to 256 MiB of
freed heap, and grow the heap 16 MiB at a time, so the next chunk reuses the pages of the one
before. The heap keeps its peak size: a few megabytes more resident memory, no growth. Where
the C library has no mallopt, nothing changes."""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3     # glibc's malloc.h
SETTINGS = ((M_MMAP_THRESHOLD, 64 << 20), (M_TRIM_THRESHOLD, 256 << 20),
            (M_TOP_PAD, 16 << 20))


def keep_freed_memory() -> bool:
    """Apply SETTINGS; False where the C library does not take them."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):   # (TypeError: Windows has no CDLL(None))
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all([mallopt(parameter, value) == 1 for parameter, value in SETTINGS])
