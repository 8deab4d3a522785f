"""YAML rule configurations: conditions, address groups, every action, drop, mark, errors,
reloading, and the age check on and off."""

from __future__ import annotations

import json
import logging
import os
import socket
import syslog
import time
from pathlib import Path

import pytest

from libtrap_py.formats import DataFormat
from libtrap_py.message import Message
from modules.reporters.errors import ConfigError
from modules.reporters.rules_config import load_config
from tests.unit.reporters.alerts import alert_message, make_reporter, run_reporter
from unirec import read_csv

BRUTEFORCE = dict(detector="bruteforce", dontvalidate=True)  # 3 messages: ports 22, 23, 3389


def config_file(tmp_path: Path, text: str, name: str = "reporter.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_minimal_reference_config_prints_to_stdout(tmp_path, capsys):
    config = config_file(tmp_path, """
namespace: cz.cesnet.nemea
custom_actions:
  - id: file
    file:
      path: /dev/stdout
rules:
  - id: 1
    condition: Null
    actions: [file]
""")
    module = run_reporter([alert_message("bruteforce")], config=config, **BRUTEFORCE)
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [m["Target"][0]["Port"] for m in printed] == [[22], [23], [3389]]
    assert {m["Node"][0]["Name"] for m in printed} == {"cz.cesnet.nemea.bruteforce"}
    assert module.stats() == {"alerts": 4, "messages": 3, "skipped": 1, "too_old": 0,
                              "failed": 0, "dropped": 0}


def test_conditions_actions_elseactions_and_address_groups(tmp_path):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "watched.txt").write_text("# watched\n192.0.2.78\n2001:db8::/64\n\n")
    config = config_file(tmp_path, f"""
namespace: cz.cesnet.nemea
addressgroups:
  - id: docs
    list: [192.0.2.0/25, 198.51.100.1-198.51.100.9]
  - id: watched
    file: lists/watched.txt
custom_actions:
  - {{id: inside, file: {{path: {tmp_path / 'inside.idea'}}}}}
  - {{id: outside, file: {{path: {tmp_path / 'outside.idea'}}}}}
  - {{id: watch, file: {{path: {tmp_path / 'watch.idea'}}}}}
rules:
  - id: 1
    condition: Source.IP4 in docs and FlowCount > 40
    actions: [inside]
    elseactions: [outside]
  - id: 2
    condition: Source.IP4 in watched or Source.IP6 in watched
    actions: [watch]
""")
    run_reporter([alert_message("bruteforce")], config=config, **BRUTEFORCE)
    assert [m["FlowCount"] for m in lines(tmp_path / "inside.idea")] == [42]
    assert [m["FlowCount"] for m in lines(tmp_path / "outside.idea")] == [30, 31]
    assert [m["Source"][0].get("IP4", m["Source"][0].get("IP6")) for m in
            lines(tmp_path / "watch.idea")] == [["192.0.2.78"], ["2001:db8::78"]]


def test_drop_ends_the_message_and_later_rules(tmp_path):
    config = config_file(tmp_path, f"""
namespace: cz.cesnet.nemea
custom_actions:
  - {{id: before, file: {{path: {tmp_path / 'before.idea'}}}}}
  - {{id: after, file: {{path: {tmp_path / 'after.idea'}}}}}
rules:
  - {{id: 1, condition: "Target.Port == 23", actions: [before, drop, before]}}
  - {{id: 2, condition: true, actions: [after]}}
""")
    module = run_reporter([alert_message("bruteforce")], config=config,
                          file=str(tmp_path / "option.idea"), **BRUTEFORCE)
    assert [m["Target"][0]["Port"] for m in lines(tmp_path / "before.idea")] == [[23]]
    assert [m["Target"][0]["Port"] for m in lines(tmp_path / "after.idea")] == [[22], [3389]]
    # --file is a final always-rule: a drop in the config stops it too
    assert [m["Target"][0]["Port"] for m in lines(tmp_path / "option.idea")] == [[22], [3389]]
    assert module.stats()["dropped"] == 1


