"""Packet input for flow_meter: pcap/pcapng files and live interfaces, in chunks.

`read_packets(paths)` reads one or more capture files, in order, as one stream of
`PacketChunk`s; `live_packets(interface, ...)` captures from a network interface.
A chunk holds the packets of one link type only (a new chunk starts where the link type
changes, e.g. at a file boundary or between the interfaces of a pcapng file).

* Classic pcap: pcap_file.py; pcapng: pcapng_file.py. Both find their packets with a walker
  (in a process of its own for large files, walker_process.py) and read each chunk's bytes
  with one pread into the buffer the parser works on.
* A BPF filter (`bpf=`) on files is compiled by libpcap (`pcap.bpf`) for the file's link type
  and applied to the captured bytes; on a live interface it is set on the handle.
* A missing, unreadable, non-regular (pipe, device) or non-capture file raises `CaptureError`
  naming the file before any packet is produced. A capture that ends in a truncated record
  or a corrupt block, or that is cut while it is read, is read up to that point, with a
  warning in the log (the stream goes on with the next file).

Timestamps are integer nanoseconds since the epoch. `chunk.linktype` uses the LINKTYPE_*
numbering of the file formats (raw IP = 101 even where libpcap reports DLT_RAW = 12/14).
Live capture: pypcap does not expose the original length, so `wire_lengths` are the
captured lengths there (equal unless `snaplen` cut the packet).
"""

from __future__ import annotations

import os
import select
import stat
import threading
import time
from collections.abc import Iterable, Iterator

from .chunks import CaptureError, PacketChunk, normalize_linktype
from .pcap_file import read_pcap
from .pcap_walk import PCAP_MAGICS

_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


# --------------------------------------------------------------------------------------------
# files


def read_packets(paths: str | os.PathLike | Iterable[str | os.PathLike], chunk: int = 16384,
                 bpf: str = "") -> Iterator[PacketChunk]:
    """Chunks of at most `chunk` packets from pcap/pcapng files, in the order given.

    `paths` is one path or an iterable of paths. Every file is checked (exists, readable,
    a pcap or pcapng magic) before the first chunk is produced.
    """
    if isinstance(paths, str | bytes | os.PathLike):
        paths = [paths]
    paths = [os.fsdecode(p) for p in paths]
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    kinds = [_check_file(path) for path in paths]
    return _read_files(paths, kinds, chunk, bpf)


def _read_files(paths, kinds, chunk, bpf) -> Iterator[PacketChunk]:
    for path, kind in zip(paths, kinds, strict=True):
        if kind == "pcapng":
            from .pcapng_file import read_pcapng  # (loaded for the first pcapng file only)
            yield from read_pcapng(path, chunk, bpf)
        else:
            yield from read_pcap(path, chunk, bpf)


def _check_file(path: str) -> str:
    if not os.path.exists(path):
        raise CaptureError(f"capture file {path!r} does not exist")
    if os.path.isdir(path):
        raise CaptureError(f"capture file {path!r} is a directory")
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise CaptureError(f"capture file {path!r} is not a regular file (a pipe or a device); "
                           "save the capture to a file first")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise CaptureError(f"capture file {path!r} cannot be read: {e.strerror or e}") from None
    if magic == _PCAPNG_MAGIC:
        return "pcapng"
    if magic in PCAP_MAGICS:
        return "pcap"
    if len(magic) < 4:
        raise CaptureError(f"capture file {path!r} is empty or too short to be a capture")
    if magic[:2] == b"\x1f\x8b":
        raise CaptureError(f"capture file {path!r} is gzip-compressed; decompress it first")
    raise CaptureError(f"{path!r} is not a pcap or pcapng capture file (starts with "
                       f"{magic.hex()})")




# --------------------------------------------------------------------------------------------
# live


def live_packets(interface: str, snaplen: int = 65535, promisc: bool = True, bpf: str = "",
                 chunk: int = 16384, timeout_ms: int = 100,
                 stop: threading.Event | None = None) -> Iterator[PacketChunk]:
    """Chunks of packets captured on `interface`.

    A chunk is produced when `chunk` packets are waiting or `timeout_ms` has passed since the
    previous chunk, so an idle interface still gives (empty) chunks about every `timeout_ms`
    and the caller can run its timeouts. The capture ends when `stop` is set (checked at
    least every `timeout_ms`) or when the generator is closed; the handle is closed then.
    The interface is opened (and errors raised as CaptureError) on the first `next()`.
    """
    if not interface:
        raise CaptureError("no capture interface given")
    if os.path.isfile(interface):
        raise CaptureError(f"{interface!r} is a file, not a network interface; read it as a "
                           "capture file")
    if chunk < 1 or timeout_ms < 1:
        raise ValueError("chunk and timeout_ms must be positive")
    return _live(interface, snaplen, promisc, bpf, chunk, timeout_ms, stop)


def _live(interface, snaplen, promisc, bpf, chunk, timeout_ms, stop) -> Iterator[PacketChunk]:
    try:
        import pcap  # (libpcap: loaded for live capture only)
        handle = pcap.pcap(name=interface, snaplen=snaplen, promisc=promisc,
                           timeout_ms=timeout_ms, timestamp_in_ns=True)
    except OSError as e:
        raise CaptureError(f"cannot capture on interface {interface!r}: {e}") from None
    try:
        linktype = normalize_linktype(handle.datalink())
        if bpf:
            try:
                handle.setfilter(bpf)
            except OSError as e:
                raise CaptureError(f"interface {interface!r}: BPF filter {bpf!r}: {e}") from None
        handle.setnonblock(True)
        fd = handle.fileno()
        period = timeout_ms / 1000.0
        while stop is None or not stop.is_set():
            times: list[int] = []
            packets: list[bytes] = []

            def take(ts, packet, times_append=times.append, packets_append=packets.append):
                times_append(ts)
                packets_append(packet)

            deadline = time.monotonic() + period
            while len(packets) < chunk:
                left = deadline - time.monotonic()
                if left <= 0 or (stop is not None and stop.is_set()):
                    break
                select.select([fd], [], [], min(left, 0.05))
                got = handle.dispatch(chunk - len(packets), take)
                if got < 0:
                    message = handle.geterr()
                    raise CaptureError(f"capture on interface {interface!r} failed: "
                                       f"{message.decode(errors='replace')}")
            yield PacketChunk(linktype, times, packets, [len(p) for p in packets])
    finally:
        handle.close()
