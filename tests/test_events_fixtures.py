"""The API Gateway / ALB event fixtures in ``tests/events/`` have the shapes AWS documents.

Adapter tests load these files and substitute the placeholder token (``"TOKEN"`` after ``"Bearer "``), so
a fixture that drifts from AWS's documented shape would make those tests prove the wrong thing. Each
check below names a documented field and its type, and every ARN goes through ``MethodArn.parse``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cognito_authz.iam import MethodArn
from cognito_authz.principal import Principal, normalize_string_list

EVENTS = Path(__file__).parent / "events"
EXPECTED = {
    "rest_token.json",
    "rest_request.json",
    "http_v1_request.json",
    "http_v2_request.json",
    "http_v2_request_named_stage.json",
    "websocket_connect.json",
    "proxy_rest_v1.json",
    "proxy_http_v2.json",
    "proxy_http_v2_lambda_auth.json",
    "alb.json",
}


def load(name: str) -> dict[str, Any]:
    data = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_documented_event_type_has_a_fixture() -> None:
    assert {p.name for p in EVENTS.glob("*.json")} >= EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_is_a_json_object_with_the_placeholder_token(name: str) -> None:
    text = (EVENTS / name).read_text(encoding="utf-8")
    assert "TOKEN" in text
    assert "eyJ" not in text  # never a real-looking JWT: tests substitute their own
    load(name)


def test_rest_token_authorizer_event() -> None:
    event = load("rest_token.json")
    assert set(event) == {"type", "authorizationToken", "methodArn"}
    assert event["type"] == "TOKEN"
    assert event["authorizationToken"] == "Bearer TOKEN"
    arn = MethodArn.parse(event["methodArn"])
    assert (arn.verb, arn.path, arn.stage) == ("GET", "/orders/42", "prod")


def test_rest_request_authorizer_event() -> None:
    event = load("rest_request.json")
    assert event["type"] == "REQUEST"
    arn = MethodArn.parse(event["methodArn"])
    context = event["requestContext"]
    assert arn.verb == event["httpMethod"] == context["httpMethod"]
    assert arn.path == event["path"]
    assert arn.stage == context["stage"]
    assert arn.api_id == context["apiId"]
    assert arn.account == context["accountId"]
    assert event["resource"] == context["resourcePath"] == "/orders/{orderId}"
    # On the execute-api domain, requestContext.path carries the stage; event.path does not.
    assert context["path"] == f"/{arn.stage}{event['path']}"
    assert event["headers"]["Authorization"] == "Bearer TOKEN"
    assert all(isinstance(v, list) for v in event["multiValueHeaders"].values())
    assert event["pathParameters"] == {"orderId": "42"}


def test_http_api_payload_1_authorizer_event() -> None:
    event = load("http_v1_request.json")
    assert event["version"] == "1.0"
    assert event["type"] == "REQUEST"
    assert isinstance(event["identitySource"], str)
    assert event["authorizationToken"] == event["identitySource"] == "Bearer TOKEN"
    arn = MethodArn.parse(event["methodArn"])
    assert arn.stage == event["requestContext"]["stage"] == "$default"
    assert (arn.verb, arn.path) == (event["httpMethod"], event["path"])


@pytest.mark.parametrize("name", ["http_v2_request.json", "http_v2_request_named_stage.json"])
def test_http_api_payload_2_authorizer_event(name: str) -> None:
    event = load(name)
    assert event["version"] == "2.0"
    assert event["type"] == "REQUEST"
    assert "methodArn" not in event
    assert event["identitySource"] == ["Bearer TOKEN"]
    arn = MethodArn.parse(event["routeArn"])
    context = event["requestContext"]
    assert arn.verb == context["http"]["method"]
    assert arn.stage == context["stage"]
    assert event["routeKey"] == context["routeKey"]
    assert event["rawPath"] == context["http"]["path"]
    # rawPath carries the stage name on a named stage and nothing on $default; routeArn never does.
    prefix = "" if arn.stage == "$default" else f"/{arn.stage}"
    assert event["rawPath"] == prefix + arn.path
    method, template = event["routeKey"].split(" ", 1)
    assert method == arn.verb
    assert len(template.split("/")) == len(arn.path.split("/"))


def test_named_stage_fixture_really_has_a_stage_prefix() -> None:
    event = load("http_v2_request_named_stage.json")
    assert event["requestContext"]["stage"] == "prod"
    assert event["rawPath"].startswith("/prod/")


def test_websocket_connect_authorizer_event() -> None:
    event = load("websocket_connect.json")
    assert event["type"] == "REQUEST"
    arn = MethodArn.parse(event["methodArn"])
    assert arn.verb is None
    assert arn.path == "$connect" == event["requestContext"]["routeKey"]
    assert event["requestContext"]["eventType"] == "CONNECT"
    assert "pathParameters" not in event  # the path is fixed on WebSocket APIs
    assert event["headers"]["Authorization"] == "Bearer TOKEN"


def test_rest_proxy_event_with_cognito_authorizer_claims() -> None:
    event = load("proxy_rest_v1.json")
    claims = event["requestContext"]["authorizer"]["claims"]
    # A Cognito user pool authorizer forwards every claim as a string, lists included.
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["cognito:groups"] == "[admin support]"
    principal = Principal.from_claims(claims)
    assert principal.groups == ("admin", "support")
    assert principal.claims["email_verified"] is True
    assert principal.token_use == "id"
    assert event["requestContext"]["path"] == "/prod/orders/42"
    assert event["path"] == "/orders/42"


def test_http_api_proxy_event_with_jwt_claims_and_scopes() -> None:
    event = load("proxy_http_v2.json")
    jwt = event["requestContext"]["authorizer"]["jwt"]
    assert all(isinstance(value, str) for value in jwt["claims"].values())
    assert normalize_string_list(jwt["claims"]["cognito:groups"]) == ("admin", "support")
    assert jwt["scopes"] == jwt["claims"]["scope"].split()
    assert event["rawPath"] == event["requestContext"]["http"]["path"]


def test_http_api_proxy_event_with_lambda_authorizer_context() -> None:
    event = load("proxy_http_v2_lambda_auth.json")
    context = event["requestContext"]["authorizer"]["lambda"]
    # What our authorizer returns: flat scalars only (nested values make the gateway answer 500).
    assert all(isinstance(value, str | int | float | bool) for value in context.values())
    assert context["sub"]
    assert "jwt" not in event["requestContext"]["authorizer"]


def test_alb_event() -> None:
    event = load("alb.json")
    assert event["requestContext"]["elb"]["targetGroupArn"].startswith("arn:aws:elasticloadbalancing:")
    assert event["httpMethod"] == "GET"
    assert event["path"] == "/orders/42"
    assert event["headers"]["authorization"] == "Bearer TOKEN"
    assert event["isBase64Encoded"] is False
