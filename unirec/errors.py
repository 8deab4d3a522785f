"""Errors raised by the record library; every message names the thing and where."""


class UnirecError(Exception):
    """Base error of the unirec package."""


class TemplateError(UnirecError):
    """A template string or a template operation is invalid."""


class FieldValueError(UnirecError, ValueError):
    """A value does not fit the type of its field."""


class CodecError(UnirecError):
    """A binary payload cannot be decoded with the template it claims."""


class CsvError(UnirecError):
    """A line of CSV text cannot be turned into a record."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line
