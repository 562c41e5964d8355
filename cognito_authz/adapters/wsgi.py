"""WSGI (Flask, any WSGI app): a middleware that authenticates and authorizes every request by the policy,
and ``flask_protect``, a view decorator for per-route requirements that puts the principal in ``g``.

::

    app.wsgi_app = CognitoWsgiMiddleware(app.wsgi_app, verifier=verifier, policy=policy)

    @app.get("/admin")
    @flask_protect(groups=["admin"])
    def admin():
        return {"sub": g.principal.sub}

The middleware imports no framework; Flask is imported only by :func:`flask_protect`.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, overload

from cognito_authz.adapters.common import (
    Gate,
    PathExclusions,
    Rejection,
    Requirement,
    bearer_token,
    check_parts,
    check_request_options,
    policy_path,
    rejection,
)
from cognito_authz.errors import ConfigError
from cognito_authz.principal import Principal
from cognito_authz.routing import framework_method

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Response

    from cognito_authz.adapters.common import TokenVerifier
    from cognito_authz.policy import Policy

__all__ = ["PRINCIPAL_KEY", "CognitoWsgiMiddleware", "FlaskDecorator", "flask_protect", "wsgi_path"]

logger = logging.getLogger("cognito_authz")

#: Where the middleware puts the :class:`Principal` in the WSGI environ.
PRINCIPAL_KEY = "cognito_authz.principal"

P = ParamSpec("P")
R = TypeVar("R")


def wsgi_path(environ: WSGIEnvironment) -> str:
    """The path the application routes on, as Werkzeug computes ``request.path``.

    ``PATH_INFO`` (``SCRIPT_NAME``, the mount point, excluded) is percent-decoded bytes carried as
    latin-1 text; decoding it as UTF-8 gives what the router dispatches on, so the policy decides on the
    same path.
    """
    raw = environ.get("PATH_INFO") or ""
    if not isinstance(raw, str):
        return "/"
    try:
        path = raw.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a server that already decoded to text
        path = raw
    return "/" + path.lstrip("/")


def environ_key(header: str) -> str:
    """The WSGI environ key of a request header (PEP 3333: ``X-Api-Token`` is ``HTTP_X_API_TOKEN``)."""
    return "HTTP_" + header.strip().upper().replace("-", "_")


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _headers(answer: Rejection, body: bytes) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        *answer.headers.items(),
    ]


class CognitoWsgiMiddleware:
    """Authenticate (bearer token) and authorize (policy, optional group/scope requirement) every request.

    On success the :class:`Principal` is at ``environ["cognito_authz.principal"]``; on failure the app
    never runs and the answer is 401, 403, 503 (keys unavailable) or 500 with a generic JSON body.
    ``exclude_paths``: exact paths or ``"/prefix/*"`` subtrees that skip authentication. ``token_header``:
    the header holding ``Bearer <token>`` (default ``Authorization``). HEAD is decided as GET (Werkzeug
    runs the GET view for it).
    ``on_error(environ, error)`` may return a WSGI app (a Werkzeug ``Response`` is one) to answer instead;
    it cannot turn a rejection into a pass.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        verifier: TokenVerifier,
        policy: Policy | None = None,
        groups: Sequence[str] = (),
        all_groups: Sequence[str] = (),
        scopes: Sequence[str] = (),
        all_scopes: Sequence[str] = (),
        exclude_paths: Iterable[str] = (),
        on_error: Callable[[WSGIEnvironment, Exception], WSGIApplication | None] | None = None,
        token_header: str = "authorization",
    ) -> None:
        if verifier is None:
            raise ConfigError("CognitoWsgiMiddleware needs a verifier (a CognitoVerifier)")
        check_parts(verifier, policy)
        check_request_options(None, token_header)
        self.token_key = environ_key(token_header)
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

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = wsgi_path(environ)
        if path in self.exclude:
            return self.app(environ, start_response)
        # HEAD is decided as GET: Werkzeug's router serves HEAD with the GET view (Flask adds HEAD to every
        # GET rule), which must not run where GET may not.
        method = framework_method(str(environ.get("REQUEST_METHOD") or "GET"))
        try:
            # A non-text value (a broken server handing bytes) is no readable token: 401, fail closed.
            principal = self.gate.authenticate(bearer_token(_str(environ.get(self.token_key))))
            self.gate.authorize(principal, method, policy_path(path))
        except Exception as exc:  # every failure is a rejection: never pass, never leak the exception
            answer = rejection(exc, method=method, path=path)
            custom = self._custom(environ, exc)
            if custom is not None:
                return custom(environ, start_response)
            body = answer.body().encode()
            start_response(f"{answer.status} {answer.message}", _headers(answer, body))
            return [body]
        environ[PRINCIPAL_KEY] = principal
        return self.app(environ, start_response)

    def _custom(self, environ: WSGIEnvironment, error: Exception) -> WSGIApplication | None:
        if self.on_error is None:
            return None
        try:
            return self.on_error(environ, error)
        except Exception:
            logger.exception("on_error hook failed; sending the default rejection")
            return None


