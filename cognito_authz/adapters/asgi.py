"""ASGI (Starlette, FastAPI): a pure ASGI middleware that authenticates and authorizes every request by the
policy, and a FastAPI dependency for per-route requirements.

::

    app.add_middleware(CognitoAuthMiddleware, verifier=verifier, policy=policy, exclude_paths=["/health"])

    @app.get("/admin")
    def admin(principal: Principal = Depends(require_principal(groups=["admin"]))): ...

The middleware imports no framework; Starlette and FastAPI are imported only by :func:`require_principal`.
Verification runs in a worker thread: a JWKS refresh can take seconds and must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from cognito_authz.adapters.common import (
    Gate,
    PathExclusions,
    Rejection,
    Requirement,
    bearer_token,
    check_request_options,
    policy_path,
    rejection,
)
from cognito_authz.errors import ConfigError
from cognito_authz.principal import Principal
from cognito_authz.routing import framework_method

if TYPE_CHECKING:
    from cognito_authz.adapters.common import TokenVerifier
    from cognito_authz.policy import Policy

__all__ = ["PRINCIPAL_KEY", "ASGIApp", "CognitoAuthMiddleware", "app_path", "require_principal"]

logger = logging.getLogger("cognito_authz")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: ``on_error(scope, error)`` returns an ASGI app that sends the rejection (a Starlette ``Response``
#: is one), or ``None`` for the default answer. It cannot turn a rejection into a pass.
ErrorHandler = Callable[[Scope, Exception], ASGIApp | None]

#: Where the middleware puts the :class:`Principal` in the scope (also ``scope["state"]["principal"]``,
#: which Starlette shows as ``request.state.principal``).
PRINCIPAL_KEY = "cognito_authz.principal"

T = TypeVar("T")

# Close codes for a refused WebSocket handshake when the server cannot send an HTTP denial response.
_WS_CLOSE = {401: 1008, 403: 1008, 503: 1013}
_WS_INTERNAL_ERROR = 1011


async def _run_sync(func: Callable[..., T], *args: Any) -> T:
    """Run blocking work (a verify that may fetch keys) off the event loop, on asyncio or trio."""
    try:
        import anyio.to_thread
    except ImportError:  # a bare asyncio server without Starlette's anyio
        return await asyncio.to_thread(func, *args)
    return await anyio.to_thread.run_sync(functools.partial(func, *args))


def app_path(scope: Scope) -> str:
    """The path the application routes on: ``scope["path"]`` without ``root_path`` (as Starlette does).

    ``scope["path"]`` is percent-decoded, which is what the framework routes on, so the policy decides
    on the same path the router will dispatch.
    """
    path = scope.get("path")
    if not isinstance(path, str) or not path:
        return "/"
    root = scope.get("root_path")
    if isinstance(root, str) and root and path.startswith(root):
        if path == root:
            return "/"
        if path[len(root)] == "/":
            return path[len(root) :]
    return path


def _authorization(scope: Scope, name: str = "authorization") -> str | None:
    # Two copies with different values are ambiguous (a proxy appended one?): none, as get_header does.
    wanted = name.lower().encode("latin-1")
    values = {
        value.decode("latin-1")
        for key, value in scope.get("headers") or ()
        if isinstance(key, bytes) and key.lower() == wanted and isinstance(value, bytes)
    }
    return values.pop() if len(values) == 1 else None


class CognitoAuthMiddleware:
    """Authenticate (bearer token) and authorize (policy, optional group/scope requirement) every HTTP
    request and WebSocket handshake; ``lifespan`` and other scope types pass through untouched.

    On success the :class:`Principal` is at ``scope["cognito_authz.principal"]`` and
    ``scope["state"]["principal"]`` (``request.state.principal``). On failure the app never runs: 401,
    403, 503 (keys unavailable) or 500 with a generic JSON body, or for a WebSocket a refused handshake
    (an HTTP denial response where the server supports it, else a close before accept).

    ``exclude_paths``: exact app paths, or ``"/prefix/*"`` subtrees, that skip authentication (health
    checks, docs); they carry no principal. ``token_header``: the header holding ``Bearer <token>``
    (default ``Authorization``, any case). HEAD is decided as GET (Starlette's ``Route`` runs the GET
    endpoint for it). Put CORS middleware *outside* this one so preflights, which
    carry no token, are answered before it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: TokenVerifier,
        policy: Policy | None = None,
        groups: Sequence[str] = (),
        all_groups: Sequence[str] = (),
        scopes: Sequence[str] = (),
        all_scopes: Sequence[str] = (),
        exclude_paths: Iterable[str] = (),
        on_error: ErrorHandler | None = None,
        token_header: str = "authorization",
    ) -> None:
        if verifier is None or not callable(getattr(verifier, "verify", None)):
            raise ConfigError("CognitoAuthMiddleware needs a verifier (a CognitoVerifier)")
        check_request_options(None, token_header)
        self.token_header = token_header
        if policy is not None and not callable(getattr(policy, "decide", None)):
            raise ConfigError("policy must have a decide(principal, method, path) method (a Policy)")
        if on_error is not None and not callable(on_error):
            raise ConfigError("on_error must be callable")
        self.app = app
        self.gate = Gate(
            verifier,
            policy,
            Requirement.of(groups=groups, all_groups=all_groups, scopes=scopes, all_scopes=all_scopes),
        )
        self.exclude = PathExclusions(exclude_paths)
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = app_path(scope)
        if path in self.exclude:
            await self.app(scope, receive, send)
            return
        # A WebSocket handshake is a GET; policies name it as "GET /path". HEAD is decided as GET: Starlette's
        # Route (and so FastAPI's) serves HEAD with the GET view, which must not run where GET may not.
        method = framework_method(str(scope.get("method") or "GET")) if kind == "http" else "GET"
        try:
            token = bearer_token(_authorization(scope, self.token_header))
            principal = await _run_sync(self.gate.authenticate, token)
            self.gate.authorize(principal, method, policy_path(path))
        except Exception as exc:  # every failure is a rejection: never pass, never leak the exception
            await self._reject(scope, receive, send, exc, rejection(exc, method=method, path=path))
            return
        scope = dict(scope)
        scope[PRINCIPAL_KEY] = principal
        # A new dict: the server copies lifespan state into each request, but never share it by accident.
        state = scope.get("state")
        scope["state"] = {**(state if isinstance(state, MutableMapping) else {}), "principal": principal}
        await self.app(scope, receive, send)

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, error: Exception, answer: Rejection
    ) -> None:
        custom: ASGIApp | None = None
        if self.on_error is not None:
            try:
                custom = self.on_error(scope, error)
            except Exception:
                logger.exception("on_error hook failed; sending the default rejection")
        if scope["type"] == "websocket":
            await _refuse_websocket(scope, receive, send, answer, custom)
        elif custom is not None:
            await custom(scope, receive, send)
        else:
            await _send_http(send, answer, "http.")


