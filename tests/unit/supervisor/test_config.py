"""Loading and validating configurations: every problem one line naming file, profile,
module and key; warnings where the configuration still works."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from supervisor.errors import ConfigError
from supervisor.validate import load_config


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    """cfg(text, name="x.toml", **more_files) writes the files and returns the main path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAP_SOCKET_DIR", str(tmp_path / "sock"))

    def write(text: str, name: str = "x.toml", **files: str) -> Path:
        for other, content in files.items():
            path = tmp_path / other.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(content))
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path
    return write


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    for line in caught.value.errors + caught.value.warnings:
        assert "\n" not in line
    return caught.value.errors


def warnings_of(path: Path) -> list[str]:
    return list(load_config(path).warnings)


GOOD = """
    [supervisor]
    log-dir = "logs"
    env = { LANG = "C" }

    [[profile]]
    name = "p"

    [[profile.module]]
    name = "src"
    path = "sleep"
    params = "100 'a b'"
    outputs = ["u:flows"]

    [[profile.module]]
    name = "sink"
    module = "logger"
    params = ["-t"]
    inputs = ["u:flows"]
    module-restarts = 5
    env = { X = "1" }
"""


def test_a_valid_configuration(cfg, tmp_path):
    config = load_config(cfg(GOOD))
    assert config.warnings == ()
    assert [p.name for p in config.profiles] == ["p"]
    src, sink = config.modules
    assert src.argv == ("src", "100", "a b", "-i", "u:flows")
    assert src.executable.endswith("/sleep") and os.path.isabs(src.executable)
    assert src.restarts == 3
    assert sink.argv == ("sink", "logger", "-t", "-i", "u:flows")
    assert Path(sink.executable).name == "nemea"
    assert sink.restarts == 5
    assert dict(sink.env) == {"LANG": "C", "X": "1", "TRAP_SOCKET_DIR": str(tmp_path / "sock")}
    assert config.settings.log_dir == tmp_path / "logs"
    assert config.settings.cycle == 1.0 and config.settings.stop_timeout == 0.5


def test_unknown_keys_are_named_with_a_suggestion(cfg):
    path = cfg("""
        [supervisor]
        cycel = 1
        [[profile]]
        name = "p"
        [[profile.module]]
        name = "m"
        path = "sleep"
        enabeld = true
        [[profile.module.interface]]
        type = "UNIXSOCKET"
        direction = "IN"
        parms = "x"
    """)
    assert errors_of(path) == [
        'x.toml: [supervisor]: unknown key "cycel" (did you mean "cycle"?)',
        'x.toml: profile "p": module "m": unknown key "enabeld" (did you mean "enabled"?)',
        'x.toml: profile "p": module "m": interface 0: unknown key "parms" '
        '(did you mean "params"?)',
    ]


def test_bad_values_name_the_key(cfg):
    path = cfg("""
        [[profile]]
        name = "p"
        enabled = "yes"
        [[profile.module]]
        name = "m"
        path = "sleep"
        module-restarts = 31
        params = "'unbalanced"
    """)
    errors = errors_of(path)
    assert errors[0] == ('x.toml: profile "p": key "enabled": expected true or false, '
                         "got a string ('yes')")
    assert 'x.toml: profile "p": module "m": key "module-restarts": 31 is out of range 0..30' \
        in errors
    assert any(e.startswith('x.toml: profile "p": module "m": key "params": cannot split')
               for e in errors)


def test_missing_keys(cfg):
    path = cfg("""
        [[profile]]
        enabled = true
        [[profile.module]]
        name = "m"
        [[profile.module]]
        path = "sleep"
    """)
    errors = errors_of(path)
    assert errors[0].startswith('x.toml: profile "#1": missing key "name"')
    assert 'x.toml: profile "#1": module "m": missing key "module" or "path" (what to run)' \
        in errors
    assert any(e.startswith('x.toml: profile "#1": module "#2": missing key "name"')
               for e in errors)


def test_module_or_path_not_both(cfg):
    path = cfg("""
        [[profile]]
        name = "p"
        [[profile.module]]
        name = "m"
        path = "sleep"
        module = "logger"
    """)
    assert errors_of(path) == [
        'x.toml: profile "p": module "m": key "path": give either "module" or "path", not both']


