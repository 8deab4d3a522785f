"""proto_traffic, link_traffic and ipv6stats as real processes: exact counters (checked against
numpy on the same records), the Munin query sockets, interval lines and records, exits."""

from __future__ import annotations

import contextlib
import signal
import socket
import stat

import numpy as np
import pytest

from tests.conftest import wait_until
from unirec import CsvFormatter, RecordBatch, read_csv

FLOW_TEMPLATE = ("ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 LINK_BIT_FIELD,uint32 PACKETS,"
                 "uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL")
PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "icmp6": 58, "esp": 50, "gre": 47, "sctp": 132}
LINKS_CFG = ("# value,name,field,color\n1,nix2,LINK_BIT_FIELD,99a0A9\n\n"
             "0x4,telia,LINK_BIT_FIELD,776655\n  2 , geant , LINK_BIT_FIELD , 008000\n")
LINKS = [(1, "nix2"), (4, "telia"), (2, "geant")]
COUNT = 600


def make_flows(count: int = COUNT, seed: int = 11) -> RecordBatch:
    rng = np.random.default_rng(seed)
    ipv6 = rng.random(count) < 0.3
    src = [f"2001:db8::{i:x}" if ipv6[i] else f"10.1.{i // 200}.{i % 200 + 1}"
           for i in range(count)]
    dst = [f"2001:db8:1::{i:x}" if ipv6[i] else f"192.0.2.{i % 250 + 1}" for i in range(count)]
    octets = rng.integers(0, 2**50, count, dtype=np.uint64)
    octets[::37] = 2**56 + 1 + np.arange(len(octets[::37]), dtype=np.uint64)   # not float-exact
    return RecordBatch.from_columns(FLOW_TEMPLATE, count, {
        "SRC_IP": src, "DST_IP": dst, "BYTES": octets,
        "PACKETS": rng.integers(0, 2**32, count, dtype=np.uint32),
        "PROTOCOL": rng.choice(np.array([1, 6, 17, 58, 50, 47, 132, 41, 2, 0, 255], np.uint8),
                               count),
        "SRC_PORT": rng.choice(np.array([3544, 53, 40000], np.uint16), count, p=[.1, .3, .6]),
        "DST_PORT": rng.choice(np.array([3544, 443, 80], np.uint16), count, p=[.1, .5, .4]),
        "LINK_BIT_FIELD": rng.choice(np.array([1, 2, 4, 8, 3], np.uint64), count),
        "DIR_BIT_FIELD": rng.choice(np.array([0, 1, 2], np.uint8), count, p=[.45, .45, .1]),
    })


def counts(batch: RecordBatch, mask: np.ndarray) -> tuple[int, int, int]:
    """Flows, packets and bytes of the masked records, summed exactly."""
    return (int(mask.sum()), int(batch.column("PACKETS")[mask].astype(np.uint64).sum()),
            int(batch.column("BYTES")[mask].sum(dtype=np.uint64)))


def expected_proto(batch: RecordBatch) -> dict[str, tuple[int, int, int]]:
    protocol = batch.column("PROTOCOL")
    result = {name: counts(batch, protocol == number) for name, number in PROTOCOLS.items()}
    result["others"] = counts(batch, ~np.isin(protocol, list(PROTOCOLS.values())))
    return result


def expected_links(batch: RecordBatch) -> dict[str, tuple[int, int, int]]:
    link, direction = batch.column("LINK_BIT_FIELD"), batch.column("DIR_BIT_FIELD")
    return {f"{name}-{dname}": counts(batch, (link == value) & (direction == d))
            for value, name in LINKS for d, dname in enumerate(("in", "out"))}


def expected_ipv6(batch: RecordBatch) -> dict[str, tuple[int, int, int]]:
    ipv4 = np.array([":" not in str(r.SRC_IP) for r in batch.records()])
    protocol = batch.column("PROTOCOL")
    teredo = (protocol == 17) & ((batch.column("SRC_PORT") == 3544) |
                                 (batch.column("DST_PORT") == 3544))
    tunnel = ipv4 & ((protocol == 41) | teredo)
    return {"ipv4": counts(batch, ipv4 & ~tunnel), "ipv6": counts(batch, ~ipv4),
            "tunnel": counts(batch, tunnel)}


# --- helpers ---------------------------------------------------------------------------------
@pytest.fixture
def flows(tmp_path):
    batch = make_flows()
    formatter = CsvFormatter(batch.template)
    path = tmp_path / "flows.csv"
    path.write_text(formatter.header() + "\n" + formatter.format_batch(batch))
    return batch, path


