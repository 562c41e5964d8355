"""Decide rows for ``python -m bench``: ``Policy.decide`` at 10, 100, 1,000 and 10,000 rules.

Budgets (DESIGN.md section 8): at 1,000 rules a decision costs <= 0.25x the RSA floor, and 10,000 rules
cost <= 1.5x the 10-rule time (the index makes a decision O(path depth), not O(rules)). The policies and
the three request shapes are those of ``bench/decide.py`` (which also runs standalone): a few broad rules
plus four rules per service; one request allowed by a scope rule, one denied by the tenant guard, one
denied by default. Here the requests are spread over services across the whole file, not one service,
so a big policy's index is exercised the way varied traffic exercises it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench._rows import Row, Setup
from bench._timing import measure
from bench.decide import RULE_COUNTS, build_policy
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

__all__ = ["DECIDE_BUDGET", "FLAT_BUDGET", "requests_for", "run"]

DECIDE_BUDGET = 0.25  # x floor, at 1,000 rules
FLAT_BUDGET = 1.5  # 10,000-rule time / 10-rule time
_BROAD_RULES = 3  # rules of build_policy before the per-service ones


def requests_for(rule_count: int, services_used: int = 64) -> list[tuple[Principal, str, str]]:
    """The three request shapes of ``bench/decide.py`` for up to ``services_used`` services spread over
    the policy (fewer when the policy has fewer); each request's caller holds that service's read scope."""
    services = max(1, (rule_count - _BROAD_RULES) // 4)
    chosen = sorted({(n * 7919) % services for n in range(services_used)})
    out: list[tuple[Principal, str, str]] = []
    for service in chosen:
        user = Principal.from_claims(
            {
                "sub": "user-1",
                "cognito:groups": ["support"],
                "scope": f"openid svc{service}/read",
                "token_use": "access",
                "custom:tenant_id": "acme",
            }
        )
        out += [
            (user, "GET", f"/svc{service}/items/42"),  # allowed by the scope rule
            (user, "GET", "/tenants/globex/orders/7"),  # denied by the tenant guard
            (user, "POST", f"/svc{service}/items"),  # denied by default
        ]
    return out


def _decider(policy: Policy, requests: list[tuple[Principal, str, str]]) -> Callable[[], object]:
    position = [0]
    count = len(requests)
    decide = policy.decide

    def next_decision() -> object:
        index = position[0] = (position[0] + 1) % count
        principal, method, path = requests[index]
        return decide(principal, method, path)

    return next_decision


def run(setup: Setup) -> list[Row]:
    """One row per policy size against the floor, and the 10,000-rule flatness row."""
    sizes = RULE_COUNTS
    deciders: dict[int, Callable[[], object]] = {}
    load_ms: dict[int, float] = {}
    for size in sizes:
        started = time.perf_counter()
        policy = build_policy(size)
        load_ms[size] = (time.perf_counter() - started) * 1e3
        deciders[size] = _decider(policy, requests_for(size))
    rows: list[Row] = []
    for size in sizes:
        measured = setup.against_floor(deciders[size])
        rows.append(
            Row(
                "decide",
                f"decide, {size:,} rules",
                measured.median_us,
                "us",
                measured.ratio,
                "floor",
                DECIDE_BUDGET if size == 1_000 else None,
                extra={"load_ms": round(load_ms[size], 1)},
            )
        )
    flat = measure(
        deciders[sizes[-1]], deciders[sizes[0]], rounds=setup.rounds, block_seconds=setup.block_seconds
    )
    rows.append(
        Row(
            "decide",
            f"decide, {sizes[-1]:,} rules vs {sizes[0]} rules",
            flat.median_us,
            "us",
            flat.ratio,
            f"decide {sizes[0]} rules",
            FLAT_BUDGET,
        )
    )
    return rows
