"""IP address values in UniRec's 16-byte form, and their text and `ipaddress` forms.

IPv4 `a.b.c.d` is stored as 8 zero bytes, `a b c d`, `ff ff ff ff` (NEMEA's layout); IPv6 as its
16 network-order bytes. The 16-byte form is what columns, the wire and NEMEA's binary records use.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import ipaddress

_V4_PREFIX = b"\0" * 8
_V4_SUFFIX = b"\xff\xff\xff\xff"
IP_NULL = b"\0" * 16
_CACHE_LIMIT = 1 << 16

_text_cache: dict[bytes, str] = {}
_object_cache: dict[bytes, ipaddress.IPv4Address | ipaddress.IPv6Address] = {}
_parse_cache: dict[str, bytes] = {}


def is_ipv4_raw(raw: bytes) -> bool:
    return raw[:8] == _V4_PREFIX and raw[12:] == _V4_SUFFIX


def ipv4_mask(column: np.ndarray) -> np.ndarray:
    """Per address of an ipaddr column (16-byte items): does it hold IPv4?"""
    words = np.ascontiguousarray(column).view(np.uint32).reshape(-1, 4)
    return (words[:, 0] == 0) & (words[:, 1] == 0) & (words[:, 3] == 0xFFFFFFFF)


def raw_from_packed(packed: bytes) -> bytes:
    """4 bytes (IPv4) or 16 bytes (IPv6) in network order -> 16-byte UniRec form."""
    if len(packed) == 4:
        return _V4_PREFIX + packed + _V4_SUFFIX
    if len(packed) == 16:
        return bytes(packed)
    raise ValueError(f"bad IP address bytes {packed!r}: need 4 or 16 bytes")


def packed_from_raw(raw: bytes) -> bytes:
    return raw[8:12] if is_ipv4_raw(raw) else raw


def raw_from_text(text: str) -> bytes:
    """Text containing `:` is IPv6, anything else dotted-quad IPv4 (strict)."""
    raw = _parse_cache.get(text)
    if raw is not None:
        return raw
    stripped = text.strip()
    try:
        if ":" in stripped:
            raw = socket.inet_pton(socket.AF_INET6, stripped)
        else:
            raw = _V4_PREFIX + socket.inet_pton(socket.AF_INET, stripped) + _V4_SUFFIX
    except (OSError, ValueError):  # ValueError: NUL or non-ASCII characters
        raise ValueError(f"bad IP address {text!r}") from None
    if len(_parse_cache) >= _CACHE_LIMIT:
        _parse_cache.clear()
    _parse_cache[text] = raw
    return raw


def text_from_raw(raw: bytes) -> str:
    text = _text_cache.get(raw)
    if text is None:
        if is_ipv4_raw(raw):
            text = socket.inet_ntop(socket.AF_INET, raw[8:12])
        else:
            text = socket.inet_ntop(socket.AF_INET6, raw)
        if len(_text_cache) >= _CACHE_LIMIT:
            _text_cache.clear()
        _text_cache[raw] = text
    return text


def address_from_raw(raw: bytes) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = _object_cache.get(raw)
    if address is None:
        import ipaddress  # (loaded when first needed: module processes start faster)
        if is_ipv4_raw(raw):
            address = ipaddress.IPv4Address(raw[8:12])
        else:
            address = ipaddress.IPv6Address(raw)
        if len(_object_cache) >= _CACHE_LIMIT:
            _object_cache.clear()
        _object_cache[raw] = address
    return address


def raw_from_value(value) -> bytes:
    """Accept an `ipaddress` object, text, or 4/16 packed bytes."""
    if isinstance(value, str):
        return raw_from_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return raw_from_packed(bytes(value))
    import ipaddress
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return raw_from_packed(value.packed)
    raise ValueError(f"bad IP address {value!r}: expected text, bytes or an ipaddress object")
