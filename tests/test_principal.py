"""Principal: what a verified token becomes, and the claim shapes API Gateway forwards."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cognito_authz import CognitoVerifier, Principal
from cognito_authz.principal import normalize_bool, normalize_string_list
from cognito_authz.testing import LocalIssuer


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ([], ()),
        (["admin", "support"], ("admin", "support")),
        (["admin", "admin", "support"], ("admin", "support")),
        (["admin", 1, None, "", True, "support"], ("admin", "support")),
        (("a", "b"), ("a", "b")),
        ("admin", ("admin",)),
        ("admin,support", ("admin", "support")),
        ("[admin support]", ("admin", "support")),
        ("[admin, support]", ("admin", "support")),
        ("admin support", ("admin", "support")),
        (" [ admin ,, support ] ", ("admin", "support")),
        ("[]", ()),
        ("", ()),
        (42, ()),
        ({"admin": True}, ()),
    ],
)
def test_normalize_string_list(value: Any, expected: tuple[str, ...]) -> None:
    assert normalize_string_list(value) == expected


def test_scopes_split_on_whitespace_only() -> None:
    # A scope may contain a comma in principle; only spaces separate scopes.
    assert normalize_string_list("orders/read orders/write", separators="") == ("orders/read", "orders/write")
    assert normalize_string_list("a,b", separators="") == ("a,b",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" false ", False),
        ("False", False),
        (True, True),
        (False, False),
        ("yes", "yes"),
        (1, 1),
        (None, None),
    ],
)
def test_normalize_bool(value: Any, expected: Any) -> None:
    assert normalize_bool(value) == expected
    assert type(normalize_bool(value)) is type(expected)


def test_from_claims_access_token_shape() -> None:
    principal = Principal.from_claims(
        {
            "sub": "s-1",
            "username": "alice",
            "cognito:groups": ["admin"],
            "scope": "openid orders/read",
            "token_use": "access",
            "client_id": "client-1",
            "iss": "https://issuer",
        }
    )
    assert (principal.sub, principal.username, principal.client_id, principal.issuer) == (
        "s-1",
        "alice",
        "client-1",
        "https://issuer",
    )
    assert principal.groups == ("admin",)
    assert principal.scopes == ("openid", "orders/read")


def test_from_claims_id_token_shape_and_forwarded_strings() -> None:
    # The shape a handler sees when API Gateway forwards already-verified claims as strings.
    principal = Principal.from_claims(
        {
            "sub": "s-2",
            "cognito:username": "bob",
            "cognito:groups": "[admin support]",
            "token_use": "id",
            "aud": "client-2",
            "email_verified": "true",
            "phone_number_verified": "false",
            "custom:tenant_id": "acme",
        }
    )
    assert principal.username == "bob"
    assert principal.groups == ("admin", "support")
    assert principal.client_id == "client-2"
    assert principal.claims["email_verified"] is True
    assert principal.claims["phone_number_verified"] is False
    assert principal.claims["custom:tenant_id"] == "acme"


def test_principal_is_immutable() -> None:
    principal = Principal.from_claims({"sub": "s", "cognito:groups": ["a"]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        principal.sub = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        principal.claims["sub"] = "other"  # type: ignore[index]
    assert isinstance(principal.groups, tuple)


def test_claims_are_a_copy_of_the_input() -> None:
    source = {"sub": "s", "email_verified": "true"}
    principal = Principal.from_claims(source)
    source["sub"] = "changed"
    assert principal.claims["sub"] == "s"
    assert source["email_verified"] == "true"  # normalization does not write back


@pytest.mark.parametrize(
    ("method", "wanted", "all_of", "expected"),
    [
        ("has_groups", ["admin", "x"], False, True),
        ("has_groups", ["admin", "x"], True, False),
        ("has_groups", ["admin", "support"], True, True),
        ("has_groups", [], False, False),
        ("has_scopes", ["orders/read"], False, True),
        ("has_scopes", ["orders/read", "orders/write"], True, False),
    ],
)
def test_membership_helpers(method: str, wanted: list[str], all_of: bool, expected: bool) -> None:
    principal = Principal(sub="s", groups=("admin", "support"), scopes=("orders/read",))
    assert getattr(principal, method)(wanted, all_of=all_of) is expected


def test_verified_principal_carries_every_claim(issuer: LocalIssuer, id_verifier: CognitoVerifier) -> None:
    token = issuer.mint_id_token(
        username="carol", groups=["customer"], custom_attributes={"tenant_id": "acme", "plan": "gold"}
    )
    principal = id_verifier.verify(token)
    expected = {
        "sub",
        "cognito:groups",
        "email_verified",
        "iss",
        "cognito:username",
        "origin_jti",
        "aud",
        "event_id",
        "token_use",
        "auth_time",
        "exp",
        "iat",
        "jti",
        "email",
        "custom:tenant_id",
        "custom:plan",
    }
    assert set(principal.claims) == expected
    assert principal.username == "carol"


@given(
    st.lists(
        st.text(
            alphabet=st.characters(exclude_characters=" ,[]\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0"),
            min_size=1,
            max_size=10,
        ),
        max_size=6,
    )
)
def test_string_forms_agree_with_the_list(groups: list[str]) -> None:
    groups = [g for g in groups if g.strip() == g and g.split() == [g]]
    expected = tuple(dict.fromkeys(groups))
    assert normalize_string_list(groups) == expected
    assert normalize_string_list(",".join(groups)) == expected
    assert normalize_string_list("[" + " ".join(groups) + "]") == expected
    assert normalize_string_list("[" + ", ".join(groups) + "]") == expected
