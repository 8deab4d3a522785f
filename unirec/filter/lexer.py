"""Tokens of the filter language, with their positions for error carets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import FilterError


@dataclass(frozen=True)
class Token:
    kind: str        # see _TOKENS; literal kinds: INT FLOAT DATETIME IP STRING IDENT
    text: str
    position: int


_WORDS = {
    "not": "NOT", "NOT": "NOT", "and": "AND", "AND": "AND", "or": "OR", "OR": "OR",
    "in": "IN", "IN": "IN",
    "true": "TRUE", "True": "TRUE", "TRUE": "TRUE",
    "false": "FALSE", "False": "FALSE", "FALSE": "FALSE",
}
_TOKENS = [
    ("SPACE", r"\s+"),
    ("STRING", r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\''),
    ("DATETIME", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?"),
    ("IP", r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]*(?:/\d+)?"),
    ("IP", r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?:/\d+)?"),
    ("FLOAT", r"-?\d+\.\d+"),
    ("INT", r"-?\d+"),
    ("IDENT", r"[A-Za-z_][A-Za-z0-9_]*"),
    ("AND", r"&&"), ("OR", r"\|\|"),
    ("REGEX", r"=~|~="),
    ("CMP", r"==|!=|<>|<=|=<|>=|=>|=|<|>"),
    ("NOT", r"!"),
    ("LPAREN", r"\("), ("RPAREN", r"\)"), ("LBRACK", r"\["), ("RBRACK", r"\]"),
    ("COMMA", r","),
]
_MASTER = re.compile("|".join(f"(?P<T{i}>{pattern})" for i, (_, pattern) in enumerate(_TOKENS)))


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _MASTER.match(text, position)
        if match is None:
            raise FilterError(f"bad filter: unexpected character {text[position]!r}",
                              text, position)
        kind = _TOKENS[int(match.lastgroup[1:])][0]  # type: ignore[index]
        word = match.group()
        if kind == "IDENT":
            kind = _WORDS.get(word, "IDENT")
        if kind != "SPACE":
            tokens.append(Token(kind, word, position))
        position = match.end()
    tokens.append(Token("END", "", len(text)))
    return tokens
