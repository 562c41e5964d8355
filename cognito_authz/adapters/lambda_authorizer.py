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

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from cognito_authz.adapters.common import Gate, bearer_token, flatten_context, get_header, strip_stage
from cognito_authz.errors import AccessDenied, AuthzError, ConfigError, EventError, JwksError, TokenError
from cognito_authz.iam import (
    DEFAULT_MAX_BYTES,
    CacheSafety,
    MethodArn,
    build_principal_policy,
    cache_safety,
    iam_allows,
    request_policy,
)
from cognito_authz.policy.routes import split_path

if TYPE_CHECKING:
    from cognito_authz.adapters.common import TokenVerifier
    from cognito_authz.policy import Decision, Policy
    from cognito_authz.principal import Principal

__all__ = ["AuthorizerUnavailable", "EventKind", "LambdaAuthorizer", "detect_event_kind"]

logger = logging.getLogger("cognito_authz.authorizer")


class AuthorizerUnavailable(Exception):
    """Raised to make API Gateway answer 500 (fail closed, not cached). Never carries token material."""


class EventKind(str, Enum):
    REST_TOKEN = "rest_token"
    REST_REQUEST = "rest_request"
    HTTP_V1 = "http_v1"
    HTTP_V2 = "http_v2"
    WEBSOCKET = "websocket"


def detect_event_kind(event: Mapping[str, Any]) -> EventKind:
    """Tell the authorizer event flavours apart by the fields AWS documents for each."""
    if event.get("type") == "TOKEN":
        return EventKind.REST_TOKEN
    version = event.get("version")
    if version == "2.0":
        return EventKind.HTTP_V2
    request_context = event.get("requestContext")
    if isinstance(request_context, Mapping) and (
        request_context.get("eventType") == "CONNECT" or request_context.get("routeKey") == "$connect"
    ):
        return EventKind.WEBSOCKET
    method_arn = event.get("methodArn")
    if isinstance(method_arn, str) and method_arn.endswith("/$connect"):
        return EventKind.WEBSOCKET
    if version == "1.0":
        return EventKind.HTTP_V1
    if event.get("type") == "REQUEST":
        return EventKind.REST_REQUEST
    raise EventError("not an API Gateway authorizer event")


@dataclass(frozen=True, slots=True)
class _Request:
    kind: EventKind
    token: str | None
    method: str
    path: str
    arn: MethodArn | None


