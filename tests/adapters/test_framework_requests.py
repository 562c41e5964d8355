"""The middleware decides on the request the framework will run (issue 11, item 2).

Flask/Werkzeug and Starlette's ``Route`` serve HEAD with the GET view, so a HEAD must never reach a view
the same GET would not reach: HEAD is decided as GET. Mounted apps and ``root_path``/``SCRIPT_NAME``: the
path decided is the one the framework's own router matches (each view records what it was routed on).
Everything goes through the frameworks' real test clients.
"""

import warnings
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi import Request as FastAPIRequest
from flask import Flask
from flask import request as flask_request
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client as WerkzeugClient

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from cognito_authz import CognitoVerifier
from cognito_authz.adapters.asgi import CognitoAuthMiddleware, require_principal
from cognito_authz.adapters.wsgi import CognitoWsgiMiddleware, flask_protect
from cognito_authz.policy import Policy

Mint = Callable[..., str]

#: The issue's case: an allow on every route, a deny on GET /payroll/export.
POLICY = Policy.from_dict(
    {
        "version": 1,
        "rules": [
            {"id": "staff", "routes": ["ANY /{proxy+}"], "when": {"groups": ["staff"]}},
            {"id": "no-export", "effect": "deny", "routes": ["GET /payroll/export"]},
        ],
    }
)
PATHS = ["/payroll/export", "/payroll/summary"]


@pytest.fixture
def staff(access_token: Mint) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token(groups=['staff'])}"}


@pytest.fixture
def ran() -> list[tuple[str, str]]:
    """(method, path) of every view that ran, as the framework routed it."""
    return []


def assert_head_follows_get(send: Callable[[str, str], int], ran: list[tuple[str, str]], path: str) -> None:
    """HEAD reaches the view exactly when GET does; a denied GET means a denied HEAD."""
    ran.clear()
    get_status = send("GET", path)
    get_ran = bool(ran)
    ran.clear()
    head_status = send("HEAD", path)
    head_ran = bool(ran)
    assert head_ran <= get_ran, f"HEAD {path} reached a view GET did not"
    if get_status == 403:
        assert head_status == 403
    if path == "/payroll/export":
        assert get_status == 403
        assert not get_ran
    else:
        assert (get_status, get_ran, head_status, head_ran) == (200, True, 200, True)


# --- Flask / Werkzeug --------------------------------------------------------------------------------


def flask_app(verifier: CognitoVerifier, ran: list[tuple[str, str]]) -> Flask:
    app = Flask("payroll")

    @app.get("/payroll/<name>")
    def payroll(name: str) -> str:
        ran.append((flask_request.method, flask_request.path))
        return "x" * 100

    app.wsgi_app = CognitoWsgiMiddleware(app.wsgi_app, verifier=verifier, policy=POLICY)  # type: ignore[method-assign]
    return app


@pytest.mark.parametrize("path", PATHS)
def test_flask_head_is_decided_as_get(
    path: str, access_verifier: CognitoVerifier, staff: dict[str, str], ran: list[tuple[str, str]]
) -> None:
    client = flask_app(access_verifier, ran).test_client()
    assert_head_follows_get(lambda m, p: client.open(p, method=m, headers=staff).status_code, ran, path)


@pytest.mark.parametrize("path", PATHS)
def test_flask_decorator_decides_head_as_get(
    path: str, access_verifier: CognitoVerifier, staff: dict[str, str], ran: list[tuple[str, str]]
) -> None:
    app = Flask("payroll")

    @app.get("/payroll/<name>")
    @flask_protect(verifier=access_verifier, policy=POLICY)
    def payroll(name: str) -> str:
        ran.append((flask_request.method, flask_request.path))
        return "x"

    client = app.test_client()
    assert_head_follows_get(lambda m, p: client.open(p, method=m, headers=staff).status_code, ran, path)


@pytest.mark.parametrize("path", PATHS)
def test_flask_mounted_under_script_name(
    path: str, access_verifier: CognitoVerifier, staff: dict[str, str], ran: list[tuple[str, str]]
) -> None:
    # DispatcherMiddleware moves /hr into SCRIPT_NAME: the inner app's router (and our middleware) see
    # PATH_INFO, the path without the mount point.
    inner = flask_app(access_verifier, ran)
    outer = DispatcherMiddleware(Flask("root"), {"/hr": inner})
    client = WerkzeugClient(outer)
    assert_head_follows_get(
        lambda m, p: client.open("/hr" + p, method=m, headers=staff).status_code, ran, path
    )
    ran.clear()
    client.open("/hr" + path.replace("export", "summary"), method="GET", headers=staff)
    assert ran == [("GET", "/payroll/summary")]  # request.path: what Flask routed on, and we decided on


# --- Starlette -----------------------------------------------------------------------------------------


