"""Starlette's own authentication contract: an ``AuthenticationBackend`` for ``AuthenticationMiddleware``.

With it, ``request.user`` is a :class:`CognitoUser` (``request.user.principal`` is the verified
:class:`Principal`), ``request.auth.scopes`` holds ``"authenticated"`` plus the token's OAuth scopes, and
Starlette's ``@requires("orders/read")`` works as Starlette users expect::

    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware

    app = Starlette(routes=..., middleware=[
        Middleware(AuthenticationMiddleware, backend=CognitoAuthBackend(verifier), on_error=on_auth_error),
    ])

The backend authenticates only; the policy file is enforced by :class:`~cognito_authz.adapters.asgi.
CognitoAuthMiddleware`, which may run outside it: the backend then reuses the principal that middleware
verified instead of verifying the token twice. A request without a token is anonymous (Starlette's
``UnauthenticatedUser``, so ``@requires`` answers 403 or redirects); a bad token is an
``AuthenticationError`` that :func:`on_auth_error` answers with 401 (503 when keys are unavailable).

Groups are not put in ``request.auth.scopes``: a group named like a scope would grant that scope. Use
``request.user.groups``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError, BaseUser
from starlette.requests import HTTPConnection
from starlette.responses import Response

from cognito_authz.adapters.asgi import PRINCIPAL_KEY, _run_sync
from cognito_authz.adapters.common import Gate, Rejection, bearer_token, check_parts, rejection
from cognito_authz.errors import ConfigError, TokenError
from cognito_authz.principal import Principal

if TYPE_CHECKING:
    from cognito_authz.adapters.common import TokenVerifier

__all__ = [
    "AUTHENTICATED",
    "CognitoAuthBackend",
    "CognitoAuthenticationError",
    "CognitoUser",
    "on_auth_error",
]

#: The scope Starlette's examples use for "any signed-in user"; every verified principal has it.
AUTHENTICATED = "authenticated"


class CognitoUser(BaseUser):
    """``request.user`` for a verified Cognito token."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.username or self.principal.sub

    @property
    def identity(self) -> str:
        return self.principal.sub

    @property
    def groups(self) -> tuple[str, ...]:
        return self.principal.groups


class CognitoAuthenticationError(AuthenticationError):
    """A rejected token (or keys unavailable), carrying the HTTP answer :func:`on_auth_error` sends."""

    def __init__(self, answer: Rejection) -> None:
        super().__init__(answer.message)
        self.answer = answer


class CognitoAuthBackend(AuthenticationBackend):
    """Verify the bearer token of each HTTP request or WebSocket handshake for Starlette.

    ``token_header``: the header carrying ``Bearer <token>`` (any case; default ``Authorization``).
    """

    def __init__(self, verifier: TokenVerifier, *, token_header: str = "authorization") -> None:
        if verifier is None:
            raise ConfigError("CognitoAuthBackend needs a verifier (a CognitoVerifier)")
        check_parts(verifier, None)
        if not isinstance(token_header, str) or not token_header.strip():
            raise ConfigError("token_header must be a header name")
        self.gate = Gate(verifier)
        self.token_header = token_header

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        found = conn.scope.get(PRINCIPAL_KEY)
        if isinstance(found, Principal):
            principal = found
        else:
            headers = conn.headers
            if self.token_header.lower() not in headers:
                return None  # anonymous: @requires decides what an anonymous caller gets
            # getlist sees every copy of the header: two different values are ambiguous, so none is used.
            values = set(headers.getlist(self.token_header))
            value = values.pop() if len(values) == 1 else None
            try:
                principal = await _run_sync(self.gate.authenticate, bearer_token(value))
            except Exception as exc:  # every failure is a rejection, never an anonymous pass
                method = str(conn.scope.get("method") or "GET")
                raise CognitoAuthenticationError(rejection(exc, method=method, path=conn.url.path)) from None
            conn.scope[PRINCIPAL_KEY] = principal
        return AuthCredentials([AUTHENTICATED, *_scopes(principal.scopes)]), CognitoUser(principal)


def _scopes(scopes: Sequence[str]) -> list[str]:
    # "authenticated" is ours: a token scope of that name must not be counted twice or mistaken for it.
    return [scope for scope in scopes if scope != AUTHENTICATED]


def on_auth_error(conn: HTTPConnection, exc: Exception) -> Response:
    """``AuthenticationMiddleware(on_error=...)``: 401 with ``WWW-Authenticate`` (503 when keys are down).

    Starlette's default answers 400 with the exception text; this answers as the other adapters do,
    with a generic JSON body.
    """
    if isinstance(exc, CognitoAuthenticationError):
        answer = exc.answer
    else:  # another backend's error: still a 401, never the exception text
        answer = rejection(TokenError("authentication failed"), path=conn.url.path)
    return Response(
        json.dumps({"message": answer.message}),
        status_code=answer.status,
        headers=dict(answer.headers),
        media_type="application/json",
    )