def test_mark_changes_only_this_rules_copy(tmp_path):
    config = config_file(tmp_path, f"""
namespace: cz.cesnet.nemea
custom_actions:
  - id: mark
    mark: {{path: Test, value: true}}
  - id: mark_nested
    mark: {{path: _CESNET.Status.Processed, value: done}}
  - id: mark_source
    mark: {{path: "Source[0].Note", value: watched}}
  - {{id: store1, file: {{path: {tmp_path / 'one.idea'}}}}}
  - {{id: store2, file: {{path: {tmp_path / 'two.idea'}}}}}
rules:
  - {{id: 1, condition: true, actions: [mark, mark_source, store1]}}
  - {{id: 2, condition: null, actions: [store2, mark_nested, store2]}}
""")
    run_reporter([alert_message("bruteforce")], config=config, **BRUTEFORCE)
    first = lines(tmp_path / "one.idea")
    assert all(m["Test"] is True and m["Source"][0]["Note"] == "watched" for m in first)
    second = lines(tmp_path / "two.idea")
    assert len(second) == 6
    assert all("Test" not in m and "Note" not in m["Source"][0] for m in second)
    assert [m.get("_CESNET") for m in second[:2]] == [None, {"Status": {"Processed": "done"}}]
    assert len({m["ID"] for m in first}) == 3 and {m["ID"] for m in first} == {
        m["ID"] for m in second}


def test_file_action_into_a_directory_writes_one_file_per_message(tmp_path):
    folder = tmp_path / "spool"
    folder.mkdir()
    config = config_file(tmp_path, f"""
namespace: cz.cesnet.nemea
custom_actions:
  - {{id: spool, file: {{path: {folder}}}}}
rules:
  - {{id: 1, condition: None, actions: [spool]}}
""")
    run_reporter([alert_message("bruteforce")], config=config, **BRUTEFORCE)
    files = sorted(folder.iterdir())
    assert len(files) == 3 and all(f.suffix == ".idea" for f in files)
    for path in files:
        assert json.loads(path.read_text())["ID"] == path.stem


def test_stdout_action(tmp_path, capsys):
    config = config_file(tmp_path, """
namespace: cz.cesnet.nemea
custom_actions:
  - {id: out, stdout: {}}
rules:
  - {id: 1, condition: "Target.Port == 22", actions: [out]}
""")
    run_reporter([alert_message("bruteforce")], config=config, **BRUTEFORCE)
    assert [json.loads(line)["FlowCount"] for line in capsys.readouterr().out.splitlines()] \
        == [42]


def test_syslog_action_to_a_local_socket(tmp_path):
    address = tmp_path / "log.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(address))
    server.settimeout(5)
    try:
        config = config_file(tmp_path, f"""
namespace: cz.cesnet.nemea
custom_actions:
  - id: log
    syslog:
      identifier: reporter-test
      facility: LOG_LOCAL0
      priority: LOG_ALERT
      address: {address}
rules:
  - {{id: 1, condition: true, actions: [log]}}
""")
        run_reporter([alert_message("bruteforce")], config=config, **BRUTEFORCE)
        received = [server.recv(65536).decode().rstrip("\0") for _ in range(3)]
    finally:
        server.close()
    prefix = f"<{(16 << 3) | 1}>reporter-test[{os.getpid()}]: "    # local0.alert
    assert all(text.startswith(prefix) for text in received), received[0][:80]
    assert [json.loads(text[len(prefix):])["FlowCount"] for text in received] == [42, 30, 31]


