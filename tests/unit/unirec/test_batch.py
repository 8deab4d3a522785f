"""RecordBatch: building from rows/records/columns, selection, projection, concatenation."""

from __future__ import annotations

import datetime as dt
import ipaddress
import pickle

import numpy as np
import pytest

from unirec import (
    FIELD_TYPES,
    FieldValueError,
    MacAddr,
    Record,
    RecordBatch,
    Template,
    TemplateError,
    UrTime,
)

T = Template.parse("ipaddr SRC_IP,macaddr MAC,uint16 PORT,char C,float F,time TS,string NOTE,"
                   "bytes B,uint16* LENS")


def _records(count: int = 4) -> list[Record]:
    return [Record(T, SRC_IP=f"10.0.0.{i}", MAC=f"0:0:0:0:0:{i:x}", PORT=i * 10, C=chr(65 + i),
                   F=i / 4, TS=i * 1_000_000_001, NOTE=f"n{i}", B=bytes([i]) * i,
                   LENS=list(range(i)))
            for i in range(count)]


def _batch(count: int = 4) -> RecordBatch:
    return RecordBatch.from_records(_records(count))


# --- building -------------------------------------------------------------------------------------

def test_records_round_trip():
    records = _records()
    batch = RecordBatch.from_records(records)
    assert len(batch) == batch.length == 4
    assert batch.template is T
    assert batch.records() == records
    assert list(batch) == records


def test_rows_round_trip_with_python_types():
    batch = _batch()
    rows = batch.rows()
    assert RecordBatch.from_rows(T, rows) == batch
    first = rows[1]
    assert [type(v) for v in first] == [bytes, int, bytes, float, int, int, bytes, str, list]
    assert rows[1] == _records()[1].raw_values


def test_columns_are_typed():
    batch = _batch()
    for ftype, column in zip(T.types, batch.columns, strict=True):
        if ftype.is_fixed:
            assert isinstance(column, np.ndarray) and column.dtype == ftype.dtype
            assert len(column) == 4
        else:
            assert isinstance(column, list) and len(column) == 4
    assert batch.column("PORT").tolist() == [0, 10, 20, 30]
    with pytest.raises(TemplateError, match="NOPE"):
        batch.column("NOPE")


def test_empty_batches():
    empty = RecordBatch.empty(T)
    assert len(empty) == 0 and empty.rows() == [] and empty.records() == []
    assert RecordBatch.from_rows(T, []) == empty
    assert RecordBatch.from_records([], T) == empty
    with pytest.raises(TemplateError, match="no records"):
        RecordBatch.from_records([])


def test_from_records_rejects_other_templates():
    records = [*_records(2), Record("uint8 A")]
    with pytest.raises(TemplateError, match="record 2"):
        RecordBatch.from_records(records)


def test_from_records_accepts_an_equal_template_in_other_order():
    reordered = Template.parse(", ".join(reversed(T.spec.split(","))))
    assert RecordBatch.from_records(_records(), reordered).records() == _records()


def test_from_rows_checks_row_width():
    with pytest.raises(FieldValueError, match="row 1 has 1 values"):
        RecordBatch.from_rows("uint8 A,uint8 B", [(1, 2), (1,)])


def test_zero_field_template():
    batch = RecordBatch.from_rows("", [(), ()])
    assert len(batch) == 2 and batch.rows() == [(), ()]
    assert batch[1] == Record("")


# --- from_columns ---------------------------------------------------------------------------------

def test_from_columns_with_defaults_for_missing_fields():
    batch = RecordBatch.from_columns(T, 3, {"PORT": [1, 2, 3], "NOTE": ["a", "b", "c"]})
    assert [r.PORT for r in batch] == [1, 2, 3]
    assert [r.NOTE for r in batch] == ["a", "b", "c"]
    assert ipaddress.IPv6Address("::") == batch[0].SRC_IP and batch[2].LENS == []
    assert batch.column("PORT").dtype == np.dtype("<u2")


def test_from_columns_takes_typed_arrays_as_they_are():
    ports = np.array([5, 6], dtype="<u2")
    batch = RecordBatch.from_columns("uint16 PORT", 2, {"PORT": ports})
    assert batch.column("PORT") is ports


def test_from_columns_casts_integer_arrays_in_range():
    batch = RecordBatch.from_columns("uint16 PORT,time TS", 2,
                                     {"PORT": np.array([1, 65535]), "TS": [UrTime(1), 2]})
    assert batch.rows() == [(1, 1), (2, 65535)]  # canonical order: TS, PORT
    assert [r.PORT for r in batch] == [1, 65535]


def test_from_columns_addresses_from_raw_text_and_objects():
    v4 = FIELD_TYPES["ipaddr"].to_raw("10.0.0.1")
    batch = RecordBatch.from_columns("ipaddr A,macaddr M", 3, {
        "A": [v4, "2001:db8::1", bytes([192, 0, 2, 1])],
        "M": [b"\0" * 6, "0:1:11:A:AA:FF", MacAddr("ff:ff:ff:ff:ff:ff")],
    })
    assert [str(r.A) for r in batch] == ["10.0.0.1", "2001:db8::1", "192.0.2.1"]
    assert [str(r.M) for r in batch] == ["00:00:00:00:00:00", "00:01:11:0a:aa:ff",
                                         "ff:ff:ff:ff:ff:ff"]
    objects = np.array([ipaddress.IPv4Address("1.2.3.4")], dtype=object)
    assert objects[0] == RecordBatch.from_columns("ipaddr A", 1, {"A": objects})[0].A


