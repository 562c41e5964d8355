"""Segment patterns: the one shape that route templates and IAM Resource globs share (soundness part).

A request path is read as a word of segments: ``/orders/42`` is ``("orders", "42")`` and a trailing slash
is a final empty segment (``/orders/`` is ``("orders", "")``; the root ``/`` is ``("",)``), because IAM
compares the raw text of ``methodArn`` while routing ignores one trailing slash. A pattern is a tuple of
tokens, each a literal segment, ``ONE`` (a route's ``{name}``: one non-empty segment), ``MANY`` (a route's
``{name+}``: one or more non-empty segments; in a glob, a ``*`` between slashes: any text, so one or more
segments of any content, the empty one included) or ``PLUS`` (a glob's ``?*``: like ``MANY`` but the text
is not empty, so a lone trailing slash is not taken).

Routes are matched on the routed form (a final empty segment is ignored, as the gateway routes
``/orders/`` like ``/orders``); globs on the raw form. :func:`glob_of_resource` reads a rendered Resource
back into tokens, refusing anything whose wildcards are not whole segments, so the check in
:mod:`cognito_authz.iam.check` reasons about exactly what was returned. The argument is in
``docs/architecture.md``, "Cached authorizer answers are exact".
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.policy.routes import GREEDY, LITERAL, Route
from cognito_authz.routing import STANDARD_VERBS, request_segments

__all__ = [
    "MANY",
    "ONE",
    "PLUS",
    "SegmentPattern",
    "Token",
    "glob_of_resource",
    "plain_segment",
    "resource_of_glob",
    "route_pattern",
]


class _Wild:
    """A wildcard token; a sentinel object, so no literal segment text can ever be mistaken for it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ONE: Final = _Wild("ONE")
MANY: Final = _Wild("MANY")
PLUS: Final = _Wild("PLUS")
Token = str | _Wild

# Characters IAM or ARNs give a meaning to, or that routing decodes: never inside a Resource's literal.
_SPECIAL = frozenset("*?%$/:\\\"' \t\r\n")
# The same test as one C-level search: any of _SPECIAL, a control character or space (< 0x21), or DEL.
_NOT_PLAIN = re.compile("[" + re.escape("".join(sorted(_SPECIAL))) + "\\x00-\\x20\\x7f]")


@lru_cache(maxsize=8192)  # a pure test of an immutable string; a proof asks it of the same literals often
def plain_segment(text: str) -> bool:
    """Whether ``text`` may stand verbatim as a whole segment of a Resource: a canonical request segment
    (it round-trips through the routing model) holding no character IAM or ARNs treat specially."""
    if not text or len(text) > 256 or _NOT_PLAIN.search(text) is not None:
        return False
    return request_segments("/" + text) == (text,)


class SegmentPattern(Frozen, hidden=("_hash", "_literals", "_told")):
    """Tokens plus how they are matched: ``routed`` (a route: a final empty segment is ignored, wildcards
    never take an empty segment) or raw (an IAM glob: ``MANY`` takes any text)."""

    __slots__ = ("_hash", "_literals", "_told", "routed", "tokens")
    tokens: tuple[Token, ...]
    routed: bool
    # Computed once, at construction: the class walk hashes every pattern and reads its literals on
    # every proof, and the table's and the policy's patterns are built once per policy.
    _hash: int
    _literals: frozenset[str]
    _told: frozenset[str]

    def __init__(self, tokens: tuple[Token, ...], routed: bool) -> None:
        set_field(self, "tokens", tokens)
        set_field(self, "routed", routed)
        set_field(self, "_hash", hash((tokens, routed)))  # Frozen's hash of the compared fields
        set_field(self, "_literals", frozenset([t for t in tokens if isinstance(t, str)]))
        set_field(self, "_told", self._literals | {""})

    def __hash__(self) -> int:
        return self._hash

    def literals(self) -> frozenset[str]:
        return self._literals

    def told(self) -> frozenset[str]:
        """The segments this pattern tells apart from any other: its literals and the closing ``""``."""
        return self._told

    def matches(self, word: tuple[str, ...]) -> bool:
        """Direct (backtracking) match of a whole word; used by tests and small checks, not by the walk."""
        if self.routed and len(word) > 1 and word[-1] == "":
            word = word[:-1]
        if self.routed and word == ("",):
            word = ()
        return _match(self.tokens, word, 0, 0, self.routed)


def _match(tokens: tuple[Token, ...], word: tuple[str, ...], i: int, j: int, routed: bool) -> bool:
    if i == len(tokens):
        return j == len(word)
    token = tokens[i]
    if token is MANY or token is PLUS:
        return any(
            _match(tokens, word, i + 1, end, routed)
            for end in range(j + 1, len(word) + 1)
            if (not routed or "" not in word[j:end]) and (token is MANY or word[j] != "")
        )
    if j == len(word):
        return False
    if token is ONE:
        return word[j] != "" and _match(tokens, word, i + 1, j + 1, routed)
    return word[j] == token and _match(tokens, word, i + 1, j + 1, routed)


def route_pattern(route: Route, bound: dict[str, tuple[str, ...]] | None = None) -> SegmentPattern:
    """A route's template as tokens; ``bound`` replaces a parameter by the segments of one value."""
    tokens: list[Token] = []
    for kind, text in route.pattern:
        value = (bound or {}).get(text) if kind != LITERAL else None
        if value is not None:
            tokens.extend(value)
        elif kind == LITERAL:
            tokens.append(text)
        else:
            tokens.append(MANY if kind == GREEDY else ONE)
    return SegmentPattern(tuple(tokens), routed=True)


def resource_of_glob(prefix: str, verb: str, tokens: tuple[Token, ...]) -> str:
    """``{prefix}{VERB}/{tokens joined by '/'}``, ``MANY`` written ``*``, ``PLUS`` ``?*``. Literals must be
    plain."""
    return f"{prefix}{verb}/" + "/".join("*" if t is MANY else "?*" if t is PLUS else str(t) for t in tokens)


def glob_of_resource(prefix: str, resource: str) -> tuple[str, SegmentPattern] | None:
    """(verb, glob) of a Resource under ``prefix``; ``None`` when the Resource is outside this API and
    stage or has a shape the check cannot reason about exactly (a wildcard verb, a ``*`` or ``?`` inside
    a segment): the check then refuses the document."""
    if not resource.startswith(prefix):
        return None
    verb, slash, path = resource[len(prefix) :].partition("/")
    if not slash or verb not in STANDARD_VERBS:
        return None
    tokens: list[Token] = []
    for part in path.split("/"):
        if part == "*":
            tokens.append(MANY)
        elif part == "?*":
            tokens.append(PLUS)
        elif part == "" or plain_segment(part):
            tokens.append(part)
        else:
            return None
    return verb, SegmentPattern(tuple(tokens), routed=False)
