"""Communication interfaces and the module runtime (libtrap-style)."""
