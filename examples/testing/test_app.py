"""Testing your own handler with cognito-authz's pytest plugin (installed with the library, no conftest).

Fixtures: ``cognito_issuer`` (a LocalIssuer serving its JWKS on 127.0.0.1 for the session),
``cognito_verifier`` (a verifier for it, ID and access tokens) and ``cognito_token`` (mint a token:
``cognito_token()``, ``cognito_token("id", groups=[...])``, any LocalIssuer.mint_* argument). The pool and
app client ids come from pytest.ini (``cognito_authz_pool_id`` / ``cognito_authz_client_id``).

    pytest examples/testing
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import app
import pytest

from cognito_authz import CognitoVerifier
from cognito_authz.adapters.handler import configure
from cognito_authz.testing import LocalIssuer


@pytest.fixture(autouse=True)
def local_cognito(cognito_verifier: CognitoVerifier) -> Iterator[None]:
    """Point @protect at the local issuer instead of the environment's user pool, for every test."""
    configure(verifier=cognito_verifier)
    yield
    configure()  # back to the environment defaults


def get_order(order_id: str, token: str | None = None) -> dict[str, Any]:
    """Call the handler with an HTTP API (payload 2.0) proxy event, as API Gateway would."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    event = {
        "version": "2.0",
        "routeKey": "GET /orders/{orderId}",
        "rawPath": f"/orders/{order_id}",
        "rawQueryString": "",
        "headers": headers,
        "pathParameters": {"orderId": order_id},
        "requestContext": {"http": {"method": "GET", "path": f"/orders/{order_id}"}, "stage": "$default"},
        "isBase64Encoded": False,
    }
    response: dict[str, Any] = app.handler(event, None)
    return response


def test_reader_gets_the_order(cognito_token: Any) -> None:
    response = get_order("42", cognito_token(username="rita", scopes=["orders/read"]))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"order": "42", "caller": "rita"}


def test_admin_id_token(cognito_token: Any) -> None:
    assert get_order("42", cognito_token("id", groups=["admin"]))["statusCode"] == 200


def test_no_scope_is_forbidden(cognito_token: Any) -> None:
    response = get_order("42", cognito_token(scopes=["profile"]))
    assert response["statusCode"] == 403
    assert response["headers"]["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'


def test_no_token_is_unauthorized() -> None:
    assert get_order("42")["statusCode"] == 401


def test_expired_token_is_unauthorized(cognito_token: Any) -> None:
    token = cognito_token(scopes=["orders/read"], now=time.time() - 7200, lifetime=3600)
    assert get_order("42", token)["statusCode"] == 401


def test_token_signed_by_another_key_is_unauthorized(cognito_issuer: LocalIssuer) -> None:
    # Same pool and issuer name, different key: what a forged token looks like to the verifier.
    impostor = LocalIssuer(cognito_issuer.user_pool_id, client_id=cognito_issuer.client_id, serve=False)
    assert get_order("42", impostor.mint_access_token(groups=["admin"]))["statusCode"] == 401


def test_the_verifier_fixture_directly(
    cognito_verifier: CognitoVerifier, cognito_issuer: LocalIssuer
) -> None:
    principal = cognito_verifier.verify(cognito_issuer.mint_access_token(username="ada", groups=["admin"]))
    assert principal.groups == ("admin",)
    assert principal.issuer == f"https://cognito-idp.eu-west-1.amazonaws.com/{cognito_issuer.user_pool_id}"
