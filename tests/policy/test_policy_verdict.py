"""``Policy.verdict`` (the Lambda authorizer's decide, without the ``Decision``) answers as ``decide``.

Random rule lists, principals and requests from the decide property tests, plus inputs that are not a
principal, a method or a path at all: ``verdict`` must give ``decide``'s ``allowed`` and ``rules`` on
every one, and never raise.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.policy import Policy
from tests.policy.test_policy_properties import random_principal, random_request, rule_lists

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=150, deadline=None)
@given(rules=rule_lists(), seed=seeds)
def test_verdict_is_decides_allowed_and_rules(rules: list[dict[str, Any]], seed: int) -> None:
    rng = random.Random(seed)
    policy = Policy.from_dict({"version": 1, "rules": rules})
    for _ in range(40):
        who = random_principal(rng)
        method, path = random_request(rng, rules, who)
        decision = policy.decide(who, method, path)
        assert policy.verdict(who, method, path) == (decision.allowed, decision.rules), (method, path)


def test_verdict_on_nonsense_is_decides_no() -> None:
    policy = Policy.from_dict({"version": 1, "rules": [{"id": "all", "routes": ["ANY /{proxy+}"]}]})
    for who, method, path in [
        (None, "GET", "/a"),
        (object(), "GET", "/a"),
        ("admin", None, None),
        (None, b"GET", b"/a"),
        (None, "GET", "$connect"),
    ]:
        decision = policy.decide(who, method, path)  # type: ignore[arg-type]
        assert not decision.allowed
        assert policy.verdict(who, method, path) == (decision.allowed, decision.rules)  # type: ignore[arg-type]
