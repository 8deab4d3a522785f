"""MacAddr: a 6-byte MAC address value, hashable and ordered like bytes."""

from __future__ import annotations


class MacAddr(bytes):
    """Six bytes; text form lower-case `aa:bb:cc:dd:ee:ff`."""

    __slots__ = ()

    def __new__(cls, value: bytes | str | MacAddr = b"\0" * 6) -> MacAddr:
        if isinstance(value, str):
            value = parse_mac(value)
        if len(value) != 6:
            raise ValueError(f"bad MAC address {value!r}: need 6 bytes, got {len(value)}")
        return super().__new__(cls, value)

    def __str__(self) -> str:
        return self.hex(":")

    def __repr__(self) -> str:
        return f"MacAddr('{self.hex(':')}')"


_HEX = frozenset("0123456789abcdefABCDEF")


def parse_mac(text: str) -> bytes:
    """Six colon-separated groups of 1-2 hex digits, any case (`0:1:11:A:AA:FF`)."""
    groups = text.strip().split(":")
    if len(groups) != 6 or not all(0 < len(g) <= 2 and _HEX.issuperset(g) for g in groups):
        raise ValueError(f"bad MAC address {text!r}: expected aa:bb:cc:dd:ee:ff")
    return bytes(int(g, 16) for g in groups)
