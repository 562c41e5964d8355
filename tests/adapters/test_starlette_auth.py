"""``CognitoAuthBackend``: Starlette's own authentication contract (``request.user``, ``request.auth.scopes``,
``@requires``) through Starlette's real ``AuthenticationMiddleware`` and TestClient, alone and behind
``CognitoAuthMiddleware``."""

import warnings
from collections.abc import Callable

import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from cognito_authz import CognitoVerifier
from cognito_authz.adapters.asgi import CognitoAuthMiddleware
from cognito_authz.adapters.starlette_auth import CognitoAuthBackend, CognitoUser, on_auth_error
from cognito_authz.errors import ConfigError
from cognito_authz.policy import Policy

Mint = Callable[..., str]


async def whoami(request: Request) -> Response:
    user = request.user
    return JSONResponse(
        {
            "authenticated": user.is_authenticated,
            "name": user.display_name,
            "scopes": list(request.auth.scopes),
            "groups": list(user.groups) if isinstance(user, CognitoUser) else [],
        }
    )


@requires("orders/read")
async def orders(request: Request) -> Response:
    return JSONResponse({"sub": request.user.identity})


@requires("authenticated")
async def members(request: Request) -> Response:
    return JSONResponse({"principal": request.user.principal.sub})


ROUTES = [Route("/whoami", whoami), Route("/orders", orders), Route("/members", members)]


def app(verifier: CognitoVerifier, *outer: Middleware) -> Starlette:
    return Starlette(
        routes=ROUTES,
        middleware=[
            *outer,
            Middleware(
                AuthenticationMiddleware, backend=CognitoAuthBackend(verifier), on_error=on_auth_error
            ),
        ],
    )


def test_request_user_and_scopes(access_verifier: CognitoVerifier, access_token: Mint) -> None:
    token = access_token(username="rita", scopes=["orders/read"], groups=["support"])
    with TestClient(app(access_verifier)) as client:
        body = client.get("/whoami", headers={"Authorization": f"Bearer {token}"}).json()
        assert body == {
            "authenticated": True,
            "name": "rita",
            "scopes": ["authenticated", "orders/read"],
            "groups": ["support"],
        }
        assert client.get("/orders", headers={"authorization": f"Bearer {token}"}).status_code == 200


def test_requires_refuses_a_missing_scope(access_verifier: CognitoVerifier, access_token: Mint) -> None:
    token = access_token(scopes=["profile"], groups=["orders/read"])  # a group is never a scope
    with TestClient(app(access_verifier)) as client:
        assert client.get("/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 403
        assert client.get("/members", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_no_token_is_anonymous(access_verifier: CognitoVerifier) -> None:
    with TestClient(app(access_verifier)) as client:
        assert client.get("/whoami").json()["authenticated"] is False
        assert client.get("/members").status_code == 403


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer "])
def test_bad_token_is_401_not_anonymous(access_verifier: CognitoVerifier, header: str) -> None:
    with TestClient(app(access_verifier)) as client:
        response = client.get("/whoami", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json() == {"message": "Unauthorized"}


def test_two_different_authorization_headers_are_401(
    access_verifier: CognitoVerifier, access_token: Mint
) -> None:
    one, two = access_token(sub="a"), access_token(sub="b")
    with TestClient(app(access_verifier)) as client:
        response = client.get(
            "/whoami", headers=[("authorization", f"Bearer {one}"), ("authorization", f"Bearer {two}")]
        )
        assert response.status_code == 401


def test_keys_down_is_503(adapter_keys_down: CognitoVerifier, access_token: Mint) -> None:
    with TestClient(app(adapter_keys_down)) as client:
        assert client.get("/whoami", headers={"Authorization": f"Bearer {access_token()}"}).status_code == 503


def test_behind_the_policy_middleware(
    access_verifier: CognitoVerifier, access_token: Mint, adapter_policy: Policy
) -> None:
    # CognitoAuthMiddleware enforces the policy first; the backend reuses its principal.
    policy_first = Middleware(CognitoAuthMiddleware, verifier=access_verifier, policy=adapter_policy)
    reader = access_token(sub="reader", scopes=["orders/read"])
    with TestClient(app(access_verifier, policy_first)) as client:
        assert client.get("/orders", headers={"Authorization": f"Bearer {reader}"}).json() == {
            "sub": "reader"
        }
        # The policy allows no /whoami for a reader: the view never runs.
        assert client.get("/whoami", headers={"Authorization": f"Bearer {reader}"}).status_code == 403


def test_backend_needs_a_verifier() -> None:
    with pytest.raises(ConfigError):
        CognitoAuthBackend(None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        CognitoAuthBackend(object())  # type: ignore[arg-type]