def starlette_app(verifier: CognitoVerifier, ran: list[tuple[str, str]]) -> Starlette:
    async def payroll(request: Request) -> Response:
        ran.append((request.method, request.url.path))
        return PlainTextResponse("x" * 100)

    return Starlette(
        routes=[Route("/payroll/{name}", payroll)],  # methods default to GET, and Route adds HEAD
        middleware=[Middleware(CognitoAuthMiddleware, verifier=verifier, policy=POLICY)],
    )


@pytest.mark.parametrize("path", PATHS)
def test_starlette_head_is_decided_as_get(
    path: str, access_verifier: CognitoVerifier, staff: dict[str, str], ran: list[tuple[str, str]]
) -> None:
    with TestClient(starlette_app(access_verifier, ran)) as client:
        assert_head_follows_get(lambda m, p: client.request(m, p, headers=staff).status_code, ran, path)


@pytest.mark.parametrize("path", PATHS)
def test_starlette_root_path(
    path: str, access_verifier: CognitoVerifier, staff: dict[str, str], ran: list[tuple[str, str]]
) -> None:
    # Behind a proxy that strips /api (uvicorn --root-path /api): Starlette routes on path minus root_path.
    app = starlette_app(access_verifier, ran)
    with TestClient(app, root_path="/api") as client:
        assert_head_follows_get(lambda m, p: client.request(m, p, headers=staff).status_code, ran, path)


@pytest.mark.parametrize("path", PATHS)
def test_starlette_mounted_app(
    path: str, access_verifier: CognitoVerifier, staff: dict[str, str], ran: list[tuple[str, str]]
) -> None:
    # The middleware on a mounted sub-app sees root_path="/hr": it decides on the path the sub-app's router
    # matches, as Starlette does.
    outer = Starlette(routes=[Mount("/hr", app=starlette_app(access_verifier, ran))])
    with TestClient(outer) as client:
        assert_head_follows_get(
            lambda m, p: client.request(m, "/hr" + p, headers=staff).status_code, ran, path
        )


# --- FastAPI -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("head_route", [True, False])
def test_fastapi_head_never_reaches_a_view_get_cannot(
    path: str,
    head_route: bool,
    access_verifier: CognitoVerifier,
    staff: dict[str, str],
    ran: list[tuple[str, str]],
) -> None:
    app = FastAPI()
    app.add_middleware(CognitoAuthMiddleware, verifier=access_verifier, policy=POLICY)
    methods = ["GET", "HEAD"] if head_route else ["GET"]  # FastAPI adds no HEAD to a GET route itself

    @app.api_route("/payroll/{name}", methods=methods)
    def payroll(name: str, request: FastAPIRequest) -> dict[str, Any]:
        ran.append((request.method, request.url.path))
        return {"name": name}

    with TestClient(app) as client:

        def send(method: str, target: str) -> int:
            return client.request(method, target, headers=staff).status_code

        ran.clear()
        get_status = send("GET", path)
        get_ran = bool(ran)
        ran.clear()
        head_status = send("HEAD", path)
        assert bool(ran) <= get_ran
        if path == "/payroll/export":
            assert (get_status, head_status) == (403, 403)
            assert not ran
        else:
            assert get_status == 200
            assert head_status == (200 if head_route else 405)


# --- the token's header, by name ---------------------------------------------------------------------


def test_asgi_and_wsgi_token_header_by_name(access_verifier: CognitoVerifier, access_token: Mint) -> None:
    token = access_token(groups=["staff"])

    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    asgi = Starlette(
        routes=[Route("/payroll/{name}", ok)],
        middleware=[
            Middleware(
                CognitoAuthMiddleware, verifier=access_verifier, policy=POLICY, token_header="X-Api-Token"
            )
        ],
    )
    with TestClient(asgi) as client:
        assert client.get("/payroll/summary", headers={"x-api-token": f"Bearer {token}"}).status_code == 200
        # Only the configured header counts: Authorization is not a fallback.
        assert client.get("/payroll/summary", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    flask = Flask("token-header")
    flask.add_url_rule("/payroll/<name>", "payroll", lambda name: "ok")
    flask.wsgi_app = CognitoWsgiMiddleware(  # type: ignore[method-assign]
        flask.wsgi_app, verifier=access_verifier, policy=POLICY, token_header="X-Api-Token"
    )
    client = flask.test_client()
    assert client.get("/payroll/summary", headers={"X-API-TOKEN": f"Bearer {token}"}).status_code == 200
    assert client.get("/payroll/summary", headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.parametrize("path", PATHS)
def test_fastapi_dependency_decides_head_as_get(
    path: str, access_verifier: CognitoVerifier, staff: dict[str, str], ran: list[tuple[str, str]]
) -> None:
    app = FastAPI()
    guard = Depends(require_principal(verifier=access_verifier, policy=POLICY))

    @app.api_route("/payroll/{name}", methods=["GET", "HEAD"], dependencies=[guard])
    def payroll(name: str, request: FastAPIRequest) -> dict[str, Any]:
        ran.append((request.method, request.url.path))
        return {"name": name}

    with TestClient(app) as client:
        assert_head_follows_get(lambda m, p: client.request(m, p, headers=staff).status_code, ran, path)
