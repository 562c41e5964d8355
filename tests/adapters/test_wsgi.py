"""WSGI adapter: ``CognitoWsgiMiddleware`` and ``flask_protect`` in a real Flask app via its test client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import flask
import pytest
from werkzeug.wrappers import Response as WerkzeugResponse

from cognito_authz import CognitoVerifier, Principal
from cognito_authz.adapters.wsgi import PRINCIPAL_KEY, CognitoWsgiMiddleware, flask_protect, wsgi_path
from cognito_authz.errors import AuthzError, ConfigError
from cognito_authz.policy import Policy

Mint = Callable[..., str]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def flask_app(**middleware: Any) -> flask.Flask:
    """Routes: GET/DELETE /orders/<id>, /health, /admin (flask_protect groups=admin), /self-check (verifies
    by itself). With ``middleware`` options, the WSGI middleware wraps the app."""
    app = flask.Flask("adapter-tests")

    @app.route("/orders/<order_id>", methods=["GET", "DELETE"])
    def order(order_id: str) -> dict[str, Any]:
        principal = flask.request.environ[PRINCIPAL_KEY]
        return {"order": order_id, "sub": principal.sub}

    @app.get("/health")
    def health() -> str:
        assert PRINCIPAL_KEY not in flask.request.environ
        return "ok"

    @app.get("/admin")
    @flask_protect(groups=["admin"])
    def admin() -> dict[str, Any]:
        return {"sub": flask.g.principal.sub, "groups": list(flask.g.principal.groups)}

    @app.get("/who")
    @flask_protect
    def who() -> dict[str, Any]:
        return {"username": flask.g.principal.username}

    if middleware:
        app.wsgi_app = CognitoWsgiMiddleware(app.wsgi_app, **middleware)  # type: ignore[method-assign]
    return app


# --- the middleware -------------------------------------------------------------------------------


def test_allowed_request_carries_the_principal(
    access_verifier: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    client = flask_app(verifier=access_verifier, policy=adapter_policy).test_client()
    response = client.get("/orders/3", headers=bearer(access_token(username="f", scopes=["orders/read"])))
    assert response.status_code == 200
    assert response.get_json()["order"] == "3"


def test_policy_deny_is_403(
    access_verifier: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    client = flask_app(verifier=access_verifier, policy=adapter_policy).test_client()
    response = client.delete("/orders/3", headers=bearer(access_token(scopes=["orders/read"])))
    assert response.status_code == 403
    assert response.get_json() == {"message": "Forbidden"}
    assert response.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'
    assert response.mimetype == "application/json"


def test_bad_and_missing_tokens_are_401(
    access_verifier: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    client = flask_app(verifier=access_verifier, policy=adapter_policy).test_client()
    token = access_token(scopes=["orders/read"])
    bad = client.get("/orders/3", headers=bearer(token + "x"))
    assert bad.status_code == 401
    assert bad.get_json() == {"message": "Unauthorized"}
    assert bad.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    missing = client.get("/orders/3")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"


def test_keys_unavailable_fails_closed(
    adapter_keys_down: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    client = flask_app(verifier=adapter_keys_down, policy=adapter_policy).test_client()
    response = client.get("/orders/3", headers=bearer(access_token(groups=["admin"])))
    assert response.status_code == 503
    assert response.get_json() == {"message": "Service Unavailable"}


def test_excluded_path(access_verifier: CognitoVerifier, adapter_policy: Policy) -> None:
    app = flask_app(verifier=access_verifier, policy=adapter_policy, exclude_paths=["/health"])
    client = app.test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/orders/1").status_code == 401


def test_script_name_mount_is_not_part_of_the_decided_path(
    access_verifier: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    client = flask_app(verifier=access_verifier, policy=adapter_policy).test_client()
    headers = bearer(access_token(scopes=["orders/read"]))
    response = client.get("/orders/8", headers=headers, base_url="http://localhost/api")
    assert response.status_code == 200
    assert response.get_json()["order"] == "8"


def test_on_error_response(access_verifier: CognitoVerifier, adapter_policy: Policy) -> None:
    def on_error(environ: Any, error: Exception) -> WerkzeugResponse:
        status = error.status if isinstance(error, AuthzError) else 500
        return WerkzeugResponse("custom", status=status)

    client = flask_app(verifier=access_verifier, policy=adapter_policy, on_error=on_error).test_client()
    response = client.get("/orders/1")
    assert (response.status_code, response.get_data(as_text=True)) == (401, "custom")


def test_plain_wsgi_app_without_flask(access_verifier: CognitoVerifier, access_token: Mint) -> None:
    seen: list[Principal] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.append(environ[PRINCIPAL_KEY])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    middleware = CognitoWsgiMiddleware(app, verifier=access_verifier, groups=["support"])
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None, /) -> Any:
        statuses.append(status)
        return lambda data: None

    def call(token: str | None) -> bytes:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "SCRIPT_NAME": ""}
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return b"".join(middleware(environ, start_response))

    assert call(access_token(groups=["support"])) == b"hello"
    assert call(access_token(groups=["other"])) == b'{"message": "Forbidden"}'
    assert call(None) == b'{"message": "Unauthorized"}'
    assert statuses == ["200 OK", "403 Forbidden", "401 Unauthorized"]
    assert len(seen) == 1


def test_wsgi_path_matches_werkzeug() -> None:
    # PATH_INFO carries UTF-8 bytes as latin-1 text; Werkzeug routes on the UTF-8 decoding.
    assert wsgi_path({"PATH_INFO": "/caf\u00c3\u00a9"}) == "/caf\u00e9"
    assert wsgi_path({"PATH_INFO": ""}) == "/"
    assert wsgi_path({}) == "/"


def test_constructor_checks(access_verifier: CognitoVerifier) -> None:
    app = flask.Flask("x").wsgi_app
    with pytest.raises(ConfigError):
        CognitoWsgiMiddleware(app, verifier=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        CognitoWsgiMiddleware(app, verifier=access_verifier, exclude_paths=["/a*"])
    with pytest.raises(ConfigError):
        flask_protect(scopes="orders/read")


# --- flask_protect --------------------------------------------------------------------------------


def test_flask_protect_uses_the_middleware_principal(
    access_verifier: CognitoVerifier, access_token: Mint
) -> None:
    client = flask_app(verifier=access_verifier).test_client()
    admin = client.get("/admin", headers=bearer(access_token(groups=["admin"])))
    assert admin.status_code == 200
    assert admin.get_json()["groups"] == ["admin"]
    other = client.get("/admin", headers=bearer(access_token(groups=["support"])))
    assert other.status_code == 403
    assert other.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'
    assert client.get("/who", headers=bearer(access_token(username="bob"))).get_json() == {"username": "bob"}


def test_flask_protect_without_middleware_or_verifier_is_401(access_token: Mint) -> None:
    client = flask_app().test_client()
    response = client.get("/admin", headers=bearer(access_token(groups=["admin"])))
    assert response.status_code == 401
    assert response.get_json() == {"message": "Unauthorized"}


def test_flask_protect_verifies_by_itself(
    access_verifier: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    app = flask.Flask("self-verifying")

    @app.route("/orders/<order_id>", methods=["GET", "DELETE"])
    @flask_protect(verifier=access_verifier, policy=adapter_policy)
    def order(order_id: str) -> dict[str, Any]:
        return {"order": order_id, "sub": flask.g.principal.sub}

    client = app.test_client()
    reader = bearer(access_token(scopes=["orders/read"]))
    assert client.get("/orders/4", headers=reader).status_code == 200
    assert client.delete("/orders/4", headers=reader).status_code == 403
    assert client.get("/orders/4").status_code == 401
    assert client.get("/orders/4", headers=bearer("a.b.c")).status_code == 401


def test_flask_protect_keys_down(adapter_keys_down: CognitoVerifier, access_token: Mint) -> None:
    app = flask.Flask("keys-down")

    @app.get("/x")
    @flask_protect(verifier=adapter_keys_down)
    def x() -> str:
        return "never"

    response = app.test_client().get("/x", headers=bearer(access_token()))
    assert (response.status_code, response.get_json()) == (503, {"message": "Service Unavailable"})


def test_flask_protect_async_view(access_verifier: CognitoVerifier, access_token: Mint) -> None:
    # Flask runs async views through asgiref (not installed here); drive the wrapper in a request context.
    app = flask.Flask("async")

    @flask_protect(verifier=access_verifier, groups=["admin"])
    async def view() -> str:
        return f"hello {flask.g.principal.username}"

    with app.test_request_context("/x", headers=bearer(access_token(username="amy", groups=["admin"]))):
        assert asyncio.run(view()) == "hello amy"
    with app.test_request_context("/x", headers=bearer(access_token(groups=["support"]))):
        denied = asyncio.run(view())
        assert isinstance(denied, flask.Response)
        assert denied.status_code == 403
