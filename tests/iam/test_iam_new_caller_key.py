"""A new caller's memo key and renaming, found in one pass, are the ones the general steps find.

``caller_key.new_caller_key`` (one pass: the renaming's parts and the memo key) must give exactly the key
built the general way (``plan_renaming``, then the key of the earlier ``builder._memo_key``, kept here
as ``_reference_key``), ``caller_key.caller_key`` the same key and a ``Renaming`` equal to the
parts; and ``renaming.renaming_parts``, which both now use, must find what the renaming found before it
was split out. The oracle for that is the earlier ``plan_renaming``, kept here verbatim.
Callers are drawn with values that collide with route literals, with each other, with placeholders,
non-string and list claims, and claims that share a value with a renamed one.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.iam import MethodArn, builder, caller_key
from cognito_authz.iam.renaming import (
    _LIST_CLAIMS,
    _renamable,
    key_plan,
    placeholder,
    plain_value,
    plan_renaming,
)
from cognito_authz.iam.world import PolicyFacts, claim_texts, policy_facts
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

ARN = MethodArn.parse("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders")
VALUES = (
    "u-1",
    "u-2",
    "acme",
    "orders",
    "users",
    "me",
    "a.b",
    "a b",
    "50%",
    "*",
    "~0~",
    "~1",
    "",
    "42",
    "acme/admin",
    "u-1/x/u-2",
)

POLICY = Policy.from_dict(
    {
        "version": 1,
        "rules": [
            {"id": "admin", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
            {"id": "read-orders", "routes": ["GET /orders", "GET /orders/{orderId}"]},
            {
                "id": "own-profile",
                "routes": ["GET /users/{userId}", "PUT /users/{userId}"],
                "when": {"claims": {"sub": "{userId}"}},
            },
            {
                "id": "tenant",
                "routes": ["ANY /tenants/{tenantId}/projects"],
                "when": {"claims": {"custom:tenant_id": "{tenantId}", "custom:team": "{tenantId}"}},
            },
            {
                "id": "managers",
                "effect": "deny",
                "routes": ["DELETE /tenants/{tenantId}/projects"],
                "when": {"claims": {"custom:manager": "{tenantId}", "custom:flag": True}},
            },
            {"id": "listed", "routes": ["GET /teams/{team}"], "when": {"claims": {"custom:teams": "{team}"}}},
            {"id": "fixed", "routes": ["GET /fixed"], "when": {"claims": {"custom:level": "gold"}}},
        ],
    }
)


def _old_plan_renaming(
    facts: PolicyFacts, principal: Principal
) -> tuple[dict[str, str], tuple[Any, ...]] | None:
    # plan_renaming as it was before renaming_parts was split out of it (its values and key), with the
    # segment rule added the same day.
    claims = principal.claims
    literals = facts.literals
    names = _renamable(facts)
    index: dict[str, str] = {}
    renamed: list[str] = []
    for name in names:
        value = claims.get(name)
        if type(value) is not str or value in literals or not plain_value(value):
            continue
        if value.startswith("~"):
            return None
        if value not in index:
            index[value] = placeholder(len(index))
        renamed.append(name)
    if not index:
        return None
    taken = None
    for name in facts.condition_claims:
        if name in renamed or (name not in _LIST_CLAIMS and claims.get(name) is None):
            continue
        if taken is None:
            taken = {*index, *index.values()}
        texts = claim_texts(principal, name)
        if taken.intersection(texts):
            return None
        # The segment rule of plan_renaming (docs/architecture.md step 5): a greedy parameter compares
        # "acme/admin" segment by segment, so a renamed value may not be one of its segments either.
        if any("/" in text and not taken.isdisjoint(text.split("/")) for text in texts):
            return None
    key = tuple((name, index[claims[name]]) for name in renamed)
    return {p: v for v, p in index.items()}, key


def _reference_key(
    facts: PolicyFacts, principal: Principal, budget: int, renamed: tuple[tuple[str, str], ...]
) -> tuple[Any, ...]:
    # The memo key as builder._memo_key built it before the one-pass key replaced it.
    get, placeholders = principal.claims.get, dict(renamed)
    claims = tuple((name, placeholders.get(name) or repr(get(name))) for name in facts.condition_claims)
    return (
        id(POLICY),
        ARN.prefix,
        budget,
        tuple(principal.groups),
        tuple(principal.scopes),
        principal.token_use,
        principal.client_id,
        claims,
    )


CLAIM_VALUES = st.one_of(
    st.none(),
    st.sampled_from(VALUES),
    st.integers(-3, 3),
    st.booleans(),
    st.lists(st.sampled_from(VALUES), max_size=3),
    st.uuids().map(str),
)


@st.composite
def principals(draw: st.DrawFn) -> Principal:
    claims: dict[str, Any] = {"sub": draw(st.one_of(st.sampled_from(VALUES), st.uuids().map(str)))}
    for name in (
        "custom:tenant_id",
        "custom:team",
        "custom:manager",
        "custom:flag",
        "custom:teams",
        "custom:level",
    ):
        value = draw(CLAIM_VALUES)
        if value is not None:
            claims[name] = value
    claims["cognito:groups"] = draw(st.sampled_from([[], ["admin"], ["u-1", "admin"]]))
    claims["scope"] = draw(st.sampled_from(["", "orders/read", "u-2 me"]))
    claims["token_use"] = draw(st.sampled_from(["access", "id"]))
    return Principal.from_claims(claims)


@settings(max_examples=1500, deadline=None)
@given(principals(), st.sampled_from([builder.WORK_BUDGET, 100]))
def test_the_new_caller_key_is_the_caller_key(principal: Principal, budget: int) -> None:
    facts = policy_facts(POLICY)
    key, renaming = caller_key.caller_key(POLICY, principal, ARN, budget)
    fast_key, parts = caller_key.new_caller_key(POLICY, principal, ARN.prefix, budget)
    assert fast_key == key
    general = plan_renaming(facts, principal)
    assert key == _reference_key(facts, principal, budget, general.key if general is not None else ())
    old = _old_plan_renaming(facts, principal)
    if renaming is None:
        assert parts is None
        assert old is None
        return
    assert parts is not None
    assert old is not None
    values, named = parts
    assert values == dict(renaming.values) == old[0]
    assert tuple(named.items()) == renaming.key == old[1]


SPARSE_VALUES = st.one_of(
    st.uuids().map(str),
    st.sampled_from(VALUES),
    st.sampled_from(
        ["A-b-9", "x" * 256, "x" * 257, "-", "--1", "é", "a~b", "~x", "a_b", "50%", "a.b", "a*b", "a/b"]
    ),
    st.sampled_from(["a b", "x?", "a%2F", "..", "A\u212a", "i\u0130", "a\x00"]),
    st.integers(-3, 3),
    st.booleans(),
    st.lists(st.sampled_from(VALUES), max_size=2),
)


@st.composite
def sparse_principals(draw: st.DrawFn) -> Principal:
    # The usual new caller: most claims a condition names are absent (or null), one or two present, so
    # the builder's one-loop key (one renamed value, everything else absent) is taken often, and each of
    # its conditions fails in some draws (a second value, a literal, a placeholder-like or unplain value,
    # a claim kept as it is).
    claims: dict[str, Any] = {}
    for name in (
        "sub",
        "custom:tenant_id",
        "custom:team",
        "custom:manager",
        "custom:flag",
        "custom:teams",
        "custom:level",
    ):
        present = draw(st.sampled_from(["absent", "absent", "absent", "null", "value"]))
        if present == "null":
            claims[name] = None
        elif present == "value" or (name == "sub" and draw(st.booleans())):
            claims[name] = draw(SPARSE_VALUES)
    claims["cognito:groups"] = draw(st.sampled_from([[], ["admin"]]))
    claims["token_use"] = "access"
    return Principal.from_claims(claims)


@settings(max_examples=1500, deadline=None)
@given(sparse_principals())
def test_the_usual_new_callers_key_in_one_loop_is_the_general_one(principal: Principal) -> None:
    facts = policy_facts(POLICY)
    caller_key.LAST_FACTS[0] = None  # the plan is worked out again, then found
    for _ in range(2):
        fast_key, parts = caller_key.new_caller_key(POLICY, principal, ARN.prefix, builder.WORK_BUDGET)
        general = plan_renaming(facts, principal)
        assert fast_key == _reference_key(
            facts, principal, builder.WORK_BUDGET, general.key if general is not None else ()
        )
        old = _old_plan_renaming(facts, principal)
        if general is None:
            assert parts is None
            assert old is None
            continue
        assert parts is not None
        assert old is not None
        values, named = parts
        assert values == dict(general.values) == old[0]
        assert tuple(named.items()) == general.key == old[1]


def test_a_condition_on_a_list_claim_always_takes_the_general_steps() -> None:
    listed = Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {"id": "own", "routes": ["GET /u/{id}"], "when": {"claims": {"sub": "{id}"}}},
                {"id": "team", "routes": ["GET /g/{g}"], "when": {"claims": {"cognito:groups": "{g}"}}},
            ],
        }
    )
    assert key_plan(policy_facts(listed)) is None
    principal = Principal.from_claims({"sub": "u-1", "cognito:groups": ["u-1"], "token_use": "access"})
    # The group shares the sub's value: no renaming (the one-loop key would have renamed it).
    assert caller_key.new_caller_key(listed, principal, ARN.prefix, builder.WORK_BUDGET)[1] is None
