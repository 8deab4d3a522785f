"""UrTime: a UniRec timestamp as exact integer nanoseconds since the Unix epoch (UTC)."""

from __future__ import annotations

import calendar
import datetime as _dt
import re

NS_PER_SEC = 1_000_000_000
_TEXT_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?[Zz]?\Z")
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


class UrTime(int):
    """Immutable timestamp; the int value is nanoseconds since 1970-01-01T00:00:00Z."""

    __slots__ = ()

    @property
    def sec(self) -> int:
        return int(self) // NS_PER_SEC

    @property
    def nsec(self) -> int:
        return int(self) % NS_PER_SEC

    @property
    def msec(self) -> int:
        return int(self) // 1_000_000

    @property
    def usec(self) -> int:
        return int(self) // 1_000

    def __float__(self) -> float:
        return self.sec + self.nsec / NS_PER_SEC

    def __add__(self, seconds: float) -> UrTime:  # type: ignore[override]
        return UrTime(int(self) + round(seconds * NS_PER_SEC))

    def __sub__(self, other):  # type: ignore[override]
        if isinstance(other, UrTime):
            return (int(self) - int(other)) / NS_PER_SEC
        return UrTime(int(self) - round(other * NS_PER_SEC))

    @classmethod
    def from_float(cls, seconds: float) -> UrTime:
        return cls(round(seconds * NS_PER_SEC))

    @classmethod
    def from_parts(cls, sec: int, nsec: int = 0) -> UrTime:
        return cls(sec * NS_PER_SEC + nsec)

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> UrTime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        delta = value - _EPOCH
        return cls((delta.days * 86400 + delta.seconds) * NS_PER_SEC + delta.microseconds * 1000)

    @classmethod
    def parse(cls, text: str) -> UrTime:
        """Parse `YYYY-MM-DDTHH:MM:SS[.fraction][Z]` (UTC); digits beyond 9 are ignored."""
        match = _TEXT_RE.match(text.strip())
        if match is None:
            raise ValueError(f"bad time {text!r}: expected YYYY-MM-DDTHH:MM:SS[.fraction]")
        year, month, day, hour, minute, second, fraction = match.groups()
        try:
            seconds = calendar.timegm(
                _dt.datetime(int(year), int(month), int(day), int(hour), int(minute),
                             int(second)).timetuple())
        except ValueError as exc:
            raise ValueError(f"bad time {text!r}: {exc}") from None
        nsec = int((fraction or "")[:9].ljust(9, "0"))
        return cls(seconds * NS_PER_SEC + nsec)

    def to_datetime(self) -> _dt.datetime:
        """Datetime in UTC (microsecond precision, floored)."""
        return _EPOCH + _dt.timedelta(seconds=self.sec, microseconds=self.nsec // 1000)

    def to_nemea(self) -> int:
        """NEMEA's 32.32 fixed point value (high 32 bits seconds, low 32 bits fraction)."""
        return (self.sec << 32) | ((self.nsec * 0x44B82FA0A) >> 32)

    @classmethod
    def from_nemea(cls, value: int) -> UrTime:
        frac = value & 0xFFFFFFFF
        return cls((value >> 32) * NS_PER_SEC + ((frac * NS_PER_SEC + 0xFFFFFFFF) >> 32))

    def __str__(self) -> str:
        return format_time_text(int(self))

    def __repr__(self) -> str:
        return f"UrTime('{format_time_text(int(self), digits=9)}')"


def format_time_text(ns: int, digits: int = 6) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffff` as NEMEA's logger prints it (fraction floored)."""
    sec, frac = divmod(ns, NS_PER_SEC)
    stamp = _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=sec)
    scaled = frac // 10 ** (9 - digits)
    return f"{stamp:%Y-%m-%dT%H:%M:%S}.{scaled:0{digits}d}"
