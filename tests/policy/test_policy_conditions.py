"""Every condition kind, in ``when`` and ``unless``, decided through a real Policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

PolicyOf = Callable[..., Policy]
PrincipalOf = Callable[..., Principal]


def _allows(policy_of: PolicyOf, when: dict[str, Any], who: Principal, path: str = "/r/1") -> bool:
    policy = policy_of({"id": "r", "routes": ["GET /r/{id}"], "when": when})
    return policy.decide(who, "GET", path).allowed


def _claims(claims: dict[str, Any]) -> Principal:
    return Principal.from_claims({"sub": "u-1", **claims})


# --- groups, scopes, token_use, client_id ------------------------------------------------------------


def test_groups_is_any_of(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    when = {"groups": ["admin", "support"]}
    assert _allows(policy_of, when, principal(groups=["support"]))
    assert _allows(policy_of, when, principal(groups=["x", "admin"]))
    assert not _allows(policy_of, when, principal(groups=["customer"]))
    assert not _allows(policy_of, when, principal())


def test_all_groups_is_all_of(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    when = {"all_groups": ["admin", "support"]}
    assert _allows(policy_of, when, principal(groups=["support", "admin", "x"]))
    assert not _allows(policy_of, when, principal(groups=["admin"]))


def test_group_names_are_exact(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    assert not _allows(policy_of, {"groups": ["admin"]}, principal(groups=["Admin"]))
    assert not _allows(policy_of, {"groups": ["admin"]}, principal(groups=["admins"]))


@pytest.mark.parametrize("forwarded", ["[admin support]", "[admin, support]", "admin,support", "admin"])
def test_groups_forwarded_as_strings(policy_of: PolicyOf, forwarded: str) -> None:
    assert _allows(policy_of, {"groups": ["admin"]}, _claims({"cognito:groups": forwarded}))


def test_scopes_any_and_all(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    assert _allows(policy_of, {"scopes": ["orders/read", "orders/write"]}, principal(scopes=["orders/write"]))
    assert not _allows(policy_of, {"scopes": ["orders/read"]}, principal(scopes=["orders/readx"]))
    assert _allows(policy_of, {"all_scopes": ["a", "b"]}, principal(scopes=["b", "a", "c"]))
    assert not _allows(policy_of, {"all_scopes": ["a", "b"]}, principal(scopes=["a"]))


def test_token_use(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    assert _allows(policy_of, {"token_use": "access"}, principal(token_use="access"))
    assert not _allows(policy_of, {"token_use": ["id"]}, principal(token_use="access"))
    assert _allows(policy_of, {"token_use": ["id", "access"]}, principal(token_use="id"))
    assert not _allows(policy_of, {"token_use": ["id", "access"]}, principal(token_use=None))


def test_client_id_from_access_and_id_tokens(policy_of: PolicyOf) -> None:
    when = {"client_id": ["app-1", "app-2"]}
    assert _allows(policy_of, when, _claims({"token_use": "access", "client_id": "app-2"}))
    assert _allows(policy_of, when, _claims({"token_use": "id", "aud": "app-1"}))  # ID tokens: aud
    assert not _allows(policy_of, when, _claims({"token_use": "access", "client_id": "app-3"}))
    assert not _allows(policy_of, when, _claims({}))


def test_all_when_conditions_must_hold(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    when = {"groups": ["admin"], "scopes": ["s"], "token_use": "access"}
    assert _allows(policy_of, when, principal(groups=["admin"], scopes=["s"]))
    assert not _allows(policy_of, when, principal(groups=["admin"]))
    assert not _allows(policy_of, when, principal(scopes=["s"]))
    assert not _allows(policy_of, when, principal(groups=["admin"], scopes=["s"], token_use="id"))


def test_empty_when_always_holds(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    assert _allows(policy_of, {}, principal())


# --- claims ------------------------------------------------------------------------------------------


def test_claim_scalar_equals(policy_of: PolicyOf) -> None:
    when = {"claims": {"custom:plan": "gold"}}
    assert _allows(policy_of, when, _claims({"custom:plan": "gold"}))
    assert not _allows(policy_of, when, _claims({"custom:plan": "Gold"}))
    assert not _allows(policy_of, when, _claims({"custom:plan": "gold "}))
    assert not _allows(policy_of, when, _claims({}))


def test_claim_list_is_one_of(policy_of: PolicyOf) -> None:
    when = {"claims": {"custom:plan": ["gold", "silver"]}}
    assert _allows(policy_of, when, _claims({"custom:plan": "silver"}))
    assert not _allows(policy_of, when, _claims({"custom:plan": "bronze"}))


def test_list_valued_claim_matches_if_it_contains_the_value(policy_of: PolicyOf) -> None:
    when = {"claims": {"custom:roles": "auditor"}}
    assert _allows(policy_of, when, _claims({"custom:roles": ["viewer", "auditor"]}))
    assert not _allows(policy_of, when, _claims({"custom:roles": ["viewer"]}))
    assert not _allows(policy_of, when, _claims({"custom:roles": []}))


def test_cognito_groups_and_scope_claims_use_the_normalized_lists(policy_of: PolicyOf) -> None:
    assert _allows(
        policy_of, {"claims": {"cognito:groups": "admin"}}, _claims({"cognito:groups": "[x admin]"})
    )
    assert _allows(policy_of, {"claims": {"scope": "b"}}, _claims({"scope": "a b c"}))
    assert not _allows(policy_of, {"claims": {"scope": "a b"}}, _claims({"scope": "a b"}))


def test_integer_claims_compare_by_decimal_text(policy_of: PolicyOf) -> None:
    when = {"claims": {"custom:level": 3}}
    assert _allows(policy_of, when, _claims({"custom:level": 3}))
    assert _allows(policy_of, when, _claims({"custom:level": "3"}))  # forwarded by API Gateway as text
    assert not _allows(policy_of, when, _claims({"custom:level": "03"}))
    assert not _allows(policy_of, when, _claims({"custom:level": 3.0}))  # floats never match
    assert not _allows(policy_of, when, _claims({"custom:level": True}))  # a boolean is not 1
    assert _allows(policy_of, {"claims": {"custom:level": "3"}}, _claims({"custom:level": 3}))


def test_boolean_claims_match_true_false_strings(policy_of: PolicyOf) -> None:
    when = {"claims": {"email_verified": True}}
    assert _allows(policy_of, when, _claims({"email_verified": True}))
    assert _allows(policy_of, when, _claims({"email_verified": "true"}))  # normalized by Principal
    assert not _allows(policy_of, when, _claims({"email_verified": "false"}))
    assert not _allows(policy_of, when, _claims({"email_verified": 1}))
    assert _allows(policy_of, {"claims": {"custom:beta": True}}, _claims({"custom:beta": "TRUE"}))
    assert _allows(policy_of, {"claims": {"custom:beta": False}}, _claims({"custom:beta": False}))
    assert not _allows(policy_of, {"claims": {"custom:beta": False}}, _claims({}))


def test_claim_present(policy_of: PolicyOf) -> None:
    when = {"claims": {"custom:tenant_id": "*"}}
    assert _allows(policy_of, when, _claims({"custom:tenant_id": "acme"}))
    assert _allows(policy_of, when, _claims({"custom:tenant_id": False}))
    assert not _allows(policy_of, when, _claims({}))
    assert not _allows(policy_of, when, _claims({"custom:tenant_id": None}))
    assert not _allows(policy_of, when, _claims({"custom:tenant_id": ""}))
    assert not _allows(policy_of, when, _claims({"custom:tenant_id": []}))
    assert _allows(policy_of, {"claims": {"cognito:groups": "*"}}, _claims({"cognito:groups": ["a"]}))
    assert not _allows(policy_of, {"claims": {"cognito:groups": "*"}}, _claims({"cognito:groups": []}))


def test_claim_template_equals_path_parameter(policy_of: PolicyOf) -> None:
    when = {"claims": {"sub": "{id}"}}
    assert _allows(policy_of, when, _claims({"sub": "u-7"}), path="/r/u-7")
    assert not _allows(policy_of, when, _claims({"sub": "u-7"}), path="/r/u-8")
    assert not _allows(policy_of, when, _claims({"sub": "u-7"}), path="/r/U-7")
    # the parameter is compared after percent-decoding, as API Gateway hands it to the backend
    assert _allows(policy_of, when, _claims({"sub": "a@b"}), path="/r/a%40b")


def test_claim_template_with_list_and_integer_claims(policy_of: PolicyOf) -> None:
    when = {"claims": {"custom:tenants": "{id}"}}
    assert _allows(policy_of, when, _claims({"custom:tenants": ["acme", "globex"]}), path="/r/globex")
    assert not _allows(policy_of, when, _claims({"custom:tenants": ["acme"]}), path="/r/globex")
    assert _allows(policy_of, when, _claims({"custom:tenants": 42}), path="/r/42")
    assert not _allows(policy_of, when, _claims({}), path="/r/42")


def test_claim_template_mixed_with_literals(policy_of: PolicyOf) -> None:
    when = {"claims": {"sub": ["{id}", "support-bot"]}}
    assert _allows(policy_of, when, _claims({"sub": "support-bot"}), path="/r/anyone")
    assert _allows(policy_of, when, _claims({"sub": "u-1"}), path="/r/u-1")
    assert not _allows(policy_of, when, _claims({"sub": "u-1"}), path="/r/u-2")


def test_greedy_parameter_template(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    policy = policy_of(
        {"id": "home", "routes": ["GET /files/{path+}"], "when": {"claims": {"custom:home": "{path}"}}}
    )
    who = _claims({"custom:home": "users/u-1"})
    assert policy.decide(who, "GET", "/files/users/u-1").allowed
    assert not policy.decide(who, "GET", "/files/users/u-1/x").allowed
    assert not policy.decide(who, "GET", "/files/users%2Fu-1").allowed


def test_claims_all_entries_must_hold(policy_of: PolicyOf) -> None:
    when = {"claims": {"custom:tenant_id": "{id}", "custom:plan": "gold"}}
    assert _allows(
        policy_of, when, _claims({"custom:tenant_id": "acme", "custom:plan": "gold"}), path="/r/acme"
    )
    assert not _allows(policy_of, when, _claims({"custom:tenant_id": "acme"}), path="/r/acme")


def test_odd_claim_types_never_match(policy_of: PolicyOf) -> None:
    when = {"claims": {"custom:x": "a"}}
    for value in ({"a": 1}, 1.5, [None], [["a"]], object()):
        assert not _allows(policy_of, when, _claims({"custom:x": value}))


# --- unless ------------------------------------------------------------------------------------------


def test_unless_skips_the_rule_only_when_every_condition_holds(
    policy_of: PolicyOf, principal: PrincipalOf
) -> None:
    policy = policy_of(
        {"id": "all", "routes": ["GET /r/{id}"]},
        {
            "id": "guard",
            "effect": "deny",
            "routes": ["GET /r/{id}"],
            "unless": {"groups": ["staff"], "claims": {"custom:tenant_id": "{id}"}},
        },
    )
    staff_acme = principal(groups=["staff"], claims={"custom:tenant_id": "acme"})
    assert policy.decide(staff_acme, "GET", "/r/acme").allowed  # both hold: guard skipped
    assert not policy.decide(staff_acme, "GET", "/r/globex").allowed  # one fails: guard applies
    assert not policy.decide(principal(claims={"custom:tenant_id": "acme"}), "GET", "/r/acme").allowed


def test_when_and_unless_together(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    policy = policy_of(
        {
            "id": "r",
            "routes": ["GET /r/{id}"],
            "when": {"groups": ["staff"]},
            "unless": {"groups": ["suspended"]},
        }
    )
    assert policy.decide(principal(groups=["staff"]), "GET", "/r/1").allowed
    assert not policy.decide(principal(groups=["staff", "suspended"]), "GET", "/r/1").allowed
    assert not policy.decide(principal(groups=["suspended"]), "GET", "/r/1").allowed


def test_unless_on_an_allow_rule(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    policy = policy_of({"id": "others", "routes": ["GET /users/{id}"], "unless": {"claims": {"sub": "{id}"}}})
    assert policy.decide(principal("u-1"), "GET", "/users/u-2").allowed
    assert not policy.decide(principal("u-1"), "GET", "/users/u-1").allowed
