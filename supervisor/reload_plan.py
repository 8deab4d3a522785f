"""What a reload changes, matching modules and profiles by name:

* a new module name -> added (started if enabled);
* a name no longer present -> removed (stopped);
* same name, different executable, arguments, interfaces or environment -> changed
  (stopped and started again with the new configuration);
* same name, only the `enabled` flag in the file differs -> toggled (started or stopped);
* everything else is left running untouched (a new restart limit applies in place).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Config


@dataclass(frozen=True)
class ReloadPlan:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    toggled: tuple[str, ...]                 # modules whose file `enabled` changed
    profiles_toggled: tuple[str, ...]        # kept profiles whose file `enabled` changed
    unchanged: tuple[str, ...]

    def summary(self) -> dict:
        return {"added": list(self.added), "removed": list(self.removed),
                "changed": list(self.changed), "toggled": list(self.toggled),
                "profiles_toggled": list(self.profiles_toggled),
                "unchanged": len(self.unchanged)}


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    old_modules = {m.name: m for m in old.modules}
    new_modules = {m.name: m for m in new.modules}
    added, changed, toggled, unchanged = [], [], [], []
    for name, module in new_modules.items():
        before = old_modules.get(name)
        if before is None:
            added.append(name)
        elif before.launch_key() != module.launch_key():
            changed.append(name)
        elif before.enabled != module.enabled:
            toggled.append(name)
        else:
            unchanged.append(name)
    removed = [name for name in old_modules if name not in new_modules]
    old_profiles = {p.name: p for p in old.profiles}
    profiles_toggled = [p.name for p in new.profiles
                        if p.name in old_profiles and old_profiles[p.name].enabled != p.enabled]
    return ReloadPlan(tuple(added), tuple(removed), tuple(changed), tuple(toggled),
                      tuple(profiles_toggled), tuple(unchanged))
