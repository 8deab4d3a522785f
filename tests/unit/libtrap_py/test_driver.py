"""The in-process driver runs a module's hooks on records and returns what it sent."""

from libtrap_py.driver import run
from modules.merger import Merger, MergerParams
from modules.unirecfilter import FilterParams, UnirecFilter
from unirec import Record, RecordBatch


def batch(template: str, *rows: dict) -> RecordBatch:
    return RecordBatch.from_records([Record(template, row) for row in rows], template)


def test_filter_module_in_process():
    flows = batch("uint16 DST_PORT,uint64 BYTES", {"DST_PORT": 53, "BYTES": 10},
                  {"DST_PORT": 80, "BYTES": 99999}, {"DST_PORT": 22, "BYTES": 5})
    ports = run(UnirecFilter(FilterParams(filter="DST_PORT == 53 or BYTES > 50000")), [flows])
    assert [r.DST_PORT for r in ports[0].records()] == [53, 80]


def test_merger_with_two_inputs_in_process():
    first = batch("ipaddr SRC_IP,uint64 BYTES", {"SRC_IP": "10.0.0.1", "BYTES": 5})
    second = batch("ipaddr SRC_IP,uint16 DST_PORT", {"SRC_IP": "10.0.0.2", "DST_PORT": 80})
    ports = run(Merger(MergerParams()), [first], more_inputs=[[second]])
    records = ports[0].records()
    assert ports[0].format.spec == "ipaddr SRC_IP,uint64 BYTES,uint16 DST_PORT"
    assert sorted((str(r.SRC_IP), r.BYTES, r.DST_PORT) for r in records) == [
        ("10.0.0.1", 5, 0), ("10.0.0.2", 0, 80)]
