"""The verifier's principal is filled as ``_OpenPrincipal`` and becomes a ``Principal`` (the fourth pass).

``Principal._of_verified`` stores the fields through a layout twin with plain slot stores and then
assigns ``__class__``; what comes out must be indistinguishable from a principal built by
``Principal.from_claims``: the very class, every slot set (the hidden ``_derived`` included), frozen,
equal, hashed, copied and pickled alike, with its own derived answers.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
