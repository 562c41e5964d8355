"""The verifier's principal is filled as ``_OpenPrincipal`` and becomes a ``Principal`` (the fourth pass).

``Principal._of_verified`` stores the fields through a layout twin with plain slot stores and then
assigns ``__class__``; what comes out must be indistinguishable from a principal built by
``Principal.from_claims``: the very class, every slot set (the hidden ``_derived`` included), frozen,
equal, hashed, copied and pickled alike, with its own derived answers.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.claim_checks import explain_claim_types
from cognito_authz.errors import TokenError
from cognito_authz.principal import Principal, _OpenPrincipal, derived_answers

_WORDS = st.sampled_from(["admin", "support", "", "ops", "admin", "a-b"])
_TEXT = st.text(max_size=6)


@st.composite
def _verified_claims(draw: st.DrawFn) -> dict[str, Any]:
    """Claims of the types the verifier's checks let through (the only input ``_of_verified`` takes)."""
    use = draw(st.sampled_from(["access", "id"]))
    claims: dict[str, Any] = {"sub": draw(st.text(min_size=1, max_size=8)), "token_use": use}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "iss": _TEXT,
        "cognito:groups": st.lists(_WORDS, max_size=4),
        "username": _TEXT,
        "cognito:username": _TEXT,
        "client_id": _TEXT,
        "aud": _TEXT,
        "email_verified": st.sampled_from([True, False, "true", "false"]),
        "phone_number_verified": st.sampled_from([True, False, "true", "false"]),
        "custom:tier": _TEXT,
    }
    if use == "access":
        optional["scope"] = st.sampled_from(["", "a", "a b a", "[a, b]", "x,y z", "  "])
    for name, values in optional.items():
        if draw(st.booleans()):
            claims[name] = draw(values)
    return claims


def _slots(principal: Principal) -> dict[str, Any]:
    return {name: getattr(principal, name) for name in Principal.__slots__}


def test_the_twin_has_the_principals_layout() -> None:
    assert _OpenPrincipal.__slots__ == Principal.__slots__
    assert _OpenPrincipal.__bases__ == Principal.__bases__


@settings(max_examples=300, deadline=None)
@given(claims=_verified_claims())
def test_of_verified_is_from_claims(claims: dict[str, Any]) -> None:
    expected = Principal.from_claims(claims)
    built = Principal._of_verified(dict(claims))
    assert type(built) is Principal
    assert _slots(built) == {**_slots(expected), "_derived": None}
    assert built == expected
    assert repr(built) == repr(expected)


def test_the_verified_principal_is_a_whole_principal() -> None:
    built = Principal._of_verified({"sub": "s", "token_use": "access", "cognito:groups": ["a"]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.sub = "t"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del built.groups  # type: ignore[misc]
    answers = derived_answers(built)
    assert answers == {}
    assert derived_answers(built) is answers  # kept on the principal
    twin = copy.copy(built)
    assert type(twin) is Principal
    assert twin == built
    assert twin._derived is None


_TYPED = [
    "sub", "cognito:groups", "scope", "username", "cognito:username", "jti", "origin_jti", "event_id",
    "email", "email_verified", "phone_number_verified", "version",
]  # fmt: skip
_ODD = [None, "x", "", 0, 1, 2.0, True, False, "true", "false", [], ["a"], ["a", ""], ["a", 1], {}]


@pytest.mark.parametrize("name", _TYPED)
def test_claims_the_type_checks_accept_give_from_claims_principal(name: str) -> None:
    # _of_verified checks the claim types itself (one expression, explain_claim_types otherwise); what
    # it lets through, on either path, must become from_claims' principal.
    base = {"sub": "u", "token_use": "access", "cognito:groups": ["g", "g"], "scope": "s t", "username": "n"}
    for value in _ODD:
        claims = {**base, name: value}
        expected = _verdict(explain_claim_types, claims)
        assert _verdict(Principal._of_verified, dict(claims)) == expected, (name, value)
        if expected == "ok":
            built = Principal._of_verified(dict(claims))
            assert _slots(built) == {**_slots(Principal.from_claims(claims)), "_derived": None}, (name, value)


def _verdict(check: Callable[[dict[str, Any]], object], claims: dict[str, Any]) -> object:
    try:
        check(claims)
    except TokenError as exc:
        return (exc.reason, exc.details)
    return "ok"
