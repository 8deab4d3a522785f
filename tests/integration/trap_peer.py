"""A tiny writer and reader for the integration tests, run as a real process:

    python -m tests.integration.trap_peer write -i u:flows --count 1000 --eof
    python -m tests.integration.trap_peer read -i u:flows --required "uint32 SEQ"

Records carry `uint32 SEQ` (consecutive from --start); after a template change (--then-count)
they also carry `uint16 EXTRA` = SEQ % 65536, which the reader checks, so a record decoded with
the wrong template is noticed. Both sides print one JSON object per line on stdout
(`{"event": ...}`) for the test to follow, and stop on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import time

import numpy as np

from libtrap_py.errors import Terminated, TrapError, TrapTimeout
from libtrap_py.formats import ANY_UNIREC, DataFormat
from libtrap_py.ifc_spec import parse_ifc_specs
from libtrap_py.interfaces import open_input, open_output
from libtrap_py.stop_flag import STOP
from unirec import RecordBatch

TEMPLATE = "uint32 SEQ"
CHANGED_TEMPLATE = "uint32 SEQ,uint16 EXTRA"


def say(event: str, **values) -> None:
    print(json.dumps({"event": event, **values}), flush=True)


def _batch(template: str, start: int, length: int) -> RecordBatch:
    seq = np.arange(start, start + length, dtype=np.uint32)
    columns = {"SEQ": seq}
    if "EXTRA" in template:
        columns["EXTRA"] = (seq % 65536).astype(np.uint16)
    return RecordBatch.from_columns(template, length, columns)


def write(args: argparse.Namespace) -> int:
    _, outputs = parse_ifc_specs(args.ifc, 0, 1)
    output = open_output(outputs[0])
    output.set_format(DataFormat.unirec(args.template))
    if args.wait_clients:   # the output's own pump: this helper may use the private hook
        output._wait(lambda: output.num_clients >= args.wait_clients, 30_000_000)
    say("ready", clients=output.num_clients)
    seq, timeouts = args.start, 0
    plan = [(args.template, args.count), (CHANGED_TEMPLATE, args.then_count)]
    try:
        for template, count in plan:
            if template != args.template:
                if not count:
                    break
                output.set_format(DataFormat.unirec(template))
            end = seq + count if count else None
            while end is None or seq < end:
                length = args.chunk if end is None else min(args.chunk, end - seq)
                try:
                    output.send_batch(_batch(template, seq, length))
                    if args.interval:
                        output.flush(autoflush=False)
                except TrapTimeout:
                    timeouts += 1
                seq += length
                if args.interval:
                    say("sent", upto=seq)
                    time.sleep(args.interval)
        try:
            output.flush(autoflush=False)
        except TrapTimeout:
            timeouts += 1
        if args.eof:
            output.send_eof()
        say("stats", timeouts=timeouts, **output.stats())
    except Terminated:
        STOP.clear()
        say("terminated", **output.stats())
    except TrapError as exc:
        say("error", error=str(exc))
        return 2
    finally:
        with contextlib.suppress(TrapError):
            output.close(args.grace)
    say("closed", **output.stats())
    return 0


class Segments:
    """Runs of consecutive SEQ values, to check order and completeness cheaply."""

    def __init__(self) -> None:
        self.runs: list[list[int]] = []

    def add(self, seq: np.ndarray) -> None:
        if not len(seq):
            return
        values = seq.astype(np.int64)
        breaks = np.flatnonzero(np.diff(values) != 1) + 1
        for run in np.split(values, breaks):
            first, last = int(run[0]), int(run[-1])
            if self.runs and self.runs[-1][1] + 1 == first:
                self.runs[-1][1] = last
            else:
                self.runs.append([first, last])


def read(args: argparse.Namespace) -> int:
    inputs, _ = parse_ifc_specs(args.ifc, 1, 0)
    required = DataFormat.unirec(args.required) if args.required else ANY_UNIREC
    try:
        ifc = open_input(inputs[0], required)
    except TrapError as exc:
        say("error", error=str(exc))
        return 2
    segments, count, formats, bad_extra, eof = Segments(), 0, [], 0, False
    last_report, reported, last_seq = 0.0, 0, -1
    deadline = time.monotonic() + args.max_seconds
    try:
        while time.monotonic() < deadline:
            message = ifc.receive(20)
            if message is None:
                if count != reported:          # idle: report where we are
                    say("progress", count=count, last=last_seq)
                    reported = count
                continue
            if message.is_eof:
                eof = True
                break
            if message.format_changed or not formats:
                formats.append(message.format.spec)
                say("format", spec=message.format.spec)
            batch = message.batch()
            seq = np.asarray(batch.column("SEQ"))
            if "EXTRA" in batch.template:
                bad_extra += int(np.count_nonzero(np.asarray(batch.column("EXTRA"))
                                                  != seq % 65536))
            segments.add(seq)
            count += batch.length
            last_seq = int(seq[-1])
            now = time.monotonic()
            if now - last_report >= 0.05:
                say("progress", count=count, last=last_seq)
                last_report, reported = now, count
            if args.stall_after and count >= args.stall_after:
                say("stalled", count=count)
                while True:
                    time.sleep(1)
            if args.expect and count >= args.expect:
                break
            if args.sleep:
                time.sleep(args.sleep)
    except TrapError as exc:
        say("error", error=str(exc), type=type(exc).__name__, count=count)
        return 2
    finally:
        ifc.close()
    say("end", count=count, segments=segments.runs, eof=eof, formats=formats,
        bad_extra=bad_extra, buffers=ifc.counters.buffers)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trap_peer")
    sub = parser.add_subparsers(dest="role", required=True)
    w = sub.add_parser("write")
    w.add_argument("-i", dest="ifc", required=True)
    w.add_argument("--template", default=TEMPLATE)
    w.add_argument("--count", type=int, default=1000, help="0 = forever")
    w.add_argument("--start", type=int, default=0)
    w.add_argument("--chunk", type=int, default=1000, help="records per send_batch")
    w.add_argument("--interval", type=float, default=0.0, help="flush and sleep per chunk")
    w.add_argument("--then-count", type=int, default=0,
                   help=f"then switch to {CHANGED_TEMPLATE!r} and send this many more")
    w.add_argument("--wait-clients", type=int, default=0,
                   help="before sending, wait (up to 30 s) until this many readers connected")
    w.add_argument("--eof", action="store_true")
    w.add_argument("--grace", type=float, default=10.0)
    r = sub.add_parser("read")
    r.add_argument("-i", dest="ifc", required=True)
    r.add_argument("--required", default="")
    r.add_argument("--expect", type=int, default=0, help="stop after this many records")
    r.add_argument("--sleep", type=float, default=0.0, help="seconds to sleep per batch")
    r.add_argument("--stall-after", type=int, default=0, help="stop reading after N records")
    r.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    return write(args) if args.role == "write" else read(args)


if __name__ == "__main__":
    sys.exit(main())
