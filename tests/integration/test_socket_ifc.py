"""u: and t: interfaces between real processes: order, fan-out, back-pressure, losses that are
counted, restarts of either side, negotiation and template changes."""

from __future__ import annotations

import itertools
import signal
import time

import pytest

from tests.conftest import wait_until
from tests.integration.conftest import free_port


def endpoints(kind: str) -> tuple[str, str]:
    """(writer's output spec, reader's input spec) for a fresh u: or t: interface."""
    if kind == "u":
        return "u:flows", "u:flows"
    port = free_port()
    return f"t:{port}", f"t:localhost:{port}"


def check_complete(end: dict, total: int, start: int = 0) -> None:
    assert end["eof"], end
    assert end["count"] == total
    assert end["segments"] == [[start, start + total - 1]], "records lost or out of order"


@pytest.mark.parametrize("kind", ["u", "t"])
@pytest.mark.parametrize("order", ["writer_first", "reader_first"])
def test_writer_and_reader_processes_any_start_order(spawn, kind, order):
    out_spec, in_spec = endpoints(kind)
    total = 30_000
    write_args = ("peer", "write", "-i", out_spec, "--count", str(total), "--chunk", "700",
                  "--eof")
    if order == "writer_first":
        writer = spawn(*write_args)
        writer.event("ready")          # listening, blocked in send until a reader comes
        reader = spawn("peer", "read", "-i", in_spec)
    else:
        reader = spawn("peer", "read", "-i", in_spec)
        writer = spawn(*write_args)
    assert reader.wait(20) == 0
    check_complete(reader.last("end"), total)
    assert writer.wait(10) == 0
    stats = writer.last("stats")
    assert stats["sent-messages"] == total and stats["dropped-messages"] == 0


def test_three_readers_each_receive_every_record(spawn):
    total = 50_000
    readers = [spawn("peer", "read", "-i", "u:fan") for _ in range(3)]
    writer = spawn("peer", "write", "-i", "u:fan:buffer_size=20000", "--count", str(total),
                   "--wait-clients", "3", "--eof")
    for reader in readers:
        assert reader.wait(20) == 0
        check_complete(reader.last("end"), total)
    assert writer.wait(10) == 0
    stats = writer.last("stats")
    assert stats["num_clients"] == 3
    assert sorted(c["id"] for c in stats["client_stats_arr"]) == sorted(r.pid for r in readers)
    assert all(c["skipped_messages"] == 0 for c in stats["client_stats_arr"])


def test_wait_slow_reader_gets_a_million_records(spawn):
    total = 1_000_000
    reader = spawn("peer", "read", "-i", "u:slow", "--sleep", "0.002")
    writer = spawn("peer", "write", "-i", "u:slow:buffer_size=10000:buffer_count=5",
                   "--count", str(total), "--chunk", "1000", "--eof")
    assert reader.wait(30) == 0
    end = reader.last("end")
    check_complete(end, total)
    assert end["buffers"] == 1000        # one batch per 1000-record send (12 kB > buffer_size)
    assert writer.wait(10) == 0
    stats = writer.last("stats")
    assert stats["dropped-messages"] == 0 and stats["timeouts"] == 0
    assert stats["client_stats_arr"][0]["skipped_messages"] == 0


def test_no_wait_losses_are_counted_exactly(spawn):
    total = 200_000
    slow = spawn("peer", "read", "-i", "u:lossy", "--sleep", "0.01")
    fast = spawn("peer", "read", "-i", "u:lossy")
    writer = spawn("peer", "write", "-i", "u:lossy:timeout=NO_WAIT:buffer_size=1000:"
                   "buffer_count=5", "--count", str(total), "--chunk", "100",
                   "--wait-clients", "2", "--eof")
    assert writer.wait(20) == 0
    stats = writer.last("stats")
    ends = {proc.pid: (proc.wait(20), proc.last("end")) for proc in (slow, fast)}
    skipped = {c["id"]: c["skipped_messages"] for c in stats["client_stats_arr"]}
    received: set[int] = set()
    for pid, (code, end) in ends.items():
        assert code == 0 and end["eof"]
        assert end["count"] + skipped[pid] == total
        runs = end["segments"]
        assert all(a[1] < b[0] for a, b in itertools.pairwise(runs)), "out of order"
        for first, last in runs:
            received.update(range(first, last + 1))
    assert skipped[slow.pid] > 0, "the slow reader should have lost records in NO_WAIT"
    assert stats["dropped-messages"] == total - len(received)
    assert stats["sent-messages"] == len(received)
    assert stats["sent-messages"] + stats["dropped-messages"] == total


