"""What every adapter shares: finding the token, the one place verify and decide meet, flat contexts.

Adapters differ in how a request arrives and how an answer leaves; *what* is checked is identical and
lives here, so a fix to token extraction or to the verify-then-decide order is made once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cognito_authz.errors import AccessDenied, MalformedTokenError, TokenError
from cognito_authz.principal import Principal

if TYPE_CHECKING:
    from cognito_authz.policy import Decision, Policy

__all__ = [
    "Gate",
    "Requirement",
    "TokenVerifier",
    "bearer_token",
    "flatten_context",
    "get_header",
    "strip_stage",
]

logger = logging.getLogger("cognito_authz")

#: API Gateway rejects authorizer context values that are not strings, numbers or booleans, and a REST
#: authorizer's whole response is capped; long claim values are cut rather than failing the request.
MAX_CONTEXT_VALUE = 1024


class TokenVerifier(Protocol):
    """What adapters need from a verifier (``CognitoVerifier`` satisfies it)."""

    def verify(self, token: Any) -> Principal: ...


def bearer_token(value: str | None) -> str | None:
    """Return the credential of an ``Authorization`` value: ``Bearer <t>`` (any case) or a bare token.

    Another auth scheme (``Basic ...``) yields ``None``: it is not a Cognito token, so the caller answers
    401 rather than feeding a password to the verifier.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    scheme, sep, rest = value.partition(" ")
    if not sep:
        return value
    if scheme.lower() != "bearer":
        return None
    token = rest.strip()
    return token or None


def get_header(
    headers: Mapping[str, Any] | None,
    name: str,
    multi: Mapping[str, Any] | None = None,
) -> str | None:
    """Case-insensitive header lookup over API Gateway's ``headers`` and ``multiValueHeaders``.

    A header that arrives with several different values is ambiguous (a proxy appended one?) and is
    treated as absent, so the request is rejected instead of guessing which value to trust.
    """
    wanted = name.lower()
    values: list[str] = []
    for source in (headers, multi):
        if not isinstance(source, Mapping):
            continue
        for key, value in source.items():
            if not isinstance(key, str) or key.lower() != wanted:
                continue
            if isinstance(value, str):
                values.append(value)
            elif isinstance(value, list):
                values.extend(v for v in value if isinstance(v, str))
    distinct = set(values)
    if len(distinct) != 1:
        return None
    return distinct.pop()


def strip_stage(path: str, stage: str | None) -> str:
    """Remove a named stage prefix (``/prod/orders`` -> ``/orders``); ``$default`` has none."""
    if stage and stage != "$default":
        prefix = f"/{stage}"
        if path == prefix:
            return "/"
        if path.startswith(prefix + "/"):
            return path[len(prefix):]
    return path


def _context_value(value: Any) -> str | int | float | bool | None:
    if isinstance(value, bool) or (isinstance(value, (int, float)) and value == value):
        return value
    if isinstance(value, str):
        return value[:MAX_CONTEXT_VALUE]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return ",".join(value)[:MAX_CONTEXT_VALUE]
    return None


def flatten_context(
    principal: Principal,
    decision: Decision | None = None,
    claims: Iterable[str] = (),
) -> dict[str, str | int | float | bool]:
    """An authorizer ``context`` API Gateway accepts: flat strings, numbers and booleans only.

    Groups are comma-joined and scopes space-joined (as in the token). Extra ``claims`` are copied when
    they are scalars or lists of strings; anything nested is dropped, since API Gateway answers 500 to a
    nested context value.
    """
    context: dict[str, str | int | float | bool] = {
        "sub": principal.sub,
        "groups": ",".join(principal.groups),
        "scopes": " ".join(principal.scopes),
    }
    for key, value in (
        ("username", principal.username),
        ("token_use", principal.token_use),
        ("client_id", principal.client_id),
    ):
        if value:
            context[key] = value
    if decision is not None:
        context["rules"] = ",".join(decision.rules)
    for claim in claims:
        if claim in principal.claims:
            flat = _context_value(principal.claims[claim])
            if flat is not None:
                context[claim] = flat
    return context


@dataclass(frozen=True, slots=True)
class Requirement:
    """A per-handler requirement checked in addition to (or instead of) a policy file."""

    groups: tuple[str, ...] = ()
    all_groups: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    all_scopes: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        groups: Sequence[str] = (),
        all_groups: Sequence[str] = (),
        scopes: Sequence[str] = (),
        all_scopes: Sequence[str] = (),
    ) -> Requirement | None:
        """A requirement, or ``None`` when nothing is required."""
        req = cls(tuple(groups), tuple(all_groups), tuple(scopes), tuple(all_scopes))
        return req if any((req.groups, req.all_groups, req.scopes, req.all_scopes)) else None

    def unmet(self, principal: Principal) -> str | None:
        """The first unmet part, described for logs, or ``None`` when the principal satisfies it."""
        if self.groups and not principal.has_groups(self.groups):
            return f"none of groups {list(self.groups)}"
        if self.all_groups and not principal.has_groups(self.all_groups, all_of=True):
            return f"not all of groups {list(self.all_groups)}"
        if self.scopes and not principal.has_scopes(self.scopes):
            return f"none of scopes {list(self.scopes)}"
        if self.all_scopes and not principal.has_scopes(self.all_scopes, all_of=True):
            return f"not all of scopes {list(self.all_scopes)}"
        return None


class Gate:
    """Verify, then decide: the single sequence every adapter runs.

    ``check`` returns the principal and the policy decision (``None`` when there is no policy), or raises:
    :class:`TokenError` (401), :class:`JwksError` (fail closed), :class:`AccessDenied` (403).
    """

    def __init__(
        self,
        verifier: TokenVerifier | None,
        policy: Policy | None = None,
        requirement: Requirement | None = None,
    ) -> None:
        self.verifier = verifier
        self.policy = policy
        self.requirement = requirement

    def authenticate(self, token: str | None) -> Principal:
        """Verify a bearer credential (``None`` = no credential sent)."""
        if token is None:
            raise TokenError("no bearer token in the request", reason="missing_token")
        if self.verifier is None:
            raise MalformedTokenError("this gate has no verifier", reason="missing_token")
        return self.verifier.verify(token)

    def authorize(self, principal: Principal, method: str, path: str) -> Decision | None:
        """Apply the per-handler requirement and the policy; raise :class:`AccessDenied` on no."""
        if self.requirement is not None:
            unmet = self.requirement.unmet(principal)
            if unmet is not None:
                raise AccessDenied(f"requirement not met: {unmet}", reason="requirement_not_met")
        if self.policy is None:
            return None
        decision = self.policy.decide(principal, method, path)
        if not decision.allowed:
            raise AccessDenied(f"policy denies {method} {path}", decision=decision)
        return decision

    def check(self, token: str | None, method: str, path: str) -> tuple[Principal, Decision | None]:
        principal = self.authenticate(token)
        return principal, self.authorize(principal, method, path)
