"""Property-based round trips over random templates of all 29 types and random values."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unirec import BatchCodec, CsvFormatter, Record, RecordBatch, Template, batch_length, read_csv
from unirec.text_values import format_value, parse_value

from .strategies import templates, value_rows, value_strategy

# UNIREC_EXAMPLES=5000 pytest ... for a longer hunt
PROPERTY = settings(max_examples=int(os.environ.get("UNIREC_EXAMPLES", "200")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def batches(draw, mode: str = "any", min_fields: int = 0):
    template = draw(templates(min_size=min_fields))
    rows = draw(value_rows(template, mode))
    records = [Record(template, row) for row in rows]
    return RecordBatch.from_records(records, template)


@PROPERTY
@given(batches())
def test_codec_round_trip(batch):
    codec = BatchCodec(batch.template)
    payload = codec.encode(batch)
    decoded = codec.decode(payload)
    assert decoded == batch
    assert decoded.records() == batch.records()
    assert batch_length(payload) == len(batch)


@PROPERTY
@given(batches("exact", min_fields=1))
def test_csv_round_trip_of_exact_values(batch):
    formatter = CsvFormatter(batch.template)
    text = formatter.header() + "\n" + formatter.format_batch(batch)
    parsed = read_csv(text)
    assert parsed.errors == []
    assert parsed.batch == batch
    again = CsvFormatter(parsed.batch.template)
    assert again.header() + "\n" + again.format_batch(parsed.batch) == text


@PROPERTY
@given(batches("csv", min_fields=1))
def test_csv_text_is_a_fixed_point_after_one_pass(batch):
    """Lossy values (floats, sub-µs times, non-printable text) lose what they lose once: the
    text of the parsed records is the text they were parsed from, and no record goes missing."""
    formatter = CsvFormatter(batch.template)
    text = formatter.header() + "\n" + formatter.format_batch(batch)
    parsed = read_csv(text)
    assert parsed.errors == [] and len(parsed.batch) == len(batch)
    assert formatter.header() + "\n" + formatter.format_batch(parsed.batch) == text


@PROPERTY
@given(st.data())
def test_raw_to_python_to_raw_is_identity(data):
    template = data.draw(templates(min_size=1, max_size=1))
    ftype = template.types[0]
    raw = ftype.to_raw(data.draw(value_strategy(ftype)))
    value = ftype.from_raw(raw)
    assert ftype.to_raw(value) == raw
    assert ftype.from_raw(ftype.to_raw(value)) == value


@PROPERTY
@given(batches("exact", min_fields=1), st.randoms(use_true_random=False))
def test_csv_header_in_any_order_reads_the_same_records(batch, rng):
    fields = list(batch.template.fields)
    rng.shuffle(fields)
    positions = [batch.template.index[f.name] for f in fields]
    header = " , ".join(str(f) for f in fields)
    body = "".join(",".join(format_value(fields[i].type, row[p]) for i, p in enumerate(positions))
                   + "\n" for row in batch.rows())
    parsed = read_csv(header + "\n" + body)
    assert parsed.errors == []
    assert parsed.batch == batch


@PROPERTY
@given(templates())
def test_template_spec_is_canonical_and_reparses(template):
    assert Template.parse(template.spec) == template
    assert Template.parse(template.spec).spec == template.spec
    reversed_spec = " , ".join(reversed([str(f) for f in template.fields]))
    assert Template.parse(reversed_spec).spec == template.spec
    keys = [(-t.order_size, n.encode()) for t, n in zip(template.types, template.names,
                                                          strict=True)]
    assert keys == sorted(keys)


@PROPERTY
@given(st.data())
def test_batch_take_and_concat_keep_records(data):
    batch = data.draw(batches())
    mask = data.draw(st.lists(st.booleans(), min_size=len(batch), max_size=len(batch)))
    taken = batch.take(mask)
    assert taken.records() == [r for r, keep in zip(batch.records(), mask, strict=True) if keep]
    joined = RecordBatch.concat([taken, batch])
    assert joined.records() == taken.records() + batch.records()
    assert [batch[i] for i in range(len(batch))] == batch.records()


@PROPERTY
@given(st.data())
def test_text_value_round_trip_per_type(data):
    template = data.draw(templates(min_size=1, max_size=1))
    ftype = template.types[0]
    value = data.draw(value_strategy(ftype, "exact"))
    raw = ftype.to_raw(value)
    text = format_value(ftype, raw)
    if ftype.kind == "string":
        text = text[1:-1].replace('""', '"')  # the CSV splitter removes the quoting
    assert parse_value(ftype, text) == raw
