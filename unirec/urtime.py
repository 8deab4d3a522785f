"""UrTime: a UniRec timestamp as exact integer nanoseconds since the Unix epoch (UTC)."""

from __future__ import annotations

import datetime as _dt
import numbers
import re

NS_PER_SEC = 1_000_000_000
_TEXT_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?[Zz]?\Z",
                      re.ASCII)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_NAIVE_EPOCH = _dt.datetime(1970, 1, 1)
_SECOND = _dt.timedelta(seconds=1)


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
        return UrTime(int(self) + seconds_to_ns(seconds))

    def __sub__(self, other):  # type: ignore[override]
        if isinstance(other, UrTime):
            return (int(self) - int(other)) / NS_PER_SEC
        return UrTime(int(self) - seconds_to_ns(other))

    @classmethod
    def from_float(cls, seconds: float) -> UrTime:
        """The time a float of seconds denotes: its shortest decimal form, so `x.123456` is exactly
        123456 µs (multiplying the double by 10**9 is off by up to ~200 ns at current epochs)."""
        return cls(seconds_to_ns(seconds))

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
            stamp = _dt.datetime(int(year), int(month), int(day), int(hour), int(minute),
                                 int(second))
        except ValueError as exc:
            raise ValueError(f"bad time {text!r}: {exc}") from None
        nsec = int((fraction or "")[:9].ljust(9, "0"))
        return cls((stamp - _NAIVE_EPOCH) // _SECOND * NS_PER_SEC + nsec)

    def to_datetime(self) -> _dt.datetime:
        """Datetime in UTC (microsecond precision, floored)."""
        return _EPOCH + _dt.timedelta(seconds=self.sec, microseconds=self.nsec // 1000)

    def to_nemea(self) -> int:
        """NEMEA's 32.32 fixed point value (high 32 bits seconds, low 32 bits fraction)."""
        return ns_to_nemea(int(self))

    @classmethod
    def from_nemea(cls, value: int) -> UrTime:
        return cls(nemea_to_ns(value))

    def __str__(self) -> str:
        return format_time_text(int(self))

    def __repr__(self) -> str:
        return f"UrTime('{format_time_text(int(self), digits=9)}')"


def seconds_to_ns(seconds: float) -> int:
    """Seconds (int, float or Decimal) to integer nanoseconds, rounded half to even."""
    if isinstance(seconds, numbers.Integral):
        return int(seconds) * NS_PER_SEC
    from decimal import Decimal  # (exact decimal arithmetic: loaded when first needed)
    if not isinstance(seconds, Decimal):
        seconds = Decimal(float.__repr__(float(seconds)))
    return int((seconds * NS_PER_SEC).to_integral_value())


NEMEA_FRACTION = 0x44B82FA0A   # 2^64 / 10^9, rounded up, as NEMEA computes the fraction


def ns_to_nemea(ns: int) -> int:
    """NEMEA's own conversion: `frac = (ns * 0x44B82FA0A) >> 32`."""
    sec, nsec = divmod(ns, NS_PER_SEC)
    return (sec << 32) | ((nsec * NEMEA_FRACTION) >> 32)


def nemea_to_ns(value: int) -> int:
    """Exact inverse of `ns_to_nemea` (ceil(frac * 2^32 / 0x44B82FA0A)), so that every ns value
    and every NEMEA-made fraction round-trips; upstream's `ur_time_get_nsec` returns 1 ns more
    for about 3 % of values and would not re-encode NEMEA's files byte for byte."""
    return (value >> 32) * NS_PER_SEC - (-((value & 0xFFFFFFFF) << 32) // NEMEA_FRACTION)


def format_time_text(ns: int, digits: int = 6) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffff` as NEMEA's logger prints it (fraction floored)."""
    sec, frac = divmod(ns, NS_PER_SEC)
    stamp = _dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=sec)
    scaled = frac // 10 ** (9 - digits)
    return f"{stamp:%Y-%m-%dT%H:%M:%S}.{scaled:0{digits}d}"