def test_syslog_action_through_syslog3(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(syslog, "openlog", lambda *args: calls.append(("open", *args)))
    monkeypatch.setattr(syslog, "syslog", lambda *args: calls.append(("log", *args)))
    config = config_file(tmp_path, """
namespace: cz.cesnet.nemea
custom_actions:
  - {id: log, syslog: {logoption: LOG_PID | LOG_CONS, priority: LOG_WARNING}}
rules:
  - {id: 1, condition: "Target.Port == 23", actions: [log]}
""")
    run_reporter([alert_message("bruteforce")], config=config, **BRUTEFORCE)
    assert calls[0] == ("open", "nemea", syslog.LOG_PID | syslog.LOG_CONS, syslog.LOG_DAEMON)
    assert calls[1][:2] == ("log", syslog.LOG_WARNING)
    assert json.loads(calls[1][2])["Target"][0]["Port"] == [23]


def test_trap_action_sends_on_the_output(tmp_path):
    config = config_file(tmp_path, """
namespace: cz.cesnet.nemea
custom_actions:
  - {id: out, trap: {}}
rules:
  - {id: 1, condition: "FlowCount > 30", actions: [out]}
""")
    module = run_reporter([alert_message("bruteforce")], output=True, config=config,
                          **BRUTEFORCE)
    assert module.ports[0].format == DataFormat.json("IDEA")
    assert [json.loads(t)["FlowCount"] for t in module.ports[0].messages] == [42, 31]


def test_trap_action_without_an_output_is_a_config_error(tmp_path):
    config = config_file(tmp_path, """
namespace: cz.cesnet.nemea
custom_actions: [{id: out, trap: {}}]
rules: [{id: 1, condition: true, actions: [out]}]
""")
    module = make_reporter(config=config, **BRUTEFORCE)
    with pytest.raises(ConfigError, match=r"custom_actions\[0\] \(id 'out'\): a trap action "
                                          "needs an output interface"):
        module.setup()


def test_without_config_the_output_gets_everything_and_node_namespace_default():
    module = run_reporter([alert_message("bruteforce")], output=True, **BRUTEFORCE)
    messages = [json.loads(t) for t in module.ports[0].messages]
    assert len(messages) == 3
    assert messages[0]["Node"][0]["Name"] == "org.example.nemea.bruteforce"


def test_missing_namespace_is_logged_and_com_example_used(tmp_path, caplog, capsys):
    config = config_file(tmp_path, "rules: [{id: 1, condition: true, actions: [out]}]\n"
                                   "custom_actions: [{id: out, stdout: {}}]\n")
    with caplog.at_level(logging.ERROR, "report2idea"):
        run_reporter([alert_message("bruteforce")], config=config, **BRUTEFORCE)
    assert "no 'namespace', using 'com.example'" in caplog.text
    assert json.loads(capsys.readouterr().out.splitlines()[0])["Node"][0]["Name"] \
        == "com.example.bruteforce"


@pytest.mark.parametrize(("text", "message"), [
    ("rules: []\n", "rules: at least one rule is required"),
    ("namespace: x\n", "rules: at least one rule is required"),
    ("rule: []\n", "unknown key 'rule'"),
    ("namespace: Bad.Name\nrules: [{id: 1, actions: []}]\n", "namespace: 'Bad.Name'"),
    ("rules: [{id: 1, actions: [nope]}]\n",
     "rules[0] (id 1) actions: unknown action 'nope' (declared: none; built in: drop)"),
    ("rules: [{id: 1, elseactions: [nope]}]\n", "rules[0] (id 1) elseactions: unknown action"),
    ("rules: [{id: 1}, {id: 1}]\n", "rules[1] (id 1): the id is used twice"),
    ("rules: [{actions: []}]\n", "rules[0]: missing 'id'"),
    ("rules: [{id: 1, condition: 'FlowCount >'}]\n", "rules[0] (id 1): condition"),
    ("rules: [{id: 1, when: true}]\n", "rules[0]: unknown key 'when'"),
    ("custom_actions: [{id: drop, file: {path: /dev/stdout}}]\nrules: [{id: 1}]\n",
     "'drop' is built in"),
    ("custom_actions: [{id: db, mongo: {host: localhost}}]\nrules: [{id: 1}]\n",
     "action type 'mongo' is not available"),
    ("custom_actions: [{id: x, teleport: {}}]\nrules: [{id: 1}]\n",
     "unknown action type 'teleport'"),
    ("custom_actions: [{id: x, file: {}}]\nrules: [{id: 1}]\n", "file action needs 'path'"),
    ("custom_actions: [{id: x, file: {path: /nonexistent/dir/a.idea}}]\nrules: [{id: 1}]\n",
     "cannot write to '/nonexistent/dir/a.idea'"),
    ("custom_actions: [{id: x, file: {path: /dev/stdout, mode: a}}]\nrules: [{id: 1}]\n",
     "unknown parameter 'mode'"),
    ("custom_actions: [{id: x, mark: {path: Test}}]\nrules: [{id: 1}]\n",
     "mark action needs 'value'"),
    ("custom_actions: [{id: x, syslog: {facility: LOG_NOWHERE}}]\nrules: [{id: 1}]\n",
     "unknown syslog facility 'LOG_NOWHERE'"),
    ("custom_actions: [{id: x, stdout: {}}, {id: x, stdout: {}}]\nrules: [{id: 1}]\n",
     "custom_actions[1] (id 'x'): the id is used twice"),
    ("addressgroups: [{id: g, list: [192.0.2.300]}]\nrules: [{id: 1}]\n",
     "addressgroups[0] (id 'g'): item 1: '192.0.2.300' is not an IP address"),
    ("addressgroups: [{id: g, file: missing.txt}]\nrules: [{id: 1}]\n",
     "addressgroups[0] (id 'g'): cannot read"),
    ("addressgroups: [{id: and, list: []}]\nrules: [{id: 1}]\n", "id 'and' must be a name"),
    ("rules: [{id: 1\n", "not valid YAML"),
])
def test_config_errors_name_file_item_and_key(tmp_path, text, message):
    path = config_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_alternative_action_form_with_type_key(tmp_path, capsys):
    config = config_file(tmp_path, """
namespace: com.example.nemea
custom_actions:
  - {id: marktest, type: mark, mark: {path: Test, value: FooBar}}
  - {id: out, type: file, path: "-"}
rules:
  - {id: 1, condition: true, actions: [marktest, out]}
""")
    run_reporter([alert_message("bruteforce")], config=config, **BRUTEFORCE)
    assert {json.loads(line)["Test"] for line in capsys.readouterr().out.splitlines()} == {
        "FooBar"}


# --- the age check ------------------------------------------------------------------------------

def fresh_bruteforce(seconds_ago: float) -> Message:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - seconds_ago))
    parsed = read_csv("time DETECTION_TIME,uint8 WARDEN_TYPE,ipaddr SRC_IP,uint8 PROTOCOL,"
                      f"uint16 DST_PORT,uint32 EVENT_SCALE,string NOTE\n"
                      f"{stamp},2,192.0.2.50,6,22,40,\"I:,O:\"\n")
    return Message(DataFormat.unirec(parsed.batch.template), batch=parsed.batch)


