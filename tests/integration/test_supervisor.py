"""The supervisor as a real process with small commands as modules: start, restart after a
kill, crash loop, finished modules, commands, reload, shutdown, signals, daemon mode, and
`supcli` exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time

from tests.conftest import PROJECT_ROOT, wait_until
from tests.integration.test_supervisor_harness import (  # noqa: F401 - the fixture
    SUPCLI,
    SUPERVISOR,
    alive,
    supervisor_fixture,
)

SLEEPERS = """
    [[profile]]
    name = "main"

    [[profile.module]]
    name = "one"
    path = "sleep"
    params = "60"

    [[profile.module]]
    name = "two"
    path = "sleep"
    params = "61"

    [[profile]]
    name = "side"

    [[profile.module]]
    name = "three"
    path = "sh"
    params = ["-c", "echo hello-$((2 + 1)); exec sleep 62"]
"""


def test_modules_start_with_logs_and_status_table(supervisor):
    supervisor.write(SLEEPERS)
    supervisor.start()
    rows = supervisor.running("one", "two", "three")
    assert all(alive(row["pid"]) for row in rows.values())
    assert os.getpgid(rows["one"]["pid"]) == rows["one"]["pid"]       # own process group
    assert os.getpgid(rows["one"]["pid"]) != os.getpgid(supervisor.proc.pid)

    result = supervisor.supcli("status", "--no-color")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "--- [CONFIGURATION STATUS] ---"
    assert re.fullmatch(r"     \| name   \| enabled \| status  \| PID +\|", lines[1])
    assert lines[2] == "Profile: main |  true   |"
    assert re.fullmatch(rf"   0 \| one    \|  true   \| running \| {rows['one']['pid']} +\|",
                        lines[3])
    assert lines[6] == "Profile: side |  true   |"

    logs = supervisor.log_dir / "modules_logs"
    wait_until(lambda: "\nhello-3\n" in (logs / "three_stdout").read_text(), 5)
    stdout = (logs / "three_stdout").read_text().splitlines()
    assert stdout[0].startswith("---> ")
    assert stdout[1].endswith("sh -c 'echo hello-$((2 + 1)); exec sleep 62'")
    assert (logs / "one_stderr").read_text().startswith("---> ")
    assert "one: started (pid" in (supervisor.log_dir / "modules_events").read_text()
    assert "supervisor" in (supervisor.log_dir / "supervisor_log").read_text()


def test_killed_module_is_restarted_others_untouched(supervisor):
    supervisor.write(SLEEPERS)
    supervisor.start()
    before = supervisor.running("one", "two", "three")
    os.kill(before["one"]["pid"], signal.SIGKILL)
    after = supervisor.wait_for(lambda rows: rows["one"]["status"] == "running"
                                and rows["one"]["pid"] != before["one"]["pid"])
    assert after["one"]["restarts"] == 1
    assert after["two"]["pid"] == before["two"]["pid"]
    assert after["three"]["pid"] == before["three"]["pid"]
    info = supervisor.call("info", name="one")["one"]
    assert info["last_exit"] == "killed by SIGKILL" and info["starts"] == 2
    assert "restarted (pid" in (supervisor.log_dir / "modules_events").read_text()


def test_crash_loop_ends_failed_and_finished_is_not_restarted(supervisor):
    supervisor.write("""
        [[profile]]
        name = "p"

        [[profile.module]]
        name = "crasher"
        path = "sh"
        params = ["-c", "exit 3"]
        module-restarts = 2

        [[profile.module]]
        name = "done"
        path = "true"

        [[profile.module]]
        name = "steady"
        path = "sleep"
        params = "60"
    """)
    supervisor.start()
    rows = supervisor.wait_for(lambda rows: rows["crasher"]["status"] == "failed"
                               and rows["done"]["status"] == "finished")
    assert rows["crasher"]["enabled"] is False
    assert rows["crasher"]["restarts"] == 2
    assert rows["crasher"]["failure"] == "exit code 3 after 2 restart(s) within a minute"
    time.sleep(10 * 0.05)                      # several cycles: nothing is started again
    info = supervisor.call("info", name="p")
    assert info["crasher"]["starts"] == 3 and info["done"]["starts"] == 1
    assert info["done"]["last_exit"] == "exit code 0"

    result = supervisor.supcli("status")
    assert result.returncode == 3
    assert "| crasher |  false  | failed   |" in result.stdout
    assert "| done    |  true   | finished |" in result.stdout
    assert "[FAILED] crasher: exit code 3 after 2 restart(s) within a minute" in result.stdout

    supervisor.write("""
        [[profile]]
        name = "p"

        [[profile.module]]
        name = "crasher"
        path = "sleep"
        params = "60"
        module-restarts = 2

        [[profile.module]]
        name = "done"
        path = "true"

        [[profile.module]]
        name = "steady"
        path = "sleep"
        params = "60"
    """)
    assert supervisor.supcli("reload").returncode == 0        # fixed: started again
    rows = supervisor.running("crasher")
    assert rows["crasher"]["enabled"] is True and rows["done"]["status"] == "finished"


def test_commands_on_modules_and_profiles(supervisor):
    supervisor.write(SLEEPERS)
    supervisor.start()
    first = supervisor.running("one", "two", "three")

    stopped = supervisor.supcli("stop", "one")
    assert stopped.returncode == 0 and stopped.stdout == "one: disabled, stopped\n"
    assert not alive(first["one"]["pid"])
    assert supervisor.supcli("status").returncode == 0        # a disabled module may be down

    started = supervisor.supcli("start", "one")
    assert started.returncode == 0 and started.stdout.startswith("one: enabled, running (pid ")
    rows = supervisor.running("one")
    assert rows["one"]["pid"] != first["one"]["pid"]

    assert supervisor.supcli("disable", "main").returncode == 0
    rows = supervisor.modules()
    assert rows["one"]["status"] == rows["two"]["status"] == "stopped"
    assert rows["three"]["pid"] == first["three"]["pid"]
    assert supervisor.supcli("enable", "main").returncode == 0
    rows = supervisor.running("one", "two")

    restarted = supervisor.supcli("--json", "restart", "two")
    assert restarted.returncode == 0 and '"status": "running"' in restarted.stdout
    assert supervisor.modules()["two"]["pid"] != rows["two"]["pid"]

    unknown = supervisor.supcli("stop", "nosuch")
    assert unknown.returncode == 1
    assert unknown.stderr == 'error: no module or profile "nosuch"\n'
    as_json = supervisor.supcli("stop", "nosuch", "--json")
    assert as_json.returncode == 1 and '"code": "unknown-name"' in as_json.stdout

    three_log = supervisor.log_dir / "modules_logs" / "three_stdout"
    wait_until(lambda: "\nhello-3\n" in three_log.read_text(), 5)
    tail = supervisor.supcli("tail", "three", "-n", "5", "--stream", "stdout")
    assert tail.returncode == 0 and tail.stdout.splitlines()[-1] == "hello-3"
    info = supervisor.supcli("info", "three")
    assert info.returncode == 0 and "stdout log:" in info.stdout and "restarts:" in info.stdout
    about = supervisor.supcli("info")
    assert f"control socket:  {supervisor.socket}" in about.stdout


def test_reload_adds_removes_and_changes_only_what_changed(supervisor):
    supervisor.write(SLEEPERS)
    supervisor.start()
    before = supervisor.running("one", "two", "three")
    supervisor.write("""
        [[profile]]
        name = "main"

        [[profile.module]]
        name = "one"
        path = "sleep"
        params = "60"

        [[profile.module]]
        name = "four"
        path = "sleep"
        params = "64"

        [[profile]]
        name = "side"

        [[profile.module]]
        name = "three"
        path = "sh"
        params = ["-c", "echo changed; exec sleep 63"]
    """)
    result = supervisor.supcli("reload")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("reload: added four; removed two; restarted three; "
                             "enabled/disabled -; profiles toggled -; 1 unchanged\n")
    after = supervisor.running("one", "four", "three")
    assert set(after) == {"one", "four", "three"}
    assert after["one"]["pid"] == before["one"]["pid"]          # untouched
    assert not alive(before["two"]["pid"])                       # removed: stopped
    assert after["three"]["pid"] != before["three"]["pid"]      # changed: restarted
    assert not alive(before["three"]["pid"])
    assert [after[n]["idx"] for n in ("one", "four", "three")] == [0, 1, 2]

    supervisor.config.write_text(supervisor.config.read_text() + "\nbogus = 1\n")
    bad = supervisor.supcli("reload")
    assert bad.returncode == 1
    assert bad.stderr.startswith(f"error: {supervisor.config}: profile \"side\": module "
                                 "\"three\": unknown key \"bogus\"")
    assert set(supervisor.modules()) == {"one", "four", "three"}
    assert supervisor.modules()["one"]["pid"] == before["one"]["pid"]

    supervisor.write(SLEEPERS)                          # SIGHUP reloads too
    supervisor.proc.signal(signal.SIGHUP)
    rows = supervisor.wait_for(lambda rows: set(rows) == {"one", "two", "three"} and all(
        row["status"] == "running" for row in rows.values()))
    assert rows["one"]["pid"] == before["one"]["pid"]


def test_shutdown_leaves_no_process_behind(supervisor):
    supervisor.write(SLEEPERS)
    supervisor.start()
    pids = [row["pid"] for row in supervisor.running("one", "two", "three").values()]
    assert supervisor.pid_file.read_text().strip() == str(supervisor.proc.pid)
    result = supervisor.supcli("shutdown")
    assert result.returncode == 0
    assert result.stdout == "supervisor stopped; modules stopped: one, two, three\n"
    assert supervisor.proc.wait(10) == 0
    assert not any(alive(pid) for pid in pids)
    assert not supervisor.socket.exists() and not supervisor.pid_file.exists()
    events = (supervisor.log_dir / "modules_events").read_text()
    assert "one: stopped (shutdown, SIGINT)" in events
    unreachable = supervisor.supcli("status")
    assert unreachable.returncode == 4
    assert unreachable.stderr.startswith("error: cannot reach the supervisor: no supervisor "
                                         f"socket {supervisor.socket}")
    assert unreachable.stderr.count("\n") == 1


def test_sigterm_stops_everything_and_sigkill_leaves_no_orphan(supervisor, tmp_path):
    supervisor.write(SLEEPERS + """
        [[profile.module]]
        name = "stubborn"
        path = "sh"
        params = ["-c", "trap '' INT; echo ready-$((1 + 1)); while :; do sleep 0.05; done"]
    """)
    supervisor.start()
    pids = [row["pid"] for row in supervisor.running("one", "stubborn").values()]
    stubborn_log = supervisor.log_dir / "modules_logs" / "stubborn_stdout"
    wait_until(lambda: "ready-2" in stubborn_log.read_text(), 10)    # SIGINT is ignored now
    supervisor.proc.signal(signal.SIGTERM)
    assert supervisor.proc.wait(10) == 0
    assert not any(alive(pid) for pid in pids)
    assert "stubborn: stopped (supervisor exit, SIGKILL)" in \
        (supervisor.log_dir / "modules_events").read_text()

    supervisor.start()                  # again, then the supervisor itself dies
    pids = [row["pid"] for row in supervisor.running("one", "two", "three").values()]
    os.kill(supervisor.proc.pid, signal.SIGKILL)
    wait_until(lambda: not any(alive(pid) for pid in pids), 5)


def test_config_errors_stop_before_anything_starts(supervisor, tmp_path):
    supervisor.write("""
        [[profile]]
        name = "p"

        [[profile.module]]
        name = "m"
        path = "no-such-program-anywhere"
        treshold = 3
    """)
    proc = supervisor.start(wait=False)
    assert proc.wait(10) == 1
    assert proc.stderr.splitlines() == [
        f'error: {supervisor.config}: profile "p": module "m": unknown key "treshold" '
        "(known keys: name, enabled, module, path, params, inputs, outputs, interface, "
        "module-restarts, env)"]
    assert not supervisor.log_dir.exists()
    check = subprocess.run([*SUPERVISOR, "-c", str(supervisor.config), "--check"],
                           cwd=PROJECT_ROOT, env=supervisor.env, capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 1 and "Traceback" not in check.stderr


def test_daemon_mode_with_pid_file(supervisor):
    supervisor.write(SLEEPERS)
    started = subprocess.run([*SUPERVISOR, "-c", str(supervisor.config), "-d"],
                             cwd=PROJECT_ROOT, env=supervisor.env, capture_output=True,
                             text=True, timeout=30)
    assert started.returncode == 0, started.stderr
    pid = int(supervisor.pid_file.read_text())
    assert alive(pid)
    rows = supervisor.running("one", "two", "three")
    again = subprocess.run([*SUPERVISOR, "-c", str(supervisor.config), "-d"],
                           cwd=PROJECT_ROOT, env=supervisor.env, capture_output=True,
                           text=True, timeout=30)
    assert again.returncode == 1
    assert again.stderr == (f"error: a supervisor is already running: pid {pid} "
                            f"(pid file {supervisor.pid_file})\n")
    status = subprocess.run([*SUPCLI, "-c", str(supervisor.config), "status"],
                            cwd=PROJECT_ROOT, env=supervisor.env, capture_output=True,
                            text=True, timeout=30)
    assert status.returncode == 0
    assert supervisor.supcli("shutdown").returncode == 0
    wait_until(lambda: not alive(pid), 10)
    assert not any(alive(row["pid"]) for row in rows.values())
    assert not supervisor.pid_file.exists()


def test_control_protocol_ids_and_error_codes(supervisor):
    supervisor.write(SLEEPERS)
    supervisor.start()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(supervisor.socket))
        reader = sock.makefile("rb")
        sock.sendall(b"not json\n")
        assert json.loads(reader.readline())["error"]["code"] == "bad-request"
        sock.sendall(b'{"id": 5, "command": "bogus"}\n{"id": 6, "command": "ping"}\n'
                     b'{"id": 7, "command": "stop", "args": {}}\n')
        bogus, ping, stop = (json.loads(reader.readline()) for _ in range(3))
        assert (bogus["id"], bogus["ok"], bogus["error"]["code"]) == (5, False, "unknown-command")
        assert (ping["id"], ping["ok"], ping["result"]["pid"]) == (6, True, supervisor.proc.pid)
        assert (stop["id"], stop["error"]["code"]) == (7, "bad-argument")
