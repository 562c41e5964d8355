"""API Gateway route syntax: parse route keys (``GET /orders/{orderId}``, ``ANY /files/{path+}``,
``$connect``) and match them against the concrete request path API Gateway routed.

Request paths are canonicalized once, by :func:`cognito_authz.routing.request_segments` (the gateway's
routing facts live in :mod:`cognito_authz.routing`; ``split_path`` and ``normalize_method`` are
re-exported here for existing callers). Literal route segments are compared with the decoded segment, so
``/%61dmin`` cannot slip past a deny rule on ``/admin``.
"""

from __future__ import annotations

import re

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.errors import PolicyError
from cognito_authz.routing import (
    MAX_PATH,
    STANDARD_VERBS,
    normalize_method,
    request_method,
    request_segments,
    split_path,
)

__all__ = [
    "HTTP_METHODS",
    "MAX_PATH",
    "WEBSOCKET_ROUTE_KEYS",
    "MethodPattern",
    "Pattern",
    "Route",
    "could_be_param",
    "match_pattern",
    "normalize_method",
    "overlaps",
    "request_segments",
    "split_path",
    "subsumes",
]

#: Verbs API Gateway accepts in a route key, besides ``ANY`` (``routing.STANDARD_VERBS``).
HTTP_METHODS: frozenset[str] = STANDARD_VERBS
#: WebSocket route keys a policy may name. Only ``$connect`` reaches an authorizer; the others are
#: accepted so a handler-side decision on a WebSocket event can be written down too.
WEBSOCKET_ROUTE_KEYS: frozenset[str] = frozenset({"$connect", "$disconnect", "$default"})

#: Segment kinds, ordered from most to least specific (the order API Gateway prefers when routing).
LITERAL, PARAM, GREEDY = 0, 1, 2

#: A parsed path template: ``(kind, text)`` per segment.
Pattern = tuple[tuple[int, str], ...]
#: A method (``None`` for WebSocket keys) with a pattern: the unit of overlap and subsumption checks.
MethodPattern = tuple[str | None, Pattern]