def test_age_check_drops_old_alerts_unless_disabled(caplog):
    with caplog.at_level(logging.WARNING, "report2idea"):
        checked = run_reporter([alert_message("bruteforce")], output=True,
                               detector="bruteforce")
    assert checked.ports[0].messages == []
    assert checked.stats()["too_old"] == 3
    assert "skipped by the age check" in caplog.text and "-D disables" in caplog.text
    unchecked = run_reporter([alert_message("bruteforce")], output=True, detector="bruteforce",
                             dontvalidate=True)
    assert len(unchecked.ports[0].messages) == 3 and unchecked.stats()["too_old"] == 0


def test_age_check_passes_recent_alerts_and_honours_max_age():
    recent = run_reporter([fresh_bruteforce(120)], output=True, detector="bruteforce")
    assert len(recent.ports[0].messages) == 1
    strict = run_reporter([fresh_bruteforce(120)], output=True, detector="bruteforce",
                          max_age=60.0)
    assert strict.ports[0].messages == [] and strict.stats()["too_old"] == 1
    future = run_reporter([fresh_bruteforce(-3600)], output=True, detector="bruteforce")
    assert future.ports[0].messages == []


# --- reloading, printing, dry run ---------------------------------------------------------------

def rule_config(tmp_path: Path, condition: str) -> str:
    return config_file(tmp_path, f"""
namespace: cz.cesnet.nemea
custom_actions: [{{id: out, trap: {{}}}}]
rules: [{{id: 1, condition: "{condition}", actions: [out]}}]
""")


def test_reload_when_the_file_changes_and_keep_the_old_one_when_bad(tmp_path, caplog):
    path = rule_config(tmp_path, "Target.Port == 22")
    module = make_reporter(output=True, config=path, **BRUTEFORCE)
    module.setup()
    try:
        message = alert_message("bruteforce")
        module.on_message(message, 0)
        assert len(module.ports[0].messages) == 1
        assert module.reload_if_changed() is False              # unchanged
        rule_config(tmp_path, "Target.Port != 22")
        os.utime(path, (time.time() + 5, time.time() + 5))
        module.reload_requested = True                          # as SIGUSR1 does
        module.on_tick(time.time())
        module.on_message(message, 0)
        assert len(module.ports[0].messages) == 3
        Path(path).write_text("rules: [")
        os.utime(path, (time.time() + 10, time.time() + 10))
        with caplog.at_level(logging.ERROR, "report2idea"):
            assert module.reload_if_changed() is False
        assert "reload failed, keeping the loaded configuration" in caplog.text
        module.on_message(message, 0)
        assert len(module.ports[0].messages) == 5
    finally:
        module.finish()


def test_sigusr2_prints_the_configuration(tmp_path, capsys):
    module = make_reporter(output=True, config=rule_config(tmp_path, "FlowCount > 1"),
                           **BRUTEFORCE)
    module.setup()
    module.print_requested = True
    module.on_tick(time.time())
    module.finish()
    assert "rule 1: if FlowCount > 1 then out else -" in capsys.readouterr().err


def test_dry_run_prints_the_configuration_and_exits(tmp_path, capsys):
    path = rule_config(tmp_path, "Source.IP4 in 192.0.2.0/24")
    with pytest.raises(SystemExit) as stop:
        make_reporter(config=path, dry=True, detector="bruteforce")
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert f"configuration {path}" in out and "action out: trap" in out
    assert "rule 1: if Source.IP4 in 192.0.2.0/24 then out else -" in out


def test_example_configuration_loads():
    path = Path(__file__).parents[3] / "modules" / "reporters" / "example_config.yaml"
    config = load_config(str(path), trap_available=True)
    try:
        assert [rule.id for rule in config.rules] == [1, 2]
        assert config.namespace == "org.example.nemea"
        assert set(config.actions) == {"save", "tag_whitelisted", "log", "forward"}
    finally:
        config.close()