async def _send_http(send: Send, answer: Rejection, prefix: str) -> None:
    body = answer.body().encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    for key, value in answer.headers.items():
        headers.append((key.lower().encode("latin-1"), value.encode("latin-1")))
    await send({"type": f"{prefix}response.start", "status": answer.status, "headers": headers})
    await send({"type": f"{prefix}response.body", "body": body})


async def _refuse_websocket(
    scope: Scope, receive: Receive, send: Send, answer: Rejection, custom: ASGIApp | None
) -> None:
    # The server speaks first (websocket.connect); answer it without ever accepting.
    message = await receive()
    if message.get("type") != "websocket.connect":
        return
    extensions = scope.get("extensions") or {}
    if "websocket.http.response" in extensions:
        if custom is not None:
            await custom(scope, receive, send)
        else:
            await _send_http(send, answer, "websocket.http.")
        return
    await send({"type": "websocket.close", "code": _WS_CLOSE.get(answer.status, _WS_INTERNAL_ERROR)})


def require_principal(
    *,
    groups: Sequence[str] = (),
    all_groups: Sequence[str] = (),
    scopes: Sequence[str] = (),
    all_scopes: Sequence[str] = (),
    verifier: TokenVerifier | None = None,
    policy: Policy | None = None,
) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: ``principal: Principal = Depends(require_principal(groups=["admin"]))``.

    Takes the principal the middleware put in the scope; with no middleware on the route (or an excluded
    path) it verifies the ``Authorization`` header itself when given a ``verifier``, and answers 401
    otherwise. Then checks the requirement and, if given, ``policy`` on the request's method and path.
    Failures raise ``HTTPException`` 401/403 (with ``WWW-Authenticate``), 503 or 500, with generic
    details. The route is documented in OpenAPI as needing an HTTP bearer token.
    """
    from fastapi import HTTPException, Security
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from starlette.requests import Request

    if verifier is not None and not callable(getattr(verifier, "verify", None)):
        raise ConfigError("verifier must have a verify(token) method (a CognitoVerifier)")
    if policy is not None and not callable(getattr(policy, "decide", None)):
        raise ConfigError("policy must have a decide(principal, method, path) method (a Policy)")
    gate = Gate(
        verifier,
        policy,
        Requirement.of(groups=groups, all_groups=all_groups, scopes=scopes, all_scopes=all_scopes),
    )

    async def dependency(request: Request, credentials: Any = None) -> Principal:
        # ``credentials`` only declares the bearer scheme in OpenAPI; the header is read here, strictly.
        method, path = framework_method(request.method), app_path(request.scope)
        try:
            found = request.scope.get(PRINCIPAL_KEY)
            if isinstance(found, Principal):
                principal = found
            else:
                principal = await _run_sync(gate.authenticate, bearer_token(_authorization(request.scope)))
                request.scope[PRINCIPAL_KEY] = principal
                request.state.principal = principal
            gate.authorize(principal, method, policy_path(path))
        except Exception as exc:
            answer = rejection(exc, method=method, path=path)
            raise HTTPException(answer.status, detail=answer.message, headers=dict(answer.headers)) from exc
        return principal

    # Real classes in the signature: FastAPI resolves annotations from the module's globals, where
    # these lazily imported names do not exist.
    dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
            inspect.Parameter(
                "credentials",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=HTTPAuthorizationCredentials | None,
                default=Security(HTTPBearer(auto_error=False)),
            ),
        ],
        return_annotation=Principal,
    )
    return dependency