class LambdaAuthorizer:
    """``handler = LambdaAuthorizer(verifier, policy)``; API Gateway calls ``handler(event, context)``.

    Options:
      ``token_header`` / ``token_query``: where REQUEST-style events carry the token (header first, then
      the query parameter; WebSocket clients cannot set headers, so ``token_query`` defaults to
      ``"token"``). ``policy_scope``: ``"principal"`` (cache-safe, default) or ``"request"`` (a document
      for ``methodArn`` alone: only correct with caching off or keyed per route). ``http_v2_response``:
      ``"iam"`` (default, as API Gateway's own default with simple responses disabled: principal-wide
      documents are safe to cache per token) or ``"simple"`` (``isAuthorized``: a cached ``true`` is replayed
      for every request with the same identity sources, so cache it only per concrete request).
      ``context_claims``: extra claims copied into the flat context. ``usage_identifier_claim``: a claim
      returned as ``usageIdentifierKey`` (REST usage plans). ``max_policy_bytes``: size guard for
      principal-wide documents.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        policy: Policy,
        *,
        token_header: str = "authorization",
        token_query: str | None = "token",
        policy_scope: Literal["principal", "request"] = "principal",
        http_v2_response: Literal["simple", "iam"] = "iam",
        context_claims: Iterable[str] = (),
        usage_identifier_claim: str | None = None,
        max_policy_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if policy_scope not in ("principal", "request"):
            raise ConfigError("policy_scope must be 'principal' or 'request'")
        if http_v2_response not in ("simple", "iam"):
            raise ConfigError("http_v2_response must be 'simple' or 'iam'")
        self.gate = Gate(verifier, policy)
        self.policy = policy
        self.token_header = token_header
        self.token_query = token_query
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
        raw = getattr(event, "raw_event", event)  # Powertools data classes wrap the dict
        try:
            if not isinstance(raw, Mapping):
                raise EventError("event is not a mapping")
            request = self._parse(raw)
            principal = self.gate.authenticate(request.token)
            try:
                decision = self.gate.authorize(principal, request.method, request.path)
            except AccessDenied as denied:
                decision = denied.decision
                logger.info(
                    "deny %s %s sub=%s reason=%s rules=%s",
                    request.method,
                    request.path,
                    principal.sub,
                    denied.reason,
                    ",".join(decision.rules) if decision is not None else "",
                )
                return self._respond(request, principal, decision, allowed=False)
            return self._respond(request, principal, decision, allowed=True)
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

    def _parse(self, event: Mapping[str, Any]) -> _Request:
        kind = detect_event_kind(event)
        if kind is EventKind.REST_TOKEN:
            arn = MethodArn.parse(_str_field(event, "methodArn"))
            token = bearer_token(_optional_str(event.get("authorizationToken")))
            return _Request(kind, token, arn.verb or "", arn.path, arn)
        if kind is EventKind.HTTP_V2:
            return self._parse_http_v2(event)
        arn = MethodArn.parse(_str_field(event, "methodArn"))
        token = self._token_from_request(event)
        if kind is EventKind.WEBSOCKET:
            return _Request(kind, token, "", arn.path, arn)
        return _Request(kind, token, arn.verb or "", arn.path, arn)

    def _parse_http_v2(self, event: Mapping[str, Any]) -> _Request:
        token: str | None = None
        identity = event.get("identitySource")
        if isinstance(identity, list) and identity and isinstance(identity[0], str):
            token = bearer_token(identity[0])
        if token is None:
            token = self._token_from_request(event)
        route_arn = event.get("routeArn")
        if route_arn is not None and not isinstance(route_arn, str):
            raise EventError("routeArn is not a string")
        if isinstance(route_arn, str):
            arn = MethodArn.parse(route_arn)
            return _Request(EventKind.HTTP_V2, token, arn.verb or "", arn.path, arn)
        # No routeArn: fall back to the request fields, removing a named stage from rawPath.
        ctx = event.get("requestContext")
        http = ctx.get("http") if isinstance(ctx, Mapping) else None
        if not isinstance(http, Mapping):
            raise EventError("HTTP API event without routeArn or requestContext.http")
        method = _str_field(http, "method")
        stage = ctx.get("stage") if isinstance(ctx, Mapping) else None
        path = strip_stage(_str_field(event, "rawPath"), stage if isinstance(stage, str) else None)
        return _Request(EventKind.HTTP_V2, token, method, path, None)

    def _token_from_request(self, event: Mapping[str, Any]) -> str | None:
        headers = event.get("headers")
        headers = headers if isinstance(headers, Mapping) else None
        multi = event.get("multiValueHeaders")
        multi = multi if isinstance(multi, Mapping) else None
        value = get_header(headers, self.token_header, multi)
        if value is None and _has_header(self.token_header, headers, multi):
            # Sent, but ambiguous (conflicting duplicates): reject rather than fall back to another source.
            return None
        if value is None and event.get("type") != "TOKEN":
            value = _optional_str(event.get("authorizationToken"))  # HTTP API 1.0 copies it here
        if value is None and self.token_query:
            query = event.get("queryStringParameters")
            if isinstance(query, Mapping):
                value = _optional_str(query.get(self.token_query))
        return bearer_token(value)

    # -- response side ---------------------------------------------------------------------------

    def _respond(
        self,
        request: _Request,
        principal: Principal,
        decision: Decision | None,
        *,
        allowed: bool,
    ) -> dict[str, Any]:
        context = flatten_context(principal, decision, self.context_claims)
        if request.kind is EventKind.HTTP_V2 and self.http_v2_response == "simple":
            return {"isAuthorized": allowed, "context": context}
        if request.arn is None:
            raise EventError("an IAM policy response needs routeArn/methodArn")
        if self.policy_scope == "principal":
            result = build_principal_policy(
                self.policy, principal, request.arn, max_bytes=self.max_policy_bytes
            )
            document = result.document
            if result.scope == "request":
                logger.warning("request-scoped policy for sub=%s: %s", principal.sub, result.reason)
            elif not allowed and _outside_exactness(request.path) and iam_allows(document, request.arn.arn):
                # The document is exact over well-formed paths only; its globs also span paths decide
                # refuses (an empty, '.' or '..' segment). Never answer Allow to a request denied here.
                logger.warning(
                    "request-scoped policy for sub=%s: a glob covers this denied request", principal.sub
                )
                document = request_policy(self.policy, principal, request.arn)
        else:
            document = request_policy(self.policy, principal, request.arn)
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


def _outside_exactness(path: str) -> bool:
    """Whether a principal-wide document's verdict on ``path`` may differ from ``decide``'s.

    Documents are proven exact over well-formed paths (no empty, ``.`` or ``..`` segment), and IAM
    compares raw text: a path without percent-escapes that splits into well-formed segments is judged
    by the document exactly as by ``decide``, so only other paths need the (glob-matching) double check.
    """
    return "%" in path or split_path(path) is None


def _str_field(mapping: Mapping[str, Any], name: str) -> str:
    value = mapping.get(name)
    if not isinstance(value, str) or not value:
        raise EventError(f"event field {name!r} is missing or not a string")
    return value


def _has_header(name: str, *sources: Mapping[str, Any] | None) -> bool:
    wanted = name.lower()
    return any(
        isinstance(key, str) and key.lower() == wanted for source in sources if source for key in source
    )


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