_PARAM_NAME = r"[A-Za-z0-9_][A-Za-z0-9_-]*"
_PARAM_SEGMENT = re.compile(r"\{(" + _PARAM_NAME + r")(\+?)\}")
_FORBIDDEN_LITERAL = re.compile(r"[\s%?#\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEPT_CANONICAL = re.compile(r"%2F|%25")


def _route_error(text: object, message: str, *, reason: str = "invalid_route") -> PolicyError:
    return PolicyError(f"route {text!r}: {message}", reason=reason, route=text)


class Route(Frozen, hidden=("pattern",)):
    """One route key of a policy.

    ``method`` is an upper-case verb or ``"ANY"`` (``None`` for WebSocket route keys); ``path`` is the
    template; ``params`` the parameter names in order; ``greedy`` whether the last one is ``{name+}``.
    ``pattern`` is the parsed template: ``(kind, text)`` per segment, kind 0 literal, 1 param, 2 greedy.
    """

    __slots__ = ("greedy", "method", "params", "path", "pattern", "text")
    method: str | None
    path: str
    text: str
    params: tuple[str, ...]
    greedy: bool
    pattern: Pattern

    def __init__(
        self,
        method: str | None,
        path: str,
        text: str,
        params: tuple[str, ...],
        greedy: bool,
        pattern: Pattern = (),
    ) -> None:
        set_field(self, "method", method)
        set_field(self, "path", path)
        set_field(self, "text", text)
        set_field(self, "params", params)
        set_field(self, "greedy", greedy)
        set_field(self, "pattern", pattern)

    @classmethod
    def parse(cls, text: str) -> Route:
        """Parse ``"METHOD /path"`` or a WebSocket route key; raise :class:`PolicyError` if malformed."""
        if not isinstance(text, str):
            raise _route_error(text, "a route must be a string such as 'GET /orders/{orderId}'")
        stripped = text.strip()
        if stripped.startswith("$"):
            if stripped not in WEBSOCKET_ROUTE_KEYS:
                known = ", ".join(sorted(WEBSOCKET_ROUTE_KEYS))
                raise _route_error(text, f"unknown WebSocket route key (known: {known})")
            # The key doubles as a one-segment literal pattern so overlap and subsumption checks can
            # treat WebSocket and HTTP routes alike (a ``None`` method never meets an HTTP verb).
            return cls(
                method=None,
                path=stripped,
                text=stripped,
                params=(),
                greedy=False,
                pattern=((LITERAL, stripped),),
            )
        words = stripped.split(None, 1)
        method = words[0] if words else ""
        path = words[1].strip() if len(words) == 2 else ""
        if not path and method.startswith("/"):
            raise _route_error(text, "missing method: write 'ANY /path' or 'GET /path'")
        if not path:
            raise _route_error(text, "expected 'METHOD /path' (or a WebSocket key such as '$connect')")
        if method != "ANY" and method not in HTTP_METHODS:
            if method.upper() == "ANY" or method.upper() in HTTP_METHODS:
                raise _route_error(text, f"method {method!r} must be upper-case ({method.upper()!r})")
            raise _route_error(text, f"unknown method {method!r} (use an HTTP verb or ANY)")
        if not path.startswith("/"):
            raise _route_error(text, "the path must start with '/'")
        pattern = _parse_path(text, path)
        params = tuple(name for kind, name in pattern if kind != LITERAL)
        greedy = bool(pattern) and pattern[-1][0] == GREEDY
        return cls(
            method=method, path=path, text=f"{method} {path}", params=params, greedy=greedy, pattern=pattern
        )

    @property
    def is_websocket(self) -> bool:
        """True for WebSocket route keys such as ``$connect``."""
        return self.method is None

    def specificity(self) -> tuple[tuple[int, ...], int]:
        """Sort key, smaller is more specific: segment kinds left to right, then a verb before ``ANY``."""
        return tuple(kind for kind, _ in self.pattern), 1 if self.method == "ANY" else 0

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route matches the request, else ``None``. Never raises.

        For WebSocket routes ``path`` is the route key and ``method`` is ignored.
        """
        if self.method is None:
            return {} if path == self.path else None
        verb = request_method(method)
        if verb is None or (self.method != "ANY" and self.method != verb):
            return None
        segments = request_segments(path)
        if segments is None:
            return None
        return match_pattern(self.pattern, segments)


def _parse_path(text: str, path: str) -> Pattern:
    if path == "/":
        return ()
    raw = path[1:].split("/")
    pattern: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, segment in enumerate(raw):
        if segment == "":
            where = "a trailing '/'" if index == len(raw) - 1 else "'//'"
            raise _route_error(text, f"empty path segment ({where})")
        if segment in (".", ".."):
            raise _route_error(text, f"dot segment {segment!r} (API Gateway never routes one)")
        if "{" in segment or "}" in segment:
            matched = _PARAM_SEGMENT.fullmatch(segment)
            if matched is None:
                raise _route_error(text, _brace_hint(segment), reason="route_literal_brace")
            name, plus = matched.group(1), matched.group(2)
            if name in seen:
                raise _route_error(text, f"parameter {{{name}}} appears twice")
            seen.add(name)
            if plus and index != len(raw) - 1:
                raise _route_error(text, f"greedy parameter {{{name}+}} must be the last segment")
            pattern.append((GREEDY if plus else PARAM, name))
            continue
        if _FORBIDDEN_LITERAL.search(segment):
            raise _route_error(
                text, f"literal segment {segment!r} contains whitespace, '%', '?', '#' or a control character"
            )
        pattern.append((LITERAL, segment))
    return tuple(pattern)


def _brace_hint(segment: str) -> str:
    inner = segment.strip("{}").strip().rstrip("+").strip()
    if segment.startswith("{") and segment.endswith("}") and re.fullmatch(_PARAM_NAME, inner):
        plus = "+" if segment.rstrip("}").rstrip().endswith("+") else ""
        return f"segment {segment!r} is not a valid path parameter (did you mean '{{{inner}{plus}}}'?)"
    if segment in ("{}", "{+}"):
        return f"segment {segment!r} is an unnamed path parameter: name it, e.g. '{{id}}'"
    return (
        f"segment {segment!r} mixes braces with other text: a parameter must be a whole segment "
        "'{name}' or a final '{name+}' with a name of letters, digits, '_' and '-'"
    )


def could_be_param(value: str, *, greedy: bool = False) -> bool:
    """Whether some request path can make a parameter equal ``value`` (after canonicalization).

    Used to drop claim bindings that no request could ever satisfy (an empty claim, one with ``/`` for a
    single-segment parameter, a bare ``%``).
    """
    if not greedy and "/" in value:
        return False
    for part in value.split("/"):
        if part in ("", ".", "..") or _CONTROL.search(part):
            return False
        # A canonical segment keeps '%' only as the start of an upper-case %2F or %25.
        if "%" in _KEPT_CANONICAL.sub("", part):
            return False
    return True


def match_pattern(pattern: Pattern, segments: tuple[str, ...]) -> dict[str, str] | None:
    """Match canonical ``segments`` against a parsed route pattern; the parameters or ``None``."""
    params: dict[str, str] = {}
    count = len(segments)
    for index, (kind, text) in enumerate(pattern):
        if kind == GREEDY:
            if index >= count:
                return None
            params[text] = "/".join(segments[index:])
            return params
        if index >= count:
            return None
        if kind == LITERAL:
            if segments[index] != text:
                return None
        else:
            params[text] = segments[index]
    return params if len(pattern) == count else None


def _method_covers(outer: str | None, inner: str | None) -> bool:
    return outer == inner or (outer == "ANY" and inner is not None)


def subsumes(outer: MethodPattern, inner: MethodPattern) -> bool:
    """Whether every request matching ``inner`` (method, pattern) also matches ``outer``."""
    (outer_method, outer_pattern), (inner_method, inner_pattern) = outer, inner
    if not _method_covers(outer_method, inner_method):
        return False
    for index, (kind, text) in enumerate(outer_pattern):
        if index >= len(inner_pattern):
            return False
        inner_kind, inner_text = inner_pattern[index]
        if kind == GREEDY:
            return True
        if inner_kind == GREEDY:
            return False
        if kind == LITERAL and (inner_kind != LITERAL or inner_text != text):
            return False
    return len(outer_pattern) == len(inner_pattern)


def overlaps(first: MethodPattern, second: MethodPattern) -> bool:
    """Whether some request matches both (method, pattern) pairs."""
    (first_method, first_pattern), (second_method, second_pattern) = first, second
    if first_method is None or second_method is None:
        return first_method == second_method and first_pattern == second_pattern
    if first_method != second_method and "ANY" not in (first_method, second_method):
        return False
    for index in range(max(len(first_pattern), len(second_pattern))):
        if index >= len(first_pattern) or index >= len(second_pattern):
            return False
        kind_a, text_a = first_pattern[index]
        kind_b, text_b = second_pattern[index]
        if GREEDY in (kind_a, kind_b):
            return True
        if kind_a == LITERAL and kind_b == LITERAL and text_a != text_b:
            return False
    return True
