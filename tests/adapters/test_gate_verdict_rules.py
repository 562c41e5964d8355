"""``Gate.verdict_rules`` (what the Lambda authorizer reads) answers as ``Gate.verdict``.

With and without a policy, with a requirement met and unmet, with our ``Policy`` (through
``Policy.verdict``) and with a policy of another kind that only has ``decide``.
"""

from __future__ import annotations

from typing import Any

import pytest

from cognito_authz.adapters.common import Gate, Requirement
from cognito_authz.policy import Decision, Policy
from cognito_authz.principal import Principal

POLICY = Policy.from_dict(
    {
        "version": 1,
        "rules": [
            {"id": "admin", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
            {"id": "read", "routes": ["GET /orders/{id}"], "when": {"scopes": ["orders/read"]}},
            {"id": "no-secrets", "effect": "deny", "routes": ["ANY /secrets/{proxy+}"]},
        ],
    }
)


class DecideOnly:
    """A policy of another kind: ``decide`` and nothing else (adapters accept it)."""

    def decide(self, principal: Principal, method: str, path: str) -> Decision:
        return POLICY.decide(principal, method, path)


PRINCIPALS = [
    Principal("u1"),
    Principal("u2", groups=("admin",)),
    Principal("u3", scopes=("orders/read",)),
    Principal("u4", groups=("admin",), scopes=("orders/read",)),
]
REQUESTS = [
    ("GET", "/orders/1"),
    ("PUT", "/orders/1"),
    ("GET", "/secrets/x"),
    ("BREW", "/orders/1"),
    ("GET", ""),
]


@pytest.mark.parametrize("policy", [POLICY, DecideOnly(), None], ids=["policy", "decide-only", "none"])
@pytest.mark.parametrize("requirement", [None, Requirement.of(groups=["admin"])], ids=["free", "admins"])
def test_verdict_rules_is_verdict(policy: Any, requirement: Requirement | None) -> None:
    gate = Gate(None, policy, requirement)
    for principal in PRINCIPALS:
        for method, path in REQUESTS:
            decision, denied = gate.verdict(principal, method, path)
            want = (denied is None, decision.rules if decision is not None else None, denied)
            assert gate.verdict_rules(principal, method, path) == want, (principal, method, path)
