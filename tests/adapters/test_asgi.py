"""ASGI adapter: ``CognitoAuthMiddleware`` in Starlette and FastAPI apps through their real TestClients, the
FastAPI ``require_principal`` dependency, and one request through a real uvicorn server on 127.0.0.1."""

# No ``from __future__ import annotations`` here: FastAPI must evaluate the Annotated[...] dependency
# declarations of routes defined inside functions, whose locals a postponed annotation cannot see.

import asyncio
import contextlib
import socket
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient and warns (an error under our pytest config) when it
    # falls back to httpx; the client behaves the same for these tests.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient, WebSocketDenialResponse

from cognito_authz import CognitoVerifier, Principal
from cognito_authz.adapters.asgi import PRINCIPAL_KEY, CognitoAuthMiddleware, app_path, require_principal
from cognito_authz.errors import AuthzError, ConfigError
from cognito_authz.policy import Policy

Mint = Callable[..., str]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def order(request: Request) -> Response:
    principal = request.state.principal
    assert request.scope[PRINCIPAL_KEY] is principal
    return JSONResponse(
        {
            "sub": principal.sub,
            "order": request.path_params["orderId"],
            "lifespan_state": getattr(request.state, "started", None),
        }
    )


async def health(request: Request) -> Response:
    assert PRINCIPAL_KEY not in request.scope
    return PlainTextResponse("ok")


async def ws_endpoint(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"sub": websocket.state.principal.sub})
    await websocket.close()


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    yield {"started": True}


def starlette_app(verifier: CognitoVerifier, policy: Policy | None, **options: Any) -> Starlette:
    return Starlette(
        routes=[
            Route("/orders/{orderId}", order, methods=["GET", "DELETE"]),
            Route("/health", health),
            Route("/health/{rest:path}", health),
            WebSocketRoute("/ws", ws_endpoint),
        ],
        middleware=[Middleware(CognitoAuthMiddleware, verifier=verifier, policy=policy, **options)],
        lifespan=lifespan,
    )


@pytest.fixture
def client(access_verifier: CognitoVerifier, adapter_policy: Policy) -> Iterator[TestClient]:
    with TestClient(starlette_app(access_verifier, adapter_policy, exclude_paths=["/health"])) as test_client:
        yield test_client


# --- Starlette: http ------------------------------------------------------------------------------


def test_allowed_request_sees_the_principal_and_lifespan_state(
    client: TestClient, access_token: Mint
) -> None:
    response = client.get("/orders/42", headers=bearer(access_token(username="r", scopes=["orders/read"])))
    assert response.status_code == 200
    body = response.json()
    assert body["order"] == "42"
    assert body["sub"]
    # lifespan passed through untouched and its state still reaches requests beside the principal.
    assert body["lifespan_state"] is True


def test_policy_deny_is_403(client: TestClient, access_token: Mint) -> None:
    response = client.delete("/orders/42", headers=bearer(access_token(scopes=["orders/read"])))
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}
    assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
    assert response.headers["content-type"] == "application/json"


def test_bad_and_missing_tokens_are_401(client: TestClient, access_token: Mint) -> None:
    token = access_token(scopes=["orders/read"])
    bad = client.get("/orders/42", headers=bearer(token[:-3] + "xyz"))
    assert bad.status_code == 401
    assert bad.json() == {"message": "Unauthorized"}
    assert bad.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    missing = client.get("/orders/42")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"


def test_two_authorization_headers_are_ambiguous(client: TestClient, access_token: Mint) -> None:
    token = access_token(scopes=["orders/read"])
    headers = [("authorization", f"Bearer {token}"), ("authorization", "Bearer other")]
    assert client.get("/orders/42", headers=headers).status_code == 401