def test_duplicate_names_over_included_files(cfg):
    path = cfg("""
        include = ["more.toml"]
        [[profile]]
        name = "p"
        [[profile.module]]
        name = "m"
        path = "sleep"
    """, **{"more.toml": """
        [[profile]]
        name = "p"
        [[profile]]
        name = "q"
        [[profile.module]]
        name = "m"
        path = "sleep"
        [[profile.module]]
        name = "q"
        path = "sleep"
    """})
    assert errors_of(path) == [
        'more.toml: profile "p": key "name": duplicate profile name "p" (first in x.toml)',
        'more.toml: profile "q": module "m": key "name": duplicate module name "m" '
        '(first in profile "p" of x.toml)',
        'more.toml: profile "q": module "q": key "name": "q" is also the name of a profile; '
        "commands take either, so use another",
    ]


def test_two_outputs_on_one_socket(cfg):
    text = """
        [[profile]]
        name = "p"
        [[profile.module]]
        name = "a"
        path = "sleep"
        outputs = ["u:flows"]
        [[profile.module]]
        name = "b"
        path = "sleep"
        enabled = ENABLED
        [[profile.module.interface]]
        type = "UNIXSOCKET"
        direction = "OUT"
        params = "flows:max_clients=2"
        [[profile.module]]
        name = "c"
        path = "sleep"
        outputs = ["t:7600"]
        [[profile.module]]
        name = "d"
        path = "sleep"
        outputs = ["t:7600"]
    """
    assert errors_of(cfg(text.replace("ENABLED", "true"))) == [
        'x.toml: profile "p": module "b": key "interface": output "u:flows:max_clients=2": '
        'socket "flows" is also an output of module "a" (profile "p"); two outputs cannot '
        "share it",
        'x.toml: profile "p": module "d": key "outputs": output "t:7600": TCP port 7600 is '
        'also an output of module "c" (profile "p"); two outputs cannot share it',
    ]
    # with one of them disabled it is only a warning (alternative sources)
    assert len(errors_of(cfg(text.replace("ENABLED", "false")))) == 1


def test_an_input_nobody_writes_is_a_warning(cfg):
    path = cfg("""
        [[profile]]
        name = "p"
        [[profile.module]]
        name = "m"
        path = "sleep"
        inputs = ["u:nowhere", "t:localhost:7777", "t:far.example:7777", "f:/tmp/x"]
    """)
    assert warnings_of(path) == [
        'x.toml: profile "p": module "m": key "inputs": input "u:nowhere": no module of this '
        'configuration writes socket "nowhere"',
        'x.toml: profile "p": module "m": key "inputs": input "t:localhost:7777": no module '
        "of this configuration listens on TCP port 7777",
    ]


def test_missing_executables(cfg, tmp_path):
    (tmp_path / "notexec").write_text("#!/bin/sh\n")
    path = cfg("""
        [[profile]]
        name = "p"
        [[profile.module]]
        name = "a"
        path = "no-such-program-here"
        [[profile.module]]
        name = "b"
        path = "./notexec"
        [[profile.module]]
        name = "c"
        path = "bin/missing"
        enabled = false
    """)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.errors == [
        'x.toml: profile "p": module "a": key "path": "no-such-program-here": executable '
        "not found on PATH",
        f'x.toml: profile "p": module "b": key "path": "./notexec": not an executable file '
        f"({tmp_path}/notexec)",
    ]
    assert caught.value.warnings == [
        f'x.toml: profile "p": module "c": key "path": "bin/missing": no such file '
        f"({tmp_path}/bin/missing)"]