@pytest.mark.parametrize("kind", ["u", "t"])
def test_reader_reconnects_to_a_restarted_writer(spawn, socket_dir, kind):
    out_spec, in_spec = endpoints(kind)
    reader = spawn("peer", "read", "-i", in_spec)
    first = spawn("peer", "write", "-i", out_spec, "--count", "0", "--chunk", "100",
                  "--interval", "0.01")
    reader.event("progress", where=lambda e: e["count"] >= 500)
    first.signal(signal.SIGKILL)
    first.wait(5)
    if kind == "u":
        assert (socket_dir / "trap-flows.sock").exists()      # stale: the next writer replaces it
    second = spawn("peer", "write", "-i", out_spec, "--start", "1000000", "--count", "5000",
                   "--chunk", "100", "--eof")
    assert reader.wait(20) == 0
    assert second.wait(10) == 0
    end = reader.last("end")
    runs = end["segments"]
    assert end["eof"]
    assert runs[0][0] == 0 and runs[0][1] >= 499
    assert runs[-1] == [1_000_000, 1_004_999], "records after the restart must all arrive"
    assert all(a[1] < b[0] for a, b in itertools.pairwise(runs))
    if kind == "u":
        assert not (socket_dir / "trap-flows.sock").exists()  # removed at a clean exit


def test_readers_over_max_clients_are_refused_and_retry(spawn):
    writer = spawn("peer", "write", "-i", "u:lim:max_clients=1", "--count", "0", "--chunk",
                   "50", "--interval", "0.01")
    first = spawn("peer", "read", "-i", "u:lim")
    first.event("progress", where=lambda e: e["count"] >= 100)
    second = spawn("peer", "read", "-i", "u:lim")
    wait_until(lambda: "maximum of readers" in second.stderr)       # refused, retrying
    assert second.last("progress") is None and second.last("format") is None
    first.signal(signal.SIGKILL)
    second.event("progress", timeout=10)                           # took the freed place
    assert writer.popen.poll() is None


def test_killed_reader_does_not_block_the_writer(spawn):
    total = 200_000
    survivor = spawn("peer", "read", "-i", "u:victim")
    victim = spawn("peer", "read", "-i", "u:victim", "--stall-after", "2000")
    writer = spawn("peer", "write", "-i", "u:victim:buffer_size=10000", "--count", str(total),
                   "--wait-clients", "2", "--eof")
    victim.event("stalled")
    # WAIT: the stalled reader holds the writer back (window + queue), so nobody gets far.
    survivor.event("progress", where=lambda e: e["count"] >= 50_000)
    time.sleep(0.5)   # a negative check needs some time: nothing more may arrive meanwhile
    assert writer.popen.poll() is None
    assert survivor.last("progress")["count"] < 100_000
    victim.signal(signal.SIGKILL)
    assert writer.wait(15) == 0
    assert survivor.wait(10) == 0
    check_complete(survivor.last("end"), total)


def test_missing_required_field_fails_naming_it(spawn):
    writer = spawn("peer", "write", "-i", "u:neg", "--count", "0", "--chunk", "10",
                   "--interval", "0.05")
    missing = spawn("peer", "read", "-i", "u:neg", "--required", "uint32 SEQ,ipaddr SRC_IP")
    wrong_type = spawn("peer", "read", "-i", "u:neg", "--required", "uint64 SEQ")
    assert missing.wait(10) == 2
    error = missing.last("error")
    assert error["type"] == "FormatMismatch"
    assert "SRC_IP" in error["error"] and '"u:neg"' in error["error"]
    assert wrong_type.wait(10) == 2
    error = wrong_type.last("error")
    assert error["type"] == "FormatMismatch" and "SEQ" in error["error"]
    writer.signal(signal.SIGTERM)
    assert writer.wait(10) == 0


def test_template_change_mid_stream(spawn):
    reader = spawn("peer", "read", "-i", "u:change", "--required", "uint32 SEQ")
    writer = spawn("peer", "write", "-i", "u:change", "--count", "3000", "--then-count", "2000",
                   "--chunk", "300", "--eof")
    assert reader.wait(15) == 0
    assert writer.wait(10) == 0
    end = reader.last("end")
    check_complete(end, 5000)
    assert end["formats"] == ["uint32 SEQ", "uint32 SEQ,uint16 EXTRA"]
    assert end["bad_extra"] == 0, "a record was decoded with the wrong template"
    changed = [e for e in reader.events if e["event"] == "format"][1]
    before = [e for e in reader.events if e["event"] == "progress"
              and reader.events.index(e) < reader.events.index(changed)]
    assert all(e["last"] < 3000 for e in before)