def test_from_columns_python_values_for_char_and_time():
    batch = RecordBatch.from_columns("char C,time T", 2, {
        "C": ["a", "b"], "T": [dt.datetime(1970, 1, 1, 0, 0, 1), "1970-01-01T00:00:02"]})
    assert [(r.C, int(r.T)) for r in batch] == [("a", 10**9), ("b", 2 * 10**9)]


@pytest.mark.parametrize(("spec", "values", "match"), [
    ("uint16 A", [1, 70000], "column A"),
    ("uint16 A", np.array([1, 70000]), "column A: values out of range"),
    ("uint16 A", [1.5, 2.0], "column A"),
    ("uint16 A", np.array([1.0, 2.0]), "column A: cannot hold float64"),
    ("uint64 A", [2**64 - 1, -1], "column A: uint64: -1"),
    ("int8 A", np.array([-129], dtype=np.int16), "column A"),
    ("char C", np.array([300]), "column C"),
    ("time T", np.array([-1], dtype="<i8"), "column T"),
    ("time T", [-1], "column T"),
    ("ipaddr A", ["1.2.3"], "column A: ipaddr"),
    ("ipaddr A", [b"\0" * 5], "column A: ipaddr"),
    ("macaddr M", [b"\0" * 5], "column M: macaddr"),
    ("uint16 A", ["x"], "column A"),
])
def test_from_columns_rejects_bad_values(spec, values, match):
    with pytest.raises(FieldValueError, match=match):
        RecordBatch.from_columns(spec, len(values), {spec.split()[1]: values})


def test_from_columns_checks_lengths_and_names():
    with pytest.raises(FieldValueError, match="column PORT has 2 values, batch has 3"):
        RecordBatch.from_columns(T, 3, {"PORT": [1, 2]})
    with pytest.raises(FieldValueError, match="column NOTE has 2 values"):
        RecordBatch.from_columns(T, 3, {"NOTE": ["a", "b"]})
    with pytest.raises(TemplateError, match="NOPE"):
        RecordBatch.from_columns(T, 1, {"NOPE": [1]})


# --- indexing and selection -----------------------------------------------------------------------

def test_indexing():
    batch, records = _batch(), _records()
    assert batch[0] == records[0]
    assert batch[3] == records[3]
    assert batch[-1] == records[-1]
    assert batch[np.int64(2)] == records[2]
    assert ipaddress.IPv4Address("10.0.0.1") == batch[1].SRC_IP
    assert MacAddr("00:00:00:00:00:01") == batch[1].MAC and batch[1].C == "B"
    for position in (4, -5):
        with pytest.raises(IndexError, match="out of range"):
            batch[position]


def test_take_with_mask():
    batch, records = _batch(), _records()
    taken = batch.take(batch.column("PORT") >= 20)
    assert taken.records() == records[2:]
    assert batch.take([False] * 4).records() == []
    assert batch.take(np.ones(4, dtype=bool)) == batch


def test_take_with_positions():
    batch, records = _batch(), _records()
    assert batch.take([3, 0]).records() == [records[3], records[0]]
    assert batch.take(np.array([1, 1])).records() == [records[1], records[1]]
    assert batch.take([-1]).records() == [records[3]]
    assert batch.take([]).records() == []


@pytest.mark.parametrize("selector", [[True, False], [True] * 5, [4], [-5], [0.5]])
def test_take_rejects_bad_selectors(selector):
    with pytest.raises(IndexError):
        _batch().take(selector)


def test_take_on_variable_only_template_checks_positions():
    batch = RecordBatch.from_records([Record("string S", S="a")])
    with pytest.raises(IndexError):
        batch.take([1])


def test_project():
    batch = _batch()
    narrow = batch.project("uint16 PORT,string NOTE")
    assert narrow.rows() == [(r.PORT, r.NOTE) for r in _records()]
    wide = batch.project(T.union(Template.parse("uint32 EXTRA,uint8* MORE")))
    assert [r.EXTRA for r in wide] == [0] * 4 and [r.MORE for r in wide] == [[]] * 4
    assert [r.PORT for r in wide] == [r.PORT for r in batch]
    assert batch.project(T) is batch
    with pytest.raises(TemplateError, match="PORT"):
        batch.project("uint32 PORT")


def test_concat():
    batch, records = _batch(), _records()
    joined = RecordBatch.concat([batch, batch.take([0]), RecordBatch.empty(T)])
    assert len(joined) == 5
    assert joined.records() == [*records, records[0]]
    assert RecordBatch.concat([batch]) == batch
    with pytest.raises(TemplateError, match="no batches"):
        RecordBatch.concat([])
    with pytest.raises(TemplateError, match="different templates"):
        RecordBatch.concat([batch, RecordBatch.empty("uint8 A")])


def test_equality_and_repr():
    batch = _batch()
    assert batch == _batch()
    assert batch != _batch(3)
    assert batch != RecordBatch.empty(T)
    assert batch != batch.rows()
    assert repr(batch) == f"<RecordBatch 4 records of {T.spec!r}>"
    with pytest.raises(TypeError):
        hash(batch)


def test_pickle():
    batch = _batch()
    assert pickle.loads(pickle.dumps(batch)) == batch
