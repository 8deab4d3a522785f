"""Modules as real processes: end-of-stream through a chain, SIGTERM, the statistics endpoint."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import numpy as np

from libtrap_py.service import service_path
from tests.conftest import wait_until
from tests.integration.conftest import NEMEA
from unirec import CsvFormatter, RecordBatch

TEMPLATE = "uint64 BYTES,ipaddr SRC_IP,uint32 SEQ"


def write_csv(path, count: int) -> str:
    """A CSV file as logger -t prints it (logreplay's input); returns its text."""
    seq = np.arange(count, dtype=np.uint32)
    batch = RecordBatch.from_columns(TEMPLATE, count, {"SEQ": seq, "BYTES": seq.astype(np.uint64)
                                                       * 40})
    formatter = CsvFormatter(batch.template)
    text = formatter.header() + "\n" + formatter.format_batch(batch)
    path.write_text(text)
    return text


def test_eof_travels_down_a_chain_and_every_module_exits(spawn, tmp_path):
    text = write_csv(tmp_path / "in.csv", 20_000)
    out = tmp_path / "out.csv"
    # producer first: its sends wait for the repeater, which waits for the logger
    replay = spawn("nemea", "logreplay", "-f", str(tmp_path / "in.csv"), "-i", "u:src")
    repeater = spawn("nemea", "traffic_repeater", "-i", "u:src,u:dst")
    logger = spawn("nemea", "logger", "-t", "-w", str(out), "-i", "u:dst")
    for proc in (logger, repeater, replay):
        assert proc.wait(20) == 0, proc.stderr
    assert out.read_text() == text


def test_sigterm_stops_an_idle_module_with_exit_0(spawn, socket_dir):
    logger = spawn("nemea", "logger", "-i", "u:nobody")
    wait_until(lambda: os.path.exists(service_path(logger.pid)))     # running: endpoint is up
    logger.signal(signal.SIGTERM)
    assert logger.wait(10) == 0, logger.stderr
    assert not os.path.exists(service_path(logger.pid))


def test_service_endpoint_counts_and_sigterm_drains(spawn, socket_dir):
    total = 5000
    repeater = spawn("nemea", "traffic_repeater", "-i", "u:in,u:out")
    reader = spawn("peer", "read", "-i", "u:out")
    writer = spawn("peer", "write", "-i", "u:in", "--count", str(total), "--chunk", "250")
    assert writer.wait(10) == 0                               # no EOF: the repeater stays up
    reader.event("progress", where=lambda e: e["count"] == total)
    info = spawn("nemea", "info", str(repeater.pid))
    assert info.wait(10) == 0, info.stderr
    answer = json.loads(info.stdout)
    assert answer["info"]["name"] == "traffic_repeater"
    assert answer["info"]["interfaces"] == ["u:in", "u:out"]
    stats = answer["stats"]
    assert (stats["in_cnt"], stats["out_cnt"]) == (1, 1)
    (ifc_in,), (ifc_out,) = stats["in"], stats["out"]
    assert ifc_in["ifc_type"] == ord("u") and ifc_in["ifc_id"] == "in"
    assert ifc_in["messages"] == total
    assert ifc_out["ifc_type"] == ord("u") and ifc_out["ifc_id"] == "out"
    assert ifc_out["sent-messages"] == total and ifc_out["dropped-messages"] == 0
    assert ifc_out["num_clients"] == 1
    (client,) = ifc_out["client_stats_arr"]
    assert client["id"] == reader.pid
    assert client["sent_messages"] == total and client["skipped_messages"] == 0
    assert client["sent_containers"] == ifc_out["buffers"]

    repeater.signal(signal.SIGTERM)                           # drain, send EOF, exit 0
    assert repeater.wait(10) == 0, repeater.stderr
    assert reader.wait(10) == 0
    end = reader.last("end")
    assert end["eof"] and end["segments"] == [[0, total - 1]]


def test_a_module_on_files_never_loads_zeromq(start_process, tmp_path):
    write_csv(tmp_path / "in.csv", 100)
    replay = start_process([sys.executable, "-X", "importtime", NEMEA, "logreplay",
                            "-f", str(tmp_path / "in.csv"), "-i", f"f:{tmp_path / 'out'}"])
    assert replay.wait(20) == 0, replay.stderr
    assert "libtrap_py.service" in replay.stderr             # the endpoint ran, as always
    assert "zmq" not in replay.stderr


def test_info_on_a_pid_without_module_fails(spawn, socket_dir):
    info = spawn("nemea", "info", "999999999")
    assert info.wait(10) == 1
    assert "error: info:" in info.stderr and "999999999" in info.stderr


def test_sigterm_while_records_flow_exits_0_and_sends_eof(spawn, socket_dir):
    reader = spawn("peer", "read", "-i", "u:b")
    repeater = spawn("nemea", "traffic_repeater", "-i", "u:a,u:b")
    spawn("peer", "write", "-i", "u:a", "--count", "0", "--chunk", "50", "--interval", "0.005")
    reader.event("progress", where=lambda e: e["count"] >= 2000)
    repeater.signal(signal.SIGTERM)
    assert repeater.wait(10) == 0, repeater.stderr
    assert reader.wait(10) == 0
    end = reader.last("end")
    assert end["eof"] and len(end["segments"]) == 1 and end["segments"][0][0] == 0


def test_sigterm_while_draining_to_a_stalled_reader_exits_0(spawn, socket_dir):
    stalled = spawn("peer", "read", "-i", "u:out", "--stall-after", "1")
    repeater = spawn("nemea", "traffic_repeater", "-i", "u:in,u:out")
    writer = spawn("peer", "write", "-i", "u:in:buffer_size=1000", "--count", "20000",
                   "--chunk", "500", "--eof")
    assert writer.wait(10) == 0             # 40 batches: they fit in the reader's window+queue
    stalled.event("stalled")
    info = spawn("nemea", "info", "--request", "stats", str(repeater.pid))
    assert info.wait(10) == 0
    assert json.loads(info.stdout)["in"][0]["messages"] == 20000   # input done: draining
    repeater.signal(signal.SIGTERM)
    started = time.monotonic()
    assert repeater.wait(10) == 0, repeater.stderr
    assert time.monotonic() - started < 5
