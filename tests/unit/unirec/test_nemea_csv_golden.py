"""CSV made by NEMEA's logreplay/logger: we parse and print it byte for byte the same."""

from unirec import BatchCodec, CsvFormatter, read_csv


def test_types_csv_renders_as_nemea_logger(shared_data):
    source = (shared_data / "nemea" / "types.csv").read_text()
    expected = (shared_data / "nemea" / "types.logger.csv").read_text()
    parsed = read_csv(source, "types.csv")
    assert parsed.errors == []
    formatter = CsvFormatter(parsed.batch.template)
    assert formatter.header() + "\n" + formatter.format_batch(parsed.batch) == expected


def test_logger_csv_survives_codec_and_reparse(shared_data):
    for name in ("types.logger.csv", "synscan_flows.logger.csv", "dns_flows.logger.csv"):
        text = (shared_data / "nemea" / name).read_text()
        parsed = read_csv(text, name)
        assert parsed.errors == []
        codec = BatchCodec(parsed.batch.template)
        batch = codec.decode(codec.encode(parsed.batch))
        formatter = CsvFormatter(batch.template)
        assert formatter.header() + "\n" + formatter.format_batch(batch) == text
