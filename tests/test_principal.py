"""Principal: what a verified token becomes, and the claim shapes API Gateway forwards."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
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


_LOCAL = LocalIssuer(serve=False)
_ANY_USE = _LOCAL.verifier(token_use=None, token_cache_size=0)
_WORDS = st.sampled_from(["admin", "support", "", "a b", "x,y", "[z]", "admin"])


def _payload(token: str) -> dict[str, Any]:
    """The claims as the standard library reads them: the oracle's input, independent of our parser."""
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))  # type: ignore[no-any-return]


@settings(max_examples=150, deadline=None)
@given(
    use=st.sampled_from(["access", "id"]),
    groups=st.one_of(st.none(), st.lists(_WORDS, max_size=5)),
    scope=st.one_of(st.none(), st.sampled_from(["openid", "a b a", "[a, b]", "  ", "x,y z", ""])),
    verified=st.sampled_from([None, True, False, "true", "false"]),
    username=st.sampled_from(["keep", "drop", "cognito"]),
)
def test_the_verifiers_principal_is_from_claims_of_the_payload(
    use: str, groups: list[str] | None, scope: str | None, verified: Any, username: str
) -> None:
    # The verifier builds its principal on a faster path (Principal._of_verified); from_claims over
    # the payload decoded by the standard library must give the very same principal.
    claims: dict[str, Any] = {}
    omit: list[str] = []
    if groups is None:
        omit.append("cognito:groups")
    else:
        claims["cognito:groups"] = groups
    if scope is not None and use == "access":
        claims["scope"] = scope
    if verified is None:
        omit.append("email_verified")
    else:
        claims["email_verified"] = verified
    if username == "drop":
        omit += ["username", "cognito:username"]
    if use == "access":
        token = _LOCAL.mint_access_token(claims=claims, omit=[o for o in omit if o != "cognito:username"])
        if username == "cognito":
            token = _LOCAL.mint_access_token(
                claims={**claims, "cognito:username": "cu"}, omit=[*omit, "username"]
            )
    else:
        token = _LOCAL.mint_id_token(claims=claims, omit=omit)
    expected = Principal.from_claims(_payload(token))
    assert _ANY_USE.verify(token) == expected