class FlaskDecorator(Protocol):
    """What ``flask_protect(...)`` returns: keeps the view's parameters, adds a rejection ``Response``."""

    @overload
    def __call__(
        self, view: Callable[P, Coroutine[Any, Any, R]], /
    ) -> Callable[P, Coroutine[Any, Any, R | Response]]: ...

    @overload
    def __call__(self, view: Callable[P, R], /) -> Callable[P, R | Response]: ...


@overload
def flask_protect(
    func: Callable[P, Coroutine[Any, Any, R]], /
) -> Callable[P, Coroutine[Any, Any, R | Response]]: ...


@overload
def flask_protect(func: Callable[P, R], /) -> Callable[P, R | Response]: ...


@overload
def flask_protect(
    *,
    verifier: TokenVerifier | None = None,
    policy: Policy | None = None,
    groups: Sequence[str] = (),
    all_groups: Sequence[str] = (),
    scopes: Sequence[str] = (),
    all_scopes: Sequence[str] = (),
) -> FlaskDecorator: ...


def flask_protect(
    func: Callable[..., Any] | None = None,
    /,
    *,
    verifier: TokenVerifier | None = None,
    policy: Policy | None = None,
    groups: Sequence[str] = (),
    all_groups: Sequence[str] = (),
    scopes: Sequence[str] = (),
    all_scopes: Sequence[str] = (),
) -> Any:
    """Protect a Flask view: ``@flask_protect`` or ``@flask_protect(groups=[...], verifier=...)``.

    The principal is the one :class:`CognitoWsgiMiddleware` established; without the middleware (or on
    an excluded path) the ``Authorization`` header is verified here when a ``verifier`` is given, else
    the answer is 401. Then the requirement and, if given, ``policy`` (on ``request.method`` and
    ``request.path``) are checked, and the view runs with the principal in ``flask.g.principal``.
    Failures return 401/403/503/500 JSON responses with ``WWW-Authenticate`` where it applies.
    Sync and ``async`` views both work. Place it below ``@app.route``.
    """
    import flask

    check_parts(verifier, policy)
    gate = Gate(
        verifier,
        policy,
        Requirement.of(groups=groups, all_groups=all_groups, scopes=scopes, all_scopes=all_scopes),
    )

    def check() -> flask.Response | None:
        request = flask.request
        method, path = framework_method(request.method), wsgi_path(request.environ)
        try:
            found = request.environ.get(PRINCIPAL_KEY)
            if isinstance(found, Principal):
                principal = found
            else:
                principal = gate.authenticate(bearer_token(request.environ.get("HTTP_AUTHORIZATION")))
                request.environ[PRINCIPAL_KEY] = principal
            gate.authorize(principal, method, policy_path(path))
        except Exception as exc:
            answer = rejection(exc, method=method, path=path)
            return flask.Response(
                answer.body(), status=answer.status, headers=dict(answer.headers), mimetype="application/json"
            )
        flask.g.principal = principal
        return None

    def decorate(view: Callable[P, Any]) -> Callable[P, Any]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                denied = check()
                if denied is not None:
                    return denied
                return await view(*args, **kwargs)

            return async_wrapper

        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            denied = check()
            if denied is not None:
                return denied
            return view(*args, **kwargs)

        return wrapper

    if func is not None:
        return decorate(func)
    return decorate
