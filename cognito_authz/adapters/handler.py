"""``@protect`` for Lambda proxy handlers (REST v1, HTTP API 1.0/2.0, ALB): authenticate, authorize, and
answer 401/403/503 in the event's own response format, or call the handler with ``principal=...`` (and
``decision=...`` when the handler names that parameter).

::

    from cognito_authz.adapters.handler import configure, protect

    configure(verifier=CognitoVerifier(POOL, client_id=CLIENT, token_use="access"), policy=POLICY)

    @protect                                   # the module defaults: configure() or the environment
    def handler(event, context, *, principal): ...

    @protect(groups=["admin"], trust_upstream=True)   # API Gateway's authorizer already verified
    def admin(event, context, *, principal): ...

Environment defaults (read once, when a handler first runs without ``configure``):
``COGNITO_AUTHZ_USER_POOL_ID`` (comma-separated for several pools), ``COGNITO_AUTHZ_CLIENT_ID``
(comma-separated; required with a pool), ``COGNITO_AUTHZ_TOKEN_USE`` (``id``, ``access`` or ``any``;
required with a pool), optional ``COGNITO_AUTHZ_JWKS`` (JWKS JSON text or a file path: keys without a
cold-start fetch) and ``COGNITO_AUTHZ_POLICY`` (policy file path).
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, overload

from cognito_authz.adapters.common import (
    Gate,
    ProxyRequest,
    Rejection,
    Requirement,
    bearer_token,
    check_parts,
    check_request_options,
    proxy_request,
    rejection,
    upstream_principal,
)
from cognito_authz.errors import ConfigError

if TYPE_CHECKING:
    from cognito_authz.adapters.common import TokenVerifier
    from cognito_authz.policy import Decision, Policy
    from cognito_authz.principal import Principal

__all__ = [
    "ENV_CLIENT_ID",
    "ENV_JWKS",
    "ENV_POLICY",
    "ENV_TOKEN_USE",
    "ENV_USER_POOL_ID",
    "configure",
    "protect",
]

ENV_USER_POOL_ID = "COGNITO_AUTHZ_USER_POOL_ID"
ENV_CLIENT_ID = "COGNITO_AUTHZ_CLIENT_ID"
ENV_TOKEN_USE = "COGNITO_AUTHZ_TOKEN_USE"
ENV_JWKS = "COGNITO_AUTHZ_JWKS"
ENV_POLICY = "COGNITO_AUTHZ_POLICY"

E = TypeVar("E")
C = TypeVar("C")
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class _Defaults:
    verifier: TokenVerifier | None
    policy: Policy | None


_lock = threading.Lock()
_configured: _Defaults | None = None
_from_env: _Defaults | None = None


def configure(*, verifier: TokenVerifier | None = None, policy: Policy | None = None) -> None:
    """Set the verifier and policy that ``@protect`` uses when a decorator does not name its own.

    Replaces any previous defaults (``configure()`` with no arguments clears them, falling back to the
    environment). Call it at module import, before the first request.
    """
    global _configured
    check_parts(verifier, policy)
    with _lock:
        _configured = None if verifier is None and policy is None else _Defaults(verifier, policy)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _environment_defaults() -> _Defaults:
    pool = os.environ.get(ENV_USER_POOL_ID, "").strip()
    policy_path = os.environ.get(ENV_POLICY, "").strip()
    verifier = None
    if pool:
        from cognito_authz.verifier import CognitoVerifier

        clients = _split(os.environ.get(ENV_CLIENT_ID, ""))
        token_use = os.environ.get(ENV_TOKEN_USE, "").strip().lower()
        # Like the verifier itself: which app clients and token type are accepted is never left implicit.
        if not clients:
            raise ConfigError(f"{ENV_USER_POOL_ID} is set but {ENV_CLIENT_ID} is not")
        if token_use not in ("id", "access", "any"):
            raise ConfigError(f"{ENV_TOKEN_USE} must be 'id', 'access' or 'any'")
        pools = _split(pool)
        verifier = CognitoVerifier(
            pools if len(pools) > 1 else pools[0],
            client_id=clients,
            token_use=None if token_use == "any" else token_use,  # type: ignore[arg-type]
        )
        if os.environ.get(ENV_JWKS, "").strip():
            verifier.load_jwks(env=ENV_JWKS)
    policy = None
    if policy_path:
        from cognito_authz.policy import Policy

        policy = Policy.from_file(policy_path)
    return _Defaults(verifier, policy)


def _defaults() -> _Defaults:
    global _from_env
    configured = _configured
    if configured is not None:
        return configured
    with _lock:
        if _from_env is None:
            _from_env = _environment_defaults()
        return _from_env


def _reset_environment_defaults() -> None:
    """Forget defaults read from the environment (tests; a Lambda reads them once per container)."""
    global _from_env
    with _lock:
        _from_env = None


def _response(request: ProxyRequest | None, answer: Rejection) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **answer.headers}
    response: dict[str, Any] = {
        "statusCode": answer.status,
        "body": answer.body(),
        "isBase64Encoded": False,
    }
    if request is not None and request.kind == "alb":
        # ALB requires the reason phrase; with multi-value headers on it ignores "headers" entirely.
        response["statusDescription"] = f"{answer.status} {answer.message}"
    if request is not None and request.multi_value:
        response["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    else:
        response["headers"] = headers
    return response


class _Protector:
    """One decorated handler's settings; the module defaults are read per call so ``configure`` may
    come after the decorator."""

    def __init__(
        self,
        verifier: TokenVerifier | None,
        policy: Policy | None,
        requirement: Requirement | None,
        trust_upstream: bool,
        base_path: str | None = None,
        token_header: str = "authorization",
    ) -> None:
        check_parts(verifier, policy)
        check_request_options(base_path, token_header)
        self.verifier = verifier
        self.policy = policy
        self.requirement = requirement
        self.trust_upstream = trust_upstream
        self.base_path = base_path
        self.token_header = token_header

    def gate(self) -> Gate:
        verifier, policy = self.verifier, self.policy
        if (verifier is None and not self.trust_upstream) or policy is None:
            defaults = _defaults()
            # "is None", not "or": a policy with no rules may well be falsy.
            verifier = defaults.verifier if verifier is None else verifier
            policy = defaults.policy if policy is None else policy
        if verifier is None and not self.trust_upstream:
            raise ConfigError(
                f"@protect has no verifier: pass verifier=..., call configure(...), set {ENV_USER_POOL_ID}, "
                "or use trust_upstream=True behind an API Gateway authorizer"
            )
        return Gate(verifier, policy, self.requirement)

    def check(self, event: Any) -> tuple[ProxyRequest | None, Principal | dict[str, Any], Decision | None]:
        """The principal (and the policy's decision, if any) to hand over, or the response to return
        instead; never raises."""
        request: ProxyRequest | None = None
        try:
            request = proxy_request(event, base_path=self.base_path, token_header=self.token_header)
            if request is None:
                raise ConfigError("@protect got an event that is not a REST, HTTP API or ALB proxy event")
            gate = self.gate()
            if self.trust_upstream:
                principal = upstream_principal(event)
            else:
                principal = gate.authenticate(bearer_token(request.authorization))
            decision = gate.authorize(principal, request.method, request.path)
        except Exception as exc:  # every failure answers in the event's format, closed
            method, path = (request.method, request.path) if request is not None else ("?", "?")
            return request, _response(request, rejection(exc, method=method, path=path)), None
        return request, principal, decision


def _accepts_principal(func: Callable[..., Any]) -> bool:
    """Check the handler takes ``principal``; return whether it also names a ``decision`` parameter."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise ConfigError("@protect needs a handler whose signature can be inspected") from exc
    # Only an explicitly named parameter gets the decision: a **kwargs handler is not surprised by it.
    parameter = signature.parameters.get("decision")
    wants_decision = parameter is not None and parameter.kind in (
        inspect.Parameter.KEYWORD_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    extra = {"decision": None} if wants_decision else {}
    try:
        signature.bind(None, None, principal=None, **extra)
    except TypeError as exc:
        raise ConfigError(
            f"@protect: {getattr(func, '__qualname__', func)!r} must accept (event, context, *, principal)"
        ) from exc
    return wants_decision


def _decorate(
    func: Callable[Concatenate[E, C, P], R], protector: _Protector
) -> Callable[[E, C], R | dict[str, Any]]:
    wants_decision = _accepts_principal(func)
    # ParamSpec cannot say "P holds a keyword-only principal"; _accepts_principal has checked it.
    call: Callable[..., R] = func

    @functools.wraps(func)
    def wrapper(event: E, context: C) -> R | dict[str, Any]:
        _, outcome, decision = protector.check(event)
        if isinstance(outcome, dict):
            return outcome
        if wants_decision:
            return call(event, context, principal=outcome, decision=decision)
        return call(event, context, principal=outcome)

    return wrapper


@overload
def protect(func: Callable[Concatenate[E, C, P], R], /) -> Callable[[E, C], R | dict[str, Any]]: ...


@overload
def protect(
    *,
    verifier: TokenVerifier | None = None,
    policy: Policy | None = None,
    groups: Sequence[str] = (),
    scopes: Sequence[str] = (),
    all_groups: Sequence[str] = (),
    all_scopes: Sequence[str] = (),
    trust_upstream: bool = False,
    base_path: str | None = None,
    token_header: str = "authorization",
) -> Callable[[Callable[Concatenate[E, C, P], R]], Callable[[E, C], R | dict[str, Any]]]: ...


def protect(
    func: Callable[..., Any] | None = None,
    /,
    *,
    verifier: TokenVerifier | None = None,
    policy: Policy | None = None,
    groups: Sequence[str] = (),
    scopes: Sequence[str] = (),
    all_groups: Sequence[str] = (),
    all_scopes: Sequence[str] = (),
    trust_upstream: bool = False,
    base_path: str | None = None,
    token_header: str = "authorization",
) -> Any:
    """Protect a Lambda proxy handler ``handler(event, context, *, principal)``.

    Per request: read the event (REST v1, HTTP API 1.0/2.0, ALB; Powertools data classes are unwrapped),
    take the principal from the ``Authorization`` bearer token (verified here) or, with
    ``trust_upstream=True``, from the claims an API Gateway authorizer on the route already verified
    (never both: no fallback to the header), then check ``groups``/``scopes`` (any of) and
    ``all_groups``/``all_scopes`` and the policy on the method and the API-relative path API Gateway
    routed: rebuilt from the route template and ``pathParameters``, so a custom domain's base-path
    mapping never reaches the policy (``base_path`` is needed only for an HTTP API ``$default`` route
    behind a custom domain: the mapping key, ``""`` for none; see :func:`common.api_path`). The token
    is the ``token_header`` header (default ``Authorization``, any case). Failures return
    401/403/503/500 responses in the event's format with a generic JSON ``{"message": ...}`` body.

    ``verifier`` and ``policy`` default to :func:`configure`'s or the environment's. The handler must
    accept the keyword ``principal``; that is checked here, at decoration (:class:`ConfigError`).
    """
    if trust_upstream not in (True, False):
        raise ConfigError("trust_upstream must be True or False")
    protector = _Protector(
        verifier,
        policy,
        Requirement.of(groups=groups, scopes=scopes, all_groups=all_groups, all_scopes=all_scopes),
        trust_upstream,
        base_path,
        token_header,
    )
    if func is not None:
        return _decorate(func, protector)
    return functools.partial(_decorate, protector=protector)
