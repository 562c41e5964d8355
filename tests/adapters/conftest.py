"""Fixtures for the HTTP-facing adapter tests (handler decorators, ASGI, WSGI, Powertools).

Names are prefixed ``adapter_`` so they never clash with the authorizer tests in this folder.
``adapter_event(kind, method, path, ...)`` builds Lambda proxy events in the shapes AWS documents
(REST v1 proxy, HTTP API payload 2.0, ALB target group).
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Callable
from typing import Any

import pytest

from cognito_authz import CognitoVerifier
from cognito_authz.policy import Policy
from cognito_authz.testing import LocalIssuer

#: The DESIGN.md flavour of policy, small enough to reason about in each test.
EXAMPLE_POLICY: dict[str, Any] = {
    "version": 1,
    "groups": ["admin", "support"],
    "rules": [
        {"id": "admin-everything", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
        {
            "id": "read-orders",
            "routes": ["GET /orders", "GET /orders/{orderId}"],
            "when": {"scopes": ["orders/read"]},
        },
        {"id": "own-profile", "routes": ["GET /users/{userId}"], "when": {"claims": {"sub": "{userId}"}}},
    ],
}

_REST_V1: dict[str, Any] = {
    "resource": "/{proxy+}",
    "path": "/orders/42",
    "httpMethod": "GET",
    "headers": {"Accept": "application/json", "Host": "abc123.execute-api.eu-west-1.amazonaws.com"},
    "multiValueHeaders": {
        "Accept": ["application/json"],
        "Host": ["abc123.execute-api.eu-west-1.amazonaws.com"],
    },
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": {"proxy": "orders/42"},
    "stageVariables": None,
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "abc123",
        "resourceId": "r1",
        "resourcePath": "/{proxy+}",
        "httpMethod": "GET",
        "path": "/prod/orders/42",
        "stage": "prod",
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "requestTimeEpoch": 1700000000000,
        "protocol": "HTTP/1.1",
        "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
        "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.0"},
    },
    "body": None,
    "isBase64Encoded": False,
}

_HTTP_V2: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "ANY /{proxy+}",
    "rawPath": "/prod/orders/42",
    "rawQueryString": "",
    "headers": {"accept": "application/json", "host": "abc123.execute-api.eu-west-1.amazonaws.com"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "abc123",
        "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
        "domainPrefix": "abc123",
        "http": {
            "method": "GET",
            "path": "/prod/orders/42",
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.7",
            "userAgent": "curl/8.0",
        },
        "requestId": "JKJaXmPLvHcESHA=",
        "routeKey": "ANY /{proxy+}",
        "stage": "prod",
        "time": "10/Mar/2024:12:00:00 +0000",
        "timeEpoch": 1710072000000,
    },
    "pathParameters": {"proxy": "orders/42"},
    "isBase64Encoded": False,
}

_ALB: dict[str, Any] = {
    "requestContext": {
        "elb": {
            "targetGroupArn": (
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/6d0ecf831eec9f09"
            )
        }
    },
    "httpMethod": "GET",
    "path": "/orders/42",
    "queryStringParameters": {},
    "headers": {"accept": "application/json", "host": "lb-123.eu-west-1.elb.amazonaws.com"},
    "body": "",
    "isBase64Encoded": False,
}

EventFactory = Callable[..., dict[str, Any]]


def build_event(
    kind: str,
    method: str = "GET",
    path: str = "/orders/42",
    *,
    token: str | None = None,
    authorization: str | None = None,
    stage: str = "prod",
    authorizer: dict[str, Any] | None = None,
    multi_value: bool = False,
) -> dict[str, Any]:
    """A proxy event for ``method path`` (the path as the API routes it, without stage).

    ``token`` sends ``Authorization: Bearer <token>``; ``authorization`` sends a raw header value.
    ``authorizer`` becomes ``requestContext.authorizer``. ALB ``multi_value`` uses ``multiValueHeaders``
    only, as a target group with multi-value headers enabled does.
    """
    header = authorization if authorization is not None else (f"Bearer {token}" if token else None)
    if kind == "rest_v1":
        event = copy.deepcopy(_REST_V1)
        event["path"], event["httpMethod"] = path, method
        event["requestContext"].update(httpMethod=method, stage=stage, path=f"/{stage}{path}")
        if header is not None:
            event["headers"]["Authorization"] = header
            event["multiValueHeaders"]["Authorization"] = [header]
    elif kind == "http_v2":
        event = copy.deepcopy(_HTTP_V2)
        raw = path if stage == "$default" else f"/{stage}{path}"
        event["rawPath"] = raw
        event["requestContext"]["http"].update(method=method, path=raw)
        event["requestContext"]["stage"] = stage
        if header is not None:
            event["headers"]["authorization"] = header
    elif kind == "alb":
        event = copy.deepcopy(_ALB)
        event["path"], event["httpMethod"] = path, method
        if header is not None:
            event["headers"]["authorization"] = header
        if multi_value:
            event["multiValueHeaders"] = {name: [value] for name, value in event.pop("headers").items()}
            event["multiValueQueryStringParameters"] = event.pop("queryStringParameters")
    else:
        raise ValueError(kind)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


@pytest.fixture
def adapter_event() -> EventFactory:
    """``adapter_event("rest_v1" | "http_v2" | "alb", method, path, token=..., authorizer=...)``."""
    return build_event


@pytest.fixture
def adapter_policy_data() -> dict[str, Any]:
    """The example policy as a document (a fresh copy)."""
    return copy.deepcopy(EXAMPLE_POLICY)


@pytest.fixture
def adapter_policy(adapter_policy_data: dict[str, Any]) -> Policy:
    """admin: everything; scope orders/read: GET /orders[/{orderId}]; anyone: GET /users/{their sub}."""
    return Policy.from_dict(adapter_policy_data)


@pytest.fixture
def adapter_closed_port() -> int:
    """A loopback port with nothing listening (bound, then released): connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def adapter_keys_down(issuer: LocalIssuer, adapter_closed_port: int) -> CognitoVerifier:
    """A verifier for the session issuer whose JWKS endpoint is down: every verify fails closed."""
    return issuer.verifier(
        token_use="access",
        jwks_uri=f"http://127.0.0.1:{adapter_closed_port}{issuer.jwks_path}",
        fetch_timeout=1.0,
    )