@pytest.fixture
def module(spawn):
    """module(name, *args): `nemea NAME args` as a real process (the spawn fixture)."""
    return lambda name, *args: spawn("nemea", name, *args)


def query(path) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        client.connect(str(path))
        chunks = []
        while data := client.recv(65536):
            chunks.append(data)
    return b"".join(chunks).decode()


def answers(path, expected: str):
    def check():
        with contextlib.suppress(OSError):
            return query(path) == expected
        return False
    return check


def parse_lines(stdout: str) -> tuple[list[dict], dict]:
    """Interval lines and the total line, as {label: (flows, packets, bytes)}."""
    def parse(items):
        return {label: tuple(int(v) for v in value.split("/"))
                for label, value in (item.split("=") for item in items)
                if not label.endswith("-share")}
    intervals, total = [], None
    for line in stdout.splitlines():
        head, *items = line.split()
        if head == "total":
            total = parse(items)
        else:
            assert len(head) == len("2024-01-01T00:00:00") and head[10] == "T", line
            intervals.append(parse(items))
    return intervals, total


def summed(parts: list[dict]) -> dict:
    return {label: tuple(sum(p[label][i] for p in parts) for i in range(3)) for label in parts[0]}


def check_report(stdout: str, expected: dict) -> None:
    intervals, total = parse_lines(stdout)
    assert total == expected
    assert intervals and summed(intervals) == expected


def check_records(spawn, path, expected: dict) -> RecordBatch:
    proc = spawn("nemea", "logger", "-t", "-i", f"f:{path}")
    assert proc.wait(20) == 0, proc.stderr
    batch = read_csv(proc.stdout).batch
    first, last = batch.column("TIME_FIRST"), batch.column("TIME_LAST")
    assert (first <= last).all() and (first[1:] == last[:-1]).all()
    for label, values in expected.items():
        prefix = label.upper().replace("-", "_")
        got = tuple(int(batch.column(f"{prefix}_{what}").sum(dtype=np.uint64))
                    for what in ("FLOWS", "PACKETS", "BYTES"))
        assert got == values, label
    return batch


def replay_forever(spawn, csv_path, name: str) -> None:
    """Send the CSV to u:<name> without EOF (the reader keeps running afterwards)."""
    assert spawn("nemea", "logreplay", "-n", "-i", f"u:{name}", "-f", str(csv_path)) \
        .wait(20) == 0


# --- tests -----------------------------------------------------------------------------------
def test_proto_traffic_counts_query_socket_and_sigterm(spawn, module, socket_dir, flows,
                                                       tmp_path):
    batch, csv_path = flows
    expected = expected_proto(batch)
    names = [*PROTOCOLS, "others"]
    reply = ",".join(f"{n}-{w}" for w in ("flows", "bytes", "packets") for n in names) + "\n" + \
        ",".join(str(expected[n][i]) for i in (0, 2, 1) for n in names) + "\n"
    out = tmp_path / "proto.out"
    proc = module("proto_traffic", "-t", "0.5", "-i", f"u:feed,f:{out}")
    sock = socket_dir / "munin_proto_traffic"
    wait_until(sock.exists, 10)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o666
    assert query(sock).splitlines()[1] == ",".join(["0"] * 24)
    replay_forever(spawn, csv_path, "feed")
    wait_until(answers(sock, reply), 15)

    second = module("proto_traffic", "-i", "u:feed")       # the socket is in use: refuse
    assert second.wait(15) != 0
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: proto_traffic: query socket")
    assert "in use" in lines[0]

    wait_until(lambda: len(proc.lines) >= 2, 10)            # at least one tick went by
    proc.signal(signal.SIGTERM)
    assert proc.wait(10) == 0, proc.stderr
    assert not sock.exists()
    check_report(proc.stdout, expected)
    check_records(spawn, out, expected)


def test_link_traffic_counts_query_socket_and_sigterm(spawn, module, socket_dir, flows,
                                                      tmp_path):
    batch, csv_path = flows
    expected = expected_links(batch)
    config = tmp_path / "links.cfg"
    config.write_text(LINKS_CFG)
    reply = ",".join(f"{name}-{d}-{w}" for _, name in LINKS for d in ("in", "out")
                     for w in ("bytes", "flows", "packets")) + "\n" + \
        ",".join(str(expected[f"{name}-{d}"][i]) for _, name in LINKS for d in ("in", "out")
                 for i in (2, 0, 1)) + "\n"
    out = tmp_path / "link.out"
    proc = module("link_traffic", "-c", str(config), "-i", f"u:feed,f:{out}")
    sock = socket_dir / "munin_link_traffic"
    wait_until(sock.exists, 10)
    replay_forever(spawn, csv_path, "feed")
    wait_until(answers(sock, reply), 15)
    proc.signal(signal.SIGTERM)
    assert proc.wait(10) == 0, proc.stderr
    assert not sock.exists()
    check_report(proc.stdout, expected)
    check_records(spawn, out, expected)


