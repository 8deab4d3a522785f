"""Errors of the interfaces and the module runtime (libtrap's error codes as exceptions)."""


class TrapError(Exception):
    """Base error: bad specifier, bad arguments, I/O failure."""


class SpecifierError(TrapError):
    """A `-i` interface specifier is invalid."""


class TrapIOError(TrapError):
    """Reading or writing an interface failed (names the file and offset where it applies)."""


class TrapTimeout(TrapError, TimeoutError):
    """A send or receive did not complete within the interface timeout."""


class Terminated(TrapError):
    """The module was asked to stop (SIGINT/SIGTERM) while blocked."""


class FormatMismatch(TrapError):
    """The sender's format does not provide what the receiver requires."""


class NegotiationFailed(TrapError):
    """No format could be negotiated (for example an empty file)."""