def test_keys_unavailable_fails_closed(
    adapter_keys_down: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    with TestClient(starlette_app(adapter_keys_down, adapter_policy)) as test_client:
        response = test_client.get("/orders/42", headers=bearer(access_token(groups=["admin"])))
    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable"}
    assert "www-authenticate" not in response.headers


def test_excluded_paths_skip_authentication_exactly(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    # Only the exact path is excluded; what lies below it is not.
    assert client.get("/health/deep").status_code == 401


def test_excluded_subtree_never_covers_dot_segments(access_verifier: CognitoVerifier) -> None:
    app = starlette_app(access_verifier, None, exclude_paths=["/health/*"])
    with TestClient(app) as test_client:
        assert test_client.get("/health/live").status_code == 200
        assert test_client.get("/health/a/../../orders/1").status_code == 401


def test_root_path_is_removed_before_the_policy_decides(
    access_verifier: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    app = starlette_app(access_verifier, adapter_policy)
    with TestClient(app, root_path="/api") as test_client:
        response = test_client.get("/api/orders/7", headers=bearer(access_token(scopes=["orders/read"])))
    assert response.status_code == 200
    assert response.json()["order"] == "7"


def test_on_error_chooses_the_response_but_cannot_allow(
    access_verifier: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    seen: list[Exception] = []

    def on_error(scope: Any, error: Exception) -> Response:
        seen.append(error)
        status = error.status if isinstance(error, AuthzError) else 500
        return PlainTextResponse(f"custom {status}", status_code=status)

    app = starlette_app(access_verifier, adapter_policy, on_error=on_error)
    with TestClient(app) as test_client:
        response = test_client.delete("/orders/1", headers=bearer(access_token(scopes=["orders/read"])))
    assert (response.status_code, response.text) == (403, "custom 403")
    assert [type(e).__name__ for e in seen] == ["AccessDenied"]


def test_on_error_that_fails_falls_back_to_the_default(access_verifier: CognitoVerifier) -> None:
    def on_error(scope: Any, error: Exception) -> Response:
        raise RuntimeError("hook bug")

    with TestClient(starlette_app(access_verifier, None, on_error=on_error)) as test_client:
        response = test_client.get("/orders/1")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_middleware_requirement(access_verifier: CognitoVerifier, access_token: Mint) -> None:
    app = starlette_app(access_verifier, None, groups=["support"])
    with TestClient(app) as test_client:
        support = bearer(access_token(groups=["support"]))
        other = bearer(access_token(groups=["other"]))
        assert test_client.get("/orders/1", headers=support).status_code == 200
        assert test_client.get("/orders/1", headers=other).status_code == 403


def test_constructor_checks(access_verifier: CognitoVerifier) -> None:
    app = Starlette()
    with pytest.raises(ConfigError):
        CognitoAuthMiddleware(app, verifier=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        CognitoAuthMiddleware(app, verifier=access_verifier, exclude_paths=["health"])
    with pytest.raises(ConfigError):
        CognitoAuthMiddleware(app, verifier=access_verifier, groups="admin")


def test_app_path() -> None:
    assert app_path({"path": "/api/x", "root_path": "/api"}) == "/x"
    assert app_path({"path": "/api", "root_path": "/api"}) == "/"
    assert app_path({"path": "/apix/y", "root_path": "/api"}) == "/apix/y"
    assert app_path({"path": "/x", "root_path": ""}) == "/x"


# --- Starlette: websocket -------------------------------------------------------------------------


def test_websocket_allowed(client: TestClient, access_token: Mint) -> None:
    token = access_token(username="ws-admin", groups=["admin"])
    with client.websocket_connect("/ws", headers=bearer(token)) as websocket:
        assert websocket.receive_json()["sub"]


def test_websocket_rejected_before_accept(client: TestClient, access_token: Mint) -> None:
    with (
        pytest.raises(WebSocketDenialResponse) as denied,
        client.websocket_connect("/ws", headers=bearer(access_token(scopes=["orders/read"]))),
    ):
        pass
    assert denied.value.status_code == 403
    with pytest.raises(WebSocketDenialResponse) as missing, client.websocket_connect("/ws"):
        pass
    assert missing.value.status_code == 401
    assert missing.value.headers["www-authenticate"] == "Bearer"


def test_websocket_close_when_the_server_has_no_denial_responses(access_verifier: CognitoVerifier) -> None:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["type"])

    middleware = CognitoAuthMiddleware(app, verifier=access_verifier)
    sent: list[MutableMapping[str, Any]] = []
    inbox: list[MutableMapping[str, Any]] = [{"type": "websocket.connect"}]

    async def receive() -> MutableMapping[str, Any]:
        return inbox.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "root_path": "", "headers": [], "extensions": {}}
    asyncio.run(middleware(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert reached == []


def test_lifespan_and_unknown_scopes_pass_through(access_verifier: CognitoVerifier) -> None:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["type"])

    middleware = CognitoAuthMiddleware(app, verifier=access_verifier)

    async def nothing() -> dict[str, Any]:
        return {}

    async def ignore(message: Any) -> None:
        return None

    asyncio.run(middleware({"type": "lifespan"}, nothing, ignore))
    assert reached == ["lifespan"]


# --- FastAPI: middleware + dependency -------------------------------------------------------------


def fastapi_app(
    *, middleware_verifier: CognitoVerifier | None, policy: Policy | None, dependency: Any
) -> FastAPI:
    app = FastAPI()
    if middleware_verifier is not None:
        app.add_middleware(CognitoAuthMiddleware, verifier=middleware_verifier, policy=policy)

    @app.get("/orders/{order_id}")
    def read_order(order_id: str, principal: Annotated[Principal, Depends(dependency)]) -> dict[str, Any]:
        return {"order": order_id, "sub": principal.sub, "groups": list(principal.groups)}

    return app


def test_fastapi_dependency_adds_a_requirement_to_the_middleware(
    access_verifier: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    app = fastapi_app(
        middleware_verifier=access_verifier,
        policy=adapter_policy,
        dependency=require_principal(groups=["support"]),
    )
    with TestClient(app) as test_client:
        reader = access_token(scopes=["orders/read"])
        denied = test_client.get("/orders/9", headers=bearer(reader))
        assert denied.status_code == 403
        assert denied.json() == {"detail": "Forbidden"}
        assert denied.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'
        support_reader = access_token(groups=["support"], scopes=["orders/read"])
        allowed = test_client.get("/orders/9", headers=bearer(support_reader))
        assert allowed.status_code == 200
        assert allowed.json()["groups"] == ["support"]
        # The middleware still answers first for what the policy denies.
        assert test_client.get("/orders/9").json() == {"message": "Unauthorized"}


def test_fastapi_dependency_verifies_by_itself_without_middleware(
    access_verifier: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    dependency = require_principal(verifier=access_verifier, policy=adapter_policy)
    app = fastapi_app(middleware_verifier=None, policy=None, dependency=dependency)
    with TestClient(app) as test_client:
        ok = test_client.get("/orders/1", headers=bearer(access_token(scopes=["orders/read"])))
        assert ok.status_code == 200
        missing = test_client.get("/orders/1")
        assert (missing.status_code, missing.json()) == (401, {"detail": "Unauthorized"})
        assert missing.headers["www-authenticate"] == "Bearer"
        bad = test_client.get("/orders/1", headers=bearer("not.a.token"))
        assert bad.status_code == 401
        assert bad.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        denied = test_client.get("/orders/1", headers=bearer(access_token(scopes=["profile"])))
        assert denied.status_code == 403


def test_fastapi_dependency_without_middleware_or_verifier_is_401(access_token: Mint) -> None:
    app = fastapi_app(middleware_verifier=None, policy=None, dependency=require_principal(groups=["admin"]))
    with TestClient(app) as test_client:
        response = test_client.get("/orders/1", headers=bearer(access_token(groups=["admin"])))
    assert response.status_code == 401


def test_fastapi_dependency_keys_down_is_503(adapter_keys_down: CognitoVerifier, access_token: Mint) -> None:
    app = fastapi_app(
        middleware_verifier=None, policy=None, dependency=require_principal(verifier=adapter_keys_down)
    )
    with TestClient(app) as test_client:
        response = test_client.get("/orders/1", headers=bearer(access_token()))
    assert (response.status_code, response.json()) == (503, {"detail": "Service Unavailable"})


def test_fastapi_openapi_declares_the_bearer_scheme(access_verifier: CognitoVerifier) -> None:
    dependency = require_principal(verifier=access_verifier)
    app = fastapi_app(middleware_verifier=None, policy=None, dependency=dependency)
    schema = app.openapi()
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= next(iter(schemes.values())).items()
    operation = schema["paths"]["/orders/{order_id}"]["get"]
    assert operation["security"]
    # The principal is not a request parameter.
    assert [p["name"] for p in operation["parameters"]] == ["order_id"]


# --- one real server ------------------------------------------------------------------------------


def test_uvicorn_on_loopback(
    access_verifier: CognitoVerifier, adapter_policy: Policy, access_token: Mint
) -> None:
    import uvicorn

    app = starlette_app(access_verifier, adapter_policy, exclude_paths=["/health"])
    config = uvicorn.Config(app, lifespan="on", ws="none", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped before it started"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/health").text == "ok"
            reader = access_token(scopes=["orders/read"])
            allowed = http.get("/orders/5", headers=bearer(reader))
            assert allowed.status_code == 200
            assert allowed.json()["order"] == "5"
            assert allowed.json()["lifespan_state"] is True
            denied = http.delete("/orders/5", headers=bearer(reader))
            assert (denied.status_code, denied.json()) == (403, {"message": "Forbidden"})
            unauthenticated = http.get("/orders/5")
            assert unauthenticated.status_code == 401
            assert unauthenticated.headers["www-authenticate"] == "Bearer"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive()
