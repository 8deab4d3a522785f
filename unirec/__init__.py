"""UniRec records: field types, templates, records, column batches, codecs and CSV text."""

from .batch import RecordBatch
from .codec import BatchCodec, batch_length
from .csv_format import CsvFormatter
from .csv_parse import CsvParser, ParsedLines, read_csv
from .errors import CodecError, CsvError, FieldValueError, TemplateError, UnirecError
from .field_types import FIELD_TYPES, FieldType, field_type
from .macaddr import MacAddr
from .record import Record
from .template import Field, Template
from .urtime import UrTime

__all__ = [
    "FIELD_TYPES", "BatchCodec", "CodecError", "CsvError", "CsvFormatter", "CsvParser", "Field",
    "FieldType", "FieldValueError", "MacAddr", "ParsedLines", "Record", "RecordBatch",
    "Template", "TemplateError", "UnirecError", "UrTime", "batch_length", "field_type",
    "read_csv",
]
