"""The gateway's routing facts, stated once: which request a route sees, so that ``decide``, every adapter
and the IAM builder answer about the same request API Gateway routed.

Each fact, what we do with it, and where it comes from (see ``docs/architecture.md``, "The routing
model", for the same list in prose):

1. **The request is (method, API-relative path).** The stage, a REST custom-domain base-path mapping or
   an HTTP API API mapping are not part of it. Proxy events carry those prefixes in ``path``/``rawPath``;
   the route template (REST ``resource``, HTTP API ``routeKey``) and ``pathParameters`` do not, so the
   API-relative path is rebuilt from them (:func:`api_relative_path`), or a configured mapping is
   removed (:func:`strip_base_path`).
   Sources: https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-custom-domains.html ,
   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
2. **Routes and their priority.** A route is a method (one of :data:`STANDARD_VERBS`, or ``ANY`` for every
   method the path does not define) and a path of literal segments, ``{name}`` parameters (exactly one
   segment) and a final greedy ``{name+}`` (one or more segments). When several routes match, the most
   specific wins: a full literal match over a parameter, a parameter over a greedy variable; then a route
   naming the method over ``ANY``. Requests matching no route never reach an authorizer (API Gateway
   answers 403/404 itself).
   Sources: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
   ("Routing API requests", "Working with path variables"),
   https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-set-up-simple-proxy.html ,
   https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-settings-method-request.html
3. **A single trailing slash routes like none.** API Gateway sends ``/orders/`` to the ``/orders`` route
   and keeps the slash in the event's path and in ``methodArn``; :func:`request_segments` gives both forms
   the same segments. Two or more trailing slashes (an empty segment) route nowhere we can vouch for.
   Sources: observed behaviour (issue 10 of this project), and the same observation for REST and HTTP
   APIs in https://github.com/aws-powertools/powertools-lambda-python/issues/1552 . AWS's developer
   guide does not state it, so a route table and rules are never widened by it: the slashed form
   decides exactly like the bare one, nothing more.
4. **Percent-escapes are decoded before parameters are handed on** ("API Gateway decodes URL-encoded
   request parameters before passing them to your backend integration"). We decode each segment once,
   except ``%2F`` and ``%25`` (kept, upper-cased) so an encoded slash never splits a segment and decoding
   is never ambiguous. Literal route segments compare with the decoded segment, so ``/%61dmin`` cannot
   step around a rule on ``/admin``. A broken escape or invalid UTF-8: no route (fail closed).
   Sources: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html ,
   https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html
5. **Empty, ``.`` and ``..`` segments, control characters.** What the gateway does with ``//``, ``/./`` or
   ``/../`` is not documented: :func:`request_segments` answers ``None`` (no route can match), so
   ``decide`` denies, adapters deny, and IAM documents never name such a path.
6. **``*`` and ``?`` in a path** are ordinary characters of a segment for routing (``?`` arrives only
   percent-encoded, since a raw one starts the query string). A parameter can hold them; IAM, however,
   reads them as wildcards in a Resource, so the IAM builder must never copy them there unescaped.
   Sources: https://www.rfc-editor.org/rfc/rfc3986#section-3 ,
   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
7. **Verbs.** A route names one of :data:`STANDARD_VERBS` or ``ANY``. What the gateway does with any
   other verb (``PROPFIND``, ``TRACE``) on an ``ANY`` route is not documented: :func:`request_method`
   answers ``None``, ``decide`` denies, and IAM documents never allow them.
   Source: https://docs.aws.amazon.com/apigateway/latest/api/API_PutMethod.html (``httpMethod``)
8. **HEAD** is a verb of its own at the gateway: a ``GET`` route does not serve it. Frameworks differ:
   Flask/Werkzeug and Starlette's ``Route`` run the GET view for HEAD, so a framework adapter authorizes
   HEAD as GET there (:func:`framework_method`), the request the framework will actually run.

Everything here is pure and offline and imports nothing from the package: ``policy``, the adapters and
the IAM builder import this module, never the reverse. ``docs/architecture.md`` ("The routing model")
gives the same facts as a table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

__all__ = [
    "MAX_PATH",
    "STANDARD_VERBS",
    "api_relative_path",
    "framework_method",
    "rebuilt_path",
    "request_method",
    "request_segments",
    "split_path",
    "strip_base_path",
]

#: The verbs a route key may name besides ``ANY`` (fact 7).
STANDARD_VERBS: frozenset[str] = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
#: Longest request path considered (API Gateway's own limit is far below).
MAX_PATH = 8192
#: Longest method token considered before it is rejected outright.
_MAX_METHOD = 16


# Compiled on first use, once (functools.cache): only paths off the printable-ASCII fast path, escapes
# and rebuilt proxy paths need them, and compiling the four costs a cold start ≈ 1.4 M instructions.
@cache
def _control() -> re.Pattern[str]:
    return re.compile(r"[\x00-\x1f\x7f]")


@cache
def _valid_escapes() -> re.Pattern[str]:
    return re.compile(r"(?:[^%]|%[0-9A-Fa-f]{2})*")


@cache
def _kept_escapes() -> re.Pattern[str]:
    return re.compile(r"(%2[Ff]|%25)")


@cache
def _template_param() -> re.Pattern[str]:
    return re.compile(r"\{([A-Za-z0-9_][A-Za-z0-9_-]*)(\+?)\}")


#: Characters a rebuilt path segment may carry unescaped (RFC 3986 ``pchar`` without ``%``): anything
#: else, ``/``, ``%`` and ``?`` included, is percent-encoded so request_segments reads the value back.
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"


def request_method(method: object) -> str | None:
    """The upper-cased verb if it is one of :data:`STANDARD_VERBS`, else ``None`` (fact 7: fail closed).

    Upper-casing means a lower-case ``get`` cannot step around a deny rule on ``GET`` while an ``ANY``
    allow rule matches it.
    """
    verb = normalize_method(method)
    return verb if verb in STANDARD_VERBS else None


def normalize_method(method: object) -> str | None:
    """The upper-cased method token, or ``None`` when ``method`` is not a plausible HTTP method token.

    Unlike :func:`request_method` this keeps non-standard verbs, so messages can name them.
    """
    if not isinstance(method, str) or not method or len(method) > _MAX_METHOD:
        return None
    if not (method.isascii() and method.isalpha()):
        return None
    return method.upper()


def framework_method(method: str) -> str:
    """The method whose view a web framework runs: HEAD is served by the GET view (fact 8).

    Only for framework adapters (Flask/Werkzeug, Starlette ``Route``); API Gateway itself routes HEAD
    as HEAD. Other methods come back upper-cased.
    """
    verb = method.upper() if isinstance(method, str) else method
    return "GET" if verb == "HEAD" else verb


def request_segments(path: object) -> tuple[str, ...] | None:
    """The canonical segments ``decide`` matches routes against, or ``None`` when no route can match.

    :func:`split_path`, plus fact 3: one trailing slash routes like none (``/orders/`` gives the segments
    of ``/orders``). ``/`` is the root, ``()``.
    """
    segments = split_path(path)
    if segments is not None:
        return segments
    if isinstance(path, str) and 2 < len(path) <= MAX_PATH and path[-1] == "/":
        return split_path(path[:-1])  # "/a//" still has an empty segment, so split_path refuses it
    return None


def split_path(path: object) -> tuple[str, ...] | None:
    """Canonical segments of a request path taken strictly (no trailing slash), or ``None``.

    Split on literal ``/``; percent-escapes decoded per segment except ``%2F`` and ``%25`` (fact 4); an
    empty, ``.`` or ``..`` segment, a broken escape, invalid UTF-8 or a control character gives ``None``
    (fact 5). Most callers want :func:`request_segments`.
    """
    if not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_PATH:
        return None
    if path.isascii() and path.isprintable() and "%" not in path and "/." not in path:
        # The common case, checked with C-level string methods: printable ASCII without escapes or
        # segments starting with a dot, so every non-empty segment is already canonical.
        parts = path[1:].split("/")
        if "" not in parts:
            return tuple(parts)
        return () if path == "/" else None
    if _control().search(path):
        return None
    if not path.isascii():
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: no request on the wire can carry them
            return None
    if path == "/":
        return ()
    segments = path[1:].split("/")
    for index, segment in enumerate(segments):
        if "%" in segment:
            decoded = _decode_segment(segment)
            if decoded is None:
                return None
            segments[index] = segment = decoded
        if segment == "" or segment == "." or segment == "..":
            return None
    return tuple(segments)


def _decode_segment(segment: str) -> str | None:
    # urllib.parse (which imports ipaddress) is loaded by the first path that needs it, not at start-up:
    # it is a measurable share of a Lambda cold start (docs/performance.md).
    from urllib.parse import unquote_to_bytes

    if _valid_escapes().fullmatch(segment) is None:
        return None
    pieces = _kept_escapes().split(segment)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append(piece.upper())
            continue
        try:
            out.append(unquote_to_bytes(piece).decode("utf-8"))
        except UnicodeDecodeError:
            return None
    decoded = "".join(out)
    if _control().search(decoded):
        return None
    return decoded


def api_relative_path(template: str, path_parameters: Mapping[str, str] | None) -> str | None:
    """The API-relative request path rebuilt from a route template and the event's path parameters, when
    it names a route (:func:`request_segments`); ``None`` when it cannot be rebuilt with certainty
    (:func:`rebuilt_path`) or names no route (``.`` or ``..`` values, two trailing slashes).
    """
    path = rebuilt_path(template, path_parameters)
    return path if path is not None and request_segments(path) is not None else None


def rebuilt_path(template: str, path_parameters: Mapping[str, str] | None) -> str | None:
    """Rebuild the request path from a route template and the event's path parameters.

    ``template`` is a REST ``resource`` (``/tenants/{tenantId}/{proxy+}``) or the path part of an HTTP API
    ``routeKey``. Parameter values arrive decoded (fact 4); each is percent-encoded again so that
    :func:`request_segments` of the result gives back exactly the values (a ``/`` inside a greedy value
    separates segments, as a greedy variable spans them). ``None`` when the path cannot be rebuilt with
    certainty: a template that is not a path (``$default``), a missing or empty parameter, a non-greedy
    value holding ``/`` (it came from ``%2F`` or from a mismatch: fail closed). The result may still name
    no route (a ``..`` value, ``orders//`` in a greedy one): the adapters hand it to ``decide``, which
    denies it (fact 5), where :func:`api_relative_path` answers ``None``.
    """
    if not isinstance(template, str) or not template.startswith("/"):
        return None
    if template == "/":
        return "/"
    from urllib.parse import quote  # not at start-up: see _decode_segment

    params = path_parameters if isinstance(path_parameters, Mapping) else {}
    raw = template[1:].split("/")
    parts: list[str] = []
    for index, segment in enumerate(raw):
        matched = _template_param().fullmatch(segment)
        if matched is None:
            if segment == "" or "{" in segment or "}" in segment:
                return None
            parts.append(segment)
            continue
        name, greedy = matched.group(1), bool(matched.group(2))
        value = params.get(name)
        if not isinstance(value, str) or value == "":
            return None
        if greedy and index != len(raw) - 1:
            return None
        if not greedy and "/" in value:
            return None
        try:
            parts.extend(quote(part, safe=_SEGMENT_SAFE) for part in value.split("/"))
        except UnicodeEncodeError:  # a lone surrogate: no request on the wire carries one
            return None
    return "/" + "/".join(parts)


def strip_base_path(path: str, base_path: str) -> str | None:
    """``path`` with an explicitly configured prefix removed: a stage, a REST base-path mapping or an HTTP
    API API mapping (``v1``, ``/v1``, ``/orders/v2``). ``""`` or ``"/"`` removes nothing.

    ``None`` when ``path`` does not start with the whole prefix on a segment boundary (``/v10`` does not
    start with ``/v1``): such a request cannot have been routed through that mapping.
    """
    if not isinstance(path, str) or not isinstance(base_path, str) or not path.startswith("/"):
        return None
    prefix = "/" + base_path.strip("/")
    if prefix == "/":
        return path
    if path == prefix:
        return "/"
    if path.startswith(prefix + "/"):
        return path[len(prefix) :]
    return None
