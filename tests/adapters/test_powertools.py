"""Powertools interop: ``CognitoResolverMiddleware`` in real Powertools resolvers invoked with proxy events,
and ``raw_event`` for the authorizer event data classes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import ALBResolver, APIGatewayHttpResolver, APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from cognito_authz import CognitoVerifier, Principal
from cognito_authz.adapters.powertools import CONTEXT_KEY, CognitoResolverMiddleware, raw_event
from cognito_authz.errors import ConfigError
from cognito_authz.policy import Policy

Mint = Callable[..., str]
EventFactory = Callable[..., dict[str, Any]]

CTX = LambdaContext()

RESOLVERS: dict[str, type[ApiGatewayResolver]] = {
    "rest_v1": APIGatewayRestResolver,
    "http_v2": APIGatewayHttpResolver,
    "alb": ALBResolver,
}


def resolver(kind: str, middleware: CognitoResolverMiddleware, seen: list[Principal]) -> ApiGatewayResolver:
    app = RESOLVERS[kind]()
    app.use(middlewares=[middleware])

    @app.get("/orders/<order_id>")
    def get_order(order_id: str) -> dict[str, Any]:
        principal = app.context[CONTEXT_KEY]
        seen.append(principal)
        return {"order": order_id, "sub": principal.sub}

    @app.delete("/orders/<order_id>")
    def delete_order(order_id: str) -> dict[str, Any]:
        seen.append(app.context[CONTEXT_KEY])
        return {"deleted": order_id}

    return app


def header(response: dict[str, Any], name: str) -> str | None:
    if "multiValueHeaders" in response:
        values = response["multiValueHeaders"].get(name)
        return values[0] if values else None
    value = response.get("headers", {}).get(name)
    return value if isinstance(value, str) else None


@pytest.mark.parametrize("kind", list(RESOLVERS))
def test_resolver_allow_deny_and_bad_token(
    kind: str,
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    adapter_event: EventFactory,
    access_token: Mint,
) -> None:
    seen: list[Principal] = []
    app = resolver(kind, CognitoResolverMiddleware(access_verifier, adapter_policy), seen)
    reader = access_token(username="pt-reader", scopes=["orders/read"])

    allowed = app.resolve(adapter_event(kind, "GET", "/orders/42", token=reader), CTX)
    assert allowed["statusCode"] == 200
    assert json.loads(allowed["body"])["order"] == "42"
    assert [p.username for p in seen] == ["pt-reader"]

    denied = app.resolve(adapter_event(kind, "DELETE", "/orders/42", token=reader), CTX)
    assert denied["statusCode"] == 403
    assert json.loads(denied["body"]) == {"message": "Forbidden"}
    assert header(denied, "WWW-Authenticate") == 'Bearer error="insufficient_scope"'

    bad = app.resolve(adapter_event(kind, "GET", "/orders/42", token=reader + "x"), CTX)
    assert bad["statusCode"] == 401
    assert header(bad, "WWW-Authenticate") == 'Bearer error="invalid_token"'
    assert header(bad, "Content-Type") == "application/json"

    missing = app.resolve(adapter_event(kind, "GET", "/orders/42"), CTX)
    assert missing["statusCode"] == 401
    assert header(missing, "WWW-Authenticate") == "Bearer"
    assert len(seen) == 1


def test_resolver_keys_down_fails_closed(
    adapter_keys_down: CognitoVerifier, adapter_event: EventFactory, access_token: Mint
) -> None:
    seen: list[Principal] = []
    app = resolver("rest_v1", CognitoResolverMiddleware(adapter_keys_down), seen)
    response = app.resolve(adapter_event("rest_v1", token=access_token(groups=["admin"])), CTX)
    assert response["statusCode"] == 503
    assert json.loads(response["body"]) == {"message": "Service Unavailable"}
    assert seen == []


def test_context_is_cleared_between_invocations(
    access_verifier: CognitoVerifier, adapter_event: EventFactory, access_token: Mint
) -> None:
    # A rejected request must not see the principal of the previous (warm container) invocation.
    seen: list[Principal] = []
    app = resolver("http_v2", CognitoResolverMiddleware(access_verifier), seen)
    assert app.resolve(adapter_event("http_v2", token=access_token()), CTX)["statusCode"] == 200
    assert app.resolve(adapter_event("http_v2"), CTX)["statusCode"] == 401
    assert CONTEXT_KEY not in app.context
    assert len(seen) == 1


def test_trusted_upstream_claims(adapter_policy: Policy, adapter_event: EventFactory) -> None:
    seen: list[Principal] = []
    app = resolver("rest_v1", CognitoResolverMiddleware(policy=adapter_policy, trust_upstream=True), seen)
    claims = {"sub": "u-9", "cognito:groups": "[admin support]"}
    event = adapter_event("rest_v1", "DELETE", "/orders/1", authorizer={"claims": claims})
    assert app.resolve(event, CTX)["statusCode"] == 200
    assert seen[0].groups == ("admin", "support")
    no_claims = adapter_event("rest_v1", "GET", "/orders/1")
    assert app.resolve(no_claims, CTX)["statusCode"] == 401


def test_per_route_middleware_with_a_requirement(
    access_verifier: CognitoVerifier, adapter_event: EventFactory, access_token: Mint
) -> None:
    app = APIGatewayRestResolver()

    @app.get("/open/<item>")
    def open_route(item: str) -> dict[str, Any]:
        return {"item": item}

    @app.get("/admin/<item>", middlewares=[CognitoResolverMiddleware(access_verifier, groups=["admin"])])
    def admin_route(item: str) -> dict[str, Any]:
        return {"item": item, "by": app.context[CONTEXT_KEY].sub}

    assert app.resolve(adapter_event("rest_v1", "GET", "/open/1"), CTX)["statusCode"] == 200
    admin = adapter_event("rest_v1", "GET", "/admin/1", token=access_token(groups=["admin"]))
    assert app.resolve(admin, CTX)["statusCode"] == 200
    support = adapter_event("rest_v1", "GET", "/admin/1", token=access_token(groups=["support"]))
    assert app.resolve(support, CTX)["statusCode"] == 403


def test_middleware_needs_a_verifier_unless_trusting_upstream() -> None:
    with pytest.raises(ConfigError):
        CognitoResolverMiddleware()
    with pytest.raises(ConfigError):
        CognitoResolverMiddleware(object())  # type: ignore[arg-type]
    assert CognitoResolverMiddleware(trust_upstream=True).trust_upstream is True


# --- authorizer event data classes ----------------------------------------------------------------


TOKEN_EVENT = {
    "type": "TOKEN",
    "authorizationToken": "Bearer TOKEN",
    "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders/42",
}
REQUEST_EVENT = {
    "type": "REQUEST",
    "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders/42",
    "resource": "/orders/{orderId}",
    "path": "/orders/42",
    "httpMethod": "GET",
    "headers": {"Authorization": "Bearer TOKEN"},
    "requestContext": {"stage": "prod", "httpMethod": "GET", "path": "/prod/orders/42"},
}
V2_EVENT = {
    "version": "2.0",
    "type": "REQUEST",
    "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders/42",
    "identitySource": ["Bearer TOKEN"],
    "routeKey": "GET /orders/{orderId}",
    "rawPath": "/prod/orders/42",
    "headers": {"authorization": "Bearer TOKEN"},
    "requestContext": {"http": {"method": "GET", "path": "/prod/orders/42"}, "stage": "prod"},
}


@pytest.mark.parametrize(
    ("data_class", "event"),
    [
        (APIGatewayAuthorizerTokenEvent, TOKEN_EVENT),
        (APIGatewayAuthorizerRequestEvent, REQUEST_EVENT),
        (APIGatewayAuthorizerEventV2, V2_EVENT),
    ],
)
def test_raw_event_unwraps_authorizer_data_classes(data_class: Any, event: dict[str, Any]) -> None:
    assert raw_event(data_class(event)) is event
    assert raw_event(event) is event


def test_raw_event_rejects_other_objects() -> None:
    with pytest.raises(ConfigError):
        raw_event("not an event")


def test_lambda_authorizer_takes_powertools_data_classes(
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    access_token: Mint,
    adapter_fixture_event: Callable[[str], dict[str, Any]],
) -> None:
    # What a Powertools user hands over unchanged: the authorizer reads the data class's raw_event.
    from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer

    authorizer = LambdaAuthorizer(access_verifier, adapter_policy)
    simple = LambdaAuthorizer(access_verifier, adapter_policy, http_v2_response="simple")
    token = access_token(sub="pt-sub", scopes=["orders/read"])

    rest = adapter_fixture_event("rest_token")
    rest["authorizationToken"] = f"Bearer {token}"
    document = authorizer(APIGatewayAuthorizerTokenEvent(rest), CTX)
    assert document["principalId"] == "pt-sub"
    assert any(s["Effect"] == "Allow" for s in document["policyDocument"]["Statement"])

    http = adapter_fixture_event("http_v2_request")
    http["identitySource"] = [f"Bearer {token}"]
    http["headers"]["authorization"] = f"Bearer {token}"
    allowed = authorizer(APIGatewayAuthorizerEventV2(http), CTX)["policyDocument"]
    assert any(s["Effect"] == "Allow" for s in allowed["Statement"])
    assert simple(APIGatewayAuthorizerEventV2(http), CTX)["isAuthorized"] is True
    http["routeArn"] = http["routeArn"].replace("/GET/", "/DELETE/")
    http["routeKey"] = "DELETE /orders/{orderId}"
    http["requestContext"]["http"]["method"] = "DELETE"
    assert simple(APIGatewayAuthorizerEventV2(http), CTX)["isAuthorized"] is False
