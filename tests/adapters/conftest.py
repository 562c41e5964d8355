"""Fixtures for the HTTP-facing adapter tests (handler decorators, ASGI, WSGI, Powertools).

Names are prefixed ``adapter_`` so they never clash with the authorizer tests in this folder.
``adapter_event(kind, method, path, ...)`` builds Lambda proxy events from the AWS-shaped fixtures in
``tests/events/`` (REST v1 proxy, HTTP API payload 2.0, ALB target group), with the request line, token
and authorizer a test needs; ``adapter_fixture_event(name)`` loads a fixture unchanged.
"""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from cognito_authz import CognitoVerifier
from cognito_authz.policy import Policy
from cognito_authz.testing import LocalIssuer

#: The design example's flavour of policy (examples/policies/design_example.yaml), small enough to reason
#: about in each test.
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

EVENTS = Path(__file__).resolve().parent.parent / "events"
#: The AWS-shaped fixtures in tests/events/ that the builder starts from (placeholder token "TOKEN").
FIXTURES = {"rest_v1": "proxy_rest_v1", "http_v2": "proxy_http_v2", "alb": "alb"}


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of ``tests/events/<name>.json``."""
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


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

    The route is the catch-all ``ANY /{proxy+}`` (``/`` for the root path), as API Gateway would report
    it: the route template and ``pathParameters`` agree with the path.

    ``token`` sends ``Authorization: Bearer <token>``; ``authorization`` sends a raw header value.
    ``authorizer`` becomes ``requestContext.authorizer``. ALB ``multi_value`` uses ``multiValueHeaders``
    only, as a target group with multi-value headers enabled does.
    """
    header = authorization if authorization is not None else (f"Bearer {token}" if token else None)
    if kind not in FIXTURES:
        raise ValueError(kind)
    event = load_event(FIXTURES[kind])
    # The fixtures carry an upstream authorizer's claims; a test that wants them says so.
    event["requestContext"].pop("authorizer", None)
    for headers in (event.get("headers") or {}, event.get("multiValueHeaders") or {}):
        for name in [n for n in headers if n.lower() == "authorization"]:
            del headers[name]
    if kind == "rest_v1":
        event["path"], event["httpMethod"] = path, method
        event["requestContext"].update(httpMethod=method, stage=stage, path=f"/{stage}{path}")
        if header is not None:
            event["headers"]["Authorization"] = header
            event["multiValueHeaders"]["Authorization"] = [header]
    elif kind == "http_v2":
        raw = path if stage == "$default" else f"/{stage}{path}"
        event["rawPath"] = raw
        event["requestContext"]["http"].update(method=method, path=raw)
        event["requestContext"]["stage"] = stage
        if header is not None:
            event["headers"]["authorization"] = header
    else:
        event["path"], event["httpMethod"] = path, method
        if header is not None:
            event["headers"]["authorization"] = header
        if multi_value:
            event["multiValueHeaders"] = {name: [value] for name, value in event.pop("headers").items()}
            query = event.pop("queryStringParameters")
            event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    if kind in ("rest_v1", "http_v2"):
        template, params = ("/", None) if path == "/" else ("/{proxy+}", {"proxy": unquote(path[1:])})
        event["pathParameters"] = params
        if kind == "rest_v1":
            event["resource"] = event["requestContext"]["resourcePath"] = template
        else:
            event["routeKey"] = event["requestContext"]["routeKey"] = f"ANY {template}"
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


@pytest.fixture
def adapter_event() -> EventFactory:
    """``adapter_event("rest_v1" | "http_v2" | "alb", method, path, token=..., authorizer=...)``."""
    return build_event


@pytest.fixture
def adapter_fixture_event() -> Callable[[str], dict[str, Any]]:
    """``adapter_fixture_event("proxy_rest_v1")``: a fresh copy of a ``tests/events`` fixture."""
    return load_event


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
