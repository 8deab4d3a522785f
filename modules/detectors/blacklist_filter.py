"""ipblacklistfilter: pass on the flows from or to a blacklisted address, marked with its lists.

Blacklists are bl_downloader's detector files (`-4` IPv4, `-6` IPv6, or both named in the
`-c` ipdetect_config.xml; see blacklist_files for the format: addresses, prefixes, list bitmaps,
per-list ports). A flow whose source (checked first) or destination is listed goes out with the
input's fields plus `SRC_BLACKLIST` / `DST_BLACKLIST` (the bitmap of the lists, one side only) and
`BLACKLIST_NAMES` (the lists' names from `--lists` bl_downloader_config.xml, else "blacklist N").
Flows with port 53 on either side are left out, as NEMEA does (`--keep-dns` keeps them).

With watching on (default; `watch_blacklists` in the XML), the files are checked every
`--watch-interval` seconds and reloaded when one changed (size, mtime or inode: the downloader
rewrites them); a file that fails to load keeps the previous lists, with a warning.
Deviation from NEMEA: an address matched by several (nested) entries gets all their lists, and a
listed source whose list ports do not match does not hide a listed destination.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from libtrap_py.cli import module_command
from libtrap_py.formats import DataFormat
from libtrap_py.module import Module, param
from unirec import RecordBatch, Template

from .blacklist_files import (
    ListInfo,
    list_names,
    read_detector_file,
    read_filter_config,
    read_list_names,
)
from .blacklist_match import BlacklistTable
from .flow_columns import FLOW_FIELDS

log = logging.getLogger("ipblacklistfilter")
ADDED = ("uint64 SRC_BLACKLIST", "uint64 DST_BLACKLIST", "string BLACKLIST_NAMES")


@dataclass
class BlacklistParams:
    config: str = param("", "-c", "ipdetect_config.xml: blacklist files and watch_blacklists.")
    ipv4: str = param("", "-4", "IPv4 blacklist file (overrides the config; required).")
    ipv6: str = param("", "-6", "IPv6 blacklist file (optional).")
    lists: str = param("", "-l", "bl_downloader_config.xml, for the names of the lists.")
    no_eof: bool = param(False, "-n", "Do not send end-of-stream at the end.")
    keep_dns: bool = param(False, None, "Also check flows with port 53 (NEMEA skips them).")
    no_watch: bool = param(False, None, "Load the blacklists once, never reload them.")
    watch_interval: float = param(1.0, None, "Check the blacklist files this often (seconds).")

    def validate(self) -> None:
        values = read_filter_config(self.config) if self.config else {}
        self.ipv4 = self.ipv4 or values.get("ipv4_blacklist_file", "")
        self.ipv6 = self.ipv6 or values.get("ipv6_blacklist_file", "")
        if values.get("watch_blacklists", "true").lower() == "false":
            self.no_watch = True
        if not self.ipv4:
            raise ValueError("-4: an IPv4 blacklist file is required (or -c with "
                             "ipv4_blacklist_file)")
        if not os.path.isfile(self.ipv4):
            raise ValueError(f"-4 {self.ipv4}: no such file")
        self.names: dict[int, ListInfo] = read_list_names(self.lists) if self.lists else {}
        if self.watch_interval <= 0:
            raise ValueError("--watch-interval: must be > 0")


def _signature(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class BlacklistFilter(Module):
    name = "ipblacklistfilter"
    description = ("Pass on flows from or to blacklisted addresses and prefixes (bl_downloader's "
                   "detector files), marked with the lists' bitmaps and names; reload the lists "
                   "when the files change.")
    Params = BlacklistParams
    required = FLOW_FIELDS

    def setup(self) -> None:
        p = self.params
        self.send_eof_at_end = not p.no_eof
        self.tick_interval = p.watch_interval
        self.files = [path for path in (p.ipv4, p.ipv6) if path]
        self.signatures: dict[str, tuple | None] = {}
        self.table = BlacklistTable()
        self.reloads = 0
        if not self.load(initial=True):
            raise ValueError(f"-4 {p.ipv4}: cannot read the blacklist")
        self.name_cache: dict[int, str] = {}
        self.output_for: Template | None = None
        self.flows_seen = self.flows_sent = 0

    # --- blacklists ---------------------------------------------------------------------------
    def load(self, initial: bool = False) -> bool:
        """(Re)load every file; keeps the old table when the IPv4 file cannot be read."""
        entries = []
        signatures = {}
        for path in self.files:
            signatures[path] = _signature(path)
            try:
                entries += read_detector_file(path)
            except OSError as exc:
                if path == self.params.ipv4:
                    log.warning("cannot read blacklist %s: %s; keeping the previous lists",
                                path, exc.strerror)
                    return False
                if initial:
                    log.warning("IPv6 blacklist %s not readable (%s): not detecting IPv6",
                                path, exc.strerror)
        self.table = BlacklistTable(entries)
        self.signatures = signatures
        self.reloads += 0 if initial else 1
        log.info("blacklists loaded: %d entries from %s", len(entries), ", ".join(self.files))
        return True

    def check_reload(self) -> bool:
        """Reload when a file changed since it was loaded; True if reloaded."""
        if self.params.no_watch:
            return False
        if all(_signature(path) == self.signatures.get(path) for path in self.files):
            return False
        return self.load()

    def on_tick(self, now: float) -> None:
        self.check_reload()

    # --- flows --------------------------------------------------------------------------------
    def on_format(self, fmt: DataFormat, index: int) -> None:
        template = fmt.template
        extra = [spec for spec in ADDED if spec.split()[1] not in template]
        spec = ",".join([template.spec, *extra]) if template.spec else ",".join(extra)
        self.output_for = template
        self.set_output_template(spec)

    def on_batch(self, batch: RecordBatch, index: int) -> None:
        if not batch.length:
            return
        if self.output_for is None or batch.template != self.output_for:
            self.on_format(DataFormat.unirec(batch.template), index)
        self.flows_seen += batch.length
        sport, dport = batch.column("SRC_PORT"), batch.column("DST_PORT")
        src_bits = self.table.lookup(batch.column("SRC_IP"), sport)
        dst_bits = self.table.lookup(batch.column("DST_IP"), dport)
        dst_bits[src_bits != 0] = 0                  # one side only: the source first
        hit = (src_bits != 0) | (dst_bits != 0)
        if not self.params.keep_dns:
            hit &= (sport != 53) & (dport != 53)
        rows = np.flatnonzero(hit)
        if not len(rows):
            return
        selected = batch.take(rows)
        template = self.output_template()
        columns = {f.name: selected.column(f.name) for f in batch.template.fields}
        columns["SRC_BLACKLIST"] = src_bits[rows]
        columns["DST_BLACKLIST"] = dst_bits[rows]
        columns["BLACKLIST_NAMES"] = [self._names(int(s or d)) for s, d in
                                      zip(src_bits[rows].tolist(), dst_bits[rows].tolist(),
                                          strict=True)]
        self.flows_sent += len(rows)
        self.emit(RecordBatch.from_columns(template, len(rows), columns))

    def _names(self, bitmap: int) -> str:
        text = self.name_cache.get(bitmap)
        if text is None:
            text = self.name_cache[bitmap] = list_names(bitmap, self.params.names)
        return text

    def stats(self) -> dict:
        return {"flows": self.flows_seen, "listed": self.flows_sent, "entries": len(self.table),
                "reloads": self.reloads}


main = module_command(BlacklistFilter)

if __name__ == "__main__":
    main()