def test_link_traffic_only_in_on_file_input_replaces_stale_socket(spawn, module, socket_dir,
                                                                  flows, tmp_path):
    batch, csv_path = flows
    trapcap = tmp_path / "flows.trapcap"
    assert spawn("nemea", "logreplay", "-i", f"f:{trapcap}", "-f", str(csv_path)).wait(20) == 0
    stale = socket_dir / "munin_link_traffic"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(stale))                               # left behind, nobody listens
    config = tmp_path / "links.cfg"
    config.write_text(LINKS_CFG)
    proc = module("link_traffic", "-d", "-c", str(config), "-i", f"f:{trapcap}")
    assert proc.wait(15) == 0, proc.stderr                  # EOF of the file ends it
    assert not stale.exists()
    expected = {label: value for label, value in expected_links(batch).items()
                if label.endswith("-in")}
    check_report(proc.stdout, expected)
    assert list(parse_lines(proc.stdout)[1]) == ["nix2-in", "telia-in", "geant-in"]


def test_ipv6stats_counts_on_eof(spawn, module, flows, tmp_path):
    batch, csv_path = flows
    trapcap = tmp_path / "flows.trapcap"
    assert spawn("nemea", "logreplay", "-i", f"f:{trapcap}", "-f", str(csv_path)).wait(20) == 0
    out = tmp_path / "v6.out"
    proc = module("ipv6stats", "-i", f"f:{trapcap},f:{out}")
    assert proc.wait(15) == 0, proc.stderr
    expected = expected_ipv6(batch)
    assert all(value[0] > 0 for value in expected.values())
    check_report(proc.stdout, expected)
    total = proc.stdout.splitlines()[-1]
    v6 = [expected["ipv6"][i] + expected["tunnel"][i] for i in range(3)]
    all_ = [sum(value[i] for value in expected.values()) for i in range(3)]
    share = "/".join(f"{100 * a / b:.2f}%" for a, b in zip(v6, all_, strict=True))
    assert total.endswith(f" ipv6-share={share}")
    records = check_records(spawn, out, expected)
    assert records.column("IPV6_SHARE_FLOWS")[-1] == pytest.approx(100 * v6[0] / all_[0],
                                                                   abs=1e-6)


@pytest.mark.parametrize(("args", "config", "message"), [
    (["proto_traffic", "-t", "0"], None, "-t 0: the interval must be > 0"),
    (["ipv6stats", "-t", "-5"], None, "-t -5"),
    (["proto_traffic", "-i", "u:a,f:x,f:y"], None, "bad number of interfaces"),
    (["link_traffic"], None, "-c FILE: a link configuration file is required"),
    (["link_traffic", "-c", "/nonexistent.cfg"], None, "-c /nonexistent.cfg: cannot read"),
    (["link_traffic"], "1,a,LINK_BIT_FIELD,000000\n# c\n2,b,LINK_BIT_FIELD\n", "links.cfg:3: "
     "expected LINK_VALUE,NAME,UR_FIELD,COLOR, got 3 field(s)"),
    (["link_traffic"], "x1,a,LINK_BIT_FIELD,000000\n", "links.cfg:1: LINK_VALUE 'x1'"),
    (["link_traffic"], "1,a-b,LINK_BIT_FIELD,000000\n", "links.cfg:1: NAME 'a-b'"),
    (["link_traffic"], "1,a,ODID,000000\n", "links.cfg:1: UR_FIELD 'ODID' is not supported"),
    (["link_traffic"], "1,a,LINK_BIT_FIELD,red\n", "links.cfg:1: COLOR 'red'"),
    (["link_traffic"], "1,a,LINK_BIT_FIELD,000000\n0x1,b,LINK_BIT_FIELD,000000\n",
     "links.cfg:2: link value 1 already defined on line 1"),
    (["link_traffic"], "# nothing\n", "links.cfg: no links configured"),
])
def test_bad_options_and_config_fail_with_one_clear_line(module, tmp_path, args, config,
                                                         message):
    if config is not None:
        (tmp_path / "links.cfg").write_text(config)
        args = [*args, "-c", str(tmp_path / "links.cfg")]
    if "-i" not in args:
        args = [*args, "-i", "u:never"]
    proc = module(*args)
    assert proc.wait(15) != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {args[0]}: ") and message in lines[0], \
        lines
