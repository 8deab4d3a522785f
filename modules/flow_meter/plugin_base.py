"""Flow plugins: extra fields on their own output interface, computed only from the packets
they ask for (a vectorised mask), so the basic path stays fast."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from unirec import Template

from .flow_table import PLUGIN_STATE


class FlowPlugin:
    name: ClassVar[str]
    fields: ClassVar[str]                 # UniRec template of the added fields
    description: ClassVar[str] = ""

    @property
    def template(self) -> Template:
        return Template.parse(self.fields)

    def wants(self, columns) -> np.ndarray:
        """Boolean mask of the chunk's packets this plugin looks at."""
        raise NotImplementedError

    def update(self, flow: list, reverse: bool, columns, position: int,
               packets: list[bytes]) -> bool:
        """Look at one packet of `flow`; True asks the cache to export the flow now."""
        raise NotImplementedError

    def values(self, key: tuple, state: dict | None) -> dict[str, Any] | None:
        """The raw values of the plugin's fields for an exported flow (its key and plugin
        state); None = the flow has no data for this plugin (it is not sent on the plugin's
        output)."""
        return state.get(self.name) if state else None

    def stored(self, flow: list) -> dict[str, Any] | None:
        """What this plugin stored in a cached flow so far (None: nothing)."""
        state = flow[PLUGIN_STATE]
        return state.get(self.name) if state else None

    def store(self, flow: list, values: dict[str, Any]) -> None:
        if not flow[PLUGIN_STATE]:
            flow[PLUGIN_STATE] = {}
        flow[PLUGIN_STATE][self.name] = values

    @staticmethod
    def payload(columns, position: int, packets: list[bytes]) -> bytes:
        offset = int(columns.payload_offset[position])
        if offset < 0:
            return b""
        end = offset + int(columns.payload_len[position])   # link-layer padding excluded
        return packets[int(columns.packet_index[position])][offset:end]
