"""From the raw TOML tables to a validated Config, before anything starts.

Every problem is one line naming file, profile, module and key. Errors: unknown keys, bad
values, missing keys, duplicate names, two outputs on one socket, bad interface specifiers,
executables that are missing (for modules that would run). Warnings: an input no module of the
configuration writes, a missing executable of a disabled module, included files that match
nothing."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from libtrap_py.errors import SpecifierError
from libtrap_py.ifc_spec import IfcKind, IfcSpec, parse_ifc_specs

from . import loader, paths, schema
from .errors import ConfigError
from .location import Where, shown
from .model import Config, ModuleConfig, ProfileConfig, Settings

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def load_config(path: Path | str, overrides: dict[str, Any] | None = None) -> Config:
    """Read, expand includes, validate. Raises ConfigError listing every problem."""
    raw = loader.load(Path(path))
    builder = _Builder(raw, overrides or {})
    config = builder.build()
    if builder.errors:
        raise ConfigError(builder.errors, builder.warnings)
    return config


@dataclass
class _Ifc:
    module: ModuleConfig | None
    name: str
    enabled: bool
    spec: IfcSpec
    where: Where
    key: str


class _Builder:
    def __init__(self, raw: loader.RawConfig, overrides: dict[str, Any]):
        self.raw = raw
        self.overrides = overrides
        self.errors: list[str] = list(raw.errors)
        self.warnings: list[str] = list(raw.warnings)
        self.base = raw.path.parent

    # --- generic: apply one level of the schema -------------------------------------------
    def apply(self, keys: dict[str, schema.Key], data: dict, where: Where) -> dict | None:
        values: dict[str, Any] = {}
        ok = True
        for key in data:
            if key not in keys:
                self.errors.append(loader.unknown_key(where, key, keys))
                ok = False
        for key in keys.values():
            if key.name not in data:
                if key.default is schema.REQUIRED:
                    self.errors.append(where.say(f'missing key "{key.name}" ({key.doc})'))
                    ok = False
                values[key.name] = key.default
                continue
            try:
                values[key.name] = key.check(data[key.name])
            except ValueError as exc:
                self.errors.append(where.key(key.name, str(exc)))
                ok = False
        return values if ok else None

    def problem(self, fatal: bool, message: str) -> None:
        (self.errors if fatal else self.warnings).append(message)

    # --- the whole configuration ----------------------------------------------------------
    def build(self) -> Config:
        settings = self.settings()
        profiles: list[ProfileConfig] = []
        modules: list[ModuleConfig] = []
        interfaces: list[_Ifc] = []
        seen_profiles: dict[str, Where] = {}
        seen_modules: dict[str, Where] = {}
        for raw_profile in self.raw.profiles:
            data = raw_profile.data
            label = data.get("name") if isinstance(data.get("name"), str) else \
                f"#{raw_profile.position}"
            where = Where(shown(raw_profile.source), profile=label)
            values = self.apply(schema.PROFILE, data, where)
            if values is None:
                values = {"name": label, "enabled": False, "module": []}
                if not isinstance(data.get("module", []), list):
                    continue
                values["module"] = [m for m in data.get("module", []) if isinstance(m, dict)]
            pname = values["name"]
            if pname in seen_profiles:
                self.errors.append(where.key("name", f'duplicate profile name "{pname}" '
                                             f"(first in {seen_profiles[pname].file})"))
            seen_profiles.setdefault(pname, where)
            names = []
            for position, data_module in enumerate(values["module"], 1):
                built = self.module(data_module, position, where, values["enabled"], settings,
                                    interfaces)
                if built is None:
                    continue
                if built.name in seen_modules:
                    first = seen_modules[built.name]
                    self.errors.append(where.at(module=built.name).key(
                        "name", f'duplicate module name "{built.name}" (first in profile '
                        f'"{first.profile}" of {first.file})'))
                    continue
                seen_modules[built.name] = where.at(module=built.name)
                modules.append(built)
                names.append(built.name)
            profiles.append(ProfileConfig(pname, values["enabled"], tuple(names),
                                          shown(raw_profile.source)))
        for name, where in seen_modules.items():
            if name in seen_profiles:
                self.errors.append(where.key("name", f'"{name}" is also the name of a '
                                             "profile; commands take either, so use another"))
        self.check_interfaces(interfaces)
        return Config(self.raw.path, settings, tuple(profiles), tuple(modules),
                      tuple(self.warnings), tuple(self.raw.files))

    def settings(self) -> Settings:
        """The [supervisor] settings; defaults where they are invalid (the errors are
        recorded), so the modules are still checked."""
        where_s = Where(f"{shown(self.raw.path)}: [supervisor]")
        values = self.apply(schema.SUPERVISOR, self.raw.supervisor, where_s)
        if values is None:
            values = {key.name: key.default for key in schema.SUPERVISOR.values()}
        values.update(self.overrides)
        env = dict(values["env"])
        if "TRAP_SOCKET_DIR" in env:
            self.errors.append(where_s.key("env", "set TRAP_SOCKET_DIR with trap-socket-dir"))
            del env["TRAP_SOCKET_DIR"]
        trap_dir = values["trap-socket-dir"] or os.environ.get("TRAP_SOCKET_DIR") or "/tmp"
        nemea = ""
        try:
            nemea = find_nemea(values["nemea"], self.base, env.get("PATH"))
        except ValueError as exc:
            self.errors.append(where_s.key("nemea", str(exc)))

        def place(key: str, default: Path) -> Path:
            return paths.resolve(values[key], self.base) if values[key] else default

        return Settings(
            module_restarts=values["module-restarts"],
            log_dir=place("log-dir", paths.default_log_dir()),
            socket=place("socket", paths.default_socket()),
            pid_file=place("pid-file", paths.default_pid_file()),
            trap_socket_dir=paths.resolve(trap_dir, self.base),
            nemea=nemea, cycle=values["cycle"], stop_timeout=values["stop-timeout"],
            stats_interval=values["stats-interval"], env=tuple(sorted(env.items())))

    # --- one module -----------------------------------------------------------------------
    def module(self, data: dict, position: int, pwhere: Where, profile_enabled: bool,
               settings: Settings, interfaces: list[_Ifc]) -> ModuleConfig | None:
        label = data.get("name") if isinstance(data.get("name"), str) else f"#{position}"
        where = pwhere.at(module=label)
        values = self.apply(schema.MODULE, data, where)
        if values is None:            # still report what is wrong with its interfaces
            tables = data.get("interface")
            for number, table in enumerate(tables if isinstance(tables, list) else []):
                if isinstance(table, dict):
                    self.interface_table(table, where.at(interface=number))
            return None
        enabled = values["enabled"] and profile_enabled
        kind, target, executable = self.executable(values, where, enabled, settings)
        inputs, outputs = list(values["inputs"]), list(values["outputs"])
        specs: list[tuple[str, bool, str]] = [(s, False, "inputs") for s in inputs] + \
            [(s, True, "outputs") for s in outputs]
        for number, table in enumerate(values["interface"]):
            spec = self.interface_table(table, where.at(interface=number))
            if spec is not None:
                specs.append((spec[0], spec[1], "interface"))
        ok = kind is not None
        parsed: list[tuple[IfcSpec, str]] = []
        for text, is_output, key in specs:
            spec = self.parse_spec(text, is_output, where, key)
            ok = ok and spec is not None
            if spec is not None:
                parsed.append((spec, key))
        module_env = dict(values["env"])
        if "TRAP_SOCKET_DIR" in module_env:
            self.errors.append(where.key("env", "set TRAP_SOCKET_DIR with [supervisor] "
                                         "trap-socket-dir (the supervisor reads the modules' "
                                         "service endpoints there)"))
            ok = False
        if not ok:
            return None
        env = {**dict(settings.env), **module_env,
               "TRAP_SOCKET_DIR": str(settings.trap_socket_dir)}
        restarts = values["module-restarts"]
        config = ModuleConfig(
            name=values["name"], profile=pwhere.profile or "", enabled=values["enabled"],
            kind=kind or "", target=target, executable=executable, params=values["params"],
            inputs=tuple(s.text for s, _ in parsed if not s.is_output),
            outputs=tuple(s.text for s, _ in parsed if s.is_output),
            restarts=settings.module_restarts if restarts == schema.INHERIT else restarts,
            env=tuple(sorted(env.items())), source=pwhere.file)
        for spec, key in parsed:
            interfaces.append(_Ifc(config, config.name, enabled, spec, where, key))
        return config

    def executable(self, values: dict, where: Where, enabled: bool,
                   settings: Settings) -> tuple[str | None, str, str]:
        module, path = values["module"].strip(), values["path"].strip()
        if module and path:
            self.errors.append(where.key("path", 'give either "module" or "path", not both'))
            return None, "", ""
        if not module and not path:
            self.errors.append(where.say('missing key "module" or "path" (what to run)'))
            return None, "", ""
        if module:
            if not all(c.isalnum() or c in "_-." for c in module):
                self.errors.append(where.key("module", f'"{module}" is not a nemea module name'))
                return None, "", ""
            if not settings.nemea:
                self.problem(enabled, where.key("module", f'cannot run "{module}": the nemea '
                                                "command was not found (set [supervisor] "
                                                "nemea)"))
                return ("module", module, "nemea") if not enabled else (None, "", "")
            return "module", module, settings.nemea
        env_path = dict(values["env"]).get("PATH") or dict(settings.env).get("PATH")
        try:
            return "path", path, find_executable(path, self.base, env_path)
        except ValueError as exc:
            self.problem(enabled, where.key("path", str(exc)))
            return ("path", path, path) if not enabled else (None, "", "")

    def interface_table(self, table: dict, where: Where) -> tuple[str, bool] | None:
        values = self.apply(schema.INTERFACE, table, where)
        if values is None:
            return None
        params = values["params"].strip()
        is_output = values["direction"] == "OUT"
        if values["type"] == "TCP" and not is_output:
            params = params.replace(",", ":")        # upstream's "host,port" input form
        return f"{schema.IFC_LETTERS[values['type']]}:{params}", is_output

    def parse_spec(self, text: str, is_output: bool, where: Where, key: str) -> IfcSpec | None:
        text = text.strip()
        if "," in text:
            self.errors.append(where.key(key, f'"{text}": one interface per item (no ",")'))
            return None
        try:
            ins, outs = parse_ifc_specs(text, 0 if is_output else 1, 1 if is_output else 0)
        except SpecifierError as exc:
            message = str(exc)
            label = f'{"output" if is_output else "input"} 0 "{text}": '
            if message.startswith(label):
                message = f'"{text}": {message[len(label):]}'
            self.errors.append(where.key(key, message))
            return None
        spec = (outs or ins)[0]
        for warning in spec.warnings:
            label = f'{"output" if is_output else "input"} 0 "{text}": '
            self.warnings.append(where.key(key, warning.replace(label, f'"{text}": ')))
        return spec

    # --- across modules -------------------------------------------------------------------
    def check_interfaces(self, interfaces: list[_Ifc]) -> None:
        written: dict[tuple[IfcKind, str], _Ifc] = {}
        for ifc in interfaces:
            if not ifc.spec.is_output or ifc.spec.kind not in (IfcKind.UNIX, IfcKind.TCP):
                continue
            ident = (ifc.spec.kind, ifc.spec.ifc_id)
            first = written.get(ident)
            if first is None:
                written[ident] = ifc
                continue
            what = f'socket "{ifc.spec.name}"' if ifc.spec.kind == IfcKind.UNIX else \
                f"TCP port {ifc.spec.port}"
            self.problem(first.enabled and ifc.enabled, ifc.where.key(
                ifc.key, f'output "{ifc.spec.text}": {what} is also an output of module '
                f'"{first.name}" (profile "{first.where.profile}"); two outputs cannot share it'))
        for ifc in interfaces:
            spec = ifc.spec
            if spec.is_output:
                continue
            if spec.kind == IfcKind.UNIX and (IfcKind.UNIX, spec.name) not in written:
                self.warnings.append(ifc.where.key(ifc.key, f'input "{spec.text}": no module '
                                                   f'of this configuration writes socket '
                                                   f'"{spec.name}"'))
            if spec.kind == IfcKind.TCP and spec.host in LOCAL_HOSTS and \
                    (IfcKind.TCP, str(spec.port)) not in written:
                self.warnings.append(ifc.where.key(ifc.key, f'input "{spec.text}": no module '
                                                   f"of this configuration listens on TCP "
                                                   f"port {spec.port}"))


def find_executable(value: str, base: Path, env_path: str | None = None) -> str:
    """A path (relative to the configuration's directory) or a name searched on PATH, as
    execvp does. Raises ValueError naming what is wrong."""
    if "/" in value:
        path = paths.resolve(value, base)
        if not path.exists():
            raise ValueError(f'"{value}": no such file ({path})')
        if path.is_dir() or not os.access(path, os.X_OK):
            raise ValueError(f'"{value}": not an executable file ({path})')
        return str(path)
    found = shutil.which(value, path=env_path)
    if found is None:
        raise ValueError(f'"{value}": executable not found on PATH')
    return found


def find_nemea(value: str, base: Path, env_path: str | None = None) -> str:
    """The nemea command: as configured, else the one installed with this Python, else PATH;
    "" when there is none."""
    if value:
        return find_executable(value, base, env_path)
    sibling = Path(sys.executable).with_name("nemea")
    if sibling.is_file() and os.access(sibling, os.X_OK):
        return str(sibling)
    return shutil.which("nemea", path=env_path) or ""