def test_interface_specifiers_are_checked(cfg):
    path = cfg("""
        [[profile]]
        name = "p"
        [[profile.module]]
        name = "m"
        path = "sleep"
        inputs = ["x:foo", "u:a,u:b"]
        outputs = ["u:"]
        [[profile.module.interface]]
        type = "TLS"
        direction = "OUT"
        params = "7600"
        [[profile.module.interface]]
        type = "PIPE"
        direction = "IN"
    """)
    errors = errors_of(path)
    where = 'x.toml: profile "p": module "m": '
    assert errors[0] == where + 'interface 1: key "type": \'PIPE\' is not one of TCP, ' \
                                "UNIXSOCKET, FILE, BLACKHOLE, TLS"
    assert where + 'key "inputs": "x:foo": unknown interface type \'x\' (use t, u, f or b)' \
        in errors
    assert where + 'key "inputs": "u:a,u:b": one interface per item (no ",")' in errors
    assert where + 'key "outputs": "u:": missing socket name (u:NAME)' in errors
    assert any(e.startswith(where + 'key "interface": "T:7600": TLS interfaces') for e in errors)


def test_interfaces_in_nemea_form(cfg):
    path = cfg("""
        [[profile]]
        name = "p"
        [[profile.module]]
        name = "m"
        path = "sleep"
        inputs = ["u:first"]
        [[profile.module.interface]]
        type = "tcp"
        direction = "in"
        params = "localhost,7600"
        [[profile.module.interface]]
        type = "BLACKHOLE"
        direction = "OUT"
        note = "nothing"
    """)
    module = load_config(path).modules[0]
    assert module.inputs == ("u:first", "t:localhost:7600")
    assert module.outputs == ("b:",)
    assert module.argv[-2:] == ("-i", "u:first,t:localhost:7600,b:")


def test_includes_globs_directories_and_cycles(cfg):
    main = cfg("""
        include = ["profiles.d", "extra/*.toml"]
        [[profile]]
        name = "main"
    """, **{
        "profiles.d__b.toml": '[[profile]]\nname = "b"\n',
        "profiles.d__a.toml": 'include = ["../extra/c.toml"]\n[[profile]]\nname = "a"\n',
        "extra__c.toml": '[[profile]]\nname = "c"\n',
    })
    config = load_config(main)
    assert [p.name for p in config.profiles] == ["main", "a", "c", "b"]
    assert any("included more than once" in w for w in config.warnings)
    loop = cfg('include = ["y.toml"]\n', name="loop.toml",
               **{"y.toml": 'include = ["loop.toml"]\n[supervisor]\ncycle = 2\n'})
    errors = errors_of(loop)
    assert errors == ['y.toml: key "supervisor": allowed only in the main file loop.toml',
                      "loop.toml: include cycle: loop.toml -> y.toml -> loop.toml"]
    late = cfg('[[profile]]\nname = "a"\ninclude = ["y.toml"]\n', name="late.toml")
    assert errors_of(late) == ['late.toml: profile "a": unknown key "include" (a top-level '
                               "key: put it before the first [table] of the file)"]
    missing = cfg('include = ["nope.toml"]\n', name="m.toml")
    assert errors_of(missing) == ['m.toml: key "include": "nope.toml": no such file or directory']


def test_toml_syntax_error_is_one_line(cfg):
    errors = errors_of(cfg("[[profile]\nname = 1\n"))
    assert len(errors) == 1 and errors[0].startswith("x.toml: TOML syntax: ")


def test_names_and_environment(cfg):
    path = cfg("""
        [[profile]]
        name = "p"
        [[profile.module]]
        name = "../evil"
        path = "sleep"
        [[profile.module]]
        name = "m"
        path = "sleep"
        env = { TRAP_SOCKET_DIR = "/elsewhere" }
    """)
    errors = errors_of(path)
    assert errors[0].startswith('x.toml: profile "p": module "../evil": key "name": '
                                "'../evil': use letters, digits")
    assert errors[1].startswith('x.toml: profile "p": module "m": key "env": set '
                                "TRAP_SOCKET_DIR with [supervisor] trap-socket-dir")


def test_all_problems_at_once(cfg):
    path = cfg("""
        [supervisor]
        cycle = 0
        [[profile]]
        name = "p"
        [[profile.module]]
        name = "m"
        path = "sleep"
        bogus = 1
    """)
    assert errors_of(path) == [
        'x.toml: [supervisor]: key "cycle": 0 is out of range 0.01..60.0',
        'x.toml: profile "p": module "m": unknown key "bogus" (known keys: name, enabled, '
        "module, path, params, inputs, outputs, interface, module-restarts, env)",
    ]
