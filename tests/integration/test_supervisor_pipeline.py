"""The supervisor running real nemea modules: logreplay -> traffic_repeater -> logger over unix
sockets; counters from the modules' service endpoints in `stats`, the detailed status and
modules_statistics; a module that ends with exit code 0 is finished, not restarted."""

from __future__ import annotations

import json
import time

from tests.conftest import wait_until
from tests.integration.test_supervisor_harness import supervisor_fixture  # noqa: F401

RECORDS = 200


def test_pipeline_stats_and_finished_source(supervisor, tmp_path):
    csv_path = tmp_path / "in.csv"
    csv_path.write_text("uint16 DST_PORT,ipaddr SRC_IP\n" + "".join(
        f"{i % 1000},10.0.{i // 256}.{i % 256}\n" for i in range(RECORDS)))
    out = tmp_path / "out.csv"
    supervisor.write(f"""
        [[profile]]
        name = "sources"

        [[profile.module]]
        name = "replay"
        module = "logreplay"
        params = ["-f", "{csv_path}", "-n"]
        outputs = ["u:src"]

        [[profile]]
        name = "pipeline"

        [[profile.module]]
        name = "repeater"
        module = "traffic_repeater"
        inputs = ["u:src"]
        outputs = ["u:dst"]

        [[profile.module]]
        name = "sink"
        module = "logger"
        params = ["-w", "{out}"]
        inputs = ["u:dst"]

        [[profile.module]]
        name = "plain"
        path = "sleep"
        params = "60"
    """, **{"stats-interval": 0.2})
    supervisor.start()
    rows = supervisor.wait_for(lambda rows: rows["replay"]["status"] == "finished"
                               and rows["repeater"]["status"] == "running"
                               and rows["sink"]["status"] == "running", timeout=20)
    assert rows["replay"]["restarts"] == 0

    def counted():
        stats = supervisor.call("stats")
        sink = stats.get("sink", {})
        return stats if sink.get("inputs") and sink["inputs"][0]["messages"] == RECORDS \
            else None
    stats = wait_until(counted, 20)
    assert "replay" not in stats                          # only running modules
    repeater = stats["repeater"]
    assert repeater["service"] is True and repeater["MEM-rss"] > 1_000_000
    (source,) = repeater["inputs"]
    assert (source["ID"], source["type"], source["messages"]) == ("src", "u", RECORDS)
    assert repeater["outputs"][0]["ID"] == "dst" and repeater["outputs"][0]["cli-num"] == 1
    assert repeater["outputs"][0]["sent-msg"] == RECORDS
    assert stats["sink"]["inputs"][0]["is-conn"] == 1
    assert stats["plain"]["service"] is False
    wait_until(lambda: len(out.read_text().splitlines()) == RECORDS, 10)

    table = supervisor.supcli("stats")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["name", "PID", "CPU", "%", "RSS", "interface", "records",
                                "dropped", "clients"]
    assert any(line.startswith("repeater") and "in  u:src" in line and f" {RECORDS} " in line
               for line in lines)
    assert any("out u:dst" in line and line.split()[-3:] == [str(RECORDS), "0", "1"]
               for line in lines)
    assert any(line.startswith("plain") and "(no service endpoint)" in line for line in lines)
    as_json = json.loads(supervisor.supcli("stats", "--json").stdout)
    assert as_json["sink"]["inputs"][0]["messages"] == RECORDS

    detailed = supervisor.supcli("status", "--detailed")
    assert detailed.returncode == 3                     # replay finished: not every one runs
    assert "   1 | repeater | enabled | running | PID: " in detailed.stdout
    assert "      IFC 0:  IN; u; src; " in detailed.stdout
    assert "      IFC 1:  OUT; u; dst; num of clients: 1" in detailed.stdout

    statistics = supervisor.log_dir / "modules_statistics"
    wait_until(lambda: statistics.exists() and
               f"repeater,out,u,dst,{RECORDS},0," in statistics.read_text(), 10)
    assert f"sink,in,u,dst,{RECORDS}," in statistics.read_text()

    info = json.loads(supervisor.supcli("info", "repeater", "--json").stdout)["repeater"]
    assert {"idx", "params", "path", "status", "CPU-s", "CPU-u", "MEM-rss", "MEM-vms"} <= set(info)
    assert (info["idx"], info["status"], info["inputs"][0]["ID"]) == (1, "running", "src")
    text = supervisor.supcli("info", "repeater").stdout
    assert f"inputs:     u:src (connected, {RECORDS} records)" in text or \
        f"inputs:     u:src (not connected, {RECORDS} records)" in text
    assert f"outputs:    u:dst (1 client(s), {RECORDS} records sent, 0 dropped)" in text

    stopped = supervisor.supcli("stop", "sink")
    assert stopped.returncode == 0 and stopped.stdout == "sink: disabled, stopped\n"
    info = supervisor.call("info", name="sink")["sink"]
    assert info["last_exit"] == "exit code 0"           # a clean stop on SIGINT


def test_modules_ending_by_eof_are_finished_not_restarted(supervisor, tmp_path):
    csv_path = tmp_path / "in.csv"
    csv_path.write_text("uint16 DST_PORT\n" + "".join(f"{i}\n" for i in range(RECORDS)))
    out = tmp_path / "out.csv"
    supervisor.write(f"""
        [[profile]]
        name = "p"

        [[profile.module]]
        name = "replay"
        module = "logreplay"
        params = ["-f", "{csv_path}"]
        outputs = ["u:eof-flows"]

        [[profile.module]]
        name = "sink"
        module = "logger"
        params = ["-w", "{out}"]
        inputs = ["u:eof-flows"]
    """)
    supervisor.start()
    rows = supervisor.wait_for(lambda rows: all(row["status"] == "finished"
                                                for row in rows.values()), timeout=20)
    assert [row["last_exit"] for row in rows.values()] == ["exit code 0", "exit code 0"]
    assert len(out.read_text().splitlines()) == RECORDS
    time.sleep(0.3)
    info = supervisor.call("info", name="p")
    assert info["replay"]["starts"] == info["sink"]["starts"] == 1
    result = supervisor.supcli("status")
    assert result.returncode == 3 and "| sink   |  true   | finished |" in result.stdout
