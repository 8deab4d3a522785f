"""The modules under supervision: starting, stopping, reaping, the restart policy, the
commands (start, stop, restart, enable, disable) and applying a reloaded configuration.

No sockets and no loop here: the daemon calls `cycle()` periodically, `reap()` when a child
ended, and the command methods from the control handlers. A module runs when it and its profile
are enabled; start/stop are expressed through those flags, as upstream."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from . import process
from .errors import ControlError
from .logs import LogLayout
from .model import Config, ModuleConfig
from .protocol import ErrorCode
from .reload_plan import ReloadPlan, plan_reload
from .restart_policy import RestartPolicy
from .runtime import ModuleRuntime, Status

log = logging.getLogger("supervisor")
events = logging.getLogger("supervisor.events")


class Engine:
    def __init__(self, config: Config, layout: LogLayout):
        self.config = config
        self.layout = layout
        self.runtimes: list[ModuleRuntime] = [self._new_runtime(m) for m in config.modules]
        self.profile_enabled = {p.name: p.enabled for p in config.profiles}
        self.lingering: list[process.ModuleProcess] = []   # survived SIGKILL (for now)

    @staticmethod
    def _new_runtime(config: ModuleConfig) -> ModuleRuntime:
        return ModuleRuntime(config, config.enabled, RestartPolicy(config.restarts))

    # --- lookups --------------------------------------------------------------------------
    def runtime(self, name: str) -> ModuleRuntime | None:
        return next((rt for rt in self.runtimes if rt.name == name), None)

    def targets(self, name: str) -> tuple[str, list[ModuleRuntime]]:
        """("module", [it]) or ("profile", its modules); ControlError for an unknown name."""
        rt = self.runtime(name)
        if rt is not None:
            return "module", [rt]
        if name in self.profile_enabled:
            return "profile", [rt for rt in self.runtimes if rt.config.profile == name]
        raise ControlError(ErrorCode.UNKNOWN_NAME, f'no module or profile "{name}"')

    def wanted(self, rt: ModuleRuntime) -> bool:
        return rt.enabled and self.profile_enabled.get(rt.config.profile, False)

    @property
    def socket_dir(self) -> Path:
        return self.config.settings.trap_socket_dir

    # --- processes ------------------------------------------------------------------------
    def _start(self, rt: ModuleRuntime, automatic: bool = False) -> None:
        stdout_log, stderr_log = self.layout.module_logs(rt.name)
        try:
            proc = process.spawn(rt.config, stdout_log, stderr_log)
        except OSError as exc:
            self._fail(rt, f"cannot start: {exc.strerror or exc} "
                           f"({exc.filename or rt.config.executable})")
            return
        rt.process, rt.status, rt.last_pid = proc, Status.RUNNING, proc.pid
        rt.crashed, rt.started_at = False, proc.started
        rt.starts += 1
        if automatic:
            events.info("%s: restarted (pid %d), %d restart(s) within a minute, limit %s",
                        rt.name, proc.pid, rt.policy.recent(),
                        "none" if rt.policy.unlimited else rt.policy.limit)
        else:
            events.info("%s: started (pid %d): %s", rt.name, proc.pid, rt.config.command_line)

    def _fail(self, rt: ModuleRuntime, reason: str) -> None:
        rt.status, rt.enabled, rt.failure, rt.crashed = Status.FAILED, False, reason, False
        events.error("%s: %s - disabled", rt.name, reason)
        self._cleanup(rt)

    def _stop(self, rts: list[ModuleRuntime], why: str) -> None:
        running = [rt for rt in rts if rt.process is not None]
        if not running:
            return
        how = process.stop([rt.process for rt in running],            # type: ignore[misc]
                           self.config.settings.stop_timeout)
        for rt in running:
            proc = rt.process
            assert proc is not None
            rt.process, rt.status, rt.crashed = None, Status.STOPPED, False
            rt.last_exit = proc.poll()
            if rt.last_exit is None:
                self.lingering.append(proc)
            events.info("%s: stopped (%s, %s), pid %d, %s", rt.name, why, how[proc.pid],
                        proc.pid, rt.exit_text or "exit not seen yet")
            self._cleanup(rt)

    def _cleanup(self, rt: ModuleRuntime) -> None:
        """Remove the socket files a stopped module leaves: its unix socket outputs, its
        service endpoint."""
        names = [spec[2:].split(":", 1)[0] for spec in rt.config.outputs if spec[:2] == "u:"]
        if rt.last_pid:
            names.append(f"service_{rt.last_pid}")
        removed = process.remove_sockets(self.socket_dir, names)
        if removed:
            events.info("%s: removed %s", rt.name, ", ".join(p.name for p in removed))

    def reap(self) -> list[ModuleRuntime]:
        """Notice modules that ended by themselves; returns them."""
        ended = []
        for rt in self.runtimes:
            code = rt.process.poll() if rt.process is not None else None
            if code is None:
                continue
            ended.append(rt)
            rt.process, rt.last_exit = None, code
            process.remove_sockets(self.socket_dir, [f"service_{rt.last_pid}"])
            if code == 0:
                rt.status = Status.FINISHED
                events.info("%s: finished (exit code 0), not restarted", rt.name)
                self._cleanup(rt)
            else:
                rt.status, rt.crashed = Status.STOPPED, True
                events.warning("%s: exited unexpectedly (%s), pid %d", rt.name, rt.exit_text,
                               rt.last_pid)
        self.lingering = [p for p in self.lingering if p.poll() is None]
        return ended

    def enforce(self) -> None:
        """Stop what should not run, start what should (restart policy for the crashed)."""
        self._stop([rt for rt in self.runtimes if rt.running and not self.wanted(rt)],
                   "disabled")
        for rt in self.runtimes:
            if rt.running or rt.status != Status.STOPPED or not self.wanted(rt):
                continue
            if not rt.crashed:
                self._start(rt)
            elif rt.policy.may_restart():
                rt.policy.record()
                rt.restarts += 1
                self._start(rt, automatic=True)
            elif rt.policy.limit == 0:
                self._fail(rt, f"{rt.exit_text}; automatic restarts are off "
                               "(module-restarts = 0)")
            else:
                self._fail(rt, f"{rt.exit_text} after {rt.policy.recent()} restart(s) within "
                               "a minute")

    def cycle(self, now: float | None = None) -> None:
        """One service cycle: reap, sample CPU and memory, apply the restart policy."""
        self.reap()
        now = time.monotonic() if now is None else now
        for rt in self.runtimes:
            if rt.process is not None:
                rt.cpu.sample(rt.process.pid, now)
        self.enforce()

    def stop_all(self, why: str = "shutdown") -> None:
        self._stop([rt for rt in self.runtimes if rt.running], why)

    # --- commands -------------------------------------------------------------------------
    def enable(self, name: str) -> dict:
        kind, rts = self.targets(name)
        if kind == "module":
            rts[0].enabled = True
            rts[0].clear_end_state()
        else:
            self.profile_enabled[name] = True
            for rt in rts:
                if rt.status == Status.FINISHED:
                    rt.clear_end_state()
        self.reap()
        self.enforce()
        return self.outcome(rts)

    def disable(self, name: str) -> dict:
        kind, rts = self.targets(name)
        if kind == "module":
            rts[0].enabled = False
        else:
            self.profile_enabled[name] = False
        self.enforce()
        return self.outcome(rts)

    start, stop = enable, disable

    def restart(self, name: str) -> dict:
        kind, rts = self.targets(name)
        if kind == "module":
            rts[0].enabled = True
        else:
            self.profile_enabled[name] = True
            rts = [rt for rt in rts if rt.enabled]
        self._stop([rt for rt in rts if rt.running], "restart")
        for rt in rts:
            rt.clear_end_state()
        self.enforce()
        return self.outcome(rts)

    def outcome(self, rts: list[ModuleRuntime]) -> dict:
        notes = [f'{rt.name}: profile "{rt.config.profile}" is disabled, so it does not run'
                 for rt in rts if rt.enabled and not self.profile_enabled[rt.config.profile]]
        notes += [f"{rt.name}: failed: {rt.failure}" for rt in rts if rt.status == Status.FAILED]
        return {"modules": [{"name": rt.name, "enabled": rt.enabled, "status": rt.status.value,
                             "pid": rt.last_pid} for rt in rts], "notes": notes}

    # --- reload ---------------------------------------------------------------------------
    def apply(self, new: Config) -> ReloadPlan:
        plan = plan_reload(self.config, new)
        old = {rt.name: rt for rt in self.runtimes}
        self.config = new          # new settings (stop-timeout, socket dir) from here on
        self._stop([old[n] for n in (*plan.removed, *plan.changed) if old[n].running],
                   "reload")
        runtimes = []
        for module in new.modules:
            rt = old.get(module.name)
            if rt is None:
                rt = self._new_runtime(module)
            elif module.name in plan.changed or module.name in plan.toggled:
                rt.enabled = module.enabled
                if module.enabled or module.name in plan.changed:
                    rt.clear_end_state()
            rt.config = module
            rt.policy.limit = module.restarts
            runtimes.append(rt)
        self.runtimes = runtimes
        self.profile_enabled = {
            p.name: self.profile_enabled[p.name]
            if p.name in self.profile_enabled and p.name not in plan.profiles_toggled
            else p.enabled for p in new.profiles}
        self.enforce()
        return plan

    # --- views ----------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """Profiles with their modules (global index in configuration order), for `status`."""
        index = {rt.name: i for i, rt in enumerate(self.runtimes)}
        profiles = []
        for profile in self.config.profiles:
            modules = [self.row(self.runtimes[index[name]], index[name])
                       for name in profile.modules]
            profiles.append({"name": profile.name,
                             "enabled": self.profile_enabled[profile.name],
                             "modules": modules})
        return {"profiles": profiles}

    def row(self, rt: ModuleRuntime, idx: int) -> dict:
        return {"idx": idx, "name": rt.name, "enabled": rt.enabled, "status": rt.status.value,
                "pid": rt.last_pid, "restarts": rt.restarts, "last_exit": rt.exit_text,
                "failure": rt.failure, "wanted": self.wanted(rt)}

    def info(self, rt: ModuleRuntime) -> dict:
        config = rt.config
        stdout_log, stderr_log = self.layout.module_logs(rt.name)
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rt.started_at)) \
            if rt.started_at else ""
        return {
            "idx": self.runtimes.index(rt), "name": rt.name, "profile": config.profile,
            "enabled": rt.enabled, "profile_enabled": self.profile_enabled[config.profile],
            "status": rt.status.value, "pid": rt.last_pid, "path": config.executable,
            "params": " ".join(config.params), "command": config.command_line,
            "argv": list(config.argv), "input_specs": list(config.inputs),
            "output_specs": list(config.outputs), "ifc_spec": config.ifc_spec,
            "logs": {"stdout": str(stdout_log), "stderr": str(stderr_log)},
            "starts": rt.starts, "restarts": rt.restarts,
            "restarts_last_minute": rt.policy.recent(), "restart_limit": rt.policy.limit,
            "started": started, "last_exit": rt.exit_text, "failure": rt.failure,
            "source": config.source, "env": dict(config.env)}
