"""Lambda custom authorizer for every API Gateway flavour: REST TOKEN and REQUEST, HTTP API payload 1.0
and 2.0 (IAM policy or simple response), WebSocket ``$connect``.

One callable, ``LambdaAuthorizer(verifier, policy)``, detects the event type, finds the token, verifies,
decides and answers in the shape API Gateway expects:

* bad or missing token: ``raise Exception("Unauthorized")`` (API Gateway's only way to answer 401);
* policy deny: a Deny policy (403) or ``isAuthorized: false``;
* keys unavailable, a malformed event or any internal fault: fail closed by raising
  :class:`AuthorizerUnavailable` (API Gateway answers 500 and, unlike a Deny, does not cache it), with a
  log line that says why and never the token.

With authorizer caching on, API Gateway reuses the returned policy for every route the same identity
calls, so by default the document covers every route of the policy file for the principal (see
``cognito_authz.iam``), never ``methodArn`` alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from cognito_authz._log import get_logger
from cognito_authz.adapters.common import (
    Gate,
    api_path,
    bearer_token,
    check_request_options,
    find_header,
    get_header,
    rules_context,
    single_token,
    subprotocol_token,
)
from cognito_authz.errors import AuthzError, ConfigError, EventError, JwksError, TokenError
from cognito_authz.iam import (
    DEFAULT_MAX_BYTES,
    CacheSafety,
    MethodArn,
    cache_safety,
    iam_allows,
    request_policy,
)
from cognito_authz.iam.builder import authorizer_answer
from cognito_authz.iam.document import plainly_refuses

if TYPE_CHECKING:
    from cognito_authz.adapters.common import TokenVerifier
    from cognito_authz.policy import Policy
    from cognito_authz.principal import Principal

__all__ = ["AuthorizerUnavailable", "EventKind", "LambdaAuthorizer", "detect_event_kind"]

logger = get_logger("cognito_authz.authorizer")
# logging.INFO by value: the deny path must not need the logging module itself (it may be loaded lazily).
_INFO = 20


class AuthorizerUnavailable(Exception):
    """Raised to make API Gateway answer 500 (fail closed, not cached). Never carries token material."""


class EventKind(str, Enum):
    REST_TOKEN = "rest_token"
    REST_REQUEST = "rest_request"
    HTTP_V1 = "http_v1"
    HTTP_V2 = "http_v2"
    WEBSOCKET = "websocket"


# The members as module constants: on Python 3.11 reading a member through the class goes through the
# enum metaclass (≈ 1k instructions each, docs/performance.md), and every invocation compares its kind
# several times.
_REST_TOKEN = EventKind.REST_TOKEN
_REST_REQUEST = EventKind.REST_REQUEST
_HTTP_V1 = EventKind.HTTP_V1
_HTTP_V2 = EventKind.HTTP_V2
_WEBSOCKET = EventKind.WEBSOCKET


def detect_event_kind(event: Mapping[str, Any]) -> EventKind:
    """Tell the authorizer event flavours apart by the fields AWS documents for each.

    A WebSocket ``$connect`` is recognised by ``requestContext.eventType == "CONNECT"`` alone, never by a
    path or ARN that ends in ``$connect``: a REST or HTTP API resource may well be named ``/$connect``,
    and deciding it as a handshake would drop its method. Sources:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
    """
    if event.get("type") == "TOKEN":
        return _REST_TOKEN
    version = event.get("version")
    if version == "2.0":
        return _HTTP_V2
    request_context = event.get("requestContext")
    if isinstance(request_context, Mapping) and request_context.get("eventType") == "CONNECT":
        return _WEBSOCKET
    if version == "1.0":
        return _HTTP_V1
    if event.get("type") == "REQUEST":
        return _REST_REQUEST
    raise EventError("not an API Gateway authorizer event")


# What an event asks: (method, API-relative path, the ARN the IAM document names or None). A plain
# tuple: built on every invocation and never kept.
_Request = tuple[str, str, MethodArn | None]


class LambdaAuthorizer:
    """``handler = LambdaAuthorizer(verifier, policy)``; API Gateway calls ``handler(event, context)``.

    Options:
      ``token_header`` / ``token_query`` / ``token_subprotocol``: where REQUEST-style events carry the
      token: the header of that name (any case; default ``Authorization``), the query parameter (default
      ``token``), and on WebSocket ``$connect`` the entry after the marker (default ``bearer``) in
      ``Sec-WebSocket-Protocol``, since browsers cannot set headers on a WebSocket. The token is never
      taken by its position in ``identitySource``; two different tokens in one request are refused.
      ``policy_scope``: ``"principal"`` (cache-safe, default) or ``"request"`` (a document for
      ``methodArn`` alone: only correct with caching off or keyed per route). ``http_v2_response``:
      ``"iam"`` (default, as API Gateway's own default with simple responses disabled: principal-wide
      documents are safe to cache per token) or ``"simple"`` (``isAuthorized``: a cached ``true`` is replayed
      for every request with the same identity sources, so cache it only per concrete request).
      ``context_claims``: extra claims copied into the flat context. ``usage_identifier_claim``: a claim
      returned as ``usageIdentifierKey`` (REST usage plans). ``max_policy_bytes``: size guard for
      principal-wide documents. ``base_path``: only for HTTP API events without ``routeArn`` on the
      ``$default`` route behind a custom domain (the API mapping key, ``""`` for none).
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        policy: Policy,
        *,
        token_header: str = "authorization",
        token_query: str | None = "token",
        token_subprotocol: str | None = "bearer",
        policy_scope: Literal["principal", "request"] = "principal",
        http_v2_response: Literal["simple", "iam"] = "iam",
        context_claims: Iterable[str] = (),
        usage_identifier_claim: str | None = None,
        max_policy_bytes: int = DEFAULT_MAX_BYTES,
        base_path: str | None = None,
    ) -> None:
        if policy_scope not in ("principal", "request"):
            raise ConfigError("policy_scope must be 'principal' or 'request'")
        if http_v2_response not in ("simple", "iam"):
            raise ConfigError("http_v2_response must be 'simple' or 'iam'")
        check_request_options(base_path, token_header)
        self.base_path = base_path
        for name, value in (("token_query", token_query), ("token_subprotocol", token_subprotocol)):
            if value is not None and (not isinstance(value, str) or not value or "," in value):
                raise ConfigError(f"{name} must be a non-empty name without commas, or None")
        self.gate = Gate(verifier, policy)
        self.policy = policy
        self.token_header = token_header
        # The header's lower-case name, looked up directly in the usual event (see _token); a name that is
        # not ASCII never is (find_header's way only).
        self._wanted_header = token_header.lower() if token_header.isascii() else None
        self.token_query = token_query
        self.token_subprotocol = token_subprotocol
        self.policy_scope = policy_scope
        self.http_v2_response = http_v2_response
        self.context_claims = tuple(context_claims)
        self.usage_identifier_claim = usage_identifier_claim
        self.max_policy_bytes = max_policy_bytes
        # Only principal-wide documents depend on the verdict, so a request-scoped authorizer skips it.
        # Shape check only (~0.1 ms): probes prove a document per synthesized principal, which belongs in
        # `cognito-authz lint`; every document is still proven against decide() when it is built.
        self.cache_safety: CacheSafety | None = (
            cache_safety(policy, probes=False) if policy_scope == "principal" else None
        )
        if self.cache_safety is not None and not self.cache_safety.safe:
            logger.warning(
                "policy is not cache-safe for principal-wide documents (rules %s): %s",
                ", ".join(self.cache_safety.blocking_rules),
                self.cache_safety.advice,
            )

    # -- entry point -----------------------------------------------------------------------------

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        # Powertools data classes wrap the dict; a plain dict (the usual event) skips the attribute lookup,
        # whose miss raises and clears an AttributeError inside getattr.
        raw = event if type(event) is dict else getattr(event, "raw_event", event)
        try:
            # type() first: an ABC isinstance costs several times more, and events are plain dicts.
            if type(raw) is not dict and not isinstance(raw, Mapping):
                raise EventError("event is not a mapping")
            # detect_event_kind's first two answers written out (the usual events), its call otherwise.
            if raw.get("type") == "TOKEN":
                kind = _REST_TOKEN
            elif raw.get("version") == "2.0":
                kind = _HTTP_V2
            else:
                kind = detect_event_kind(raw)
            # The token first: a bad token is a 401 whatever the rest of the event holds (the console's
            # test invoke sends stage "*" in methodArn, which no document can name).
            principal = self.gate.authenticate(self._token(kind, raw))
            method, path, arn = self._route(kind, raw)
            allowed, rules, denied = self.gate.verdict_rules(principal, method, path)
            # The log line's arguments are built only when it is logged.
            if denied is not None and logger.isEnabledFor(_INFO):
                logger.info(
                    "deny %s %s sub=%s reason=%s rules=%s",
                    method,
                    path,
                    principal.sub,
                    denied,
                    ",".join(rules) if rules is not None else "",
                )
            return self._respond(kind, arn, principal, rules, allowed)
        except TokenError as exc:
            logger.info("unauthorized: %s", exc.reason)
            raise Exception("Unauthorized") from None  # the exact text API Gateway maps to 401
        except JwksError as exc:
            logger.error("fail closed: signing keys unavailable (%s)", exc.reason)
            raise AuthorizerUnavailable("authorizer unavailable") from None
        except AuthzError as exc:
            logger.error("fail closed: %s (%s)", exc.message, exc.reason)
            raise AuthorizerUnavailable("authorizer unavailable") from None
        except Exception as exc:
            logger.exception("fail closed: internal error %s", type(exc).__name__)
            raise AuthorizerUnavailable("authorizer unavailable") from None

    # -- request side ----------------------------------------------------------------------------

    def _token(self, kind: EventKind, event: Mapping[str, Any]) -> str | None:
        """The bearer token, found by where it travels, never by its position in ``identitySource``.

        TOKEN events carry it in ``authorizationToken`` (API Gateway copied the configured header there).
        Every other event carries the request's headers: the token is the ``token_header`` header (any
        case), else the ``token_query`` query parameter, else, for a WebSocket ``$connect``, the entry
        after the ``token_subprotocol`` marker in ``Sec-WebSocket-Protocol``. Different tokens in two
        places, or a header sent twice with different values, are refused (``None``: 401).
        """
        if kind is _REST_TOKEN:
            value = event.get("authorizationToken")
            return bearer_token(value if isinstance(value, str) else None)
        headers = event.get("headers")
        if type(headers) is dict and kind is not _WEBSOCKET and event.get("multiValueHeaders") is None:
            # The usual REQUEST event (HTTP API 2.0): one plain header map and the token in its header.
            # When the header is there and no query parameter could be a second source, the steps below
            # would answer with the header's token alone; anything else takes them.
            wanted = self._wanted_header
            value = headers.get(wanted) if wanted is not None else None
            named = False
            if type(value) is str and wanted is not None:
                # find_header's answer without its calls: the lower-case name is there with one string
                # value and no other key is as long (so none is another spelling of it, see
                # _collect_header; the name is ASCII, checked when the authorizer was built).
                try:
                    named = [*map(len, headers)].count(len(wanted)) == 1
                except TypeError:  # a key without a length: find_header's way
                    named = False
            if not named:
                named, value = find_header(headers, self.token_header, None)
            if named:
                query = event.get("queryStringParameters") if self.token_query else None
                if query is None or (type(query) is dict and self.token_query not in query):
                    return bearer_token(value)
        headers = headers if type(headers) is dict or isinstance(headers, Mapping) else None
        multi = event.get("multiValueHeaders")
        multi = multi if type(multi) is dict or (multi is not None and isinstance(multi, Mapping)) else None
        candidates: list[str | None] = []
        sources = 0
        named, value = find_header(headers, self.token_header, multi)
        if named:
            sources += 1
            candidates.append(bearer_token(value))
        if self.token_query:
            query = event.get("queryStringParameters")
            value = query.get(self.token_query) if type(query) is dict or isinstance(query, Mapping) else None
            if isinstance(value, str):
                sources += 1
                candidates.append(bearer_token(value))
        if kind is _WEBSOCKET and self.token_subprotocol:
            offered = get_header(headers, "sec-websocket-protocol", multi)
            token = subprotocol_token(offered, self.token_subprotocol)
            if token is not None:
                sources += 1
                candidates.append(token)
        if None in candidates:
            return None  # a source was present but unreadable: never fall back to another one
        if len(candidates) == 1:
            return candidates[0]  # the usual request: one source, nothing to compare it with
        return single_token(candidates) if sources else None

    def _route(self, kind: EventKind, event: Mapping[str, Any]) -> _Request:
        """The method and API-relative path to decide on, and the ARN the IAM document names."""
        if kind is _HTTP_V2:
            return self._route_http_v2(event)
        # methodArn names the stage apart from the path, and never a custom domain's base path.
        text = event.get("methodArn")
        arn = MethodArn.parse(text if isinstance(text, str) and text else _str_field(event, "methodArn"))
        if kind is _WEBSOCKET:
            return "", arn.path, arn
        return arn.verb or "", arn.path, arn

    def _route_http_v2(self, event: Mapping[str, Any]) -> _Request:
        route_arn = event.get("routeArn")
        if route_arn is not None and not isinstance(route_arn, str):
            raise EventError("routeArn is not a string")
        if isinstance(route_arn, str):
            arn = MethodArn.parse(route_arn)
            return arn.verb or "", arn.path, arn
        # No routeArn: the route template and pathParameters say which request was routed (rawPath may
        # carry a stage or a custom domain's mapping), as for proxy events.
        ctx = event.get("requestContext")
        http = ctx.get("http") if isinstance(ctx, Mapping) else None
        if not isinstance(http, Mapping):
            raise EventError("HTTP API event without routeArn or requestContext.http")
        method = _str_field(http, "method")
        return method, api_path(event, "http_v2", self.base_path), None

    # -- response side ---------------------------------------------------------------------------

    def _respond(
        self,
        kind: EventKind,
        arn: MethodArn | None,
        principal: Principal,
        rules: tuple[str, ...] | None,
        allowed: bool,
    ) -> dict[str, Any]:
        context = rules_context(principal, rules, self.context_claims)
        if kind is _HTTP_V2 and self.http_v2_response == "simple":
            return {"isAuthorized": allowed, "context": context}
        if arn is None:
            raise EventError("an IAM policy response needs routeArn/methodArn")
        if self.policy_scope == "principal":
            # build_principal_policy's document and scope, without its PolicyResult (one per new user).
            document, request_reason = authorizer_answer(
                self.policy, principal, arn, self.max_policy_bytes, allowed
            )
            if request_reason is not None:
                logger.warning("request-scoped policy for sub=%s: %s", principal.sub, request_reason)
            elif not allowed and not plainly_refuses(document, arn.arn) and iam_allows(document, arn.arn):
                # Documents are checked sound over the API's routable requests; a request outside them
                # (not in the route table) that a glob spans is still never answered Allow here. The
                # reference evaluator decides unless no Allow of the document can even begin like this
                # ARN (plainly_refuses: the same verdict, tests/iam/test_iam_plain_refusal.py).
                logger.warning(
                    "request-scoped policy for sub=%s: a glob covers this denied request", principal.sub
                )
                document = request_policy(self.policy, principal, arn)
        else:
            document = request_policy(self.policy, principal, arn)
        response: dict[str, Any] = {
            "principalId": principal.sub or "anonymous",
            "policyDocument": document,
            "context": context,
        }
        if self.usage_identifier_claim is not None:
            key = principal.claims.get(self.usage_identifier_claim)
            if isinstance(key, str) and key:
                response["usageIdentifierKey"] = key
        return response


def _str_field(mapping: Mapping[str, Any], name: str) -> str:
    value = mapping.get(name)
    if not isinstance(value, str) or not value:
        raise EventError(f"event field {name!r} is missing or not a string")
    return value


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
