"""A repeated token's answer is kept on its principal (``principal.derived_answers``), not in a table.

The verifier hands a repeated token the very ``Principal`` it cached; ``build_principal_policy`` keeps
that caller's answer (or the way to fill it again) on the principal itself, keyed by everything else the
answer depends on. These tests hold the kept answer to a cold build, show that it never creates a
reference cycle (a principal must die with the verifier's cache entry, by reference counting alone),
that ``clear_memo`` makes every kept answer unreachable, that the cache stays small, and that copies of a
principal carry none of it.
"""

from __future__ import annotations

import copy
import gc
from typing import Any

import pytest

from cognito_authz.iam import MethodArn, build_principal_policy, clear_memo
from cognito_authz.policy import Policy
from cognito_authz.principal import DERIVED_ANSWERS_MAX, Principal, derived_answers

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/"
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
        ],
    }
)


def _principal(sub: str, groups: tuple[str, ...] = ()) -> Principal:
    claims: dict[str, Any] = {"sub": sub, "cognito:groups": list(groups), "token_use": "access"}
    return Principal.from_claims(claims)


def _answer(principal: Principal, path: str, verb: str = "GET") -> tuple[Any, ...]:
    arn = MethodArn.parse(f"{PREFIX}{verb}{path}")
    allowed = POLICY.decide(principal, verb, path).allowed
    result = build_principal_policy(POLICY, principal, arn, allowed=allowed)
    return (
        result.document,
        result.scope,
        result.reason,
        result.size,
        result.detail,
        result.rules,
        result.exact,
    )


# "u-7" is renamed (own-profile binds sub); "orders" is a route literal, so that caller is not renamed.
@pytest.mark.parametrize("sub", ["u-7", "orders"])
@pytest.mark.parametrize("path", ["/orders/42", "/users/u-7", "/users/other"])
def test_a_kept_answer_is_what_a_cold_build_gives(sub: str, path: str) -> None:
    principal = _principal(sub)
    first = _answer(principal, path)
    kept = derived_answers(principal)
    assert kept  # the answer is kept on the principal
    again = _answer(principal, path)
    assert again == first
    first[0]["Statement"].append("mutated by the caller")
    again[0]["Statement"].append("mutated by the caller")
    assert _answer(principal, path) == _answer(principal, path) != again  # handed out fresh, never shared
    clear_memo()
    assert _answer(_principal(sub), path) == _answer(principal, path)  # a cold build, a new principal


def test_kept_answers_make_no_reference_cycle() -> None:
    # A principal is freed by reference counting as soon as the verifier drops it: nothing kept on it
    # may point back to it (the fill arguments hold its values, never the principal itself).
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for sub in ("u-1", "orders", "u-2"):
            principal = _principal(sub, ("admin",) if sub == "u-2" else ())
            for path in ("/orders/42", f"/users/{sub}", "/users/x"):
                _answer(principal, path)
                _answer(principal, path)
            assert derived_answers(principal)
            del principal
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()


def test_clear_memo_makes_every_kept_answer_unreachable() -> None:
    principal = _principal("u-9")
    arn = MethodArn.parse(f"{PREFIX}GET/orders/42")
    build_principal_policy(POLICY, principal, arn, allowed=True)
    sentinel = object()
    kept = derived_answers(principal)
    assert kept is not None
    for key in kept:
        kept[key] = (POLICY, sentinel)  # were it looked up again, this would be returned (or fail)
    clear_memo()
    result = build_principal_policy(POLICY, principal, arn, allowed=True)
    assert result.document["Statement"]


def test_the_kept_answers_stay_small() -> None:
    principal = _principal("u-3")
    for n in range(3 * DERIVED_ANSWERS_MAX):
        _answer(principal, f"/orders/{n}")
        kept = derived_answers(principal)
        assert kept is not None
        assert len(kept) <= DERIVED_ANSWERS_MAX


def test_copies_carry_no_kept_answers() -> None:
    principal = _principal("u-4")
    _answer(principal, "/orders/1")
    assert principal._derived
    duplicate = copy.copy(principal)  # (deepcopy and pickle refuse a principal's read-only claims)
    assert duplicate == principal
    assert duplicate._derived is None


def test_only_principals_keep_answers() -> None:
    assert derived_answers(object()) is None  # type: ignore[arg-type]


_TENANT_GUARD = Policy.from_dict(
    {
        "version": 1,
        "rules": [
            {"id": "admin-everything", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
            {
                "id": "tenant-guard",
                "effect": "deny",
                "routes": ["ANY /tenants/{tenantId}/{proxy+}"],
                "unless": {"claims": {"custom:tenant_id": "{tenantId}"}},
            },
        ],
    }
)


@pytest.mark.parametrize("path", ["/orders/42", "/tenants/t-2/x", "/tenants/t-9/x"])
def test_a_new_callers_inexact_answer_carries_every_field_of_a_cold_build(path: str) -> None:
    # An admin with a tenant claim gets an inexact document (IAM cannot say "every tenant but mine"): the
    # answer filled for a new caller of that shape must carry the same reason, detail, rules and
    # exactness as a cold build for it, not only the same document.
    def answer(tenant: str) -> tuple[Any, ...]:
        principal = Principal.from_claims(
            {"sub": f"u-{tenant}", "cognito:groups": ["admin"], "custom:tenant_id": tenant}
        )
        arn = MethodArn.parse(f"{PREFIX}GET{path}")
        allowed = _TENANT_GUARD.decide(principal, "GET", path).allowed
        result = build_principal_policy(_TENANT_GUARD, principal, arn, allowed=allowed)
        return (
            result.document,
            result.scope,
            result.reason,
            result.size,
            result.detail,
            result.rules,
            result.exact,
        )

    clear_memo()
    answer("t-1")  # the shape's proof and settled answer
    filled = answer("t-2")  # a new caller of the shape: filled from the template
    clear_memo()
    cold = answer("t-2")
    assert filled == cold
    if cold[1] == "principal":
        assert cold[2] == "inexact"
        assert cold[5] == ("admin-everything",)
        assert cold[4].startswith("IAM globs cannot say everything decide allows")
        assert cold[6] is False
