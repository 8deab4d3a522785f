"""The example modules as real processes."""

from __future__ import annotations

import signal

import pytest

from tests.conftest import wait_until
from unirec import read_csv


@pytest.fixture
def sensor_generator(spawn):
    """sensor_generator(*args): the example as a real process (the spawn fixture)."""
    return lambda *args: spawn("nemea", "sensor_generator", *args)


def logged(spawn, path) -> str:
    proc = spawn("nemea", "logger", "-t", "-i", f"f:{path}")
    assert proc.wait(20) == 0, proc.stderr
    return proc.stdout


def test_sensor_generator_sends_count_records_then_eof(spawn, sensor_generator, tmp_path):
    proc = sensor_generator("-n", "7", "-r", "200", "-i", f"f:{tmp_path / 's'}")
    assert proc.wait(20) == 0, proc.stderr
    batch = read_csv(logged(spawn, tmp_path / "s")).batch
    assert batch.template.spec == "double HUMIDITY,double TEMPERATURE,time TIME,uint16 SENSOR_ID"
    assert batch.column("SENSOR_ID").tolist() == [1, 2, 3, 4, 1, 2, 3]
    assert (batch.column("TIME")[1:] >= batch.column("TIME")[:-1]).all()


def test_sensor_generator_stops_on_sigterm(spawn, sensor_generator, tmp_path):
    out = tmp_path / "s"
    proc = sensor_generator("-n", "1000000", "-r", "50", "-i", f"f:{out}:buffer=off")
    wait_until(lambda: out.exists() and out.stat().st_size > 100, 15)
    proc.signal(signal.SIGTERM)
    assert proc.wait(10) == 0, proc.stderr
    assert len(read_csv(logged(spawn, out)).batch) >= 1


def test_sensor_generator_bad_rate(sensor_generator):
    proc = sensor_generator("-r", "0", "-i", "u:x")
    assert proc.wait(15) != 0
    assert proc.stderr.strip().splitlines() == \
        ["error: sensor_generator: -r 0: must be > 0 records per second"]
