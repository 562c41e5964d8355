"""The proxy-event helpers of ``adapters.common`` that the handler decorators and the Powertools middleware
share: reading events, trusting upstream authorizers, path exclusions, errors mapped to HTTP answers."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from cognito_authz import CognitoVerifier
from cognito_authz.adapters.common import (
    PathExclusions,
    proxy_request,
    raw_event,
    rejection,
    upstream_principal,
)
from cognito_authz.adapters.handler import protect
from cognito_authz.errors import (
    AccessDenied,
    ConfigError,
    EventError,
    ExpiredTokenError,
    JwksError,
    MissingClaimError,
    PolicyError,
    TokenError,
)
from cognito_authz.routing import request_segments

EventFactory = Callable[..., dict[str, Any]]


@pytest.mark.parametrize("kind", ["rest_v1", "http_v2", "alb"])
def test_proxy_request_reads_method_path_and_authorization(kind: str, adapter_event: EventFactory) -> None:
    request = proxy_request(adapter_event(kind, "patch", "/a/b", token="T0KEN"))
    assert request is not None
    assert (request.kind, request.method, request.path) == (kind, "PATCH", "/a/b")
    assert request.authorization == "Bearer T0KEN"
    assert request.multi_value is False


def test_http_api_payload_1_0_strips_the_named_stage(adapter_event: EventFactory) -> None:
    event = adapter_event("rest_v1", "GET", "/orders/1", stage="dev")
    event["version"] = "1.0"
    event["path"] = "/dev/orders/1"  # HTTP APIs keep the stage in the path on named stages
    request = proxy_request(event)
    assert request is not None
    assert (request.kind, request.path) == ("http_v1", "/orders/1")


def test_stage_named_like_a_segment_is_only_removed_once(adapter_event: EventFactory) -> None:
    request = proxy_request(adapter_event("http_v2", "GET", "/prod/x", stage="prod"))
    assert request is not None
    assert request.path == "/prod/x"


def test_alb_multi_value_mode(adapter_event: EventFactory) -> None:
    request = proxy_request(adapter_event("alb", token="T", multi_value=True))
    assert request is not None
    assert request.multi_value is True
    assert request.authorization == "Bearer T"


def test_conflicting_authorization_headers_count_as_none(adapter_event: EventFactory) -> None:
    event = adapter_event("rest_v1", token="A")
    event["multiValueHeaders"]["Authorization"] = ["Bearer A", "Bearer B"]
    request = proxy_request(event)
    assert request is not None
    assert request.authorization is None


@pytest.mark.parametrize(
    "event",
    [
        None,
        "GET /",
        {},
        {"type": "TOKEN", "authorizationToken": "x", "methodArn": "arn"},
        {"httpMethod": "GET", "path": "/x"},  # no requestContext
        {"httpMethod": 7, "path": "/x", "requestContext": {}},
        {"version": "2.0", "rawPath": "/x", "requestContext": {"http": "GET"}},
        {"requestContext": {"connectionId": "abc", "routeKey": "$connect", "eventType": "CONNECT"}},
    ],
)
def test_not_a_proxy_event(event: Any) -> None:
    assert proxy_request(event) is None


@pytest.mark.parametrize(
    "event",
    [
        {"httpMethod": "GET", "path": "relative", "requestContext": {}},  # REST without a resource
        {"httpMethod": "GET", "resource": "/{id}", "path": "/x", "requestContext": {}},  # no parameter
        {"httpMethod": "GET", "resource": "/{id}", "pathParameters": {"id": "a/b"}, "requestContext": {}},
        {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "x",
            "requestContext": {"http": {"method": "GET"}},
        },
        # A route key that is neither a route nor "$default" is a broken event: never a fallback to rawPath.
        {"version": "2.0", "routeKey": 0, "rawPath": "/x", "requestContext": {"http": {"method": "GET"}}},
        {"version": "2.0", "rawPath": "/x", "requestContext": {"http": {"method": "GET"}}},
    ],
)
def test_proxy_event_whose_path_cannot_be_settled_fails_closed(event: Any) -> None:
    with pytest.raises(EventError):
        proxy_request(event)


def test_raw_event_leaves_dicts_alone() -> None:
    event = {"a": 1}
    assert raw_event(event) is event

    class Wrapped:
        raw_event = event

    assert raw_event(Wrapped()) is event


# --- upstream authorizers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ("[admin support]", ("admin", "support")),
        ("[admin, support]", ("admin", "support")),
        ("admin,support", ("admin", "support")),
        ("admin", ("admin",)),
        (["admin", "support"], ("admin", "support")),
        ("[]", ()),
    ],
)
def test_rest_cognito_authorizer_group_shapes(
    groups: Any, expected: tuple[str, ...], adapter_event: EventFactory
) -> None:
    event = adapter_event("rest_v1", authorizer={"claims": {"sub": "s", "cognito:groups": groups}})
    assert upstream_principal(event).groups == expected


def test_http_api_payload_1_0_jwt_authorizer_claims_and_scopes(adapter_event: EventFactory) -> None:
    authorizer = {"claims": {"sub": "s", "scope": "a b"}, "scopes": ["b", "c"]}
    principal = upstream_principal(adapter_event("rest_v1", authorizer=authorizer))
    assert principal.scopes == ("a", "b", "c")


def test_http_jwt_authorizer_with_null_scopes(adapter_event: EventFactory) -> None:
    jwt = {"claims": {"sub": "s", "scope": "orders/read"}, "scopes": None}
    assert upstream_principal(adapter_event("http_v2", authorizer={"jwt": jwt})).scopes == ("orders/read",)


def test_lambda_context_lists_are_json_text_read_back_exactly(adapter_event: EventFactory) -> None:
    context = {"sub": "s", "groups": '["reports,admin","a b"]', "scopes": '["x/y"]', "custom:tenant": "acme"}
    principal = upstream_principal(adapter_event("http_v2", authorizer={"lambda": context}))
    assert principal.groups == ("reports,admin", "a b")
    assert principal.scopes == ("x/y",)
    assert principal.claims["custom:tenant"] == "acme"


@pytest.mark.parametrize(
    "context",
    [
        {"sub": "s", "groups": "reports,admin"},  # the old comma-joined form: refused, never split
        {"sub": "s", "groups": "[admin support]"},
        {"sub": "s", "groups": '{"admin": 1}'},
        {"sub": "s", "groups": "[1]"},
        {"sub": "s", "scopes": "orders/read"},
        {"sub": "s", "groups": '["a"]', "cognito:groups": '["admin"]'},  # two answers disagree
    ],
)
def test_lambda_context_lists_in_any_other_form_fail_closed(
    context: dict[str, Any], adapter_event: EventFactory
) -> None:
    with pytest.raises(EventError):
        upstream_principal(adapter_event("http_v2", authorizer={"lambda": context}))
    with pytest.raises(EventError):
        upstream_principal(adapter_event("rest_v1", authorizer=context))


@pytest.mark.parametrize(
    "authorizer",
    [None, {}, {"jwt": {"claims": None}}, {"jwt": "x"}, {"claims": "sub=x"}],
)
def test_no_upstream_claims_is_a_missing_token(authorizer: Any, adapter_event: EventFactory) -> None:
    event = adapter_event("http_v2", authorizer=authorizer)
    with pytest.raises(TokenError) as caught:
        upstream_principal(event)
    assert caught.value.reason == "missing_token"


@pytest.mark.parametrize("sub", [None, "", 42])
def test_upstream_claims_need_a_string_sub(sub: Any, adapter_event: EventFactory) -> None:
    claims = {"cognito:groups": "[admin]"} if sub is None else {"sub": sub, "cognito:groups": "[admin]"}
    with pytest.raises(MissingClaimError):
        upstream_principal(adapter_event("rest_v1", authorizer={"claims": claims}))


# --- exclusions -----------------------------------------------------------------------------------


def test_path_exclusions() -> None:
    exclusions = PathExclusions(["/health", "/docs/*"])
    assert bool(exclusions)
    assert "/health" in exclusions
    assert "/health/" not in exclusions
    assert "/docs/index.html" in exclusions
    assert "/docs/a/b" in exclusions
    assert "/docs" not in exclusions  # list it on its own when the root should be open too
    for sneaky in ("/docs/../admin", "/docs/./x", "/docs//x", "/docs/"):
        assert sneaky not in exclusions
    assert not PathExclusions([])


@pytest.mark.parametrize("patterns", ["/health", ["health"], ["/a*"], ["/a/*/b"], [None]])
def test_path_exclusions_reject_bad_patterns(patterns: Any) -> None:
    with pytest.raises(ConfigError):
        PathExclusions(patterns)


# --- rejections -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "message", "challenge"),
    [
        (TokenError("no token", reason="missing_token"), 401, "Unauthorized", "Bearer"),
        (ExpiredTokenError("expired"), 401, "Unauthorized", 'Bearer error="invalid_token"'),
        (AccessDenied("no"), 403, "Forbidden", 'Bearer error="insufficient_scope"'),
        (JwksError("down"), 503, "Service Unavailable", None),
        (PolicyError("bad"), 500, "Internal Server Error", None),
        (KeyError("boom"), 500, "Internal Server Error", None),
    ],
)
def test_rejection_mapping(error: Exception, status: int, message: str, challenge: str | None) -> None:
    answer = rejection(error)
    assert answer.status == status
    assert answer.message == message
    # Generic: the body never echoes the exception text.
    assert json.loads(answer.body()) == {"message": message}
    assert answer.headers.get("WWW-Authenticate") == challenge


def test_rejection_logs_never_carry_the_token(
    caplog: pytest.LogCaptureFixture, access_verifier: CognitoVerifier, access_token: Callable[..., str]
) -> None:
    token = access_token()
    try:
        access_verifier.verify(token[:-2] + "zz")
    except TokenError as exc:
        error = exc
    with caplog.at_level(logging.DEBUG, logger="cognito_authz"):
        answer = rejection(error, method="GET", path="/orders/1")
    assert answer.status == 401
    assert caplog.records, "a rejection is logged"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /orders/1" in logged
    assert error.reason in logged
    assert token[:40] not in logged


# --- the HTTP API $default route: no template, so rawPath and base_path decide ------------------------


def default_route(make: EventFactory, raw_path: str, *, custom: bool, stage: str = "prod") -> dict[str, Any]:
    event = make("http_v2", "GET", "/orders/42", token="T")
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event["pathParameters"] = None
    event["rawPath"] = event["requestContext"]["http"]["path"] = raw_path
    event["requestContext"]["stage"] = stage
    if custom:
        event["requestContext"]["domainName"] = "api.example.com"
    return event


def test_default_route_on_execute_api_drops_the_named_stage(adapter_event: EventFactory) -> None:
    request = proxy_request(default_route(adapter_event, "/prod/orders/42", custom=False))
    assert request is not None
    assert request.path == "/orders/42"


def test_default_route_behind_a_custom_domain_needs_base_path(adapter_event: EventFactory) -> None:
    with pytest.raises(EventError):
        proxy_request(default_route(adapter_event, "/v1/orders/42", custom=True))
    request = proxy_request(default_route(adapter_event, "/v1/orders/42", custom=True), base_path="v1")
    assert request is not None
    assert request.path == "/orders/42"
    request = proxy_request(default_route(adapter_event, "/orders/42", custom=True), base_path="")
    assert request is not None
    assert request.path == "/orders/42"
    with pytest.raises(EventError):  # not under the configured mapping: not routed through it
        proxy_request(default_route(adapter_event, "/v10/orders/42", custom=True), base_path="v1")


def test_base_path_never_overrides_the_route_template(adapter_event: EventFactory) -> None:
    # With a template the mapping is irrelevant: the path is rebuilt, whatever base_path says.
    event = adapter_event("rest_v1", "GET", "/orders/42", token="T")
    event["path"] = "/v1/orders/42"
    request = proxy_request(event, base_path="elsewhere")
    assert request is not None
    assert request.path == "/orders/42"


@pytest.mark.parametrize("bad", [{"base_path": 3}, {"token_header": ""}, {"token_header": None}])
def test_protect_request_options_are_checked(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        protect(trust_upstream=True, **bad)


@pytest.mark.parametrize("kind", ["rest_v1", "http_v2"])
def test_trailing_slash_through_a_greedy_route_is_the_bare_path(
    kind: str, adapter_event: EventFactory
) -> None:
    # /orders/ through ANY /{proxy+}: the proxy value keeps the slash, which routes like none (routing
    # fact 3), so the handler decides GET /orders instead of failing with a 500 (a lockout).
    request = proxy_request(adapter_event(kind, "GET", "/orders/"))
    assert request is not None
    assert request.path == "/orders/"
    # Two trailing slashes leave an empty segment, which routes nowhere (fact 5): the path is still this
    # request's, and decide denies it, so the handler answers 403 rather than 500.
    request = proxy_request(adapter_event(kind, "GET", "/orders//"))
    assert request is not None
    assert request.path == "/orders//"
    assert request_segments(request.path) is None
