"""The claim checks of a fresh verify: Cognito's claim types and the NumericDate claims.

:class:`~cognito_authz.verifier.CognitoVerifier` runs these after the signature: every claim the library
or its users rely on must have the type Cognito gives it (docs/verifier.md, "Claim types"), and the
time claims must be numbers within sane bounds. :func:`check_claim_types` is the fast path of every fresh
verify (written into ``Principal._of_verified``, which reads the claims once for both);
:func:`explain_claim_types` the same checks one at a time, which raise the precise error.
``tests/verifier/test_fast_paths.py`` holds the two to the same verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from cognito_authz.errors import InvalidClaimError, MissingClaimError

__all__ = [
    "MAX_TIMESTAMP",
    "bad_type",
    "check_claim_types",
    "explain_claim_types",
    "required_timestamp",
    "timestamp",
]

# Timestamps beyond 9999-12-31T23:59:59Z are garbage (or an attempt at a token that never expires).
MAX_TIMESTAMP = 253402300799
_STR_ONLY = frozenset({str})
_STRING_CLAIMS = ("username", "cognito:username", "jti", "origin_jti", "event_id", "email")
_BOOLEAN_CLAIMS = ("email_verified", "phone_number_verified")


def required_timestamp(claims: Mapping[str, Any], name: str) -> float:
    value = timestamp(claims, name)
    if value is None:
        raise MissingClaimError(f"token has no {name} claim", claim=name)
    return value


def timestamp(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim as a number, ``None`` when absent; InvalidClaimError for anything else."""
    if name not in claims:
        return None
    value = claims[name]
    # type() rather than isinstance(): bool is an int subclass and true is not a time.
    if type(value) is not int and type(value) is not float:
        raise InvalidClaimError(f"{name} is not a number", claim=name)
    if not 0 <= value <= MAX_TIMESTAMP:  # NaN fails this comparison too
        raise InvalidClaimError(f"{name} is outside the range of sane timestamps", claim=name)
    return value


def bad_type(name: str, expected: str) -> NoReturn:
    raise InvalidClaimError(f"{name} is not {expected}", claim=name)


def check_claim_types(claims: Mapping[str, Any]) -> None:
    """Claims the library or its users rely on must have Cognito's types; anything else is rejected.

    Present with another type (null included) is InvalidClaimError. The verifier runs these checks as
    the first step of building its principal (``Principal._of_verified``), where the usual token is
    accepted in one expression (each claim read with a default of its own type, so an absent one
    passes) that also reads what the principal needs; anything else takes :func:`explain_claim_types`,
    which runs the checks one by one in the documented order and raises the precise error. This is that
    step alone, on a copy of the claims (the principal built is dropped).
    """
    from cognito_authz.principal import Principal  # principal imports this module

    Principal._of_verified(dict(claims))


def explain_claim_types(claims: Mapping[str, Any]) -> None:
    """The claim type checks one at a time: raise the error of the first that fails, if any does."""
    sub = claims.get("sub")
    if type(sub) is not str or not sub:
        if "sub" not in claims:
            raise MissingClaimError("token has no sub claim", claim="sub")
        bad_type("sub", "a non-empty string")
    if "cognito:groups" in claims:
        groups = claims["cognito:groups"]
        if type(groups) is not list or not set(map(type, groups)) <= _STR_ONLY:
            bad_type("cognito:groups", "a list of strings")
    if "scope" in claims and type(claims["scope"]) is not str:
        bad_type("scope", "a string")
    for name in _STRING_CLAIMS:
        if name in claims and type(claims[name]) is not str:
            bad_type(name, "a string")
    for name in _BOOLEAN_CLAIMS:
        # Some issuers (moto, claims forwarded by API Gateway) send "true"/"false" strings.
        if name in claims:
            value = claims[name]
            # Identity, not equality: 1 == True, yet 1 is not a boolean.
            if value is not True and value is not False and value not in ("true", "false"):
                bad_type(name, "a boolean")
    if "version" in claims and type(claims["version"]) is not int:
        bad_type("version", "an integer")
