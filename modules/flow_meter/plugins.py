"""The registry of flow plugins (`-p dns,http,...`) and their output batches."""

from __future__ import annotations

import importlib

import numpy as np

from unirec import RecordBatch
from unirec.batch import column_from_values

from .flow_table import ExportedFlows
from .plugin_base import FlowPlugin

# name -> "module:class", imported only when the plugin is asked for (dpkt is slow to load)
PLUGINS: dict[str, str] = {
    "dns": "dns_plugin:DnsPlugin", "http": "http_plugin:HttpPlugin",
    "tls": "tls_plugin:TlsPlugin", "icmp": "simple_plugins:IcmpPlugin",
    "vlan": "simple_plugins:VlanPlugin",
}


def make_plugins(names: str) -> list[FlowPlugin]:
    """`dns,http` -> plugin objects; an unknown name is an error listing the known ones."""
    plugins = []
    for name in filter(None, (n.strip() for n in names.split(","))):
        if name not in PLUGINS:
            raise ValueError(f"-p {names}: unknown plugin {name!r} "
                             f"(known: {', '.join(sorted(PLUGINS))})")
        module, cls = PLUGINS[name].split(":")
        plugins.append(getattr(importlib.import_module(f"{__package__}.{module}"), cls)())
    return plugins


def plugin_batch(plugin: FlowPlugin, basic: RecordBatch,
                 exported: ExportedFlows) -> RecordBatch | None:
    """The flows that have data for `plugin`: basic fields plus the plugin's fields."""
    values = [plugin.values(key, state) for key, state in zip(exported.keys, exported.states,
                                                              strict=True)]
    chosen = [i for i, v in enumerate(values) if v is not None]
    if not chosen:
        return None
    template = basic.template.union(plugin.template)
    batch = basic.take(np.array(chosen, dtype=np.intp)).project(template)
    for field in plugin.template.fields:
        position = template.index[field.name]
        batch.columns[position] = column_from_values(
            field.type, [values[i][field.name] for i in chosen])
    return batch
