"""Small parts: restart policy, protocol, reload plan, log tail, /proc sampling."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from supervisor.errors import ControlError
from supervisor.handlers import last_lines
from supervisor.model import Config, ModuleConfig, ProfileConfig, Settings
from supervisor.process import describe_exit
from supervisor.protocol import (
    ErrorCode,
    Request,
    decode_reply,
    decode_request,
    encode_error,
    encode_request,
    encode_result,
)
from supervisor.reload_plan import plan_reload
from supervisor.resources import CpuSampler, read_usage
from supervisor.restart_policy import RestartPolicy


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_restart_policy_sliding_window():
    clock = Clock()
    policy = RestartPolicy(3, clock=clock)
    for _ in range(3):
        assert policy.may_restart()
        policy.record()
        clock.now += 10
    assert not policy.may_restart() and policy.recent() == 3
    clock.now += 31                     # the first restart leaves the window
    assert policy.may_restart() and policy.recent() == 2
    policy.reset()
    assert policy.recent() == 0


def test_restart_policy_never_and_unlimited():
    assert not RestartPolicy(0).may_restart()
    unlimited = RestartPolicy(30)
    for _ in range(100):
        unlimited.record()
    assert unlimited.may_restart()


def test_protocol_round_trip_and_errors():
    line = encode_request(Request(7, "stop", {"name": "logger"}))
    assert line.endswith(b"\n") and b"\n" not in line[:-1]
    assert decode_request(line) == Request(7, "stop", {"name": "logger"})
    assert decode_reply(encode_result(7, {"a": 1})).unwrap() == {"a": 1}
    reply = decode_reply(encode_error(7, ErrorCode.UNKNOWN_NAME, "no module x"))
    assert (reply.id, reply.ok, reply.code) == (7, False, "unknown-name")
    with pytest.raises(ControlError) as caught:
        reply.unwrap()
    assert caught.value.code == "unknown-name" and str(caught.value) == "no module x"
    for bad, what in [(b"{nope", "not a JSON line"), (b"[1]", "JSON object"),
                      (b'{"id": "x", "command": "a"}', '"id"'),
                      (b'{"id": 1}', '"command"'),
                      (b'{"id": 1, "command": "a", "args": 3}', '"args"')]:
        with pytest.raises(ControlError) as caught:
            decode_request(bad)
        assert caught.value.code == ErrorCode.BAD_REQUEST and what in str(caught.value)


def test_reload_plan(tmp_path):
    settings = Settings(3, tmp_path, tmp_path / "s", tmp_path / "p", tmp_path, "nemea",
                        1.0, 0.5, 60.0)

    def module(name, params=(), enabled=True, restarts=3):
        return ModuleConfig(name, "p", enabled, "path", "sleep", "/bin/sleep", params, (), (),
                            restarts, (), "x.toml")

    old = Config(tmp_path, settings, (ProfileConfig("p", True, ("a", "b", "c", "d"), "x"),),
                 (module("a"), module("b"), module("c"), module("d")))
    new = replace(old, profiles=(ProfileConfig("p", False, ("a", "c", "d", "e"), "x"),),
                  modules=(module("a", restarts=5), module("c", ("1",)),
                           module("d", enabled=False), module("e")))
    plan = plan_reload(old, new)
    assert plan.summary() == {"added": ["e"], "removed": ["b"], "changed": ["c"],
                              "toggled": ["d"], "profiles_toggled": ["p"], "unchanged": 1}


def test_last_lines(tmp_path):
    path = tmp_path / "log"
    assert last_lines(path, 5) == []
    path.write_text("".join(f"line {i}\n" for i in range(100_000)))
    assert last_lines(path, 3) == ["line 99997", "line 99998", "line 99999"]
    path.write_text("a\nb")
    assert last_lines(path, 5) == ["a", "b"]


def test_exit_descriptions_and_proc_sampling():
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(None) == "running"
    usage = read_usage(os.getpid())
    assert usage is not None and usage.rss_bytes > 1_000_000
    assert read_usage(2**22 + 12345) is None
    sampler = CpuSampler()
    sampler.sample(os.getpid(), now=1.0)
    sum(i * i for i in range(300_000))
    sampler.sample(os.getpid(), now=1.0 + 0.001)
    assert sampler.user_percent + sampler.kernel_percent >= 0.0 and sampler.rss_bytes > 0
