"""What every adapter shares: finding the token, the one place verify and decide meet, flat contexts.

Adapters differ in how a request arrives and how an answer leaves; *what* is checked is identical and
lives here, so a fix to token extraction or to the verify-then-decide order is made once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any, Literal, Protocol

from cognito_authz import routing
from cognito_authz._frozen import Frozen, set_field
from cognito_authz._log import get_logger
from cognito_authz.errors import (
    AccessDenied,
    AuthzError,
    ConfigError,
    EventError,
    JwksError,
    MalformedTokenError,
    MissingClaimError,
    TokenError,
)
from cognito_authz.principal import Principal

if TYPE_CHECKING:
    from cognito_authz.policy import Decision, Policy

__all__ = [
    "Gate",
    "PathExclusions",
    "ProxyRequest",
    "Rejection",
    "Requirement",
    "TokenVerifier",
    "api_path",
    "bearer_token",
    "check_parts",
    "check_request_options",
    "context_list",
    "find_header",
    "flatten_context",
    "get_header",
    "policy_path",
    "proxy_request",
    "raw_event",
    "read_context_list",
    "rejection",
    "rules_context",
    "single_token",
    "strip_stage",
    "subprotocol_token",
    "upstream_principal",
]

logger = get_logger("cognito_authz")

#: API Gateway rejects authorizer context values that are not strings, numbers or booleans, and a REST
#: authorizer's whole response is capped; long claim values are cut rather than failing the request.
MAX_CONTEXT_VALUE = 1024


class TokenVerifier(Protocol):
    """What adapters need from a verifier (``CognitoVerifier`` satisfies it)."""

    def verify(self, token: Any) -> Principal: ...


def bearer_token(value: str | None) -> str | None:
    """Return the credential of an ``Authorization`` value: ``Bearer <t>`` (any case) or a bare token.

    Another auth scheme (``Basic ...``) yields ``None``: it is not a Cognito token, so the caller answers
    401 rather than feeding a password to the verifier.
    """
    if value is None:
        return None
    if value[:7] == "Bearer ":
        # The usual header: what the steps below give for it (they strip, split at the first space and
        # strip the rest), unless nothing follows the scheme, where they answer differently.
        token = value[7:].strip()
        if token:
            return token
    value = value.strip()
    if not value:
        return None
    scheme, sep, rest = value.partition(" ")
    if not sep:
        return value
    if scheme.lower() != "bearer":
        return None
    token = rest.strip()
    return token or None


def get_header(
    headers: Mapping[str, Any] | None,
    name: str,
    multi: Mapping[str, Any] | None = None,
) -> str | None:
    """Case-insensitive header lookup over API Gateway's ``headers`` and ``multiValueHeaders``.

    A header that arrives with several different values is ambiguous (a proxy appended one?) and is
    treated as absent, so the request is rejected instead of guessing which value to trust.
    """
    return find_header(headers, name, multi)[1]


def find_header(
    headers: Mapping[str, Any] | None,
    name: str,
    multi: Mapping[str, Any] | None = None,
) -> tuple[bool, str | None]:
    """Whether any spelling of header ``name`` was sent, and its one value (as ``get_header``).

    The first item tells "not sent" apart from "sent but unusable" (several different values, or none
    that is a string): a caller that must not fall back to another token source needs both.
    """
    wanted = name.lower()
    values: list[str] = []
    if multi is None and type(headers) is dict:
        # The usual event: one plain map of headers. The same steps as the loop below, for it alone.
        named = _collect_header(headers, wanted, values)
        if len(values) == 1:
            return named, values[0]
        distinct = set(values)
        return named, (distinct.pop() if len(distinct) == 1 else None)
    named = False
    for source in (headers, multi):
        if source is None:
            continue
        # type() first: an ABC isinstance costs several times more, and events hold plain dicts.
        if (type(source) is dict or isinstance(source, Mapping)) and _collect_header(source, wanted, values):
            named = True
    if len(values) == 1:
        return named, values[0]
    distinct = set(values)
    return named, (distinct.pop() if len(distinct) == 1 else None)


def _collect_header(source: Mapping[str, Any], wanted: str, values: list[str]) -> bool:
    """Append the string values of every key of ``source`` naming ``wanted`` (any case); any named?

    Every request pays this, so the common cases stay in C: ``map(str.lower, ...)`` lowers the names
    without a Python-level step per header, and when the only name that matches is ``wanted`` itself
    (API Gateway's HTTP API sends lower-case names) its value is read by one dictionary lookup. Other
    spellings, several of them, or a key that is not a string take the loop over every item, which
    decides exactly the same way.
    """
    try:
        if wanted.isascii():
            # Only a name as long as `wanted` can lower to it: lower() maps each character to one
            # character, except U+0130, whose two hold a non-ASCII one (tests/adapters/test_header_lookup.py
            # checks this over every code point). So when `wanted` is the only key of its length, it is the
            # only spelling there is, and the lengths are counted without building a lowered copy of each.
            matches = list(map(len, source)).count(len(wanted))
            if matches != 1 or wanted not in source:
                matches = list(map(str.lower, source)).count(wanted)
        else:
            matches = list(map(str.lower, source)).count(wanted)
    except TypeError:  # a key that is not a string: the loop below skips it
        matches = -1
    if matches == 0:
        return False
    if matches == 1 and wanted in source:
        _append_values(source[wanted], values)
        return True
    named = False
    for key, value in source.items():
        if isinstance(key, str) and key.lower() == wanted:
            named = True
            _append_values(value, values)
    return named


def _append_values(value: Any, values: list[str]) -> None:
    if isinstance(value, str):
        values.append(value)
    elif isinstance(value, list):
        values.extend(v for v in value if isinstance(v, str))


def subprotocol_token(value: str | None, marker: str) -> str | None:
    """The token a browser offered in ``Sec-WebSocket-Protocol`` as the pair ``<marker>, <token>``.

    Browsers cannot set ``Authorization`` on a WebSocket, but ``new WebSocket(url, ["bearer", token])``
    sends ``Sec-WebSocket-Protocol: bearer, <token>``; the ``$connect`` route then echoes ``bearer`` (the
    marker, never the token) as the chosen subprotocol. A marker that is missing, last, or offered twice
    yields ``None``: the request is refused rather than guessed at.
    """
    if value is None:
        return None
    offered = [part.strip() for part in value.split(",")]
    if offered.count(marker) != 1:
        return None
    index = offered.index(marker)
    if index + 1 >= len(offered) or not offered[index + 1]:
        return None
    return offered[index + 1]


def single_token(candidates: Iterable[str | None]) -> str | None:
    """The one token the request carries, or ``None`` when it carries none or several different ones.

    A request with a token in two places (header and query string, say) that disagree is ambiguous: which
    one the application later trusts is unknown, so it is refused.
    """
    found = {token for token in candidates if token is not None}
    return found.pop() if len(found) == 1 else None


def policy_path(decoded_path: str) -> str:
    """The path to decide on for a server that already percent-decoded it (ASGI ``scope["path"]``,
    WSGI ``PATH_INFO``): the router dispatches on exactly this text, so the policy engine must not decode
    it a second time. ``/users/%61bc`` (sent as ``/users/%2561bc``) reaches the view as ``%61bc`` and
    must not be decided as ``/users/abc``; escaping ``%`` keeps every segment as the router sees it.
    """
    return decoded_path.replace("%", "%25")


def strip_stage(path: str, stage: str | None) -> str:
    """Remove a named stage prefix (``/prod/orders`` -> ``/orders``); ``$default`` has none."""
    if stage and stage != "$default":
        prefix = f"/{stage}"
        if path == prefix:
            return "/"
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path


# Three context lists per authorizer invocation: json.dumps with options builds a new encoder on every
# call (~20k instructions each). A list of strings is written directly with the string encoder that
# ensure_ascii=False uses, which gives the same text; anything else goes through one shared encoder,
# json.dumps(obj, **options) being JSONEncoder(**options).encode(obj). tests/adapters/test_context_list.py
# holds both to json.dumps.
_ENCODE_CONTEXT_LIST = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_STR_ONLY = {str}
# context_list's texts of tuples of strings seen before; dropped wholesale when full, so a stream of
# distinct lists costs only the misses. A tuple with a subclass of str in it is never a key here.
_LIST_TEXTS: dict[tuple[str, ...], str] = {}
_LIST_TEXTS_MAX = 256


def context_list(values: Iterable[str]) -> str:
    """A list of names as an authorizer context value: JSON text (``["reports,admin","ops"]``).

    API Gateway accepts only flat strings, numbers and booleans in a context, and Cognito group names may
    hold commas, spaces and brackets, so no separator can join them safely; JSON text reads back exactly
    (:func:`read_context_list`).
    """
    if type(values) is tuple:
        if not values:
            return "[]"  # what the encoder writes for an empty list (the usual scopes, groups or rules)
        # A principal's groups and scopes and a decision's rules are tuples, and many callers share them:
        # their text is remembered (a tuple of strings is immutable; anything else is not kept).
        try:
            known = _LIST_TEXTS.get(values)
        except TypeError:  # an unhashable item: written below as before
            known = None
        if known is not None:
            return known
    items = list(values)
    if not items:
        return "[]"  # what the encoder writes for an empty list, without its Python-level call chain
    if set(map(type, items)) == _STR_ONLY:
        text = "[" + ",".join(map(encode_basestring, items)) + "]"
        if type(values) is tuple:
            if len(_LIST_TEXTS) >= _LIST_TEXTS_MAX:
                _LIST_TEXTS.clear()
            _LIST_TEXTS[values] = text
        return text
    return _ENCODE_CONTEXT_LIST(items)


def read_context_list(value: Any, name: str) -> tuple[str, ...]:
    """Read back a list that :func:`context_list` wrote; anything else is an :class:`EventError`.

    Only JSON text holding a list of strings is accepted (HTTP API payload 2.0 may also hand the list
    back as a real list). A legacy ``"a,b"`` value is refused rather than split: guessing where a group
    name ends is exactly the ambiguity that let ``reports,admin`` pass as ``admin``.
    """
    items: Any = value
    if isinstance(value, str):
        try:
            items = json.loads(value)
        except ValueError:
            items = None
    if isinstance(items, list) and all(isinstance(item, str) for item in items):
        return tuple(dict.fromkeys(item for item in items if item))
    raise EventError(
        f"authorizer context {name!r} is not a JSON list of strings (written by cognito-authz)",
        reason="invalid_event",
    )


def _context_value(value: Any) -> str | int | float | bool | None:
    if isinstance(value, bool) or (isinstance(value, (int, float)) and value == value):
        return value
    if isinstance(value, str):
        return value[:MAX_CONTEXT_VALUE]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        text = context_list(value)
        # Cut JSON text would no longer parse (or would parse as fewer items): drop it instead.
        return text if len(text) <= MAX_CONTEXT_VALUE else None
    return None


def flatten_context(
    principal: Principal,
    decision: Decision | None = None,
    claims: Iterable[str] = (),
) -> dict[str, str | int | float | bool]:
    """An authorizer ``context`` API Gateway accepts: flat strings, numbers and booleans only.

    ``groups``, ``scopes`` and ``rules`` are lists carried as JSON text (:func:`context_list`), so a
    group named ``reports,admin`` reads back as one group. Extra ``claims`` are copied when they are
    scalars or lists of strings (lists as JSON text too); anything nested is dropped, since API Gateway
    answers 500 to a nested context value. An extra claim never overwrites one of the keys above.
    """
    return rules_context(principal, decision.rules if decision is not None else None, claims)


def rules_context(
    principal: Principal,
    rules: tuple[str, ...] | None,
    claims: Iterable[str] = (),
) -> dict[str, str | int | float | bool]:
    """:func:`flatten_context` from the decision's ``rules`` alone (``None``: no decision, no ``rules``
    key), for a caller that has no :class:`Decision` (the Lambda authorizer)."""
    # Written out rather than looped over: every authorizer invocation builds a context. An empty list
    # (the usual scopes, groups or rules: the empty tuple is one object) is "[]" without a call.
    groups, scopes = principal.groups, principal.scopes
    context: dict[str, str | int | float | bool] = {
        "sub": principal.sub,
        "groups": "[]" if groups is _NO_NAMES else context_list(groups),
        "scopes": "[]" if scopes is _NO_NAMES else context_list(scopes),
    }
    username, token_use, client_id = principal.username, principal.token_use, principal.client_id
    if username:
        context["username"] = username
    if token_use:
        context["token_use"] = token_use
    if client_id:
        context["client_id"] = client_id
    if rules is not None:
        context["rules"] = "[]" if rules is _NO_NAMES else context_list(rules)
    if claims:
        for claim in claims:
            if claim in principal.claims and claim not in context:
                flat = _context_value(principal.claims[claim])
                if flat is not None:
                    context[claim] = flat
    return context


# The empty tuple (CPython keeps one): what context_list writes as "[]" when a list is it. Any other empty
# list takes context_list, which writes the same.
_NO_NAMES: tuple[str, ...] = ()


class Requirement(Frozen):
    """A per-handler requirement checked in addition to (or instead of) a policy file."""

    __slots__ = ("all_groups", "all_scopes", "groups", "scopes")
    groups: tuple[str, ...]
    all_groups: tuple[str, ...]
    scopes: tuple[str, ...]
    all_scopes: tuple[str, ...]

    def __init__(
        self,
        groups: tuple[str, ...] = (),
        all_groups: tuple[str, ...] = (),
        scopes: tuple[str, ...] = (),
        all_scopes: tuple[str, ...] = (),
    ) -> None:
        set_field(self, "groups", groups)
        set_field(self, "all_groups", all_groups)
        set_field(self, "scopes", scopes)
        set_field(self, "all_scopes", all_scopes)

    @classmethod
    def of(
        cls,
        *,
        groups: Sequence[str] = (),
        all_groups: Sequence[str] = (),
        scopes: Sequence[str] = (),
        all_scopes: Sequence[str] = (),
    ) -> Requirement | None:
        """A requirement, or ``None`` when nothing is required.

        A bare string is refused: ``groups="admin"`` would otherwise mean the groups a, d, m, i, n.
        """
        for name, value in (
            ("groups", groups),
            ("all_groups", all_groups),
            ("scopes", scopes),
            ("all_scopes", all_scopes),
        ):
            if isinstance(value, str):
                raise ConfigError(f"{name} must be a list of names, not a string")
        req = cls(tuple(groups), tuple(all_groups), tuple(scopes), tuple(all_scopes))
        return req if any((req.groups, req.all_groups, req.scopes, req.all_scopes)) else None

    def unmet(self, principal: Principal) -> str | None:
        """The first unmet part, described for logs, or ``None`` when the principal satisfies it."""
        if self.groups and not principal.has_groups(self.groups):
            return f"none of groups {list(self.groups)}"
        if self.all_groups and not principal.has_groups(self.all_groups, all_of=True):
            return f"not all of groups {list(self.all_groups)}"
        if self.scopes and not principal.has_scopes(self.scopes):
            return f"none of scopes {list(self.scopes)}"
        if self.all_scopes and not principal.has_scopes(self.all_scopes, all_of=True):
            return f"not all of scopes {list(self.all_scopes)}"
        return None


def check_parts(verifier: object, policy: object) -> None:
    """Refuse a verifier or policy of the wrong kind when an adapter is built, not on the first request."""
    if verifier is not None and not callable(getattr(verifier, "verify", None)):
        raise ConfigError("verifier must have a verify(token) method (a CognitoVerifier)")
    if policy is not None and not callable(getattr(policy, "decide", None)):
        raise ConfigError("policy must have a decide(principal, method, path) method (a Policy)")


def check_request_options(base_path: object, token_header: object) -> None:
    """Refuse a ``base_path`` or ``token_header`` of the wrong kind when an adapter is built."""
    if base_path is not None and not isinstance(base_path, str):
        raise ConfigError("base_path must be a string (the mapping key, '' for none) or None")
    if not isinstance(token_header, str) or not token_header.strip():
        raise ConfigError("token_header must be a header name")


class Gate:
    """Verify, then decide: the single sequence every adapter runs.

    ``check`` returns the principal and the policy decision (``None`` when there is no policy), or raises:
    :class:`TokenError` (401), :class:`JwksError` (fail closed), :class:`AccessDenied` (403).
    """

    def __init__(
        self,
        verifier: TokenVerifier | None,
        policy: Policy | None = None,
        requirement: Requirement | None = None,
    ) -> None:
        self.verifier = verifier
        self.policy = policy
        self.requirement = requirement

    def authenticate(self, token: str | None) -> Principal:
        """Verify a bearer credential (``None`` = no credential sent)."""
        if token is None:
            raise TokenError("no bearer token in the request", reason="missing_token")
        if self.verifier is None:
            raise MalformedTokenError("this gate has no verifier", reason="missing_token")
        return self.verifier.verify(token)

    def verdict(self, principal: Principal, method: str, path: str) -> tuple[Decision | None, str | None]:
        """:meth:`authorize` without raising: the decision (``None`` without a policy or when the requirement
        is unmet) and, on a no, the reason code :class:`AccessDenied` would carry (``None`` on a yes).

        For callers that answer a no themselves (the Lambda authorizer returns a Deny policy): building and
        unwinding an exception costs about half a ``decide`` on every denied request."""
        if self.requirement is not None and self.requirement.unmet(principal) is not None:
            return None, "requirement_not_met"
        if self.policy is None:
            return None, None
        decision = self.policy.decide(principal, method, path)
        return decision, (None if decision.allowed else AccessDenied.default_reason)

    def verdict_rules(
        self, principal: Principal, method: str, path: str
    ) -> tuple[bool, tuple[str, ...] | None, str | None]:
        """:meth:`verdict` as what the Lambda authorizer reads of it: whether allowed, the determining
        rules (``None`` where :meth:`verdict` has no decision) and the reason on a no. Through
        ``Policy.verdict`` when the policy has it, which builds no :class:`Decision` (one per request);
        ``tests/adapters/test_gate_verdict_rules.py`` holds the two to the same answers."""
        if self.requirement is not None and self.requirement.unmet(principal) is not None:
            return False, None, "requirement_not_met"
        policy = self.policy
        if policy is None:
            return True, None, None
        verdict = getattr(policy, "verdict", None)
        if verdict is None:  # a policy of another kind (adapters accept anything with decide)
            decision = policy.decide(principal, method, path)
            allowed, rules = decision.allowed, decision.rules
        else:
            allowed, rules = verdict(principal, method, path)
        return allowed, rules, (None if allowed else AccessDenied.default_reason)

    def authorize(self, principal: Principal, method: str, path: str) -> Decision | None:
        """Apply the per-handler requirement and the policy; raise :class:`AccessDenied` on no."""
        if self.requirement is not None:
            unmet = self.requirement.unmet(principal)
            if unmet is not None:
                raise AccessDenied(f"requirement not met: {unmet}", reason="requirement_not_met")
        if self.policy is None:
            return None
        decision = self.policy.decide(principal, method, path)
        if not decision.allowed:
            raise AccessDenied(f"policy denies {method} {path}", decision=decision)
        return decision

    def check(self, token: str | None, method: str, path: str) -> tuple[Principal, Decision | None]:
        principal = self.authenticate(token)
        return principal, self.authorize(principal, method, path)


# --- Lambda proxy events (handler decorators, Powertools resolvers) ---------------------------------

ProxyKind = Literal["rest_v1", "http_v1", "http_v2", "alb"]


class ProxyRequest(Frozen):
    """What a Lambda proxy event says about the request, enough to authenticate, decide and answer.

    ``path`` is the API-relative path API Gateway routed (no stage, no custom-domain mapping; see
    :func:`api_path`); ``multi_value`` is true for an ALB target group with multi-value headers on,
    whose responses must use ``multiValueHeaders``.
    """

    __slots__ = ("authorization", "kind", "method", "multi_value", "path")
    kind: ProxyKind
    method: str
    path: str
    authorization: str | None
    multi_value: bool

    def __init__(
        self,
        kind: ProxyKind,
        method: str,
        path: str,
        authorization: str | None,
        multi_value: bool = False,
    ) -> None:
        set_field(self, "kind", kind)
        set_field(self, "method", method)
        set_field(self, "path", path)
        set_field(self, "authorization", authorization)
        set_field(self, "multi_value", multi_value)


def raw_event(event: Any) -> Any:
    """The dict behind a Powertools event data class (it has a mapping ``raw_event``), else ``event``."""
    inner = getattr(event, "raw_event", None)
    return inner if isinstance(inner, Mapping) else event


def _route_template(event: Mapping[str, Any], ctx: Mapping[str, Any], kind: ProxyKind) -> str | None:
    """The path of the route API Gateway selected: REST ``resource``; HTTP API ``routeKey`` (2.0 at the
    top, 1.0 in ``requestContext``, older 1.0 events in ``resource``) without its method.

    ``None`` for the HTTP API ``$default`` route, which has no path. Anything else that is not a route
    path (missing, not a string, not starting with ``/``) is a broken event: :class:`EventError`, never
    a fallback to the raw path.
    """
    if kind == "rest_v1":
        template = event.get("resource")
    else:
        key = event.get("routeKey") if kind == "http_v2" else ctx.get("routeKey", event.get("resource"))
        if key == "$default":
            return None
        template = key.split(" ", 1)[1] if isinstance(key, str) and " " in key else key
    if isinstance(template, str) and template.startswith("/"):
        return template
    raise EventError("the event names no route (resource / routeKey)")


def _on_execute_api_domain(ctx: Mapping[str, Any]) -> bool:
    """Whether the request came through ``{api-id}.execute-api.{region}.amazonaws.com``, where no base-path
    or API mapping applies (a custom domain names itself in ``domainName`` instead)."""
    domain, api_id = ctx.get("domainName"), ctx.get("apiId")
    return isinstance(domain, str) and isinstance(api_id, str) and domain.startswith(f"{api_id}.execute-api.")


def api_path(event: Mapping[str, Any], kind: ProxyKind, base_path: str | None = None) -> str:
    """The API-relative path of a proxy event: what ``decide`` must judge (see ``cognito_authz.routing``).

    Through a custom domain, REST ``path`` and HTTP API 1.0 ``path`` carry the base-path (API) mapping,
    and reports differ on what HTTP API 2.0 ``rawPath`` carries; the route template and the path
    parameters carry neither, so the path is rebuilt from them
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
    An HTTP API ``$default`` route has no template: its ``rawPath`` is used with the named stage removed
    on the execute-api domain, or with ``base_path`` removed through a custom domain, where ``base_path``
    must be configured (``""`` for a mapping without a key) since nothing in the event says what the
    mapping is. ALB events have no stage or mapping. Anything that cannot be settled raises
    :class:`EventError` (fail closed: 500, never a decision on the wrong path).
    """
    ctx = event.get("requestContext")
    ctx = ctx if isinstance(ctx, Mapping) else {}
    if kind == "alb":
        path = event.get("path")
        if isinstance(path, str) and path.startswith("/"):
            return path
        raise EventError("ALB event without a path")
    template = _route_template(event, ctx, kind)
    if template is not None:
        parameters = event.get("pathParameters")
        # A rebuilt path that names no route (a ``..`` value, ``orders//`` in a greedy one) is still this
        # request's path: decide denies it (routing fact 5), as the authorizer does, so the caller gets a
        # 403 and not a 500.
        rebuilt = routing.rebuilt_path(template, parameters if isinstance(parameters, Mapping) else None)
        if rebuilt is None:
            raise EventError(f"cannot rebuild the request path from route {template!r} and its parameters")
        return rebuilt
    raw = event.get("rawPath") if kind == "http_v2" else event.get("path")
    if not isinstance(raw, str) and kind == "http_v2":
        http = ctx.get("http")
        raw = http.get("path") if isinstance(http, Mapping) else None
    if not isinstance(raw, str) or not raw.startswith("/"):
        raise EventError("HTTP API event without a request path")
    stage = ctx.get("stage")
    if _on_execute_api_domain(ctx):
        return strip_stage(raw, stage if isinstance(stage, str) else None)
    if base_path is None:
        raise EventError(
            "a $default-route request through a custom domain: set base_path to the API mapping key "
            "('' for none), since the event does not say which prefix rawPath carries"
        )
    stripped = routing.strip_base_path(raw, base_path)
    if stripped is None:
        raise EventError(f"request path does not start with the configured base_path {base_path!r}")
    return stripped


def proxy_request(
    event: Any, *, base_path: str | None = None, token_header: str = "authorization"
) -> ProxyRequest | None:
    """Read a REST v1, HTTP API (payload 1.0 or 2.0) or ALB proxy event; ``None`` if it is none of them.

    The path is API-relative (:func:`api_path`); the credential is the ``token_header`` header (any
    case). Raises :class:`EventError` when the event is a proxy event whose path cannot be settled.
    """
    event = raw_event(event)
    if not isinstance(event, Mapping):
        return None
    ctx = event.get("requestContext")
    if not isinstance(ctx, Mapping):
        return None
    headers = event.get("headers")
    multi = event.get("multiValueHeaders")
    authorization = get_header(headers, token_header, multi)
    kind: ProxyKind
    if isinstance(ctx.get("elb"), Mapping):
        kind, method = "alb", event.get("httpMethod")
    elif event.get("version") == "2.0":
        http = ctx.get("http")
        kind, method = "http_v2", http.get("method") if isinstance(http, Mapping) else None
    elif "httpMethod" in event:
        kind = "http_v1" if event.get("version") == "1.0" else "rest_v1"
        method = event.get("httpMethod")
    else:
        return None
    if not isinstance(method, str) or not method:
        return None
    return ProxyRequest(
        kind=kind,
        method=method.upper(),
        path=api_path(event, kind, base_path),
        authorization=authorization,
        multi_value=kind == "alb" and isinstance(multi, Mapping) and not isinstance(headers, Mapping),
    )


def _context_names(context: Mapping[str, Any], keys: tuple[str, str]) -> tuple[str, ...]:
    # Ours writes "groups"/"scopes"; a context may also copy the token's claim name (context_claims). Each
    # present key must be a JSON list, and two keys that disagree are refused rather than one preferred.
    found = {read_context_list(context[key], key) for key in keys if key in context}
    if len(found) > 1:
        raise EventError(f"authorizer context {keys[0]!r} and {keys[1]!r} disagree", reason="invalid_event")
    return found.pop() if found else ()


def _claims_from_context(context: Mapping[str, Any]) -> dict[str, Any]:
    # A Lambda authorizer's flat context is ours (see flatten_context): lists are JSON text, read back
    # exactly, never split on a separator.
    claims = {k: v for k, v in context.items() if k not in ("cognito:groups", "scope", "groups", "scopes")}
    claims["cognito:groups"] = list(_context_names(context, ("groups", "cognito:groups")))
    claims["scope"] = " ".join(_context_names(context, ("scopes", "scope")))
    return claims


def _with_scopes(claims: Mapping[str, Any], scopes: Any) -> dict[str, Any]:
    # HTTP API JWT authorizers list the token's scopes beside the claims; keep both, once each.
    out = dict(claims)
    if isinstance(scopes, list) and scopes:
        have = out.get("scope")
        parts = have.split() if isinstance(have, str) else []
        parts += [s for s in scopes if isinstance(s, str)]
        out["scope"] = " ".join(dict.fromkeys(parts))
    return out


def upstream_principal(event: Any) -> Principal:
    """The principal an upstream API Gateway authorizer already verified, from the proxy event.

    Reads ``requestContext.authorizer.claims`` (REST Cognito authorizer; HTTP API 1.0 JWT authorizer),
    ``.jwt.claims`` + ``.jwt.scopes`` (HTTP API 2.0 JWT authorizer), ``.lambda`` (HTTP API 2.0 Lambda
    authorizer) or the authorizer context itself (REST and HTTP API 1.0 Lambda authorizers). The string
    shapes API Gateway's own Cognito and JWT authorizers forward (``"[a b]"``, ``"a,b"``, ``"true"``)
    are normalized by :meth:`Principal.from_claims`; a Lambda authorizer context is ours, with groups and
    scopes as JSON text (:func:`read_context_list`), read back exactly.
    Raises :class:`TokenError` when there are no claims or no ``sub``: a route without an authorizer must
    not run as somebody; :class:`EventError` when a Lambda context's lists are in any other form.
    """
    event = raw_event(event)
    ctx = event.get("requestContext") if isinstance(event, Mapping) else None
    authorizer = ctx.get("authorizer") if isinstance(ctx, Mapping) else None
    claims: dict[str, Any] | None = None
    if isinstance(authorizer, Mapping):
        # Decide the shape by its key, then require it well-formed: a malformed "jwt" or "claims" entry is
        # never reread as a Lambda authorizer's flat context.
        jwt, lam, plain = authorizer.get("jwt"), authorizer.get("lambda"), authorizer.get("claims")
        if "jwt" in authorizer:
            if isinstance(jwt, Mapping) and isinstance(jwt.get("claims"), Mapping):
                claims = _with_scopes(jwt["claims"], jwt.get("scopes"))
        elif "claims" in authorizer:
            if isinstance(plain, Mapping):
                claims = _with_scopes(plain, authorizer.get("scopes"))
        elif "lambda" in authorizer:
            if isinstance(lam, Mapping):
                claims = _claims_from_context(lam)
        elif authorizer:
            claims = _claims_from_context(authorizer)
    if claims is None:
        raise TokenError("no upstream authorizer claims in the event", reason="missing_token")
    principal = Principal.from_claims(claims)
    if not principal.sub:
        raise MissingClaimError("upstream authorizer claims have no sub", claim="sub")
    return principal


# --- paths a middleware lets through unauthenticated ------------------------------------------------


class PathExclusions:
    """``exclude_paths`` of the ASGI and WSGI middleware: exact paths, or ``"/prefix/*"`` for a subtree.

    A subtree match needs clean segments below the prefix (no empty, ``.`` or ``..`` segment), so
    ``/docs/../admin`` is never waved through as part of ``/docs/*``.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        if isinstance(patterns, str):
            raise ConfigError("exclude_paths must be a list of paths, not a string")
        exact: set[str] = set()
        prefixes: list[str] = []
        for pattern in patterns:
            if not isinstance(pattern, str) or not pattern.startswith("/"):
                raise ConfigError(f"exclude_paths entries must be paths starting with '/': {pattern!r}")
            if pattern.endswith("/*"):
                prefixes.append(pattern[:-1])
            elif "*" in pattern:
                raise ConfigError(f"exclude_paths: '*' only as a final '/*' segment: {pattern!r}")
            else:
                exact.add(pattern)
        self.exact = frozenset(exact)
        self.prefixes = tuple(prefixes)

    def __bool__(self) -> bool:
        return bool(self.exact or self.prefixes)

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        if path in self.exact:
            return True
        for prefix in self.prefixes:
            if path.startswith(prefix):
                rest = path[len(prefix) :].split("/")
                if all(segment not in ("", ".", "..") for segment in rest):
                    return True
        return False


# --- rejections: one mapping from error to HTTP answer for every HTTP-shaped adapter ---------------


class Rejection(Frozen):
    """A generic HTTP answer for a failed check: never the exception text, never the token."""

    __slots__ = ("headers", "message", "reason", "status")
    status: int
    message: str
    headers: Mapping[str, str]
    reason: str

    def __init__(self, status: int, message: str, headers: Mapping[str, str], reason: str) -> None:
        set_field(self, "status", status)
        set_field(self, "message", message)
        set_field(self, "headers", headers)
        set_field(self, "reason", reason)

    def body(self) -> str:
        return json.dumps({"message": self.message})


_MESSAGES = {
    401: "Unauthorized",
    403: "Forbidden",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def rejection(error: BaseException, *, method: str = "", path: str = "") -> Rejection:
    """Map an error from :class:`Gate` (or anything unexpected) to a response, and log why.

    401 carries ``WWW-Authenticate: Bearer`` (no error code when no token was sent, RFC 6750 section 3.1)
    or ``Bearer error="invalid_token"``; 403 carries ``Bearer error="insufficient_scope"`` (the token
    lacks the privileges this request needs). Keys unavailable is 503 and anything else 500: both fail
    closed. ``method`` and ``path`` only go to the log line.
    """
    headers: dict[str, str] = {}
    if isinstance(error, TokenError):
        status = 401
        missing = error.reason == "missing_token"
        headers["WWW-Authenticate"] = "Bearer" if missing else 'Bearer error="invalid_token"'
    elif isinstance(error, AccessDenied):
        status = 403
        headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
    elif isinstance(error, JwksError):
        status = 503
    else:
        status = 500
    reason = error.reason if isinstance(error, AuthzError) else "internal_error"
    if status in (401, 403):
        logger.info("rejected %s %s: %d %s", method, path, status, reason)
    elif status == 503:
        logger.warning("failing closed on %s %s: signing keys unavailable (%s)", method, path, reason)
    else:
        logger.error(
            "failing closed on %s %s: %s (%s)",
            method,
            path,
            type(error).__name__,
            reason,
            exc_info=not isinstance(error, AuthzError),
        )
    return Rejection(status, _MESSAGES[status], headers, reason)
